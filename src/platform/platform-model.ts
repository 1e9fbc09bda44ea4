import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TrainingBackend } from './training-backend';
import { ContinuousTraining } from '../automation/continuous-training';
import { RetrainTrigger } from '../automation/retrain-trigger';
import { ValidationErrors } from '../core/errors';
import { GpuInstanceType } from '../core/gpu-instance-type';
import { IDataLake } from '../data/data-lake';
import { ModelCard, ModelCardProps } from '../governance/model-card';
import { Personas } from '../governance/personas';
import { DriftMonitor, FeatureDriftThreshold } from '../monitoring/drift-monitor';
import { PredictionHealthMonitor } from '../monitoring/prediction-health-monitor';
import { ModelRegistry } from '../registry/model-registry';
import { DeploymentStrategy } from '../serving/deployment-strategy';
import { EndpointVariant } from '../serving/endpoint-variant';
import { DataCaptureOptions, ModelEndpoint, RollbackThresholds } from '../serving/model-endpoint';
import { ModelSource } from '../serving/model-source';
import { EvaluationOptions, GpuTrainingPipeline, TrainingMetricDefinition } from '../training/gpu-training-pipeline';
import { Objective } from '../training/objective';
import { TrainingData } from '../training/training-data';
import { TrainingDataGate } from '../training/training-data-gate';
import { TrainingImage } from '../training/training-image';

/** How a platform model is served. */
export interface PlatformServingOptions {
  /**
   * Serve the model at all (a SageMaker endpoint with the newest approved version, drift and prediction-health
   * monitors). Without serving, the model is trained and registered only.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Production variants.
   * @default - one variant of 2 × ml.g5.xlarge (GPU), autoscaling to 4
   */
  readonly variants?: EndpointVariant[];
  /**
   * How new model versions roll out.
   * @default DeploymentStrategy.canary({ percent: 10, bake: Duration.minutes(10) })
   */
  readonly deployment?: DeploymentStrategy;
  /**
   * Thresholds of the built-in rollback alarms.
   * @default - ModelEndpoint's defaults
   */
  readonly rollbackThresholds?: RollbackThresholds;
  /**
   * Data capture settings (capture is always on: the monitors read it).
   * @default - every request and response
   */
  readonly dataCapture?: DataCaptureOptions;
}

/** How a platform model is monitored in production. */
export interface PlatformMonitoringOptions {
  /**
   * Watch the inputs for drift against the production model's training data (and retrain on drift).
   * @default true
   */
  readonly drift?: boolean;
  /**
   * PSI above which drift alarms.
   * @default 0.2
   */
  readonly psiAlarm?: number;
  /**
   * Per-feature drift thresholds.
   * @default - none
   */
  readonly featureThresholds?: FeatureDriftThreshold[];
  /**
   * Check the predictions (NaN/Infinity, constant output, out of range); unhealthy predictions roll deployments back.
   * @default true
   */
  readonly predictionHealth?: boolean;
  /**
   * Lowest valid score, e.g. 0 for probabilities.
   * @default - no lower bound
   */
  readonly minScore?: number;
  /**
   * Highest valid score, e.g. 1 for probabilities.
   * @default - no upper bound
   */
  readonly maxScore?: number;
}

/** When and how a platform model retrains on its own. */
export interface PlatformRetrainingOptions {
  /**
   * Run the continuous-training loop (retrain, compare with the production model, promote or keep, roll back).
   * @default true when the model is served
   */
  readonly enabled?: boolean;
  /**
   * What starts a retraining.
   * @default - on drift (when drift is monitored), every 7 days, and on request
   */
  readonly triggers?: RetrainTrigger[];
  /**
   * Least time between two runs.
   * @default Duration.hours(6)
   */
  readonly minInterval?: Duration;
  /**
   * Most runs per week.
   * @default 4
   */
  readonly maxRunsPerPeriod?: number;
  /**
   * How long a promoted model is watched before the loop trusts it.
   * @default Duration.hours(1)
   */
  readonly bakeTime?: Duration;
}

/** A model of an {@link MlPlatform}: how it trains, is served, monitored and retrained. */
export interface PlatformModelOptions {
  /** The training image (pin it by digest: it is part of the lineage). */
  readonly image: TrainingImage;
  /** GPU instance type of the training jobs. */
  readonly instanceType: GpuInstanceType;
  /** The metric a challenger must improve to replace the production model. */
  readonly objective: Objective;
  /** The training data. */
  readonly trainingData: TrainingData;
  /**
   * Held-out data the evaluation scores on.
   * @default - the training data
   */
  readonly evaluationData?: TrainingData;
  /**
   * The image registered for inference.
   * @default - the training image
   */
  readonly inferenceImage?: TrainingImage;
  /**
   * Training instances per job.
   * @default 1
   */
  readonly instanceCount?: number;
  /**
   * Managed spot training with checkpoints.
   * @default false
   */
  readonly spot?: boolean;
  /**
   * Longest a training job may run.
   * @default Duration.hours(24)
   */
  readonly maxRuntime?: Duration;
  /**
   * Hyperparameters of the training jobs.
   * @default - none
   */
  readonly hyperparameters?: { [name: string]: string };
  /**
   * Metrics parsed from the training logs.
   * @default - none
   */
  readonly metricDefinitions?: TrainingMetricDefinition[];
  /**
   * Evaluation step settings.
   * @default - the training image with its own entrypoint, reporting the objective's metric
   */
  readonly evaluation?: EvaluationOptions;
  /**
   * The training-data gate.
   * @default TrainingDataGate.stop()
   */
  readonly trainingDataGate?: TrainingDataGate;
  /**
   * Serving.
   * @default - a SageMaker endpoint with capture, canary rollouts and rollback alarms
   */
  readonly serving?: PlatformServingOptions;
  /**
   * Monitoring.
   * @default - drift and prediction health
   */
  readonly monitoring?: PlatformMonitoringOptions;
  /**
   * Continuous training.
   * @default - on drift, weekly and on request
   */
  readonly retraining?: PlatformRetrainingOptions;
  /**
   * A model card (intended use and risk rating are yours; pipeline, registry and endpoint are filled in).
   * @default - no model card
   */
  readonly modelCard?: ModelCardProps;
  /**
   * Description of the model package group.
   * @default - none
   */
  readonly description?: string;
}

/** Properties of a {@link PlatformModel}. */
export interface PlatformModelProps extends PlatformModelOptions {
  /** The platform's data lake. */
  readonly dataLake: IDataLake;
  /** The training backend. */
  readonly backend: TrainingBackend;
  /**
   * The model's SageMaker name: its model package group, pipeline and endpoint are named after it, and its
   * endpoint role sits under the IAM path `Personas.rolePathFor(namePrefix)`. Lowercase letters, digits, hyphens.
   */
  readonly name: string;
  /** The platform's name prefix (the start of `name`), which persona grants are scoped to. */
  readonly namePrefix: string;
}

/**
 * One model of a platform: registry, GPU training pipeline, endpoint, drift and prediction-health monitors, the
 * continuous-training loop and, on request, a model card. `MlPlatform.addModel` creates it (in a nested stack of
 * its own by default); every part is a property, so it can be extended or replaced.
 */
export class PlatformModel extends Construct {
  /** The model package group. */
  public readonly registry: ModelRegistry;
  /** The training pipeline. */
  public readonly pipeline: GpuTrainingPipeline;
  /** The endpoint, unless serving is off. */
  public readonly endpoint?: ModelEndpoint;
  /** The drift monitor, when served with drift monitoring. */
  public readonly driftMonitor?: DriftMonitor;
  /** The prediction-health monitor, when served with it. */
  public readonly predictionHealth?: PredictionHealthMonitor;
  /** The continuous-training loop, when served with retraining. */
  public readonly loop?: ContinuousTraining;
  /** The model card, if requested. */
  public readonly modelCard?: ModelCard;

  constructor(scope: Construct, id: string, props: PlatformModelProps) {
    super(scope, id);
    validate(this, props);
    const serving = props.serving ?? {};
    const monitoring = props.monitoring ?? {};
    const retraining = props.retraining ?? {};

    this.registry = new ModelRegistry(this, 'Registry', { description: props.description, modelPackageGroupName: props.name });
    this.pipeline = new GpuTrainingPipeline(this, 'Training', {
      dataLake: props.dataLake,
      registry: this.registry,
      image: props.image,
      inferenceImage: props.inferenceImage,
      instanceType: props.instanceType,
      instanceCount: props.instanceCount,
      objective: props.objective,
      trainingData: props.trainingData,
      evaluationData: props.evaluationData,
      evaluation: props.evaluation,
      spot: props.spot,
      maxRuntime: props.maxRuntime,
      hyperparameters: props.hyperparameters,
      metricDefinitions: props.metricDefinitions,
      trainingDataGate: props.trainingDataGate,
      vpc: props.backend.vpc,
      pipelineName: props.name,
    });

    if (serving.enabled ?? true) {
      // Under the platform's IAM path, so the MlEngineer persona may pass it for any model of the platform.
      const role = new iam.Role(this, 'EndpointRole', {
        description: `Execution role of the model behind ${this.node.path}/Endpoint`,
        path: Personas.rolePathFor(props.namePrefix),
        assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
      });
      this.endpoint = new ModelEndpoint(this, 'Endpoint', {
        role,
        endpointName: props.name,
        dataLake: props.dataLake,
        model: ModelSource.fromLatestApproved(this.registry),
        variants: serving.variants ?? [EndpointVariant.instance({ instanceType: 'ml.g5.xlarge', initialInstanceCount: 2, maxCapacity: 4 })],
        deployment: serving.deployment ?? DeploymentStrategy.canary({ percent: 10, bake: Duration.minutes(10) }),
        rollbackThresholds: serving.rollbackThresholds,
        dataCapture: serving.dataCapture,
        dataCaptureEnabled: true,
        vpc: props.backend.vpc,
      });
      if (monitoring.drift ?? true) {
        this.driftMonitor = new DriftMonitor(this, 'Drift', {
          endpoint: this.endpoint,
          psiAlarm: monitoring.psiAlarm,
          featureThresholds: monitoring.featureThresholds,
        });
      }
      if (monitoring.predictionHealth ?? true) {
        this.predictionHealth = new PredictionHealthMonitor(this, 'PredictionHealth', {
          endpoint: this.endpoint,
          minScore: monitoring.minScore,
          maxScore: monitoring.maxScore,
        });
      }
      if (retraining.enabled ?? true) {
        this.loop = new ContinuousTraining(this, 'Loop', {
          pipeline: this.pipeline,
          endpoint: this.endpoint,
          triggers: retraining.triggers ?? [
            ...this.driftMonitor ? [RetrainTrigger.onDrift(this.driftMonitor)] : [],
            RetrainTrigger.every(Duration.days(7)),
            RetrainTrigger.manual(),
          ],
          minInterval: retraining.minInterval ?? Duration.hours(6),
          maxRunsPerPeriod: retraining.maxRunsPerPeriod ?? 4,
          bakeTime: retraining.bakeTime ?? Duration.hours(1),
        });
      }
    }

    if (props.modelCard) {
      this.modelCard = new ModelCard(this, 'ModelCard', {
        ...props.modelCard,
        pipeline: props.modelCard.pipeline ?? this.pipeline,
        registry: props.modelCard.registry ?? this.registry,
        endpoint: props.modelCard.endpoint ?? this.endpoint,
      });
    }
  }
}

function validate(scope: PlatformModel, props: PlatformModelProps): void {
  const errors = new ValidationErrors(scope, 'PlatformModel');
  const served = props.serving?.enabled ?? true;
  errors.check(served || props.retraining?.enabled !== true, {
    code: 'RetrainingWithoutServing',
    what: 'retraining.enabled is true but serving is off: the loop compares and promotes on an endpoint',
    fix: 'turn serving on, or leave retraining off for a model that is only trained and registered',
  });
  errors.check(served || props.monitoring === undefined, {
    code: 'MonitoringWithoutServing',
    what: 'monitoring options are given but serving is off: monitors read the endpoint\'s capture',
    fix: 'turn serving on, or drop the monitoring options',
  });
  errors.check(props.monitoring?.drift !== false || props.retraining?.triggers !== undefined || props.retraining?.enabled === false || !served, {
    code: 'NoDriftTrigger',
    what: 'drift monitoring is off, so the default retraining triggers would retrain on a schedule only',
    fix: 'give retraining.triggers explicitly (e.g. RetrainTrigger.every(...), RetrainTrigger.manual()), or keep drift on',
  });
  errors.throwIfAny();
}
