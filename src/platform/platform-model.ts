import { createHash } from 'crypto';
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cdk8s from 'cdk8s';
import { Construct } from 'constructs';
import { TrainingBackend, TrainingBackendKind } from './training-backend';
import { ContinuousTraining } from '../automation/continuous-training';
import { KubeflowJobLauncher } from '../automation/kubeflow-launcher';
import { ModelServerPromoter } from '../automation/model-server-promoter';
import { RetrainTrigger } from '../automation/retrain-trigger';
import { GpuCluster } from '../compute/gpu-cluster';
import { GpuNodePool } from '../compute/gpu-node-pool';
import { KubeflowTraining } from '../compute/kubeflow-training';
import { ValidationErrors, setOptions } from '../core/errors';
import { IDataLake } from '../data/data-lake';
import { ModelCard, ModelCardProps } from '../governance/model-card';
import { Personas } from '../governance/personas';
import { DriftBaseline, DriftMonitor, FeatureDriftThreshold } from '../monitoring/drift-monitor';
import { PredictionHealthMonitor } from '../monitoring/prediction-health-monitor';
import { ModelRegistry } from '../registry/model-registry';
import { DeploymentStrategy } from '../serving/deployment-strategy';
import { EndpointVariant } from '../serving/endpoint-variant';
import { KubernetesModelServer, MAX_SERVER_NAME } from '../serving/kubernetes-model-server';
import { DataCaptureOptions, ModelEndpoint, RollbackThresholds } from '../serving/model-endpoint';
import { ModelSource } from '../serving/model-source';
import { GpuTrainingPipeline, TrainingOptions } from '../training/gpu-training-pipeline';

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
  /**
   * Serve on the platform's EKS cluster instead (kubeflow backend only): a `KubernetesModelServer` on the serving pool
   * whose sampled requests land in the lake like an endpoint's capture, watched by the same monitors. The
   * SageMaker-only options (variants, deployment, rollbackThresholds, dataCapture) do not apply; the loop retrains,
   * compares and approves, and a `ModelServerPromoter` rolls the newest approved version out to the server.
   * @default - a SageMaker endpoint
   */
  readonly kubernetes?: PlatformKubernetesServingOptions;
}

/** A model served on the platform's EKS cluster. */
export interface PlatformKubernetesServingOptions {
  /** The inference server image (pin it by digest). */
  readonly image: string;
  /**
   * Key prefix in the lake's models zone the server loads the model from (`model.tar.gz` below it, written by the
   * promoter; the server image unpacks it).
   * @default - `serving/<model name>/`
   */
  readonly modelKey?: string;
  /**
   * HTTP path of the readiness and liveness checks.
   * @default '/health'
   */
  readonly healthPath?: string;
  /**
   * Port the server listens on.
   * @default 8080
   */
  readonly port?: number;
  /**
   * Fewest replicas.
   * @default 2
   */
  readonly minReplicas?: number;
  /**
   * Most replicas.
   * @default 4
   */
  readonly maxReplicas?: number;
  /**
   * NVIDIA GPUs per replica.
   * @default 1
   */
  readonly gpusPerReplica?: number;
}

/** The PyTorchJob of a model trained on Kubeflow (`TrainingBackend.kubeflow()`); the image is the model's `image`. */
export interface PlatformKubeflowJobOptions {
  /**
   * Worker replicas besides the Master.
   * @default 1
   */
  readonly workerReplicas?: number;
  /**
   * NVIDIA GPUs per replica.
   * @default 1
   */
  readonly gpusPerWorker?: number;
  /**
   * Entrypoint of the training container.
   * @default - the image's ENTRYPOINT
   */
  readonly command?: string[];
  /**
   * Arguments of the training container (the run's data and output URIs arrive as ML_PLATFORM_INPUT_URI and
   * ML_PLATFORM_OUTPUT_URI; write `model.tar.gz` under the latter).
   * @default - the image's CMD
   */
  readonly args?: string[];
  /**
   * Environment variables of the training container.
   * @default - none besides the run's
   */
  readonly env?: { [name: string]: string };
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
   * Check the predictions (NaN/Infinity, constant output, out of range); on a SageMaker endpoint, unhealthy predictions
   * roll deployments back (a model server on EKS only alarms: reject the version in the registry to roll back).
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
export interface PlatformModelOptions extends TrainingOptions {
  /**
   * The PyTorchJob (kubeflow backend only).
   * @default - one Master and one Worker with one GPU each
   */
  readonly kubeflowJob?: PlatformKubeflowJobOptions;
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
  /**
   * The EKS cluster (kubeflow backend, or Kubernetes serving).
   * @default - none
   */
  readonly cluster?: GpuCluster;
  /**
   * The GPU pool training pods run on (kubeflow backend).
   * @default - none
   */
  readonly trainingPool?: GpuNodePool;
  /**
   * The GPU pool of the model server (`serving.kubernetes`).
   * @default - none
   */
  readonly servingPool?: GpuNodePool;
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
  /** The Kubeflow job template with its service account and grants (kubeflow backend). */
  public readonly kubeflowTraining?: KubeflowTraining;
  /** The launcher answering the pipeline's Train step with PyTorchJobs (kubeflow backend). */
  public readonly launcher?: KubeflowJobLauncher;
  /** The model server on the cluster (`serving.kubernetes`). */
  public readonly server?: KubernetesModelServer;
  /** Keeps {@link server} on the newest approved version (`serving.kubernetes`). */
  public readonly promoter?: ModelServerPromoter;

  constructor(scope: Construct, id: string, props: PlatformModelProps) {
    super(scope, id);
    validate(this, props);
    const serving = props.serving ?? {};
    const monitoring = props.monitoring ?? {};
    const retraining = props.retraining ?? {};

    this.registry = new ModelRegistry(this, 'Registry', { description: props.description, modelPackageGroupName: props.name });
    if (props.backend.kind === TrainingBackendKind.KUBEFLOW) {
      const job = props.kubeflowJob ?? {};
      const maxRuntime = props.maxRuntime ?? Duration.hours(24);
      // Only the template of the launcher's jobs: never applied to the cluster itself.
      this.kubeflowTraining = new KubeflowTraining(this, 'KubeflowTraining', {
        cluster: props.cluster!,
        pool: props.trainingPool!,
        dataLake: props.dataLake,
        namespace: props.backend.kubeflowOptions?.namespace,
        trainingData: props.trainingData,
        modelsPrefix: `pipelines/${props.name}/artifacts/`,
        applyJob: false,
        job: {
          image: props.image.imageUri,
          jobName: kubernetesName(props.name, 36),
          command: job.command,
          args: job.args,
          env: job.env,
          workerReplicas: job.workerReplicas,
          gpusPerWorker: job.gpusPerWorker,
          activeDeadline: cdk8s.Duration.seconds(maxRuntime.toSeconds()),
        },
      });
      // No image grant to the pods: the kubelet pulls with the node role (AmazonEC2ContainerRegistryReadOnly).
      this.launcher = new KubeflowJobLauncher(this, 'Launcher', {
        cluster: props.cluster!.cluster,
        job: this.kubeflowTraining.job,
        dataLake: props.dataLake,
        namespace: this.kubeflowTraining.namespace,
        maxRunTime: maxRuntime,
        watchInterval: props.backend.kubeflowOptions?.watchInterval,
      });
      // The launcher's Role lives in the job namespace, created with the service account.
      this.launcher.rbac.node.addDependency(this.kubeflowTraining.serviceAccount);
    }
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
      maxRuntime: this.launcher ? undefined : props.maxRuntime,
      hyperparameters: props.hyperparameters,
      metricDefinitions: props.metricDefinitions,
      callbackTrainer: this.launcher,
      trainingDataGate: props.trainingDataGate,
      vpc: props.backend.vpc,
      pipelineName: props.name,
    });

    if ((serving.enabled ?? true) && serving.kubernetes) {
      const k8s = serving.kubernetes;
      this.server = new KubernetesModelServer(this, 'Server', {
        cluster: props.cluster!,
        pool: props.servingPool!,
        dataLake: props.dataLake,
        image: k8s.image,
        modelKey: k8s.modelKey ?? `serving/${props.name}/`,
        serverName: kubernetesName(props.name, MAX_SERVER_NAME),
        healthPath: k8s.healthPath,
        port: k8s.port,
        minReplicas: k8s.minReplicas,
        maxReplicas: k8s.maxReplicas,
        gpusPerReplica: k8s.gpusPerReplica,
      });
      // Promotion on Kubernetes: the newest Approved version (approved by the loop) is rolled out to the server.
      this.promoter = new ModelServerPromoter(this, 'Promoter', { server: this.server, registry: this.registry });
    } else if (serving.enabled ?? true) {
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
    }

    // The same monitors and loop watch a SageMaker endpoint or a model server (both write the same capture layout).
    const served = this.endpoint ?? this.server;
    if (served) {
      if (monitoring.drift ?? true) {
        this.driftMonitor = new DriftMonitor(this, 'Drift', {
          endpoint: served,
          // A model server does not serve from the registry itself: compare with the champion's training data.
          baseline: this.server ? DriftBaseline.fromChampion(this.registry) : undefined,
          psiAlarm: monitoring.psiAlarm,
          featureThresholds: monitoring.featureThresholds,
        });
      }
      if (monitoring.predictionHealth ?? true) {
        this.predictionHealth = new PredictionHealthMonitor(this, 'PredictionHealth', {
          endpoint: served,
          minScore: monitoring.minScore,
          maxScore: monitoring.maxScore,
        });
      }
      if (retraining.enabled ?? true) {
        this.loop = new ContinuousTraining(this, 'Loop', {
          pipeline: this.pipeline,
          // Without an endpoint to promote to (a model server), a better challenger is approved in the registry.
          endpoint: this.endpoint,
          dataLake: props.dataLake,
          triggers: retraining.triggers ?? defaultTriggers(this.driftMonitor),
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

/** `name`, or its start and a hash of all of it when longer than `max` (names stay unique per platform). */
function kubernetesName(name: string, max: number): string {
  if (name.length <= max) { return name; }
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 6);
  return `${name.slice(0, max - 7).replace(/-+$/, '')}-${hash}`;
}

/** On drift (when drift is monitored), every 7 days, and on request. */
function defaultTriggers(drift: DriftMonitor | undefined): RetrainTrigger[] {
  return [
    ...drift ? [RetrainTrigger.onDrift(drift)] : [],
    RetrainTrigger.every(Duration.days(7)),
    RetrainTrigger.manual(),
  ];
}

function validate(scope: PlatformModel, props: PlatformModelProps): void {
  const errors = new ValidationErrors(scope, 'PlatformModel');
  const kubeflow = props.backend.kind === TrainingBackendKind.KUBEFLOW;
  if (kubeflow) {
    const sageMakerOnly = setOptions({
      instanceType: props.instanceType,
      instanceCount: props.instanceCount,
      spot: props.spot,
      hyperparameters: props.hyperparameters,
      metricDefinitions: props.metricDefinitions,
    });
    errors.check(sageMakerOnly.length === 0, {
      code: 'SageMakerOnlyOption',
      what: 'SageMaker training-job options are set but the model trains on Kubeflow',
      got: sageMakerOnly.join(', '),
      fix: 'size the job with kubeflowJob (workerReplicas, gpusPerWorker) and the training pool, pass hyperparameters as kubeflowJob.env or args',
    });
    errors.check(props.cluster !== undefined && props.trainingPool !== undefined, {
      code: 'NoCluster',
      what: 'the kubeflow backend needs a cluster and a training pool',
      got: props.cluster?.node.path ?? 'no cluster',
      fix: 'add the model with MlPlatform.addModel, which passes the platform\'s, or pass cluster and trainingPool',
    });
  } else {
    errors.check(props.instanceType !== undefined, {
      code: 'NoInstanceType',
      what: 'instanceType is required to train on SageMaker',
      got: 'no instanceType',
      fix: 'pass e.g. instanceType: GpuInstanceType.ML_G5_2XLARGE',
    });
    errors.check(props.kubeflowJob === undefined, {
      code: 'KubeflowOnlyOption',
      what: 'kubeflowJob is set but the model trains on SageMaker',
      got: 'kubeflowJob',
      fix: 'use TrainingBackend.kubeflow(...) on the platform, or drop kubeflowJob',
    });
  }
  const k8s = props.serving?.enabled !== false ? props.serving?.kubernetes : undefined;
  if (k8s) {
    errors.check(kubeflow && props.cluster !== undefined && props.servingPool !== undefined, {
      code: 'KubernetesServingWithoutCluster',
      what: 'serving.kubernetes serves on the platform\'s EKS cluster, which only the kubeflow backend has',
      got: props.backend.kind,
      fix: 'use TrainingBackend.kubeflow(...) on the platform, or drop serving.kubernetes for a SageMaker endpoint',
    });
    const sageMakerServing = setOptions({
      variants: props.serving?.variants,
      deployment: props.serving?.deployment,
      rollbackThresholds: props.serving?.rollbackThresholds,
      dataCapture: props.serving?.dataCapture,
    });
    errors.check(sageMakerServing.length === 0, {
      code: 'SageMakerServingOption',
      what: 'SageMaker endpoint options are set but the model is served on Kubernetes',
      got: sageMakerServing.join(', '),
      fix: 'size the server with serving.kubernetes (minReplicas, maxReplicas, gpusPerReplica), or drop serving.kubernetes',
    });
  }
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
