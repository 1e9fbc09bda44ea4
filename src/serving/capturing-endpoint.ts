import { IConstruct } from 'constructs';
import { IDataLake } from '../data/data-lake';
import { IModelRegistry } from '../registry/model-registry';

/**
 * A model server that samples its requests and responses into a lake's `monitoring` zone in the SageMaker
 * data-capture layout (`capture/<name>/<variant>/yyyy/mm/dd/hh/<mm-ss-mmm>-<id>.jsonl`, one capture JSON object per
 * line): a SageMaker `ModelEndpoint` or a `KubernetesModelServer`. DriftMonitor and PredictionHealthMonitor watch
 * either.
 */
export interface ICapturingEndpoint extends IConstruct {
  /** The endpoint's (or server's) name: the `EndpointName` dimension of the monitors' metrics. */
  readonly endpointName: string;
  /** The lake whose `monitoring` zone holds the capture files. */
  readonly dataLake: IDataLake;
  /**
   * Key prefix of the capture files in the monitoring zone, `capture/<name>/`.
   * @default - capture is off
   */
  readonly captureKeyPrefix?: string;
  /**
   * The registry whose newest approved package is the model in production.
   * @default - the endpoint does not serve from a registry (monitors then need an explicit baseline)
   */
  readonly registry?: IModelRegistry;
}
