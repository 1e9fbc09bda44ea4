/**
 * The bad-input corpus (issue 9): invalid configurations a platform engineer plausibly writes, each with the coded
 * error and the construct path it must produce, plus hostile but type-correct inputs (empty strings, NaN, Infinity,
 * negative numbers, unresolved tokens, empty arrays, very long strings, unicode) that must either synthesize a clean
 * template or fail with a coded error, never crash.
 *
 * Every case builds into a fresh stack `Platform` (account 123456789012, us-east-1) of an app whose context turns the
 * git code-version fallback off and points the feature schema lock file at a temporary file.
 */
import { Duration, Lazy, RemovalPolicy, Size, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cdk8s from 'cdk8s';
import {
  AuditTrail, ClusterEndpoint, ContinuousTraining, ContinuousTrainingProps, CostReport, DataLake, DataZone, DeploymentStrategy, DriftBaseline,
  DriftMonitor, DriftMonitorProps, EndpointVariant, ExperimentTracking, Feature, FeatureStore, FeatureStoreProps, GpuCluster,
  GpuInstanceType, GpuNodePool, GpuNodePoolOptions, GpuTrainingPipeline, GpuTrainingPipelineProps, KubeflowTraining, KubeflowTrainingProps,
  KubernetesModelServer, KubernetesModelServerProps, MlPlatformContext, ModelApprovalStatus, ModelCard, ModelCardProps, ModelCardRiskRating,
  ModelCardStatus, ModelEndpoint, ModelEndpointProps, ModelRegistry, ModelSource, NodeProvisioner, Objective, Personas,
  PredictionHealthMonitor, PredictionHealthMonitorProps, RetrainTrigger, TrainingData, TrainingDataGate, TrainingDistribution,
  TrainingImage, MlPlatform, PlatformModelOptions, TrainingBackend, KubeflowJobLauncher,
} from '../../src';
import { AuditObjectLockMode } from '../../src/governance/audit-trail';
import { GPU_POOL_LABEL, GPU_PRESENT_LABEL, GPU_TAINT_EFFECT, GPU_TAINT_KEY, GPU_TAINT_VALUE, GpuPoolPlacement } from '../../src/k8s/gpu-scheduling';
import { KubeflowTrainingJob, KubeflowTrainingJobProps } from '../../src/training/kubeflow-training-job';

/** One invalid configuration and the coded error it must raise. */
export interface BadInputCase {
  /** Unique, kebab-case. */
  readonly name: string;
  /** The construct family under test (counted for coverage). */
  readonly construct: string;
  /** The expected `Construct.Code`. */
  readonly code: string;
  /** The construct path the message must end with. */
  readonly path: string;
  /**
   * When the error surfaces. `construct`: the constructor (or `add*` call) throws an `MlPlatformError`.
   * `synth`: a `node.addValidation` rule reports it when the app synthesizes; aws-cdk wraps the coded line in its own
   * aggregate validation error, so the harness checks the rendered line instead of the class.
   * @default 'construct'
   */
  readonly phase?: 'construct' | 'synth';
  /** Extra app context. */
  readonly context?: Record<string, unknown>;
  /** Builds the invalid configuration into `stack`. */
  readonly build: (stack: Stack) => void;
}

/** A hostile but type-correct input: it must synthesize cleanly or raise a coded error of `construct`. */
export interface HostileInputCase {
  readonly name: string;
  readonly construct: string;
  /** Code prefixes accepted if the input is rejected (default: `<construct>.`). */
  readonly codePrefixes?: string[];
  readonly context?: Record<string, unknown>;
  /** Builds the input into `stack`; may return a stand-alone cdk8s chart whose manifests are checked as well. */
  readonly build: (stack: Stack) => cdk8s.Chart | void;
}

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: realistic, valid neighbours of the construct under test. Shared ones are created once per stack.

const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2';
const SERVE_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serve:1.4.2';
const PACKAGE = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/3';

function lakeOf(stack: Stack): DataLake {
  return (stack.node.tryFindChild('Lake') as DataLake | undefined) ?? new DataLake(stack, 'Lake');
}
function registryOf(stack: Stack): ModelRegistry {
  return (stack.node.tryFindChild('Registry') as ModelRegistry | undefined) ?? new ModelRegistry(stack, 'Registry', { modelPackageGroupName: 'fraud' });
}
function trainingData(stack: Stack): TrainingData {
  return TrainingData.fromDataLake(lakeOf(stack), DataZone.CURATED, 'datasets/fraud/train/');
}
function pipeline(stack: Stack, props: Partial<GpuTrainingPipelineProps> = {}, id = 'Training'): GpuTrainingPipeline {
  return new GpuTrainingPipeline(stack, id, {
    dataLake: lakeOf(stack),
    registry: registryOf(stack),
    image: TrainingImage.fromUri(IMAGE),
    instanceType: GpuInstanceType.ML_G5_2XLARGE,
    objective: Objective.maximize('validation:auc', 0.005),
    trainingData: trainingData(stack),
    ...props,
  });
}
function endpoint(stack: Stack, props: Partial<ModelEndpointProps> = {}, id = 'Endpoint'): ModelEndpoint {
  return new ModelEndpoint(stack, id, { dataLake: lakeOf(stack), model: ModelSource.fromLatestApproved(registryOf(stack)), ...props });
}
const SERVERLESS = () => EndpointVariant.serverless({ memorySize: Size.mebibytes(2048), maxConcurrency: 10 });
const FEATURES = () => [Feature.string('transaction_id'), Feature.string('event_time'), Feature.fractional('amount')];
function featureStore(stack: Stack, props: Partial<FeatureStoreProps> = {}, id = 'Features', lake?: DataLake): FeatureStore {
  return new FeatureStore(stack, id, {
    dataLake: lake ?? lakeOf(stack), recordIdentifier: 'transaction_id', eventTime: 'event_time', features: FEATURES(), ...props,
  });
}
function drift(stack: Stack, props: Partial<DriftMonitorProps> = {}, ep?: ModelEndpoint): DriftMonitor {
  return new DriftMonitor(stack, 'Drift', { endpoint: ep ?? endpoint(stack), ...props });
}
function health(stack: Stack, props: Partial<PredictionHealthMonitorProps> = {}): PredictionHealthMonitor {
  return new PredictionHealthMonitor(stack, 'Health', { endpoint: endpoint(stack), ...props });
}
function loop(stack: Stack, props: Partial<ContinuousTrainingProps> = {}, p?: GpuTrainingPipeline): ContinuousTraining {
  return new ContinuousTraining(stack, 'Loop', {
    pipeline: p ?? pipeline(stack), triggers: [RetrainTrigger.every(Duration.days(7)), RetrainTrigger.manual()], ...props,
  });
}
function cluster(stack: Stack, props: ConstructorParameters<typeof GpuCluster>[2] = {}, id = 'Gpu'): GpuCluster {
  return new GpuCluster(stack, id, props);
}
function pool(stack: Stack, options: GpuNodePoolOptions = {}): GpuNodePool {
  const c = (stack.node.tryFindChild('Gpu') as GpuCluster | undefined) ?? cluster(stack);
  return c.addGpuNodePool('Serving', options);
}
/** A 4 x g5.12xlarge pool (4 GPUs per node, 16 in all) for training. */
function trainPool(c: GpuCluster): GpuNodePool {
  return c.addGpuNodePool('Train', { instanceTypes: [new ec2.InstanceType('g5.12xlarge')], provisioner: NodeProvisioner.managedNodeGroup({ maxSize: 4 }) });
}
function kubeflow(stack: Stack, props: Partial<KubeflowTrainingProps> = {}): KubeflowTraining {
  const c = cluster(stack);
  return new KubeflowTraining(stack, 'Fraud', { cluster: c, pool: trainPool(c), dataLake: lakeOf(stack), job: { image: IMAGE }, ...props });
}
function modelServer(stack: Stack, props: Partial<KubernetesModelServerProps> = {}): KubernetesModelServer {
  const c = cluster(stack);
  return new KubernetesModelServer(stack, 'Server', {
    cluster: c, pool: c.addGpuNodePool('Serving'), dataLake: lakeOf(stack), image: SERVE_IMAGE, modelKey: 'fraud/v3/', serverName: 'fraud', ...props,
  });
}
/** The placement of a g5 pool: 1 GPU on g5.2xlarge, 4 on g5.12xlarge, at most 16 GPUs. */
function platform(stack: Stack, backend?: TrainingBackend): MlPlatform {
  return new MlPlatform(stack, 'Ml', { name: 'fraud', backend });
}
function sageMakerModel(p: MlPlatform): PlatformModelOptions {
  return {
    image: TrainingImage.fromUri(IMAGE),
    instanceType: GpuInstanceType.ML_G5_2XLARGE,
    objective: Objective.maximize('validation:auc', 0.005),
    trainingData: TrainingData.fromDataLake(p.dataLake, DataZone.CURATED, 'datasets/fraud/'),
  };
}
function kubeflowModel(p: MlPlatform): PlatformModelOptions {
  const { instanceType: _, ...rest } = sageMakerModel(p);
  return rest;
}
function launcher(stack: Stack): KubeflowJobLauncher {
  const c = cluster(stack, { endpoint: ClusterEndpoint.privateOnly() }, 'LaunchGpu');
  return new KubeflowJobLauncher(stack, 'Launcher', { cluster: c.cluster, job: k8sJob(), dataLake: lakeOf(stack) });
}

function placement(overrides: Partial<GpuPoolPlacement> = {}): GpuPoolPlacement {
  return {
    poolName: 'a10g',
    nodeLabels: { [GPU_PRESENT_LABEL]: 'true', [GPU_POOL_LABEL]: 'a10g' },
    taints: [{ key: GPU_TAINT_KEY, value: GPU_TAINT_VALUE, effect: GPU_TAINT_EFFECT }],
    instanceTypes: ['g5.2xlarge', 'g5.12xlarge'],
    gpusPerInstanceType: [1, 4],
    maxGpus: 16,
    ...overrides,
  };
}
/** A PyTorchJob in its own cdk8s chart `jobs` (path `jobs/Train`); the AWS stack is not used. */
function k8sJob(props: Partial<KubeflowTrainingJobProps> = {}): KubeflowTrainingJob {
  const chart = new cdk8s.Chart(new cdk8s.App({ outdir: '/dev/null' }), 'jobs');
  return new KubeflowTrainingJob(chart, 'Train', { placement: placement(), image: IMAGE, jobName: 'fraud', ...props });
}
function modelCard(stack: Stack, props: Partial<ModelCardProps> = {}): ModelCard {
  return new ModelCard(stack, 'Card', {
    intendedUses: { intendedUses: 'Scores card transactions for manual fraud review; not for automatic declines.' },
    riskRating: ModelCardRiskRating.MEDIUM,
    owner: 'fraud-ml team',
    ...props,
  });
}
function personas(stack: Stack, props: Partial<ConstructorParameters<typeof Personas>[2]> = {}): Personas {
  return new Personas(stack, 'Personas', { dataLake: lakeOf(stack), ...props });
}
function alarms(stack: Stack, n: number): cloudwatch.IAlarm[] {
  return Array.from({ length: n }, (_, i) => cloudwatch.Alarm.fromAlarmArn(stack, `Kpi${i}`, `arn:aws:cloudwatch:us-east-1:123456789012:alarm:kpi-${i}`));
}

// ---------------------------------------------------------------------------------------------------------------
// Invalid configurations.

export const BAD_INPUTS: BadInputCase[] = [
  // DataLake
  {
    name: 'data-lake-noncurrent-expiration-in-hours',
    construct: 'DataLake',
    code: 'DataLake.InvalidLifecycle',
    path: 'Platform/Lake',
    build: s => { new DataLake(s, 'Lake', { noncurrentVersionExpiration: Duration.hours(36) }); },
  },
  {
    name: 'data-lake-infrequent-access-after-a-week',
    construct: 'DataLake',
    code: 'DataLake.InvalidLifecycle',
    path: 'Platform/Lake',
    build: s => { new DataLake(s, 'Lake', { monitoringTransition: { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(7) } }); },
  },
  {
    name: 'data-lake-expiry-before-transition',
    construct: 'DataLake',
    code: 'DataLake.InvalidLifecycle',
    path: 'Platform/Lake',
    build: s => {
      new DataLake(s, 'Lake', {
        monitoringTransition: { storageClass: s3.StorageClass.GLACIER, transitionAfter: Duration.days(90) }, monitoringExpiration: Duration.days(30),
      });
    },
  },
  {
    name: 'data-lake-database-name-with-hyphen',
    construct: 'DataLake',
    code: 'DataLake.InvalidDatabaseName',
    path: 'Platform/Lake',
    build: s => { new DataLake(s, 'Lake', { databaseName: 'Fraud-Lake' }); },
  },
  {
    name: 'data-lake-destroy-with-object-lock',
    construct: 'DataLake',
    code: 'DataLake.DestroyWithObjectLock',
    path: 'Platform/Lake',
    context: { [MlPlatformContext.REMOVE_DATA_ON_DESTROY]: true },
    build: s => { new DataLake(s, 'Lake', { removalPolicy: RemovalPolicy.DESTROY, curatedObjectLock: s3.ObjectLockRetention.governance(Duration.days(30)) }); },
  },
  {
    name: 'data-lake-wildcard-training-prefix',
    construct: 'DataLake',
    code: 'DataLake.InvalidKeyPrefix',
    path: 'Platform/Lake',
    build: s => { pipeline(s, { trainingData: TrainingData.fromDataLake(lakeOf(s), DataZone.CURATED, 'datasets/fraud/*.csv') }); },
  },

  // FeatureStore
  {
    name: 'feature-store-record-identifier-typo',
    construct: 'FeatureStore',
    code: 'FeatureStore.MissingRecordIdentifier',
    path: 'Platform/Features',
    build: s => { featureStore(s, { recordIdentifier: 'transactionId' }); },
  },
  {
    name: 'feature-store-no-store',
    construct: 'FeatureStore',
    code: 'FeatureStore.NoStore',
    path: 'Platform/Features',
    build: s => { featureStore(s, { onlineStoreEnabled: false, offlineStoreEnabled: false }); },
  },
  {
    name: 'feature-store-reserved-feature',
    construct: 'FeatureStore',
    code: 'FeatureStore.ReservedFeatureName',
    path: 'Platform/Features',
    build: s => { featureStore(s, { features: [...FEATURES(), Feature.integral('write_time')] }); },
  },
  {
    name: 'feature-store-case-duplicate',
    construct: 'FeatureStore',
    code: 'FeatureStore.DuplicateFeature',
    path: 'Platform/Features',
    build: s => { featureStore(s, { features: [...FEATURES(), Feature.fractional('Amount')] }); },
  },
  {
    name: 'feature-store-ttl-without-online-store',
    construct: 'FeatureStore',
    code: 'FeatureStore.TtlWithoutOnlineStore',
    path: 'Platform/Features',
    build: s => { featureStore(s, { onlineStoreEnabled: false, onlineStoreTtl: Duration.days(30) }); },
  },
  {
    name: 'feature-store-name-too-long',
    construct: 'FeatureStore',
    code: 'FeatureStore.InvalidName',
    path: 'Platform/Features',
    build: s => { featureStore(s, { featureGroupName: 'fraud-transactions-'.repeat(4) }); },
  },

  // ModelRegistry
  {
    name: 'model-registry-underscore-name',
    construct: 'ModelRegistry',
    code: 'ModelRegistry.InvalidName',
    path: 'Platform/Registry',
    build: s => { new ModelRegistry(s, 'Registry', { modelPackageGroupName: 'fraud_models' }); },
  },
  {
    name: 'model-registry-account-with-dashes',
    construct: 'ModelRegistry',
    code: 'ModelRegistry.InvalidAccount',
    path: 'Platform/Registry',
    build: s => { new ModelRegistry(s, 'Registry', { crossAccountReadAccounts: ['4444-5555-6666'] }); },
  },

  // GpuTrainingPipeline
  {
    name: 'training-instance-type-typo',
    construct: 'GpuTrainingPipeline',
    code: 'GpuTrainingPipeline.UnknownInstanceType',
    path: 'Platform/Training',
    build: s => { pipeline(s, { instanceType: GpuInstanceType.of('ml.g5.2xlarg') }); },
  },
  {
    name: 'training-on-cpu-instance',
    construct: 'GpuTrainingPipeline',
    code: 'GpuTrainingPipeline.NotAGpuInstance',
    path: 'Platform/Training',
    build: s => { pipeline(s, { instanceType: GpuInstanceType.of('ml.m5.4xlarge') }); },
  },
  {
    name: 'training-on-inferentia',
    construct: 'GpuTrainingPipeline',
    code: 'GpuTrainingPipeline.NotAGpuInstance',
    path: 'Platform/Training',
    build: s => { pipeline(s, { instanceType: GpuInstanceType.of('ml.inf2.xlarge') }); },
  },
  {
    name: 'training-ec2-instance-name',
    construct: 'GpuTrainingPipeline',
    code: 'GpuTrainingPipeline.InvalidInstanceType',
    path: 'Platform/Training',
    build: s => { pipeline(s, { instanceType: GpuInstanceType.of('g5.2xlarge') }); },
  },
  {
    name: 'training-zero-instances',
    construct: 'GpuTrainingPipeline',
    code: 'GpuTrainingPipeline.InvalidInstanceCount',
    path: 'Platform/Training',
    build: s => { pipeline(s, { instanceCount: 0 }); },
  },
  {
    name: 'training-runtime-over-28-days',
    construct: 'GpuTrainingPipeline',
    code: 'GpuTrainingPipeline.InvalidMaxRuntime',
    path: 'Platform/Training',
    build: s => { pipeline(s, { maxRuntime: Duration.days(30) }); },
  },
  {
    name: 'training-spot-wait-below-runtime',
    construct: 'GpuTrainingPipeline',
    code: 'GpuTrainingPipeline.MaxWaitBelowRuntime',
    path: 'Platform/Training',
    build: s => { pipeline(s, { spot: true, maxRuntime: Duration.hours(24), maxWait: Duration.hours(12) }); },
  },
  {
    name: 'training-volume-in-mebibytes',
    construct: 'GpuTrainingPipeline',
    code: 'GpuTrainingPipeline.InvalidVolumeSize',
    path: 'Platform/Training',
    build: s => { pipeline(s, { volumeSize: Size.mebibytes(500) }); },
  },
  {
    name: 'training-objective-not-evaluated',
    construct: 'GpuTrainingPipeline',
    code: 'GpuTrainingPipeline.ObjectiveNotEvaluated',
    path: 'Platform/Training',
    build: s => { pipeline(s, { objective: Objective.maximize('validation:f1'), evaluation: { metrics: ['validation:auc'] } }); },
  },
  {
    name: 'training-sharded-on-one-instance',
    construct: 'GpuTrainingPipeline',
    code: 'GpuTrainingPipeline.DistributedOnOneInstance',
    path: 'Platform/Training',
    build: s => { pipeline(s, { distribution: TrainingDistribution.SHARDED_BY_S3_KEY }); },
  },
  {
    name: 'training-isolated-with-tracking',
    construct: 'GpuTrainingPipeline',
    code: 'GpuTrainingPipeline.IsolatedTracking',
    path: 'Platform/Training',
    build: s => { pipeline(s, { networkIsolation: true, experimentTracking: new ExperimentTracking(s, 'Tracking', { dataLake: lakeOf(s) }) }); },
  },
  {
    name: 'training-from-online-only-feature-store',
    construct: 'GpuTrainingPipeline',
    code: 'GpuTrainingPipeline.NoOfflineStore',
    path: 'Platform/Training',
    build: s => { pipeline(s, { trainingData: TrainingData.fromFeatureStore(featureStore(s, { offlineStoreEnabled: false })) }); },
  },

  // TrainingDataGate
  {
    name: 'data-gate-negative-drift-score',
    construct: 'TrainingDataGate',
    code: 'GpuTrainingPipeline.InvalidTrainingDataGate',
    path: 'Platform/Training',
    build: s => { pipeline(s, { trainingDataGate: TrainingDataGate.stop({ maxDriftScore: -0.1 }) }); },
  },
  {
    name: 'data-gate-missing-rate-as-percent',
    construct: 'TrainingDataGate',
    code: 'GpuTrainingPipeline.InvalidTrainingDataGate',
    path: 'Platform/Training',
    build: s => { pipeline(s, { trainingDataGate: TrainingDataGate.requireApproval({ maxMissingRateIncrease: 10 }) }); },
  },

  // ExperimentTracking
  {
    name: 'tracking-mlflow-version-latest',
    construct: 'ExperimentTracking',
    code: 'ExperimentTracking.InvalidMlflowVersion',
    path: 'Platform/Tracking',
    build: s => { new ExperimentTracking(s, 'Tracking', { dataLake: lakeOf(s), mlflowVersion: 'latest' }); },
  },
  {
    name: 'tracking-maintenance-window-prose',
    construct: 'ExperimentTracking',
    code: 'ExperimentTracking.InvalidMaintenanceWindow',
    path: 'Platform/Tracking',
    build: s => { new ExperimentTracking(s, 'Tracking', { dataLake: lakeOf(s), weeklyMaintenanceWindowStart: 'Sunday 03:00' }); },
  },
  {
    name: 'tracking-name-with-spaces',
    construct: 'ExperimentTracking',
    code: 'ExperimentTracking.InvalidName',
    path: 'Platform/Tracking',
    build: s => { new ExperimentTracking(s, 'Tracking', { dataLake: lakeOf(s), trackingServerName: 'fraud tracking' }); },
  },

  // ModelEndpoint: variants
  {
    name: 'endpoint-instance-type-typo',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.InvalidInstanceType',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { variants: [EndpointVariant.instance({ instanceType: 'ml.g5-xlarge' })] }); },
  },
  {
    name: 'endpoint-on-trainium',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.TrainingOnlyInstance',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { variants: [EndpointVariant.instance({ instanceType: 'ml.trn1.2xlarge' })] }); },
  },
  {
    name: 'endpoint-eleven-variants',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.VariantCount',
    path: 'Platform/Endpoint',
    build: s => {
      endpoint(s, { variants: Array.from({ length: 11 }, (_, i) => EndpointVariant.instance({ instanceType: 'ml.m5.xlarge', variantName: `v${i}` })) });
    },
  },
  {
    name: 'endpoint-duplicate-variant-names',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.DuplicateVariant',
    path: 'Platform/Endpoint',
    build: s => {
      endpoint(s, {
        variants: [
          EndpointVariant.instance({ instanceType: 'ml.m5.xlarge', variantName: 'blue' }),
          EndpointVariant.instance({ instanceType: 'ml.m5.2xlarge', variantName: 'blue' }),
        ],
      });
    },
  },
  {
    name: 'endpoint-min-above-max',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.MinAboveMax',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { variants: [EndpointVariant.instance({ instanceType: 'ml.m5.xlarge', minCapacity: 6, maxCapacity: 3 })] }); },
  },
  {
    name: 'endpoint-serverless-memory-not-a-step',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.InvalidServerlessMemory',
    path: 'Platform/Endpoint',
    build: s => {
      endpoint(s, {
        variants: [EndpointVariant.serverless({ memorySize: Size.mebibytes(1500), maxConcurrency: 10 })], deployment: DeploymentStrategy.allAtOnce(),
      });
    },
  },
  {
    name: 'endpoint-serverless-canary',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.ServerlessDeployment',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { variants: [SERVERLESS()], deployment: DeploymentStrategy.canary() }); },
  },
  {
    name: 'endpoint-endpoint-name-underscore',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.InvalidName',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { endpointName: 'fraud_prod' }); },
  },
  {
    name: 'endpoint-model-data-https',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.InvalidModelData',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { model: ModelSource.fromImage(TrainingImage.fromUri(SERVE_IMAGE), 'https://models.s3.amazonaws.com/fraud/model.tar.gz') }); },
  },
  {
    name: 'endpoint-eleven-rollback-alarms',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.TooManyRollbackAlarms',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { rollbackAlarms: alarms(s, 9) }); },
  },
  {
    name: 'endpoint-verify-timeout-two-hours',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.InvalidVerifyTimeout',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { verifyTimeout: Duration.hours(2) }); },
  },
  {
    name: 'endpoint-negative-weight',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.InvalidWeight',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { variants: [EndpointVariant.instance({ instanceType: 'ml.m5.xlarge', weight: -0.5 })] }); },
  },
  {
    name: 'endpoint-zero-scaling-target',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.InvalidScalingTarget',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { variants: [EndpointVariant.instance({ instanceType: 'ml.m5.xlarge', targetInvocationsPerInstance: 0 })] }); },
  },
  {
    name: 'endpoint-latency-threshold-parsed-from-text',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.InvalidRollbackThreshold',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { rollbackThresholds: { maxP99LatencyMs: Number('1s') } }); },
  },
  {
    name: 'endpoint-async-zero-concurrency',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.InvalidAsyncInference',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { asyncInference: { maxConcurrentInvocationsPerInstance: 0 }, deployment: DeploymentStrategy.allAtOnce() }); },
  },
  {
    name: 'endpoint-package-name-instead-of-arn',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.InvalidModelPackage',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { model: ModelSource.fromModelPackage('fraud/3') }); },
  },
  // ModelEndpoint: deployment strategies
  {
    name: 'endpoint-canary-sixty-percent',
    construct: 'DeploymentStrategy',
    code: 'ModelEndpoint.CanaryTooLarge',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { deployment: DeploymentStrategy.canary({ percent: 60 }) }); },
  },
  {
    name: 'endpoint-canary-whole-fleet',
    construct: 'DeploymentStrategy',
    code: 'ModelEndpoint.CanaryTooLarge',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { deployment: DeploymentStrategy.canary({ instances: 2 }) }); },
  },
  {
    name: 'endpoint-linear-five-percent',
    construct: 'DeploymentStrategy',
    code: 'ModelEndpoint.InvalidLinearStep',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { deployment: DeploymentStrategy.linear({ stepPercent: 5 }) }); },
  },
  {
    name: 'endpoint-bake-two-hours',
    construct: 'DeploymentStrategy',
    code: 'ModelEndpoint.InvalidBake',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { deployment: DeploymentStrategy.canary({ bake: Duration.hours(2) }) }); },
  },
  {
    name: 'endpoint-rolling-two-variants',
    construct: 'DeploymentStrategy',
    code: 'ModelEndpoint.RollingMultipleVariants',
    path: 'Platform/Endpoint',
    build: s => {
      endpoint(s, {
        variants: [EndpointVariant.instance({ instanceType: 'ml.m5.xlarge', variantName: 'a' }), EndpointVariant.instance({ instanceType: 'ml.m5.xlarge', variantName: 'b' })],
        deployment: DeploymentStrategy.rolling({ batchPercent: 25 }),
      });
    },
  },
  // ModelEndpoint: capture
  {
    name: 'endpoint-capture-sampling-over-100',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.InvalidSampling',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { dataCapture: { samplingPercentage: 150 } }); },
  },
  {
    name: 'endpoint-capture-nothing',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.NothingCaptured',
    path: 'Platform/Endpoint',
    build: s => { endpoint(s, { dataCapture: { captureInput: false, captureOutput: false } }); },
  },
  {
    name: 'endpoint-serverless-with-capture',
    construct: 'ModelEndpoint',
    code: 'ModelEndpoint.ServerlessDataCapture',
    path: 'Platform/Endpoint',
    build: s => {
      endpoint(s, {
        variants: [SERVERLESS()], deployment: DeploymentStrategy.allAtOnce(), dataCaptureEnabled: true,
      });
    },
  },

  // DriftMonitor
  {
    name: 'drift-capture-off',
    construct: 'DriftMonitor',
    code: 'DriftMonitor.CaptureDisabled',
    path: 'Platform/Drift',
    build: s => { drift(s, {}, endpoint(s, { dataCaptureEnabled: false })); },
  },
  {
    name: 'drift-interval-in-seconds',
    construct: 'DriftMonitor',
    code: 'DriftMonitor.InvalidInterval',
    path: 'Platform/Drift',
    build: s => { drift(s, { interval: Duration.seconds(30) }); },
  },
  {
    name: 'drift-warning-above-alarm',
    construct: 'DriftMonitor',
    code: 'DriftMonitor.InvalidThreshold',
    path: 'Platform/Drift',
    build: s => { drift(s, { psiWarning: 0.3, psiAlarm: 0.2 }); },
  },
  {
    name: 'drift-interval-parsed-from-text',
    construct: 'DriftMonitor',
    code: 'DriftMonitor.InvalidInterval',
    path: 'Platform/Drift',
    build: s => { drift(s, { interval: Duration.minutes(Number('1h')) }); },
  },
  {
    name: 'drift-memory-too-small',
    construct: 'DriftMonitor',
    code: 'DriftMonitor.InvalidMemorySize',
    path: 'Platform/Drift',
    build: s => { drift(s, { memorySize: 128 }); },
  },
  {
    name: 'drift-csv-columns-as-one-string',
    construct: 'DriftMonitor',
    code: 'DriftMonitor.InvalidCsvColumns',
    path: 'Platform/Drift',
    build: s => { drift(s, { csvColumns: ['amount,country,merchant'] }); },
  },
  {
    name: 'drift-no-baseline',
    construct: 'DriftMonitor',
    code: 'DriftMonitor.NoBaseline',
    path: 'Platform/Drift',
    build: s => { drift(s, {}, endpoint(s, { model: ModelSource.fromModelPackage(PACKAGE) })); },
  },
  {
    name: 'drift-model-monitor-every-minute',
    construct: 'DriftMonitor',
    code: 'DriftMonitor.InvalidModelMonitorSchedule',
    path: 'Platform/Drift',
    build: s => { drift(s, { modelMonitor: { scheduleExpression: 'rate(1 minute)' } }); },
  },

  // PredictionHealthMonitor
  {
    name: 'health-score-range-swapped',
    construct: 'PredictionHealthMonitor',
    code: 'PredictionHealthMonitor.InvalidScoreRange',
    path: 'Platform/Health',
    build: s => { health(s, { minScore: 1, maxScore: 0 }); },
  },
  {
    name: 'health-rate-as-percent',
    construct: 'PredictionHealthMonitor',
    code: 'PredictionHealthMonitor.InvalidRate',
    path: 'Platform/Health',
    build: s => { health(s, { maxNonFiniteRate: 5 }); },
  },
  {
    name: 'health-out-of-range-without-range',
    construct: 'PredictionHealthMonitor',
    code: 'PredictionHealthMonitor.OutOfRangeWithoutRange',
    path: 'Platform/Health',
    build: s => { health(s, { maxOutOfRangeRate: 0.01 }); },
  },
  {
    name: 'health-one-prediction',
    construct: 'PredictionHealthMonitor',
    code: 'PredictionHealthMonitor.InvalidMinPredictions',
    path: 'Platform/Health',
    build: s => { health(s, { minPredictions: 1 }); },
  },

  // ContinuousTraining / RetrainTrigger
  {
    name: 'loop-without-triggers',
    construct: 'ContinuousTraining',
    code: 'ContinuousTraining.NoTriggers',
    path: 'Platform/Loop',
    build: s => { loop(s, { triggers: [] }); },
  },
  {
    name: 'loop-zero-runs-budget',
    construct: 'ContinuousTraining',
    code: 'ContinuousTraining.InvalidBudget',
    path: 'Platform/Loop',
    build: s => { loop(s, { maxRunsPerPeriod: 0 }); },
  },
  {
    name: 'loop-bake-time-in-seconds',
    construct: 'ContinuousTraining',
    code: 'ContinuousTraining.InvalidBakeTime',
    path: 'Platform/Loop',
    build: s => { loop(s, { bakeTime: Duration.seconds(30) }); },
  },
  {
    name: 'loop-min-interval-a-year',
    construct: 'ContinuousTraining',
    code: 'ContinuousTraining.InvalidMinInterval',
    path: 'Platform/Loop',
    build: s => { loop(s, { minInterval: Duration.days(365) }); },
  },
  {
    name: 'loop-registry-mismatch',
    construct: 'ContinuousTraining',
    code: 'ContinuousTraining.RegistryMismatch',
    path: 'Platform/Loop',
    build: s => {
      const other = new ModelRegistry(s, 'OtherRegistry', { modelPackageGroupName: 'churn' });
      loop(s, { endpoint: endpoint(s, { model: ModelSource.fromLatestApproved(other) }) });
    },
  },
  {
    name: 'loop-pipeline-approves-itself',
    construct: 'ContinuousTraining',
    code: 'ContinuousTraining.PipelineApprovesItself',
    path: 'Platform/Loop',
    build: s => { loop(s, {}, pipeline(s, { modelApprovalStatus: ModelApprovalStatus.APPROVED })); },
  },
  {
    name: 'retrain-every-thirty-minutes',
    construct: 'RetrainTrigger',
    code: 'ContinuousTraining.InvalidSchedule',
    path: 'Platform/Loop',
    build: s => { loop(s, { triggers: [RetrainTrigger.every(Duration.minutes(30))] }); },
  },
  {
    name: 'retrain-every-ninety-seconds',
    construct: 'RetrainTrigger',
    code: 'ContinuousTraining.InvalidSchedule',
    path: 'Platform/Loop',
    build: s => { loop(s, { triggers: [RetrainTrigger.every(Duration.seconds(90))] }); },
  },
  {
    name: 'retrain-manual-twice',
    construct: 'RetrainTrigger',
    code: 'ContinuousTraining.DuplicateTrigger',
    path: 'Platform/Loop',
    build: s => { loop(s, { triggers: [RetrainTrigger.manual(), RetrainTrigger.manual()] }); },
  },

  // GpuCluster
  {
    name: 'cluster-outdated-kubernetes',
    construct: 'GpuCluster',
    code: 'GpuCluster.InvalidVersion',
    path: 'Platform/Gpu',
    build: s => { cluster(s, { version: eks.KubernetesVersion.of('1.27') }); },
  },
  {
    name: 'cluster-public-cidr-typo',
    construct: 'GpuCluster',
    code: 'GpuCluster.InvalidPublicCidr',
    path: 'Platform/Gpu',
    build: s => { cluster(s, { endpoint: ClusterEndpoint.publicAndPrivateFrom('203.0.113.0/33') }); },
  },
  {
    name: 'cluster-karpenter-version-with-v',
    construct: 'GpuCluster',
    code: 'GpuCluster.InvalidKarpenterVersion',
    path: 'Platform/Gpu',
    build: s => { cluster(s, { karpenterVersion: 'v1.0.6' }); },
  },
  {
    name: 'cluster-zero-system-nodes',
    construct: 'GpuCluster',
    code: 'GpuCluster.InvalidSystemNodeCount',
    path: 'Platform/Gpu',
    build: s => { cluster(s, { systemNodeCount: 0 }); },
  },

  // GpuNodePool
  {
    name: 'pool-cpu-instance',
    construct: 'GpuNodePool',
    code: 'GpuNodePool.NoGpu',
    path: 'Platform/Gpu/Serving',
    build: s => { pool(s, { instanceTypes: [new ec2.InstanceType('m5.2xlarge')] }); },
  },
  {
    name: 'pool-instance-type-typo',
    construct: 'GpuNodePool',
    code: 'GpuNodePool.UnknownInstanceType',
    path: 'Platform/Gpu/Serving',
    build: s => { pool(s, { instanceTypes: [new ec2.InstanceType('g5.2xlarg')] }); },
  },
  {
    name: 'pool-inferentia',
    construct: 'GpuNodePool',
    code: 'GpuNodePool.NoGpu',
    path: 'Platform/Gpu/Serving',
    build: s => { pool(s, { instanceTypes: [new ec2.InstanceType('inf2.xlarge')] }); },
  },
  {
    name: 'pool-mixed-architectures',
    construct: 'GpuNodePool',
    code: 'GpuNodePool.MixedArchitectures',
    path: 'Platform/Gpu/Serving',
    build: s => { pool(s, { instanceTypes: [new ec2.InstanceType('g5.xlarge'), new ec2.InstanceType('g5g.xlarge')] }); },
  },
  {
    name: 'pool-min-above-max',
    construct: 'GpuNodePool',
    code: 'GpuNodePool.InvalidScaling',
    path: 'Platform/Gpu/Serving',
    build: s => { pool(s, { provisioner: NodeProvisioner.managedNodeGroup({ minSize: 5, maxSize: 2 }) }); },
  },
  {
    name: 'pool-karpenter-gpu-limit-below-node',
    construct: 'GpuNodePool',
    code: 'GpuNodePool.GpuLimitTooLow',
    path: 'Platform/Gpu/Serving',
    build: s => { pool(s, { instanceTypes: [new ec2.InstanceType('g5.12xlarge')], provisioner: NodeProvisioner.karpenter({ maxGpus: 2 }) }); },
  },
  {
    name: 'pool-karpenter-budget-prose',
    construct: 'GpuNodePool',
    code: 'GpuNodePool.InvalidDisruptionBudget',
    path: 'Platform/Gpu/Serving',
    build: s => { pool(s, { provisioner: NodeProvisioner.karpenter({ disruptionBudget: 'ten percent' }) }); },
  },
  {
    name: 'pool-name-uppercase',
    construct: 'GpuNodePool',
    code: 'GpuNodePool.InvalidPoolName',
    path: 'Platform/Gpu/Serving',
    build: s => { pool(s, { poolName: 'A10G_Serving' }); },
  },
  {
    name: 'pool-reserved-label',
    construct: 'GpuNodePool',
    code: 'GpuNodePool.ReservedLabel',
    path: 'Platform/Gpu/Serving',
    build: s => { pool(s, { labels: { [GPU_POOL_LABEL]: 'other' } }); },
  },
  {
    name: 'pool-root-volume-in-mebibytes',
    construct: 'GpuNodePool',
    code: 'GpuNodePool.InvalidRootVolumeSize',
    path: 'Platform/Gpu/Serving',
    build: s => { pool(s, { rootVolumeSize: Size.mebibytes(512) }); },
  },
  {
    name: 'pool-no-gpu-ami',
    construct: 'GpuNodePool',
    code: 'GpuNodePool.NoGpuAmi',
    path: 'Platform/Gpu/Serving',
    build: s => { pool(s, { provisioner: NodeProvisioner.managedNodeGroup({ amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD }) }); },
  },

  // KubeflowTrainingJob
  {
    name: 'pytorch-job-name-uppercase',
    construct: 'KubeflowTrainingJob',
    code: 'KubeflowTrainingJob.InvalidName',
    path: 'jobs/Train',
    build: () => { k8sJob({ jobName: 'Fraud_Train' }); },
  },
  {
    name: 'pytorch-job-zero-gpus',
    construct: 'KubeflowTrainingJob',
    code: 'KubeflowTrainingJob.InvalidGpuCount',
    path: 'jobs/Train',
    build: () => { k8sJob({ gpusPerWorker: 0 }); },
  },
  {
    name: 'pytorch-job-gpus-exceed-node',
    construct: 'KubeflowTrainingJob',
    code: 'KubeflowTrainingJob.GpusPerWorkerExceedNode',
    path: 'jobs/Train',
    build: () => { k8sJob({ gpusPerWorker: 8 }); },
  },
  {
    name: 'pytorch-job-exceeds-pool',
    construct: 'KubeflowTrainingJob',
    code: 'KubeflowTrainingJob.ExceedsPoolCapacity',
    path: 'jobs/Train',
    build: () => { k8sJob({ workerReplicas: 20 }); },
  },
  {
    name: 'pytorch-job-elastic-min-above-max',
    construct: 'KubeflowTrainingJob',
    code: 'KubeflowTrainingJob.ElasticMinGreaterThanMax',
    path: 'jobs/Train',
    build: () => { k8sJob({ workerReplicas: 2, elasticPolicy: { minReplicas: 4, maxReplicas: 2 } }); },
  },
  {
    name: 'pytorch-job-deadline-in-millis',
    construct: 'KubeflowTrainingJob',
    code: 'KubeflowTrainingJob.InvalidDuration',
    path: 'jobs/Train',
    build: () => { k8sJob({ activeDeadline: cdk8s.Duration.millis(1500) }); },
  },
  {
    name: 'pytorch-job-outside-chart',
    construct: 'KubeflowTrainingJob',
    code: 'KubeflowTrainingJob.NotInChart',
    path: 'Platform/Train',
    build: s => { new KubeflowTrainingJob(s, 'Train', { placement: placement(), image: IMAGE }); },
  },

  // KubeflowTraining
  {
    name: 'kubeflow-namespace-uppercase',
    construct: 'KubeflowTraining',
    code: 'KubeflowTraining.InvalidNamespace',
    path: 'Platform/Fraud',
    build: s => { kubeflow(s, { namespace: 'ML_Team' }); },
  },
  {
    name: 'kubeflow-pool-of-other-cluster',
    construct: 'KubeflowTraining',
    code: 'KubeflowTraining.PoolNotInCluster',
    path: 'Platform/Fraud',
    build: s => {
      const a = cluster(s);
      const b = cluster(s, {}, 'Other');
      new KubeflowTraining(s, 'Fraud', { cluster: a, pool: trainPool(b), dataLake: lakeOf(s), job: { image: IMAGE } });
    },
  },
  {
    name: 'kubeflow-job-gpus-exceed-node',
    construct: 'KubeflowTraining',
    code: 'KubeflowTrainingJob.GpusPerWorkerExceedNode',
    path: 'Platform/Fraud',
    build: s => { kubeflow(s, { job: { image: IMAGE, gpusPerWorker: 8 } }); },
  },
  {
    name: 'kubeflow-manifest-budget-tiny',
    construct: 'KubeflowTraining',
    code: 'KubeflowTraining.InvalidManifestBudget',
    path: 'Platform/Fraud',
    build: s => { kubeflow(s, { maxManifestBytes: 512 }); },
  },

  // KubernetesModelServer
  {
    name: 'model-server-port-zero',
    construct: 'KubernetesModelServer',
    code: 'KubernetesModelServer.InvalidPort',
    path: 'Platform/Server',
    build: s => { modelServer(s, { port: 0 }); },
  },
  {
    name: 'model-server-min-above-max',
    construct: 'KubernetesModelServer',
    code: 'KubernetesModelServer.MinGreaterThanMax',
    path: 'Platform/Server',
    build: s => { modelServer(s, { minReplicas: 4, maxReplicas: 2 }); },
  },
  {
    name: 'model-server-gpus-exceed-node',
    construct: 'KubernetesModelServer',
    code: 'KubernetesModelServer.GpusPerReplicaExceedNode',
    path: 'Platform/Server',
    build: s => { modelServer(s, { gpusPerReplica: 2 }); },
  },
  {
    name: 'model-server-model-in-other-bucket',
    construct: 'KubernetesModelServer',
    code: 'KubernetesModelServer.ModelNotInLake',
    path: 'Platform/Server',
    build: s => { modelServer(s, { modelKey: 's3://team-models/fraud/v3/' }); },
  },
  {
    name: 'model-server-cpu-target-as-fraction',
    construct: 'KubernetesModelServer',
    code: 'KubernetesModelServer.InvalidTargetUtilization',
    path: 'Platform/Server',
    build: s => { modelServer(s, { targetCpuUtilization: 0.7 }); },
  },
  {
    name: 'model-server-capture-sampling-200',
    construct: 'KubernetesModelServer',
    code: 'KubernetesModelServer.InvalidSamplingPercentage',
    path: 'Platform/Server',
    build: s => { modelServer(s, { capture: { samplingPercentage: 200 } }); },
  },
  {
    name: 'model-server-relative-health-path',
    construct: 'KubernetesModelServer',
    code: 'KubernetesModelServer.InvalidHealthPath',
    path: 'Platform/Server',
    build: s => { modelServer(s, { healthPath: 'health' }); },
  },

  // CostReport
  {
    name: 'cost-negative-budget',
    construct: 'CostReport',
    code: 'CostReport.InvalidBudget',
    path: 'Platform/Cost',
    build: s => { new CostReport(s, 'Cost', { maxIdleMonthlyUsd: -100 }); },
  },
  {
    name: 'cost-hours-per-year',
    construct: 'CostReport',
    code: 'CostReport.InvalidHoursPerMonth',
    path: 'Platform/Cost',
    build: s => { new CostReport(s, 'Cost', { hoursPerMonth: 8760 }); },
  },
  {
    name: 'cost-two-reports',
    construct: 'CostReport',
    code: 'CostReport.DuplicateReport',
    path: 'Platform/Cost2',
    build: s => { new CostReport(s, 'Cost'); new CostReport(s, 'Cost2'); },
  },
  {
    name: 'cost-idle-budget-exceeded',
    construct: 'CostReport',
    code: 'CostReport.IdleBudgetExceeded',
    path: 'Platform/Cost',
    phase: 'synth',
    build: s => {
      endpoint(s, { model: ModelSource.fromModelPackage(PACKAGE), variants: [EndpointVariant.instance({ instanceType: 'ml.g5.xlarge' })] });
      new CostReport(s, 'Cost', { maxIdleMonthlyUsd: 100 });
    },
  },

  // AuditTrail
  {
    name: 'audit-retention-in-hours',
    construct: 'AuditTrail',
    code: 'AuditTrail.InvalidRetention',
    path: 'Platform/Audit',
    build: s => { new AuditTrail(s, 'Audit', { retention: Duration.hours(12) }); },
  },
  {
    name: 'audit-destroy-compliance',
    construct: 'AuditTrail',
    code: 'AuditTrail.DestroyWithObjectLock',
    path: 'Platform/Audit',
    context: { [MlPlatformContext.REMOVE_DATA_ON_DESTROY]: true },
    build: s => { new AuditTrail(s, 'Audit', { removalPolicy: RemovalPolicy.DESTROY, objectLockMode: AuditObjectLockMode.COMPLIANCE }); },
  },
  {
    name: 'audit-traces-itself',
    construct: 'AuditTrail',
    code: 'AuditTrail.RecursiveDataEvents',
    path: 'Platform/Audit',
    build: s => { const a = new AuditTrail(s, 'Audit'); a.addDataEventBucket(a.bucket); },
  },

  // Personas
  {
    name: 'personas-session-a-day',
    construct: 'Personas',
    code: 'Personas.InvalidMaxSessionDuration',
    path: 'Platform/Personas',
    build: s => { personas(s, { maxSessionDuration: Duration.hours(24) }); },
  },
  {
    name: 'personas-shared-principal',
    construct: 'Personas',
    code: 'Personas.SharedPrincipal',
    path: 'Platform/Personas',
    build: s => {
      const team = new iam.ArnPrincipal('arn:aws:iam::123456789012:role/ml-team');
      personas(s, { dataScientistPrincipal: team, mlEngineerPrincipal: team });
    },
  },
  {
    name: 'personas-pipeline-of-other-lake',
    construct: 'Personas',
    code: 'Personas.ForeignDataLake',
    path: 'Platform/Personas',
    build: s => {
      const other = new DataLake(s, 'OtherLake');
      personas(s, { pipelines: [pipeline(s, { dataLake: other, trainingData: TrainingData.fromDataLake(other, DataZone.CURATED, 'datasets/fraud/') })] });
    },
  },
  {
    name: 'personas-registry-twice',
    construct: 'Personas',
    code: 'Personas.Duplicate',
    path: 'Platform/Personas',
    build: s => { personas(s, { registries: [registryOf(s), registryOf(s)] }); },
  },

  // ModelCard
  {
    name: 'model-card-blank-intended-use',
    construct: 'ModelCard',
    code: 'ModelCard.MissingIntendedUse',
    path: 'Platform/Card',
    build: s => { modelCard(s, { intendedUses: { intendedUses: '   ' } }); },
  },
  {
    name: 'model-card-high-risk-unexplained',
    construct: 'ModelCard',
    code: 'ModelCard.HighRiskWithoutExplanation',
    path: 'Platform/Card',
    build: s => { modelCard(s, { riskRating: ModelCardRiskRating.HIGH }); },
  },
  {
    name: 'model-card-approved-without-owner',
    construct: 'ModelCard',
    code: 'ModelCard.NoOwnerForReview',
    path: 'Platform/Card',
    build: s => { modelCard(s, { status: ModelCardStatus.APPROVED, owner: undefined }); },
  },
  {
    name: 'model-card-approved-unrated',
    construct: 'ModelCard',
    code: 'ModelCard.UnratedForReview',
    path: 'Platform/Card',
    build: s => { modelCard(s, { status: ModelCardStatus.PENDING_REVIEW, riskRating: ModelCardRiskRating.UNKNOWN }); },
  },
  {
    name: 'model-card-text-too-long',
    construct: 'ModelCard',
    code: 'ModelCard.TextTooLong',
    path: 'Platform/Card',
    build: s => { modelCard(s, { description: 'A gradient-boosted fraud model. '.repeat(40) }); },
  },

  // Lineage context
  {
    name: 'lineage-code-version-with-hash-and-parens',
    construct: 'Lineage',
    code: 'Lineage.InvalidCodeVersion',
    path: 'Platform/Registry',
    context: { [MlPlatformContext.CODE_VERSION]: 'fix #42 (hotfix)' },
    build: s => { new ModelRegistry(s, 'Registry'); },
  },
  {
    name: 'lineage-code-version-too-long',
    construct: 'Lineage',
    code: 'Lineage.InvalidCodeVersion',
    path: 'Platform/Registry',
    context: { [MlPlatformContext.CODE_VERSION]: 'a'.repeat(300) },
    build: s => { new ModelRegistry(s, 'Registry'); },
  },
  // --- MlPlatform and its models ---------------------------------------------------------------------------------
  {
    name: 'platform-name-uppercase',
    construct: 'MlPlatform',
    code: 'MlPlatform.InvalidName',
    path: 'Platform/Ml',
    build: s => { new MlPlatform(s, 'Ml', { name: 'Fraud' }); },
  },
  {
    name: 'platform-name-too-long',
    construct: 'MlPlatform',
    code: 'MlPlatform.InvalidName',
    path: 'Platform/Ml',
    build: s => { new MlPlatform(s, 'Ml', { name: 'a'.repeat(21) }); },
  },
  {
    name: 'platform-model-id-with-underscore',
    construct: 'MlPlatform',
    code: 'MlPlatform.InvalidModelId',
    path: 'Platform/Ml',
    build: s => { const p = platform(s); p.addModel('fraud_v2', sageMakerModel(p)); },
  },
  {
    name: 'platform-model-added-twice',
    construct: 'MlPlatform',
    code: 'MlPlatform.DuplicateModel',
    path: 'Platform/Ml',
    build: s => { const p = platform(s); p.addModel('fraud', sageMakerModel(p)); p.addModel('fraud', sageMakerModel(p)); },
  },
  {
    name: 'platform-unknown-model',
    construct: 'MlPlatform',
    code: 'MlPlatform.UnknownModel',
    path: 'Platform/Ml',
    build: s => { platform(s).model('fraud'); },
  },
  {
    name: 'platform-feature-store-added-twice',
    construct: 'MlPlatform',
    code: 'MlPlatform.DuplicateFeatureStore',
    path: 'Platform/Ml',
    build: s => {
      const p = platform(s);
      const options = { recordIdentifier: 'id', eventTime: 't', features: [Feature.string('id'), Feature.string('t')] };
      p.addFeatureStore('Tx', options);
      p.addFeatureStore('Tx', options);
    },
  },
  {
    name: 'platform-cluster-of-another-stack',
    construct: 'MlPlatform',
    code: 'MlPlatform.ForeignCluster',
    path: 'Platform/Ml',
    build: s => {
      const other = new Stack(s.node.scope as any, 'Other');
      new MlPlatform(s, 'Ml', { backend: TrainingBackend.kubeflow({ cluster: new GpuCluster(other, 'Gpu', { endpoint: ClusterEndpoint.privateOnly() }) }) });
    },
  },
  {
    name: 'platform-training-pool-of-another-cluster',
    construct: 'MlPlatform',
    code: 'MlPlatform.PoolNotInCluster',
    path: 'Platform/Ml',
    build: s => {
      const mine = cluster(s, { endpoint: ClusterEndpoint.privateOnly() }, 'Mine');
      const theirs = cluster(s, { endpoint: ClusterEndpoint.privateOnly() }, 'Theirs');
      new MlPlatform(s, 'Ml', { backend: TrainingBackend.kubeflow({ cluster: mine, trainingPool: theirs.addGpuNodePool('Pool') }) });
    },
  },
  {
    name: 'platform-cluster-and-cluster-options',
    construct: 'MlPlatform',
    code: 'MlPlatform.BackendOptionsIgnored',
    path: 'Platform/Ml',
    build: s => {
      const mine = cluster(s, { endpoint: ClusterEndpoint.privateOnly() }, 'Mine');
      new MlPlatform(s, 'Ml', { backend: TrainingBackend.kubeflow({ cluster: mine, clusterOptions: { endpoint: ClusterEndpoint.publicAndPrivate() } }) });
    },
  },
  {
    name: 'platform-model-retraining-without-serving',
    construct: 'PlatformModel',
    code: 'PlatformModel.RetrainingWithoutServing',
    path: 'Platform/Ml/fraud/Model',
    build: s => { const p = platform(s); p.addModel('fraud', { ...sageMakerModel(p), serving: { enabled: false }, retraining: { enabled: true } }); },
  },
  {
    name: 'platform-model-sagemaker-without-instance-type',
    construct: 'PlatformModel',
    code: 'PlatformModel.NoInstanceType',
    path: 'Platform/Ml/fraud/Model',
    build: s => { const p = platform(s); p.addModel('fraud', { ...sageMakerModel(p), instanceType: undefined }); },
  },
  {
    name: 'platform-model-kubeflow-with-spot',
    construct: 'PlatformModel',
    code: 'PlatformModel.SageMakerOnlyOption',
    path: 'Platform/Ml/fraud/Model',
    build: s => { const p = platform(s, TrainingBackend.kubeflow()); p.addModel('fraud', { ...kubeflowModel(p), spot: true }); },
  },
  {
    name: 'platform-model-kubeflow-job-on-sagemaker',
    construct: 'PlatformModel',
    code: 'PlatformModel.KubeflowOnlyOption',
    path: 'Platform/Ml/fraud/Model',
    build: s => { const p = platform(s); p.addModel('fraud', { ...sageMakerModel(p), kubeflowJob: { workerReplicas: 2 } }); },
  },
  {
    name: 'platform-model-kubernetes-serving-on-sagemaker',
    construct: 'PlatformModel',
    code: 'PlatformModel.KubernetesServingWithoutCluster',
    path: 'Platform/Ml/fraud/Model',
    build: s => { const p = platform(s); p.addModel('fraud', { ...sageMakerModel(p), serving: { kubernetes: { image: SERVE_IMAGE } } }); },
  },
  {
    name: 'platform-model-kubernetes-serving-with-variants',
    construct: 'PlatformModel',
    code: 'PlatformModel.SageMakerServingOption',
    path: 'Platform/Ml/fraud/Model',
    build: s => {
      const p = platform(s, TrainingBackend.kubeflow());
      p.addModel('fraud', {
        ...kubeflowModel(p),
        serving: { kubernetes: { image: SERVE_IMAGE }, variants: [EndpointVariant.instance({ instanceType: 'ml.g5.xlarge' })] },
      });
    },
  },
  {
    name: 'platform-model-kubeflow-job-too-large-for-pool',
    construct: 'KubeflowTrainingJob',
    code: 'KubeflowTrainingJob.GpusPerWorkerExceedNode',
    path: 'Platform/Ml/fraud/Model/KubeflowTraining',
    build: s => { const p = platform(s, TrainingBackend.kubeflow()); p.addModel('fraud', { ...kubeflowModel(p), kubeflowJob: { gpusPerWorker: 64 } }); },
  },
  {
    name: 'platform-model-kubernetes-model-key-is-one-object',
    construct: 'ModelServerPromoter',
    code: 'ModelServerPromoter.ModelKeyNotPrefix',
    path: 'Platform/Ml/fraud/Model/Promoter',
    build: s => {
      const p = platform(s, TrainingBackend.kubeflow());
      p.addModel('fraud', { ...kubeflowModel(p), serving: { kubernetes: { image: SERVE_IMAGE, modelKey: 'serving/fraud/model.tar.gz' } } });
    },
  },
  {
    name: 'pipeline-callback-trainer-with-instance-type',
    construct: 'GpuTrainingPipeline',
    code: 'GpuTrainingPipeline.TrainerConflict',
    path: 'Platform/Training',
    build: s => { pipeline(s, { callbackTrainer: launcher(s), spot: true }); },
  },
  {
    name: 'pipeline-without-instance-type-or-trainer',
    construct: 'GpuTrainingPipeline',
    code: 'GpuTrainingPipeline.NoInstanceType',
    path: 'Platform/Training',
    build: s => { pipeline(s, { instanceType: undefined }); },
  },
  {
    name: 'kubeflow-training-data-and-curated-prefix',
    construct: 'KubeflowTraining',
    code: 'KubeflowTraining.DataConflict',
    path: 'Platform/Fraud',
    build: s => { kubeflow(s, { curatedPrefix: 'datasets/', trainingData: trainingData(s) }); },
  },
];
// ---------------------------------------------------------------------------------------------------------------
// Hostile but type-correct inputs.

const LONG = 'x'.repeat(5000);
const UNICODE = 'modèle-фрод-模型-🚀';

export const HOSTILE_INPUTS: HostileInputCase[] = [
  // DataLake
  { name: 'hostile-lake-empty-database-name', construct: 'DataLake', build: s => { new DataLake(s, 'Lake', { databaseName: '' }); } },
  { name: 'hostile-lake-nan-days', construct: 'DataLake', build: s => { new DataLake(s, 'Lake', { noncurrentVersionExpiration: Duration.days(NaN) }); } },
  { name: 'hostile-lake-infinite-days', construct: 'DataLake', build: s => { new DataLake(s, 'Lake', { monitoringExpiration: Duration.days(Infinity) }); } },
  { name: 'hostile-lake-lazy-database-name', construct: 'DataLake', build: s => { new DataLake(s, 'Lake', { databaseName: Lazy.string({ produce: () => 'fraud_lake' }) }); } },
  { name: 'hostile-lake-unicode-database-name', construct: 'DataLake', build: s => { new DataLake(s, 'Lake', { databaseName: UNICODE }); } },
  // FeatureStore
  { name: 'hostile-feature-store-empty-features', construct: 'FeatureStore', build: s => { featureStore(s, { features: [] }); } },
  { name: 'hostile-feature-store-empty-record-id', construct: 'FeatureStore', build: s => { featureStore(s, { recordIdentifier: '' }); } },
  { name: 'hostile-feature-store-token-name', construct: 'FeatureStore', build: s => { featureStore(s, { featureGroupName: Token.asString({ Ref: 'GroupName' }) }); } },
  { name: 'hostile-feature-store-unicode-feature', construct: 'FeatureStore', build: s => { featureStore(s, { features: [...FEATURES(), Feature.string(UNICODE)] }); } },
  { name: 'hostile-feature-store-nan-vector', construct: 'FeatureStore', build: s => { featureStore(s, { features: [...FEATURES(), Feature.vector('embedding', NaN)] }); } },
  { name: 'hostile-feature-store-long-description', construct: 'FeatureStore', build: s => { featureStore(s, { description: LONG }); } },
  // ModelRegistry
  { name: 'hostile-registry-empty-name', construct: 'ModelRegistry', build: s => { new ModelRegistry(s, 'Registry', { modelPackageGroupName: '' }); } },
  { name: 'hostile-registry-long-description', construct: 'ModelRegistry', build: s => { new ModelRegistry(s, 'Registry', { description: LONG }); } },
  { name: 'hostile-registry-empty-accounts', construct: 'ModelRegistry', build: s => { new ModelRegistry(s, 'Registry', { crossAccountReadAccounts: [] }); } },
  // GpuTrainingPipeline / TrainingDataGate
  { name: 'hostile-training-nan-instances', construct: 'GpuTrainingPipeline', build: s => { pipeline(s, { instanceCount: NaN }); } },
  { name: 'hostile-training-infinite-runtime', construct: 'GpuTrainingPipeline', build: s => { pipeline(s, { maxRuntime: Duration.seconds(Infinity) }); } },
  { name: 'hostile-training-empty-instance-type', construct: 'GpuTrainingPipeline', build: s => { pipeline(s, { instanceType: GpuInstanceType.of('') }); } },
  { name: 'hostile-training-token-instance-type', construct: 'GpuTrainingPipeline', build: s => { pipeline(s, { instanceType: GpuInstanceType.of(Token.asString({ Ref: 'TrainType' })) }); } },
  { name: 'hostile-training-empty-objective', construct: 'GpuTrainingPipeline', build: s => { pipeline(s, { objective: Objective.maximize('') }); } },
  { name: 'hostile-training-nan-improvement', construct: 'GpuTrainingPipeline', build: s => { pipeline(s, { objective: Objective.maximize('validation:auc', NaN) }); } },
  { name: 'hostile-training-empty-image', construct: 'GpuTrainingPipeline', build: s => { pipeline(s, { image: TrainingImage.fromUri('') }); } },
  { name: 'hostile-training-empty-hyperparameter', construct: 'GpuTrainingPipeline', build: s => { pipeline(s, { hyperparameters: { '': '1', 'lr': LONG } }); } },
  { name: 'hostile-training-empty-entrypoint', construct: 'GpuTrainingPipeline', build: s => { pipeline(s, { evaluation: { entrypoint: [] } }); } },
  { name: 'hostile-training-empty-prefix', construct: 'GpuTrainingPipeline', codePrefixes: ['GpuTrainingPipeline.', 'DataLake.'], build: s => { pipeline(s, { trainingData: TrainingData.fromDataLake(lakeOf(s), DataZone.CURATED, '') }); } },
  { name: 'hostile-data-gate-nan', construct: 'TrainingDataGate', codePrefixes: ['GpuTrainingPipeline.'], build: s => { pipeline(s, { trainingDataGate: TrainingDataGate.stop({ maxDriftScore: NaN, maxMissingRateIncrease: NaN }) }); } },
  { name: 'hostile-data-gate-token', construct: 'TrainingDataGate', codePrefixes: ['GpuTrainingPipeline.'], build: s => { pipeline(s, { trainingDataGate: TrainingDataGate.stop({ maxDriftScore: Token.asNumber({ Ref: 'Max' }) }) }); } },
  { name: 'hostile-tracking-empty-name', construct: 'ExperimentTracking', build: s => { new ExperimentTracking(s, 'Tracking', { dataLake: lakeOf(s), trackingServerName: '' }); } },
  { name: 'hostile-tracking-unicode-name', construct: 'ExperimentTracking', build: s => { new ExperimentTracking(s, 'Tracking', { dataLake: lakeOf(s), trackingServerName: UNICODE }); } },
  // ModelEndpoint
  { name: 'hostile-endpoint-no-variants', construct: 'ModelEndpoint', build: s => { endpoint(s, { variants: [] }); } },
  { name: 'hostile-endpoint-nan-instances', construct: 'ModelEndpoint', build: s => { endpoint(s, { variants: [EndpointVariant.instance({ instanceType: 'ml.m5.xlarge', initialInstanceCount: NaN })] }); } },
  { name: 'hostile-endpoint-infinite-max', construct: 'ModelEndpoint', build: s => { endpoint(s, { variants: [EndpointVariant.instance({ instanceType: 'ml.m5.xlarge', maxCapacity: Infinity })] }); } },
  { name: 'hostile-endpoint-nan-weight', construct: 'ModelEndpoint', build: s => { endpoint(s, { variants: [EndpointVariant.instance({ instanceType: 'ml.m5.xlarge', weight: NaN })] }); } },
  { name: 'hostile-endpoint-negative-weight', construct: 'ModelEndpoint', build: s => { endpoint(s, { variants: [EndpointVariant.instance({ instanceType: 'ml.m5.xlarge', weight: -1 })] }); } },
  { name: 'hostile-endpoint-nan-invocations-target', construct: 'ModelEndpoint', build: s => { endpoint(s, { variants: [EndpointVariant.instance({ instanceType: 'ml.m5.xlarge', targetInvocationsPerInstance: NaN })] }); } },
  { name: 'hostile-endpoint-nan-latency-threshold', construct: 'ModelEndpoint', build: s => { endpoint(s, { rollbackThresholds: { maxP99LatencyMs: NaN } }); } },
  { name: 'hostile-endpoint-infinite-error-threshold', construct: 'ModelEndpoint', build: s => { endpoint(s, { rollbackThresholds: { max5xxErrorsPerMinute: Infinity } }); } },
  { name: 'hostile-endpoint-empty-instance-type', construct: 'ModelEndpoint', build: s => { endpoint(s, { variants: [EndpointVariant.instance({ instanceType: '' })] }); } },
  { name: 'hostile-endpoint-empty-variant-name', construct: 'ModelEndpoint', build: s => { endpoint(s, { variants: [EndpointVariant.instance({ instanceType: 'ml.m5.xlarge', variantName: '' })] }); } },
  { name: 'hostile-endpoint-empty-name', construct: 'ModelEndpoint', build: s => { endpoint(s, { endpointName: '' }); } },
  { name: 'hostile-endpoint-lazy-name', construct: 'ModelEndpoint', build: s => { endpoint(s, { endpointName: Lazy.string({ produce: () => 'fraud-prod' }) }); } },
  { name: 'hostile-endpoint-token-instance-type', construct: 'ModelEndpoint', build: s => { endpoint(s, { variants: [EndpointVariant.instance({ instanceType: Token.asString({ Ref: 'ServeType' }) })] }); } },
  { name: 'hostile-endpoint-nan-canary', construct: 'ModelEndpoint', build: s => { endpoint(s, { deployment: DeploymentStrategy.canary({ percent: NaN }) }); } },
  { name: 'hostile-endpoint-zero-linear-step', construct: 'ModelEndpoint', build: s => { endpoint(s, { deployment: DeploymentStrategy.linear({ stepPercent: 0 }) }); } },
  { name: 'hostile-endpoint-nan-sampling', construct: 'ModelEndpoint', build: s => { endpoint(s, { dataCapture: { samplingPercentage: NaN } }); } },
  { name: 'hostile-endpoint-nan-serverless', construct: 'ModelEndpoint', build: s => { endpoint(s, { variants: [EndpointVariant.serverless({ memorySize: Size.mebibytes(NaN), maxConcurrency: NaN })], deployment: DeploymentStrategy.allAtOnce() }); } },
  { name: 'hostile-endpoint-nan-async-concurrency', construct: 'ModelEndpoint', build: s => { endpoint(s, { asyncInference: { maxConcurrentInvocationsPerInstance: NaN, targetBacklogPerInstance: -5 }, deployment: DeploymentStrategy.allAtOnce() }); } },
  { name: 'hostile-endpoint-empty-content-types', construct: 'ModelEndpoint', build: s => { endpoint(s, { dataCapture: { jsonContentTypes: [], csvContentTypes: [''] } }); } },
  { name: 'hostile-endpoint-empty-package-arn', construct: 'ModelEndpoint', build: s => { endpoint(s, { model: ModelSource.fromModelPackage('') }); } },
  // Monitors
  { name: 'hostile-drift-nan-thresholds', construct: 'DriftMonitor', build: s => { drift(s, { psiWarning: NaN, psiAlarm: Infinity }); } },
  { name: 'hostile-drift-nan-interval', construct: 'DriftMonitor', build: s => { drift(s, { interval: Duration.minutes(NaN) }); } },
  { name: 'hostile-drift-empty-feature', construct: 'DriftMonitor', build: s => { drift(s, { featureThresholds: [{ feature: '' }] }); } },
  { name: 'hostile-drift-unicode-feature', construct: 'DriftMonitor', build: s => { drift(s, { featureThresholds: [{ feature: UNICODE, psiAlarm: 0.3 }], csvColumns: [UNICODE] }); } },
  { name: 'hostile-drift-empty-csv-columns', construct: 'DriftMonitor', build: s => { drift(s, { csvColumns: [] }); } },
  { name: 'hostile-drift-nan-grace', construct: 'DriftMonitor', build: s => { drift(s, { captureDeliveryGrace: Duration.minutes(NaN), maxObjectsPerRun: NaN }); } },
  { name: 'hostile-drift-empty-baseline-key', construct: 'DriftMonitor', build: s => { drift(s, { baseline: DriftBaseline.fromS3(lakeOf(s).bucket(DataZone.MODELS), '') }); } },
  { name: 'hostile-health-nan-scores', construct: 'PredictionHealthMonitor', build: s => { health(s, { minScore: NaN, maxScore: Infinity }); } },
  { name: 'hostile-health-nan-interval', construct: 'PredictionHealthMonitor', build: s => { health(s, { interval: Duration.minutes(NaN), captureDeliveryGrace: Duration.seconds(Infinity) }); } },
  { name: 'hostile-health-negative-rate', construct: 'PredictionHealthMonitor', build: s => { health(s, { maxNonFiniteRate: -0.1, classThreshold: NaN }); } },
  // ContinuousTraining
  { name: 'hostile-loop-nan-budget', construct: 'ContinuousTraining', build: s => { loop(s, { maxRunsPerPeriod: NaN, budgetPeriod: Duration.days(NaN) }); } },
  { name: 'hostile-loop-empty-code-version', construct: 'ContinuousTraining', build: s => { loop(s, { codeVersion: '' }); } },
  { name: 'hostile-loop-unicode-code-version', construct: 'ContinuousTraining', build: s => { loop(s, { codeVersion: 'release-été-🚀' }); } },
  { name: 'hostile-retrain-every-nan', construct: 'RetrainTrigger', codePrefixes: ['ContinuousTraining.'], build: s => { loop(s, { triggers: [RetrainTrigger.every(Duration.minutes(NaN))] }); } },
  { name: 'hostile-retrain-every-zero', construct: 'RetrainTrigger', codePrefixes: ['ContinuousTraining.'], build: s => { loop(s, { triggers: [RetrainTrigger.every(Duration.minutes(0))] }); } },
  { name: 'hostile-loop-fractional-budget-period', construct: 'ContinuousTraining', build: s => { loop(s, { budgetPeriod: Duration.seconds(3600.5) }); } },
  { name: 'hostile-retrain-every-token', construct: 'RetrainTrigger', codePrefixes: ['ContinuousTraining.'], build: s => { loop(s, { triggers: [RetrainTrigger.every(Duration.minutes(Token.asNumber({ Ref: 'Minutes' })))] }); } },
  { name: 'hostile-loop-infinite-min-interval', construct: 'ContinuousTraining', build: s => { loop(s, { minInterval: Duration.hours(Infinity) }); } },
  // Governance
  { name: 'hostile-cost-nan-budget', construct: 'CostReport', build: s => { new CostReport(s, 'Cost', { maxGpuHourlyUsd: NaN }); } },
  { name: 'hostile-cost-infinite-budget', construct: 'CostReport', build: s => { new CostReport(s, 'Cost', { maxIdleMonthlyUsd: Infinity }); } },
  { name: 'hostile-cost-zero-hours', construct: 'CostReport', build: s => { new CostReport(s, 'Cost', { hoursPerMonth: 0 }); } },
  { name: 'hostile-audit-nan-retention', construct: 'AuditTrail', build: s => { new AuditTrail(s, 'Audit', { retention: Duration.days(NaN), archiveRetention: Duration.days(-0) }); } },
  { name: 'hostile-audit-empty-buckets', construct: 'AuditTrail', build: s => { new AuditTrail(s, 'Audit', { additionalDataEventBuckets: [] }); } },
  { name: 'hostile-personas-nan-session', construct: 'Personas', build: s => { personas(s, { maxSessionDuration: Duration.hours(NaN) }); } },
  { name: 'hostile-personas-empty-lists', construct: 'Personas', build: s => { personas(s, { featureStores: [], registries: [], pipelines: [], endpoints: [], continuousTraining: [] }); } },
  { name: 'hostile-card-empty-strings', construct: 'ModelCard', build: s => { modelCard(s, { owner: '', modelName: '', description: '', problemType: '' }); } },
  { name: 'hostile-card-unicode-long', construct: 'ModelCard', build: s => { modelCard(s, { caveatsAndRecommendations: '🚀'.repeat(2049) }); } },
  { name: 'hostile-card-empty-name', construct: 'ModelCard', build: s => { modelCard(s, { modelCardName: '' }); } },
  { name: 'hostile-card-token-text', construct: 'ModelCard', build: s => { modelCard(s, { intendedUses: { intendedUses: Token.asString({ Ref: 'Uses' }) } }); } },
  // Lineage
  { name: 'hostile-lineage-number-code-version', construct: 'Lineage', context: { [MlPlatformContext.CODE_VERSION]: 1234 }, build: s => { new ModelRegistry(s, 'Registry'); } },
  { name: 'hostile-lineage-object-code-version', construct: 'Lineage', context: { [MlPlatformContext.CODE_VERSION]: { sha: 'abc' } }, build: s => { new ModelRegistry(s, 'Registry'); } },
  { name: 'hostile-lineage-unicode-code-version', construct: 'Lineage', context: { [MlPlatformContext.CODE_VERSION]: 'v1.2.3-ünïcødé' }, build: s => { new ModelRegistry(s, 'Registry'); } },
  // Kubernetes
  { name: 'hostile-pool-empty-instance-types', construct: 'GpuNodePool', build: s => { pool(s, { instanceTypes: [] }); } },
  { name: 'hostile-pool-nan-sizes', construct: 'GpuNodePool', build: s => { pool(s, { provisioner: NodeProvisioner.managedNodeGroup({ minSize: NaN, maxSize: Infinity }) }); } },
  { name: 'hostile-pool-nan-karpenter-gpus', construct: 'GpuNodePool', build: s => { pool(s, { provisioner: NodeProvisioner.karpenter({ maxGpus: NaN }) }); } },
  { name: 'hostile-pool-empty-name', construct: 'GpuNodePool', build: s => { pool(s, { poolName: '' }); } },
  { name: 'hostile-pool-nan-root-volume', construct: 'GpuNodePool', build: s => { pool(s, { rootVolumeSize: Size.gibibytes(NaN) }); } },
  { name: 'hostile-cluster-no-public-cidrs', construct: 'GpuCluster', build: s => { cluster(s, { endpoint: ClusterEndpoint.publicAndPrivateFrom() }); } },
  { name: 'hostile-cluster-nan-system-nodes', construct: 'GpuCluster', build: s => { cluster(s, { systemNodeCount: NaN }); } },
  { name: 'hostile-job-nan-workers', construct: 'KubeflowTrainingJob', build: () => cdk8s.Chart.of(k8sJob({ workerReplicas: NaN, gpusPerWorker: Infinity })) },
  { name: 'hostile-job-empty-image', construct: 'KubeflowTrainingJob', build: () => cdk8s.Chart.of(k8sJob({ image: '', jobName: '' })) },
  { name: 'hostile-job-empty-placement', construct: 'KubeflowTrainingJob', build: () => cdk8s.Chart.of(k8sJob({ placement: placement({ instanceTypes: [], gpusPerInstanceType: [], nodeLabels: {} }) })) },
  { name: 'hostile-job-negative-backoff', construct: 'KubeflowTrainingJob', build: () => cdk8s.Chart.of(k8sJob({ backoffLimit: -1, env: { '': 'x' } })) },
  { name: 'hostile-kubeflow-empty-namespace', construct: 'KubeflowTraining', build: s => { kubeflow(s, { namespace: '' }); } },
  { name: 'hostile-kubeflow-nan-workers', construct: 'KubeflowTraining', codePrefixes: ['KubeflowTraining.', 'KubeflowTrainingJob.'], build: s => { kubeflow(s, { job: { image: IMAGE, workerReplicas: NaN } }); } },
  { name: 'hostile-server-nan-replicas', construct: 'KubernetesModelServer', build: s => { modelServer(s, { minReplicas: NaN, maxReplicas: Infinity }); } },
  { name: 'hostile-server-empty-model-key', construct: 'KubernetesModelServer', build: s => { modelServer(s, { modelKey: '', image: '' }); } },
  { name: 'hostile-server-nan-cpu', construct: 'KubernetesModelServer', build: s => { modelServer(s, { cpu: NaN, port: NaN }); } },
  { name: 'hostile-server-empty-env-name', construct: 'KubernetesModelServer', build: s => { modelServer(s, { env: { '': 'x' } }); } },
];
