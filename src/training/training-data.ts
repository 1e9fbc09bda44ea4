import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { mlError } from '../core/errors';
import { DataZone, IDataLake } from '../data/data-lake';
import { FeatureStore } from '../data/feature-store';

/**
 * Where training or evaluation data comes from (replaces a `string | FeatureStore` union).
 */
export class TrainingData {
  /**
   * Objects under a key prefix of a lake zone (CSV with a header row, or JSON Lines; the data snapshot
   * step hashes every object and builds the drift baseline from the records).
   *
   * @param keyPrefix e.g. `datasets/transactions/train/`
   */
  public static fromDataLake(lake: IDataLake, zone: DataZone, keyPrefix: string): TrainingData {
    return new TrainingData(
      () => lake.uri(zone, keyPrefix),
      grantee => lake.grantRead(zone, grantee, keyPrefix),
      `${zone} zone, prefix '${keyPrefix}'`,
      () => lake.bucket(zone).arnForObjects(`${keyPrefix}*`),
    );
  }

  /**
   * The offline store of a feature group (Parquet written by Feature Store). The data snapshot step
   * hashes and versions every object; Parquet records are not parsed for the drift baseline.
   */
  public static fromFeatureStore(store: FeatureStore): TrainingData {
    return new TrainingData(
      scope => {
        if (!store.offlineStoreUri) {
          throw mlError(scope, 'GpuTrainingPipeline', {
            code: 'NoOfflineStore',
            what: `feature store '${store.node.path}' has no offline store to train from`,
            fix: 'enable its offline store (offlineStoreEnabled: true), or train from a lake prefix with TrainingData.fromDataLake',
          });
        }
        return `${store.offlineStoreUri}/`;
      },
      grantee => store.grantRead(grantee),
      `offline store of ${store.node.path}`,
      () => store.offlineObjectsArn!,
    );
  }

  /** @internal */
  public readonly _uri: (scope: IConstruct) => string;
  /** @internal */
  public readonly _grantRead: (grantee: iam.IGrantable) => iam.Grant;
  /** @internal ARN pattern of the objects a reader is granted (for exact cdk-nag acknowledgements). */
  public readonly _objectsArn: () => string;
  /** A short description for messages and docs. */
  public readonly description: string;

  private constructor(uri: (scope: IConstruct) => string, grantRead: (grantee: iam.IGrantable) => iam.Grant, description: string,
    objectsArn: () => string) {
    this._uri = uri;
    this._grantRead = grantRead;
    this.description = description;
    this._objectsArn = objectsArn;
  }
}
