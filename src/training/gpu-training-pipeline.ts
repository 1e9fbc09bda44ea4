import * as fs from 'fs';
import * as path from 'path';
import {
  Annotations, ArnFormat, CustomResource, Duration, IResource, Names, Resource, Size, SizeRoundingBehavior, Stack, Token, Validations,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IConstruct } from 'constructs';
import { CALLBACK_ARGUMENTS, CALLBACK_OUTPUTS } from './callback-contract';
import { ICallbackTrainer } from './callback-trainer';
import { CompareWithChampionFunction } from './compare-with-champion-function';
import { DataSnapshotFunction } from './data-snapshot-function';
import { ExperimentTracking } from './experiment-tracking';
import { Objective } from './objective';
import {
  Expr, LambdaOutput, PipelineDefinition, StepJson, checkDefinition, conditionStep, failStep, get, join, lambdaStep, processingStep,
  registerModelStep, stepOutput, tokenizeDefinition, trainingStep, callbackStep,
} from './pipeline-definition';
import { PipelineDefinitionFunction } from './pipeline-definition-function';
import { TrainingData } from './training-data';
import { TrainingDataGate, TrainingDataGateMode } from './training-data-gate';
import { TrainingImage } from './training-image';
import { ValidationErrors, mlError, setOptions } from '../core/errors';
import { hasInstanceStorage, isKnownFamily, lookupInstanceType, parseInstanceType } from '../core/gpu-catalog';
import { GpuInstanceType } from '../core/gpu-instance-type';
import { CODE_VERSION_TAG, DATA_VERSION_TAG, IMAGE_TAG, applyLineageTags, codeVersion, lineageTagValue } from '../core/lineage';
import { acknowledgeCustomResourceProvider, acknowledgeManagedPolicy, acknowledgeWildcardResource } from '../core/nag';
import { PIPELINE_READ_ACTIONS, PIPELINE_RUN_ACTIONS } from '../core/sagemaker-actions';
import { scratchDirectory } from '../core/scratch';
import { DataZone, IDataLake } from '../data/data-lake';
import { IModelRegistry } from '../registry/model-registry';

/** How training data is spread over the instances of a distributed job. */
export enum TrainingDistribution {
  /** `FullyReplicated`: every instance gets every object. */
  FULLY_REPLICATED = 'FullyReplicated',
  /** `ShardedByS3Key`: each instance gets a share of the objects (data-parallel training). */
  SHARDED_BY_S3_KEY = 'ShardedByS3Key',
}

/** Approval status a better model is registered with. */
export enum ModelApprovalStatus {
  /**
   * `Approved`: a model that beats the champion is released as soon as it is registered, with no separate approval
   * decision (fails the MlOpsChecks rule `MlOps-RG1`, the registry's approval gate).
   */
  APPROVED = 'Approved',
  /**
   * `PendingManualApproval`: approval is a separate, recorded decision: a person (`ModelRegistry.grantApprove`, the
   * MlEngineer persona) or the continuous-training loop, which approves only after its own audited comparison.
   */
  PENDING_MANUAL_APPROVAL = 'PendingManualApproval',
}

/** A training metric parsed from the job's logs. */
export interface TrainingMetricDefinition {
  /** Metric name, e.g. `train:loss`. */
  readonly name: string;
  /** Regex with one capture group for the value, e.g. `loss=([0-9.]+)`. */
  readonly regex: string;
}

/** The evaluation step: a processing job that writes `evaluation.json`. */
export interface EvaluationOptions {
  /**
   * Image of the evaluation job. It receives the model under `/opt/ml/processing/model`, the evaluation
   * data under `/opt/ml/processing/test`, and writes `/opt/ml/processing/evaluation/evaluation.json`
   * shaped `{"metrics": {"<name>": {"value": <number>}}}`.
   *
   * @default - the training image
   */
  readonly image?: TrainingImage;
  /**
   * Entrypoint of the evaluation container.
   * @default - the image's own entrypoint
   */
  readonly entrypoint?: string[];
  /**
   * Instance type of the evaluation job.
   * @default 'ml.m5.xlarge'
   */
  readonly instanceType?: string;
  /**
   * The metric names evaluation.json reports; the objective's metric must be among them.
   * @default - only the objective's metric
   */
  readonly metrics?: string[];
  /**
   * Maximum run time of the evaluation job.
   * @default Duration.hours(2)
   */
  readonly maxRuntime?: Duration;
}

/**
 * What a model trains on and how it is judged: shared by {@link GpuTrainingPipelineProps} and `PlatformModelOptions`.
 */
export interface TrainingOptions {
  /** The training image (pin it by digest or an immutable tag). */
  readonly image: TrainingImage;
  /**
   * GPU (or Trainium) instance type of the SageMaker training job, validated against the catalog. Required for
   * SageMaker training; not used when training runs elsewhere (a pipeline's `callbackTrainer`, a platform's Kubeflow
   * backend, where the training pool decides).
   * @default - none: required for SageMaker training
   */
  readonly instanceType?: GpuInstanceType;
  /** The metric that decides whether the challenger replaces the champion. */
  readonly objective: Objective;
  /** The training data. */
  readonly trainingData: TrainingData;
  /**
   * Data the evaluation step scores the model on.
   * @default - the training data
   */
  readonly evaluationData?: TrainingData;
  /**
   * The evaluation step.
   * @default - the training image with its own entrypoint, on ml.m5.xlarge, reporting the objective's metric
   */
  readonly evaluation?: EvaluationOptions;
  /**
   * Image registered for inference.
   * @default - the training image
   */
  readonly inferenceImage?: TrainingImage;
  /**
   * Training instances; more than one is distributed training.
   * @default 1
   */
  readonly instanceCount?: number;
  /**
   * Managed spot training (up to 90 % cheaper; interrupted jobs resume from checkpoints).
   * @default false
   */
  readonly spot?: boolean;
  /**
   * Maximum training time.
   * @default Duration.hours(24)
   */
  readonly maxRuntime?: Duration;
  /**
   * Hyperparameters passed to the training container.
   * @default - none
   */
  readonly hyperparameters?: { [name: string]: string };
  /**
   * Training metrics parsed from the job's logs.
   * @default - none
   */
  readonly metricDefinitions?: TrainingMetricDefinition[];
  /**
   * Guards training against poisoned or broken data: the `DataSnapshot` step compares the new training data with
   * the champion's training-data baseline (drift score and missing rates), audits the decision in `gate.json`,
   * and a failed gate stops the run (`TrainingDataGate.stop()`: the `RejectTrainingData` Fail step, nothing is
   * trained) or registers its model for a human approval (`TrainingDataGate.requireApproval()`:
   * `PendingManualApproval`). Without a champion (or one without a baseline) the gate passes; a champion baseline
   * that cannot be read fails it (fail closed). See {@link TrainingDataGate}.
   *
   * @default TrainingDataGate.stop() - stop when the drift score (largest per-feature PSI) is above 0.25 or a
   * feature's missing rate rose by more than 0.1
   */
  readonly trainingDataGate?: TrainingDataGate;
}

/** Properties for a {@link GpuTrainingPipeline}. */
export interface GpuTrainingPipelineProps extends TrainingOptions {
  /** The lake: models, checkpoints, dataset manifests, baselines and evaluations go to its `models` zone. */
  readonly dataLake: IDataLake;
  /** The registry that receives better models. */
  readonly registry: IModelRegistry;
  /**
   * Train outside SageMaker: the `Train` step becomes a Callback step answered by this trainer (e.g. a
   * `KubeflowJobLauncher`, which runs a PyTorchJob on EKS). The SageMaker job settings (instance type and count, spot,
   * checkpoints, volume, hyperparameters, metric definitions, distribution, maxRuntime) then belong to the trainer and
   * must not be set here. Evaluation, comparison and registration stay in SageMaker.
   * @default - a SageMaker training job
   */
  readonly callbackTrainer?: ICallbackTrainer;
  /**
   * Name of the pipeline: up to 256 letters, digits and hyphens.
   * @default - generated from the construct path
   */
  readonly pipelineName?: string;
  /**
   * How data is spread over the instances (distributed training only).
   * @default TrainingDistribution.FULLY_REPLICATED
   */
  readonly distribution?: TrainingDistribution;
  /**
   * Encrypt traffic between training containers (distributed training only).
   * @default - true with more than one instance
   */
  readonly interContainerEncryption?: boolean;
  /**
   * Maximum time to wait for spot capacity plus training time (spot only); at least `maxRuntime`.
   * @default - twice maxRuntime
   */
  readonly maxWait?: Duration;
  /**
   * Write checkpoints to the lake's `models` zone (`/opt/ml/checkpoints` in the container).
   * @default - true with spot, false otherwise
   */
  readonly checkpoints?: boolean;
  /**
   * EBS volume per training instance.
   * @default Size.gibibytes(100)
   */
  readonly volumeSize?: Size;
  /**
   * Run training and evaluation in this VPC.
   * @default - no VPC (SageMaker-managed network)
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets for the jobs.
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Block all network access from the training and evaluation containers (S3 channels still work).
   * @default - true, except with experiment tracking (the containers must reach the MLflow server)
   */
  readonly networkIsolation?: boolean;
  /**
   * Status a better model is registered with. Fixed in the definition, not a run parameter: whoever may start the
   * pipeline cannot register a model as approved (separation of duties). With `TrainingDataGate.requireApproval()`,
   * a model whose training data failed the gate is registered with `PendingManualApproval` whatever this says.
   * @default ModelApprovalStatus.PENDING_MANUAL_APPROVAL (the registry's approval gate; ContinuousTraining approves
   * after its comparison, a person with `ModelRegistry.grantApprove` otherwise)
   */
  readonly modelApprovalStatus?: ModelApprovalStatus;
  /**
   * MLflow tracking server for training and evaluation (they get its ARN in `MLFLOW_TRACKING_ARN`).
   * @default - no experiment tracking
   */
  readonly experimentTracking?: ExperimentTracking;
  /**
   * Role of the training and evaluation jobs.
   * @default - a new role with read access to the data and write access to this pipeline's prefix
   */
  readonly role?: iam.IRole;
  /**
   * KMS key for model artifacts, checkpoints, evaluation output and EBS volumes.
   * @default - the data lake's key
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Accept an instance type the catalog does not list (new GPU types); checks that need its facts are skipped.
   * @default false
   */
  readonly skipInstanceTypeCheck?: boolean;
}

/** Where the data snapshot step writes drift baselines. */
export interface BaselineLocation {
  /** The lake's `models` bucket. */
  readonly bucket: s3.IBucket;
  /**
   * Key prefix of all snapshots; each execution writes `<prefix><execution id>/baseline.json` (format
   * `cdk-ml-platform/baseline` v1: per-feature deciles, histogram, moments, a 1001-point quantile sketch for
   * numeric features, category counts) and `manifest.json`. A registered model's exact baseline is in its model package's
   * `CustomerMetadataProperties.baseline_uri`.
   */
  readonly keyPrefix: string;
  /** `s3://<bucket>/<keyPrefix>`. */
  readonly uri: string;
}

/** A training pipeline. */
export interface IGpuTrainingPipeline extends IResource {
  /**
   * Name of the pipeline.
   * @attribute
   */
  readonly pipelineName: string;
  /**
   * ARN of the pipeline.
   * @attribute
   */
  readonly pipelineArn: string;
  /** Lets `grantee` start executions (with parameters) and follow them. */
  grantStartExecution(grantee: iam.IGrantable): iam.Grant;
  /** An EventBridge rule for this pipeline's execution status changes. */
  onExecutionStatusChange(id: string, options?: events.OnEventOptions): events.Rule;
}

const PIPELINE_NAMESPACE = 'AWS/Sagemaker/ModelBuildingPipeline';
const NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$/;
const DEFINITION_PROVIDER_ID = 'CdkMlPlatformPipelineDefinitionProvider';

/**
 * Step names of a GpuTrainingPipeline: a public contract (EventBridge step-status filters, dashboards and
 * the continuous-training loop use them).
 */
export class PipelineStepNames {
  /** `DataSnapshot`: dataset manifest, drift baseline and the training-data gate's decision (Lambda step). */
  public static readonly DATA_SNAPSHOT = 'DataSnapshot';
  /**
   * `TrainingDataGate`: the condition on the training-data gate's decision (only with `TrainingDataGate.stop()`);
   * every later step runs in its if-branch.
   */
  public static readonly TRAINING_DATA_GATE = 'TrainingDataGate';
  /** `RejectTrainingData`: the Fail step with the gate's reason (the training data failed `TrainingDataGate.stop()`). */
  public static readonly REJECT_TRAINING_DATA = 'RejectTrainingData';
  /** `Train`: the training job. */
  public static readonly TRAIN = 'Train';
  /** `Evaluate`: the processing job writing evaluation.json. */
  public static readonly EVALUATE = 'Evaluate';
  /** `CompareWithChampion`: challenger against the approved model (Lambda step). */
  public static readonly COMPARE = 'CompareWithChampion';
  /** `ChallengerBeatsChampion`: the condition. */
  public static readonly CONDITION = 'ChallengerBeatsChampion';
  /** `RegisterChallenger`: model package registration (only when better). */
  public static readonly REGISTER = 'RegisterChallenger';
  /** `KeepChampion`: the Fail step with the reason (when not better). */
  public static readonly KEEP_CHAMPION = 'KeepChampion';

  private constructor() {}
}

const PIPELINE_STEPS = PipelineStepNames;

/**
 * Versioned GPU training on SageMaker Pipelines that registers a model only when it beats the one in
 * production.
 *
 * Steps: **DataSnapshot** (a Lambda step we own: dataset manifest with every object's version id and
 * sha256, the drift baseline statistics, and the training-data gate: the new data's drift against the champion's
 * baseline, decided and audited in `gate.json`) → **TrainingDataGate** (with `TrainingDataGate.stop()`, the default:
 * a failed gate ends in **RejectTrainingData**, an explicit Fail step with the reason, and nothing is trained;
 * with `TrainingDataGate.requireApproval()` there is no such step and a failed gate registers the model as
 * `PendingManualApproval`) → **Train** (GPU instances validated against the catalog,
 * optional managed spot with checkpoints, distributed training, KMS, VPC and network isolation) →
 * **Evaluate** (processing job writing `evaluation.json`) → **CompareWithChampion** (Lambda step: the
 * challenger's objective against the latest approved model's registered metrics, with a minimum
 * improvement; NaN never wins) → **ChallengerBeatsChampion** → **RegisterChallenger** (model package with
 * ModelMetrics and lineage: image, dataset manifest + hash, baseline, code version, the gate's reason and report)
 * or **KeepChampion** (an explicit Fail step with the reason).
 *
 * The definition is built by typed step builders and shipped as an S3 object (never inline in the
 * template): a custom resource fills in deploy-time values and writes it under a content-addressed key.
 *
 * Pipeline parameters: `InputDataUri`, `EvaluationDataUri`, `CodeVersion` (default: context
 * `cdk-ml-platform:codeVersion`), `ModelApprovalStatus` (with `TrainingDataGate.requireApproval()`, a run whose
 * training data failed the gate registers `PendingManualApproval` instead).
 */
export class GpuTrainingPipeline extends Resource implements IGpuTrainingPipeline, iam.IGrantable {
  public readonly pipelineName: string;
  public readonly pipelineArn: string;
  /** The role of the training and evaluation jobs; grant it access to what training reads. */
  public readonly role: iam.IRole;
  /** The role SageMaker Pipelines runs the steps with. */
  public readonly pipelineRole: iam.IRole;
  public readonly grantPrincipal: iam.IPrincipal;
  /** Where drift baselines of training data are written. */
  public readonly baseline: BaselineLocation;
  /** The registry challengers are registered into. */
  public readonly registry: IModelRegistry;
  /** How a challenger is compared with the champion. */
  public readonly objective: Objective;
  /** The lake the pipeline reads from and writes models to. */
  public readonly dataLake: IDataLake;
  /** The training image (lineage: the `ml-platform:image` tag of training jobs, model cards). */
  public readonly image: TrainingImage;
  /** The image registered for inference (the training image unless `inferenceImage` was given). */
  public readonly inferenceImage: TrainingImage;
  /** The training data (the `InputDataUri` parameter's default). */
  public readonly trainingData: TrainingData;
  /** The status better models are registered with (`PendingManualApproval` unless `modelApprovalStatus` says otherwise). */
  public readonly modelApprovalStatus: ModelApprovalStatus;
  /** The trainer answering the `Train` Callback step, when training runs outside SageMaker. */
  public readonly callbackTrainer?: ICallbackTrainer;
  /** @internal The pipeline definition as built (tokens unresolved), for inspection and tests. */
  public readonly _definition: PipelineDefinition;
  /** The S3 asset holding the definition template. */
  public readonly definitionAsset: s3assets.Asset;
  private readonly resource: sagemaker.CfnPipeline;

  constructor(scope: Construct, id: string, props: GpuTrainingPipelineProps) {
    super(scope, id);
    const instanceCount = props.instanceCount ?? 1;
    const maxRuntime = props.maxRuntime ?? Duration.hours(24);
    const spot = props.spot ?? false;
    const maxWait = props.maxWait ?? (spot ? Duration.seconds(maxRuntime.toSeconds() * 2) : undefined);
    const checkpoints = props.checkpoints ?? spot;
    const networkIsolation = props.networkIsolation ?? !props.experimentTracking;
    const evalMetrics = props.evaluation?.metrics ?? [props.objective.metricName];
    const gate = props.trainingDataGate ?? TrainingDataGate.stop();
    const gateOn = gate.mode !== TrainingDataGateMode.DISABLED;
    const facts = validate(this, props, { instanceCount, maxRuntime, spot, maxWait, checkpoints, networkIsolation, evalMetrics, gate });
    if (!props.evaluationData) {
      Annotations.of(this).addWarningV2('cdk-ml-platform:GpuTrainingPipeline.EvaluateOnTrainingData',
        'evaluationData is not set: models are evaluated (and compared with the champion) on their training data; pass held-out data');
    }

    const stack = Stack.of(this);
    this.callbackTrainer = props.callbackTrainer;
    this.pipelineName = props.pipelineName
      ?? Names.uniqueResourceName(this, { maxLength: 256, separator: '-' }).toLowerCase().replace(/[^a-z0-9-]/g, '').replace(/^-+|-+$/g, '');
    this.pipelineArn = stack.formatArn({ service: 'sagemaker', resource: 'pipeline', resourceName: lowerName(this.pipelineName) });

    const lake = props.dataLake;
    this.dataLake = lake;
    this.registry = props.registry;
    this.image = props.image;
    this.inferenceImage = props.inferenceImage ?? props.image;
    this.trainingData = props.trainingData;
    this.objective = props.objective;
    const key = props.encryptionKey ?? lake.encryptionKey;
    const models = lake.bucket(DataZone.MODELS);
    const prefix = `pipelines/${this.pipelineName}/`;
    const modelsUri = (sub: string) => lake.uri(DataZone.MODELS, `${prefix}${sub}`);
    this.baseline = { bucket: models, keyPrefix: `${prefix}snapshots/`, uri: modelsUri('snapshots/') };

    // --- roles ------------------------------------------------------------------------------------------------
    const sagemakerPrincipal = () => new iam.ServicePrincipal('sagemaker.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
    });
    const jobRole = props.role ?? new iam.Role(this, 'JobRole', {
      description: `Training and evaluation jobs of ${this.node.path}`,
      assumedBy: sagemakerPrincipal(),
    });
    this.role = jobRole;
    this.grantPrincipal = jobRole;
    const pipelineRole = new iam.Role(this, 'PipelineRole', {
      description: `SageMaker Pipelines execution role of ${this.node.path}`,
      assumedBy: sagemakerPrincipal(),
    });
    this.pipelineRole = pipelineRole;
    // Separation of duties, structurally: the identity that registers model versions never approves one, whatever
    // policy is attached to it later (an explicit deny wins).
    pipelineRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'RegistersNeverApproves',
      effect: iam.Effect.DENY,
      actions: ['sagemaker:UpdateModelPackage'],
      resources: ['*'],
    }));
    this.modelApprovalStatus = props.modelApprovalStatus ?? ModelApprovalStatus.PENDING_MANUAL_APPROVAL;

    props.trainingData._grantRead(jobRole);
    props.evaluationData?._grantRead(jobRole);
    lake.grantReadWrite(DataZone.MODELS, jobRole, prefix);
    // EBS volumes and job outputs are encrypted through SageMaker/EC2, not S3: grant the key without the S3-only condition.
    for (const principal of [jobRole, pipelineRole]) {
      iam.Grant.addToPrincipalOrResource({
        grantee: principal,
        resource: key,
        resourceArns: [key.keyArn],
        resourceSelfArns: ['*'],
        actions: ['kms:DescribeKey', 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'],
      });
      iam.Grant.addToPrincipalOrResource({
        grantee: principal,
        resource: key,
        resourceArns: [key.keyArn],
        resourceSelfArns: ['*'],
        actions: ['kms:CreateGrant'],
        conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      });
    }
    props.image.grantPull(jobRole);
    props.evaluation?.image?.grantPull(jobRole);
    const logGroupArn = stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '/aws/sagemaker/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    jobRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [logGroupArn, `${logGroupArn}:log-stream:*`],
    }));
    jobRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringLike: { 'cloudwatch:namespace': ['/aws/sagemaker/*', 'aws/sagemaker/*'] } },
    }));
    jobRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));

    // --- step functions (Lambda steps) ------------------------------------------------------------------------
    const snapshotFn = new DataSnapshotFunction(this, 'DataSnapshotFunction', {
      description: `cdk-ml-platform: dataset manifest and drift baseline for ${this.node.path}`,
      timeout: Duration.minutes(15),
      memorySize: 1024,
    });
    props.trainingData._grantRead(snapshotFn);
    lake.grantWrite(DataZone.MODELS, snapshotFn, `${prefix}snapshots/`);
    // The training-data gate finds the champion and reads its baseline (written by a snapshot step of this or an
    // earlier pipeline generation: exactly the baseline.json files of snapshots, nothing else of the models zone).
    const championBaselines = models.arnForObjects('pipelines/*/snapshots/*/baseline.json');
    if (gateOn) {
      props.registry.grantRead(snapshotFn);
      snapshotFn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [championBaselines] }));
    }
    const compareFn = new CompareWithChampionFunction(this, 'CompareWithChampionFunction', {
      description: `cdk-ml-platform: challenger vs champion for ${this.node.path}`,
      timeout: Duration.minutes(2),
      memorySize: 256,
    });
    props.registry.grantRead(compareFn);
    if (key !== lake.encryptionKey) { key.grantDecrypt(compareFn); }
    // Champions may come from earlier pipeline generations: read every pipeline's evaluations.
    lake.grantRead(DataZone.MODELS, compareFn, 'pipelines/');
    for (const fn of [snapshotFn, compareFn]) {
      acknowledgeStepFunction(fn);
      fn.grantInvoke(pipelineRole);
      acknowledgeWildcardResource(pipelineRole, `${fn.functionArn}:*`, 'Lambda steps may invoke any version of this pipeline\'s own step functions.');
    }
    for (const reader of [jobRole, snapshotFn.role!]) {
      for (const data of [props.trainingData, props.evaluationData]) {
        if (data && reader instanceof iam.Role) {
          acknowledgeWildcardResource(reader, data._objectsArn(), `Training reads every object of its dataset (${data.description}).`);
        }
      }
    }
    acknowledgeWildcardResource(snapshotFn.role!, models.arnForObjects(`${prefix}snapshots/*`),
      'Each execution writes its manifest and baseline under its own execution id below this prefix.');
    if (gateOn) {
      acknowledgeWildcardResource(snapshotFn.role!, championBaselines,
        'The training-data gate reads the champion\'s baseline, written under an execution id by any pipeline generation.');
      acknowledgeWildcardResource(snapshotFn.role!, props.registry.modelPackageArnPattern,
        'The training-data gate\'s champion is the newest approved model package version of this group (any version ARN).');
    }
    acknowledgeWildcardResource(compareFn.role!, models.arnForObjects('pipelines/*'),
      'Evaluation reports of the champion and the challenger live under execution-specific keys below this prefix.');
    acknowledgeWildcardResource(compareFn.role!, props.registry.modelPackageArnPattern,
      'The champion is the newest approved model package version of this group (any version ARN).');

    // --- pipeline role: orchestration only --------------------------------------------------------------------
    const jobArn = (kind: string) => stack.formatArn({ service: 'sagemaker', resource: kind, resourceName: 'pipelines-*' });
    pipelineRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: [
        ...props.callbackTrainer ? [] : ['sagemaker:CreateTrainingJob', 'sagemaker:DescribeTrainingJob', 'sagemaker:StopTrainingJob'],
        'sagemaker:CreateProcessingJob', 'sagemaker:DescribeProcessingJob', 'sagemaker:StopProcessingJob', 'sagemaker:AddTags',
      ],
      resources: [...props.callbackTrainer ? [] : [jobArn('training-job')], jobArn('processing-job')],
    }));
    // SageMaker sends the Callback step's message in the pipeline's execution role.
    props.callbackTrainer?.grantSendMessages(pipelineRole);
    pipelineRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['iam:PassRole'],
      resources: [jobRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    }));
    props.registry.grantRegister(pipelineRole);
    pipelineRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:AddTags'], resources: [props.registry.modelPackageArnPattern] }));
    lake.grantRead(DataZone.MODELS, pipelineRole, prefix);
    if (props.vpc) {
      pipelineRole.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['ec2:DescribeVpcs', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeDhcpOptions'],
        resources: ['*'],
      }));
    }
    for (const role of [jobRole, pipelineRole]) {
      if (role instanceof iam.Role) {
        acknowledgeWildcardResource(role, models.arnForObjects(`${prefix}*`),
          'Jobs write artifacts, checkpoints and evaluations under execution-specific keys below this pipeline\'s prefix.');
        Validations.of(role).acknowledge({
          id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy',
          reason: 'The policy is defined by this construct for this role only and is not shared.',
        });
      }
    }
    if (jobRole instanceof iam.Role) {
      acknowledgeWildcardResource(jobRole, `${logGroupArn}:log-stream:*`, 'SageMaker names the log streams of each job.');
      acknowledgeWildcardResource(jobRole, logGroupArn, 'SageMaker jobs log to /aws/sagemaker/TrainingJobs and /aws/sagemaker/ProcessingJobs.');
      acknowledgeWildcardResource(jobRole, '*', 'cloudwatch:PutMetricData has no resource ARN (limited to the SageMaker namespaces by condition); ' +
        'ecr:GetAuthorizationToken has no resource ARN.');
    }
    if (!props.callbackTrainer) acknowledgeWildcardResource(pipelineRole, jobArn('training-job'), 'SageMaker Pipelines names the jobs it starts pipelines-<execution>-<step>-….');
    acknowledgeWildcardResource(pipelineRole, jobArn('processing-job'), 'SageMaker Pipelines names the jobs it starts pipelines-<execution>-<step>-….');
    acknowledgeWildcardResource(pipelineRole, props.registry.modelPackageArnPattern, 'Registering creates a new version ARN in this group.');
    if (props.vpc) { acknowledgeWildcardResource(pipelineRole, '*', 'EC2 Describe* actions have no resource-level permissions.'); }

    // --- VPC ------------------------------------------------------------------------------------------------
    let vpcConfig: Record<string, unknown> | undefined;
    if (props.vpc) {
      const sg = new ec2.SecurityGroup(this, 'JobSecurityGroup', {
        vpc: props.vpc, description: `Training and evaluation jobs of ${this.node.path}`, allowAllOutbound: true,
      });
      // Distributed training: instances talk to each other.
      sg.addIngressRule(sg, ec2.Port.allTraffic(), 'between training instances of this pipeline');
      Validations.of(sg).acknowledge({
        id: 'NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedCommonPorts',
        reason: 'Distributed training (NCCL, parameter servers) uses dynamic ports between the job\'s own instances; ingress is only from this security group.',
      });
      const subnets = props.vpc.selectSubnets(props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
      vpcConfig = { SecurityGroupIds: [sg.securityGroupId], Subnets: subnets.subnetIds };
      jobRole.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['ec2:CreateNetworkInterface', 'ec2:CreateNetworkInterfacePermission', 'ec2:DeleteNetworkInterface',
          'ec2:DeleteNetworkInterfacePermission', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeVpcs', 'ec2:DescribeDhcpOptions',
          'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups'],
        resources: ['*'],
      }));
    }

    // --- the definition ---------------------------------------------------------------------------------------
    const version = codeVersion(this) ?? 'unversioned';
    const env: Record<string, unknown> = { ML_PLATFORM_CODE_VERSION: get('Parameters.CodeVersion') };
    if (props.experimentTracking) {
      env.MLFLOW_TRACKING_ARN = props.experimentTracking.trackingServerArn;
      env.MLFLOW_TRACKING_URI = props.experimentTracking.trackingServerArn;
      props.experimentTracking.grantLogging(jobRole);
      if (jobRole instanceof iam.Role) {
        acknowledgeWildcardResource(jobRole, models.arnForObjects('mlflow/*'), 'MLflow clients upload run artifacts under keys they generate below the artifact root.');
      }
    }
    const trainingVolumeKms = facts.instanceStorage ? undefined : key.keyArn;
    const evaluationType = props.evaluation?.instanceType ?? 'ml.m5.xlarge';
    const evaluationVolumeKms = hasInstanceStorage(evaluationType) ? undefined : key.keyArn;
    const evaluationImage = props.evaluation?.image ?? props.image;
    // Lineage of every run: code version (parameter), image, and data version (the dataset manifest's SHA-256) on
    // the training and evaluation jobs and the registered model package.
    const inferenceImage = this.inferenceImage;
    const lineageTags = (image: TrainingImage) => [
      { Key: CODE_VERSION_TAG, Value: get('Parameters.CodeVersion') },
      { Key: IMAGE_TAG, Value: lineageTagValue(image.imageUri) },
      { Key: DATA_VERSION_TAG, Value: stepOutput(PIPELINE_STEPS.DATA_SNAPSHOT, 'manifest_sha256') },
    ];

    const requireApproval = gate.mode === TrainingDataGateMode.REQUIRE_APPROVAL;
    const gateArgs: Record<string, Expr> = gateOn ? {
      gate_mode: gate.mode,
      model_package_group: props.registry.modelPackageGroupName,
      max_drift_score: gate.maxDriftScore,
      max_missing_rate_increase: gate.maxMissingRateIncrease,
      ...(requireApproval ? { approval_status: this.modelApprovalStatus } : {}),
    } : {};
    const gateOutputs: LambdaOutput[] = gateOn ? [
      { OutputName: 'gate_passed', OutputType: 'Boolean' },
      { OutputName: 'gate_reason', OutputType: 'String' },
      { OutputName: 'gate_report_uri', OutputType: 'String' },
      ...(requireApproval ? [{ OutputName: 'model_approval_status', OutputType: 'String' } as LambdaOutput] : []),
    ] : [];
    const snapshot = lambdaStep({
      name: PIPELINE_STEPS.DATA_SNAPSHOT,
      functionArn: snapshotFn.functionArn,
      args: {
        input_uri: get('Parameters.InputDataUri'),
        output_uri: modelsUri('snapshots'),
        execution_id: get('Execution.PipelineExecutionId'),
        code_version: get('Parameters.CodeVersion'),
        ...gateArgs,
      },
      outputs: [
        { OutputName: 'manifest_uri', OutputType: 'String' },
        { OutputName: 'manifest_sha256', OutputType: 'String' },
        { OutputName: 'baseline_uri', OutputType: 'String' },
        { OutputName: 'dataset_uri', OutputType: 'String' },
        { OutputName: 'record_count', OutputType: 'Integer' },
        ...gateOutputs,
      ],
    });
    const modelArtifacts = props.callbackTrainer
      ? stepOutput(PIPELINE_STEPS.TRAIN, CALLBACK_OUTPUTS.MODEL_ARTIFACTS)
      : get(`Steps.${PIPELINE_STEPS.TRAIN}.ModelArtifacts.S3ModelArtifacts`);
    const train = props.callbackTrainer ? callbackStep({
      name: PIPELINE_STEPS.TRAIN,
      dependsOn: [PIPELINE_STEPS.DATA_SNAPSHOT],
      queueUrl: props.callbackTrainer.callbackQueueUrl,
      args: {
        [CALLBACK_ARGUMENTS.INPUT]: stepOutput(PIPELINE_STEPS.DATA_SNAPSHOT, 'dataset_uri'),
        [CALLBACK_ARGUMENTS.OUTPUT]: join('/', [modelsUri('artifacts'), get('Execution.PipelineExecutionId')]),
        [CALLBACK_ARGUMENTS.CODE_VERSION]: get('Parameters.CodeVersion'),
      },
      outputs: [
        { OutputName: CALLBACK_OUTPUTS.MODEL_ARTIFACTS, OutputType: 'String' },
        { OutputName: CALLBACK_OUTPUTS.JOB_NAME, OutputType: 'String' },
      ],
    }) : trainingStep({
      name: PIPELINE_STEPS.TRAIN,
      dependsOn: [PIPELINE_STEPS.DATA_SNAPSHOT],
      args: {
        AlgorithmSpecification: {
          TrainingImage: props.image.imageUri,
          TrainingInputMode: 'File',
          MetricDefinitions: props.metricDefinitions?.map(m => ({ Name: m.name, Regex: m.regex })),
        },
        RoleArn: jobRole.roleArn,
        HyperParameters: props.hyperparameters,
        InputDataConfig: [{
          ChannelName: 'train',
          DataSource: {
            S3DataSource: {
              S3DataType: 'S3Prefix',
              S3Uri: stepOutput(PIPELINE_STEPS.DATA_SNAPSHOT, 'dataset_uri'),
              S3DataDistributionType: props.distribution ?? TrainingDistribution.FULLY_REPLICATED,
            },
          },
        }],
        OutputDataConfig: { S3OutputPath: modelsUri('artifacts'), KmsKeyId: key.keyArn },
        ResourceConfig: {
          InstanceType: props.instanceType?.name,
          InstanceCount: instanceCount,
          VolumeSizeInGB: (props.volumeSize ?? Size.gibibytes(100)).toGibibytes(),
          VolumeKmsKeyId: trainingVolumeKms,
        },
        StoppingCondition: { MaxRuntimeInSeconds: maxRuntime.toSeconds(), MaxWaitTimeInSeconds: spot ? maxWait!.toSeconds() : undefined },
        EnableManagedSpotTraining: spot,
        CheckpointConfig: checkpoints ? { S3Uri: join('/', [modelsUri('checkpoints'), get('Execution.PipelineExecutionId')]), LocalPath: '/opt/ml/checkpoints' } : undefined,
        EnableNetworkIsolation: networkIsolation,
        EnableInterContainerTrafficEncryption: props.interContainerEncryption ?? instanceCount > 1,
        VpcConfig: vpcConfig,
        Environment: env,
        Tags: lineageTags(props.image),
      },
    });
    const evaluationOutput = join('/', [modelsUri('evaluations'), get('Execution.PipelineExecutionId')]);
    const evaluate = processingStep({
      name: PIPELINE_STEPS.EVALUATE,
      dependsOn: [PIPELINE_STEPS.TRAIN],
      args: {
        ProcessingResources: {
          ClusterConfig: { InstanceType: evaluationType, InstanceCount: 1, VolumeSizeInGB: 30, VolumeKmsKeyId: evaluationVolumeKms },
        },
        AppSpecification: { ImageUri: evaluationImage.imageUri, ContainerEntrypoint: props.evaluation?.entrypoint },
        RoleArn: jobRole.roleArn,
        ProcessingInputs: [
          { InputName: 'model', S3Input: { S3Uri: modelArtifacts, LocalPath: '/opt/ml/processing/model', S3DataType: 'S3Prefix', S3InputMode: 'File' } },
          { InputName: 'test', S3Input: { S3Uri: get('Parameters.EvaluationDataUri'), LocalPath: '/opt/ml/processing/test', S3DataType: 'S3Prefix', S3InputMode: 'File' } },
        ],
        ProcessingOutputConfig: {
          Outputs: [{ OutputName: 'evaluation', S3Output: { S3Uri: evaluationOutput, LocalPath: '/opt/ml/processing/evaluation', S3UploadMode: 'EndOfJob' } }],
          KmsKeyId: key.keyArn,
        },
        StoppingCondition: { MaxRuntimeInSeconds: (props.evaluation?.maxRuntime ?? Duration.hours(2)).toSeconds() },
        NetworkConfig: { EnableNetworkIsolation: networkIsolation, EnableInterContainerTrafficEncryption: true, VpcConfig: vpcConfig },
        Environment: { ...env, ML_PLATFORM_OBJECTIVE: props.objective.metricName },
        Tags: lineageTags(evaluationImage),
      },
    });
    const evaluationFile = join('/', [modelsUri('evaluations'), get('Execution.PipelineExecutionId'), 'evaluation.json']);
    const compare = lambdaStep({
      name: PIPELINE_STEPS.COMPARE,
      functionArn: compareFn.functionArn,
      dependsOn: [PIPELINE_STEPS.EVALUATE],
      args: {
        evaluation_uri: evaluationFile,
        metric: props.objective.metricName,
        direction: props.objective.direction,
        min_improvement: props.objective.minImprovement,
        model_package_group: props.registry.modelPackageGroupName,
      },
      outputs: [
        { OutputName: 'is_better', OutputType: 'Boolean' },
        { OutputName: 'challenger_value', OutputType: 'String' },
        { OutputName: 'champion_value', OutputType: 'String' },
        { OutputName: 'champion_package_arn', OutputType: 'String' },
        { OutputName: 'threshold', OutputType: 'String' },
        { OutputName: 'reason', OutputType: 'String' },
      ],
    });
    const register = registerModelStep({
      name: PIPELINE_STEPS.REGISTER,
      args: {
        ModelPackageGroupName: props.registry.modelPackageGroupName,
        // A literal, never a run parameter (whoever starts a run must not choose Approved). requireApproval: the
        // snapshot step turns it into PendingManualApproval when the gate failed.
        ModelApprovalStatus: requireApproval ? stepOutput(PIPELINE_STEPS.DATA_SNAPSHOT, 'model_approval_status') : this.modelApprovalStatus,
        ModelPackageDescription: join(' ', ['Trained by pipeline', this.pipelineName, 'execution', get('Execution.PipelineExecutionId')]),
        InferenceSpecification: {
          Containers: [{ Image: inferenceImage.imageUri, ModelDataUrl: modelArtifacts }],
          SupportedContentTypes: ['application/json', 'text/csv'],
          SupportedResponseMIMETypes: ['application/json'],
        },
        ModelMetrics: { ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: evaluationFile } } },
        CustomerMetadataProperties: {
          code_version: get('Parameters.CodeVersion'),
          training_image: props.image.imageUri,
          inference_image: inferenceImage.imageUri,
          dataset_uri: stepOutput(PIPELINE_STEPS.DATA_SNAPSHOT, 'dataset_uri'),
          dataset_manifest_uri: stepOutput(PIPELINE_STEPS.DATA_SNAPSHOT, 'manifest_uri'),
          dataset_manifest_sha256: stepOutput(PIPELINE_STEPS.DATA_SNAPSHOT, 'manifest_sha256'),
          baseline_uri: stepOutput(PIPELINE_STEPS.DATA_SNAPSHOT, 'baseline_uri'),
          objective: props.objective.metricName,
          objective_value: stepOutput(PIPELINE_STEPS.COMPARE, 'challenger_value'),
          replaces: stepOutput(PIPELINE_STEPS.COMPARE, 'champion_package_arn'),
          pipeline_execution_arn: get('Execution.PipelineExecutionArn'),
          ...(gateOn ? {
            training_data_gate: stepOutput(PIPELINE_STEPS.DATA_SNAPSHOT, 'gate_reason'),
            training_data_gate_report: stepOutput(PIPELINE_STEPS.DATA_SNAPSHOT, 'gate_report_uri'),
          } : {}),
        },
        Tags: lineageTags(inferenceImage),
      },
    });
    const keep = failStep({
      name: PIPELINE_STEPS.KEEP_CHAMPION,
      errorMessage: join(' ', ['Challenger not registered, the champion stays:', stepOutput(PIPELINE_STEPS.COMPARE, 'reason')]),
    });
    const condition = conditionStep({
      name: PIPELINE_STEPS.CONDITION,
      dependsOn: [PIPELINE_STEPS.COMPARE],
      conditions: [{ Type: 'Equals', LeftValue: stepOutput(PIPELINE_STEPS.COMPARE, 'is_better'), RightValue: true }],
      ifSteps: [register],
      elseSteps: [keep],
    });
    // stop: everything after the snapshot runs only in the gate's if-branch, so rejected data never trains.
    const steps: StepJson[] = gate.mode === TrainingDataGateMode.STOP
      ? [snapshot, conditionStep({
        name: PIPELINE_STEPS.TRAINING_DATA_GATE,
        dependsOn: [PIPELINE_STEPS.DATA_SNAPSHOT],
        conditions: [{ Type: 'Equals', LeftValue: stepOutput(PIPELINE_STEPS.DATA_SNAPSHOT, 'gate_passed'), RightValue: true }],
        ifSteps: [train, evaluate, compare, condition],
        elseSteps: [failStep({
          name: PIPELINE_STEPS.REJECT_TRAINING_DATA,
          errorMessage: join('', [
            'Training data rejected by the training-data gate, nothing was trained: ',
            stepOutput(PIPELINE_STEPS.DATA_SNAPSHOT, 'gate_reason'),
            ' (report: ',
            stepOutput(PIPELINE_STEPS.DATA_SNAPSHOT, 'gate_report_uri'),
            ')',
          ]),
        })],
      })]
      : [snapshot, train, evaluate, compare, condition];
    this._definition = {
      Version: '2020-12-01',
      Metadata: { generator: 'cdk-ml-platform', construct: this.node.path },
      Parameters: [
        { Name: 'InputDataUri', Type: 'String', DefaultValue: props.trainingData._uri(this) },
        { Name: 'EvaluationDataUri', Type: 'String', DefaultValue: (props.evaluationData ?? props.trainingData)._uri(this) },
        { Name: 'CodeVersion', Type: 'String', DefaultValue: version },
      ],
      Steps: steps,
    };
    const problems = checkDefinition(this._definition);
    if (problems.length > 0) {
      throw mlError(this, 'GpuTrainingPipeline', { code: 'InvalidDefinition', what: 'the pipeline definition is inconsistent', got: problems.join('; '), fix: 'report this as a bug' });
    }

    // --- ship it: template asset + deploy-time rendering into the models zone ----------------------------------
    const { template, substitutions } = tokenizeDefinition(this._definition);
    const dir = scratchDirectory(this, 'pipeline-');
    // Not *.template.json: that suffix marks CloudFormation templates in cdk.out (cfn-lint, tooling).
    fs.writeFileSync(path.join(dir, 'pipeline-definition.json'), template);
    this.definitionAsset = new s3assets.Asset(this, 'DefinitionTemplate', { path: path.join(dir, 'pipeline-definition.json') });
    const provider = definitionProvider(this);
    const writerFn = provider.onEventHandler as PipelineDefinitionFunction;
    // Exactly this template object (not the whole asset bucket, which grantRead would open).
    writerFn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: [this.definitionAsset.bucket.arnForObjects(this.definitionAsset.s3ObjectKey)],
    }));
    lake.grantWrite(DataZone.MODELS, writerFn, `${prefix}definitions/`);
    acknowledgeWildcardResource(writerFn.role!, models.arnForObjects(`${prefix}definitions/*`),
      'Definitions are written under content-addressed keys below this pipeline\'s prefix.');
    const rendered = new CustomResource(this, 'Definition', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::PipelineDefinition',
      properties: {
        TemplateBucket: this.definitionAsset.s3BucketName,
        TemplateKey: this.definitionAsset.s3ObjectKey,
        Substitutions: substitutions,
        TargetBucket: models.bucketName,
        TargetPrefix: `${prefix}definitions`,
      },
    });

    this.resource = new sagemaker.CfnPipeline(this, 'Resource', {
      pipelineName: this.pipelineName,
      pipelineDisplayName: this.pipelineName.slice(0, 256),
      pipelineDescription: `GPU training on ${props.callbackTrainer?.trainerDescription ?? props.instanceType?.name} with a challenger/champion gate on ${props.objective.metricName} (cdk-ml-platform)`,
      roleArn: pipelineRole.roleArn,
      pipelineDefinition: {
        PipelineDefinitionS3Location: { Bucket: rendered.getAttString('Bucket'), Key: rendered.getAttString('Key') },
      },
    });
    this.resource.node.addDependency(pipelineRole);
    applyLineageTags(this, 'training-pipeline');
  }

  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    const executions = Stack.of(this).formatArn({ service: 'sagemaker', resource: 'pipeline', resourceName: `${lowerName(this.pipelineName)}/execution/*` });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: PIPELINE_RUN_ACTIONS,
      resourceArns: [this.pipelineArn, executions],
    });
  }

  /**
   * Lets `grantee` follow this pipeline without running it: describe the pipeline and its executions (steps and
   * parameters), and read what executions wrote under the pipeline's prefix in the lake's `models` zone
   * (`pipelines/<name>/`: model artifacts, evaluation reports, dataset manifests and drift baselines), including
   * decrypting them with the lake key (with a custom `encryptionKey`, also grant `encryptionKey.grantDecrypt`).
   * No `StartPipelineExecution`, no writes.
   */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    const executions = Stack.of(this).formatArn({ service: 'sagemaker', resource: 'pipeline', resourceName: `${lowerName(this.pipelineName)}/execution/*` });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: PIPELINE_READ_ACTIONS,
      resourceArns: [this.pipelineArn, executions],
    }).combine(this.dataLake.grantRead(DataZone.MODELS, grantee, `pipelines/${this.pipelineName}/`));
  }

  public onExecutionStatusChange(id: string, options: events.OnEventOptions = {}): events.Rule {
    const rule = new events.Rule(this, id, options);
    rule.addTarget(options.target);
    rule.addEventPattern({
      source: ['aws.sagemaker'],
      detailType: ['SageMaker Model Building Pipeline Execution Status Change'],
      detail: { pipelineArn: [this.pipelineArn] },
    });
    return rule;
  }

  /** A SageMaker Pipelines metric of this pipeline (namespace `AWS/Sagemaker/ModelBuildingPipeline`). */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: PIPELINE_NAMESPACE,
      metricName,
      ...props,
      dimensionsMap: { PipelineName: this.pipelineName, ...props?.dimensionsMap },
    }).attachTo(this);
  }

  /**
   * Executions that failed (`ExecutionFailed`, count). A kept champion and rejected training data also end in a
   * Fail step.
   * @default - sum over 5 minutes
   */
  public metricExecutionsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ExecutionFailed', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Executions that succeeded (`ExecutionSucceeded`, count): a better model was registered.
   * @default - sum over 5 minutes
   */
  public metricExecutionsSucceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ExecutionSucceeded', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Executions started (`ExecutionStarted`, count).
   * @default - sum over 5 minutes
   */
  public metricExecutionsStarted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ExecutionStarted', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Execution duration (`ExecutionDuration`, milliseconds).
   * @default - maximum over 5 minutes
   */
  public metricExecutionDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ExecutionDuration', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }
}


function lowerName(name: string): string {
  return Token.isUnresolved(name) ? name : name.toLowerCase();
}

/** One Provider (and handler) per stack renders every pipeline definition of the stack. */
function definitionProvider(scope: IConstruct): cr.Provider {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(DEFINITION_PROVIDER_ID) as cr.Provider | undefined;
  if (existing) { return existing; }
  const onEvent = new PipelineDefinitionFunction(stack, `${DEFINITION_PROVIDER_ID}Handler`, {
    description: 'cdk-ml-platform: renders SageMaker pipeline definitions into S3',
    timeout: Duration.minutes(2),
    memorySize: 256,
  });
  const provider = new cr.Provider(stack, DEFINITION_PROVIDER_ID, { onEventHandler: onEvent });
  acknowledgeCustomResourceProvider(onEvent, provider);
  return provider;
}

/** Findings inherent to a Lambda step function: invoked synchronously by SageMaker Pipelines. */
function acknowledgeStepFunction(fn: lambda.Function): void {
  Validations.of(fn).acknowledge(
    { id: 'NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC', reason: 'Pipeline step that only calls the S3 and SageMaker APIs; no VPC resources to reach.' },
    { id: 'NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ', reason: 'Invoked synchronously by SageMaker Pipelines; a failure fails the step and the execution, visibly.' },
    { id: 'NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency', reason: 'Runs once per pipeline execution; reserved concurrency would only add a failure mode.' },
    { id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy', reason: 'CDK attaches the function\'s permissions as a policy owned by this role only.' },
  );
  acknowledgeManagedPolicy(fn, 'service-role/AWSLambdaBasicExecutionRole', 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs.');
}

interface Derived {
  readonly instanceCount: number;
  readonly maxRuntime: Duration;
  readonly spot: boolean;
  readonly maxWait?: Duration;
  readonly checkpoints: boolean;
  readonly networkIsolation: boolean;
  readonly evalMetrics: string[];
  readonly gate: TrainingDataGate;
}

function validate(scope: IConstruct, props: GpuTrainingPipelineProps, d: Derived): { instanceStorage: boolean } {
  const errors = new ValidationErrors(scope, 'GpuTrainingPipeline');
  let instanceStorage = false;

  if (props.callbackTrainer) {
    const sageMakerOnly = setOptions({
      instanceType: props.instanceType,
      instanceCount: props.instanceCount,
      spot: props.spot,
      maxWait: props.maxWait,
      checkpoints: props.checkpoints,
      volumeSize: props.volumeSize,
      hyperparameters: props.hyperparameters,
      metricDefinitions: props.metricDefinitions,
      distribution: props.distribution,
      interContainerEncryption: props.interContainerEncryption,
      maxRuntime: props.maxRuntime,
    });
    errors.check(sageMakerOnly.length === 0, {
      code: 'TrainerConflict',
      what: 'SageMaker training-job settings are set but callbackTrainer trains elsewhere, so they would be ignored',
      got: sageMakerOnly.join(', '),
      fix: 'set them on the trainer (e.g. the Kubeflow job\'s replicas, GPUs and run time), or drop callbackTrainer',
    });
  } else {
    errors.check(props.instanceType !== undefined, {
      code: 'NoInstanceType',
      what: 'instanceType is required for SageMaker training',
      got: 'no instanceType and no callbackTrainer',
      fix: 'pass e.g. instanceType: GpuInstanceType.ML_G5_2XLARGE, or a callbackTrainer',
    });
  }
  // Instance type: a catalogued GPU (or Trainium) type.
  const type = props.instanceType?.name;
  if (type !== undefined && !Token.isUnresolved(type)) {
    const parsed = parseInstanceType(type);
    const entry = lookupInstanceType(type);
    if (!parsed || !parsed.sagemaker) {
      errors.add({ code: 'InvalidInstanceType', what: 'instanceType must be a SageMaker instance type (ml.<family>.<size>)', got: type, fix: 'use a GpuInstanceType constant such as GpuInstanceType.ML_G5_2XLARGE' });
    } else if (entry) {
      if (entry.acceleratorModel === 'Inferentia2') {
        errors.add({ code: 'NotAGpuInstance', what: 'Inferentia instances serve models but do not train them', got: type, fix: 'use an NVIDIA GPU type (g5, g6, p4d, p5, ...) or Trainium (trn1)' });
      }
      instanceStorage = entry.nvmeStorageGB > 0;
    } else if (!props.skipInstanceTypeCheck) {
      if (isKnownFamily(parsed.family)) {
        errors.add({ code: 'UnknownInstanceType', what: `'${parsed.size}' is not a size of the ${parsed.family} family on SageMaker`, got: type, fix: 'check the size; GpuInstanceType lists every catalogued one' });
      } else {
        errors.add({
          code: 'NotAGpuInstance',
          what: 'instanceType has no GPU according to the catalog (or is a GPU type this release does not list)',
          got: type,
          fix: 'use a GPU type such as GpuInstanceType.ML_G5_2XLARGE; for a brand-new GPU type set skipInstanceTypeCheck: true',
        });
      }
    } else {
      Annotations.of(scope).addWarningV2('cdk-ml-platform:GpuTrainingPipeline.UnlistedInstanceType',
        `instance type ${type} is not in the catalog: its GPUs are not checked, and if it has local NVMe storage SageMaker rejects the volume KMS key`);
    }
  }

  const count = d.instanceCount;
  if (!Token.isUnresolved(count)) {
    errors.check(Number.isInteger(count) && count >= 1 && count <= 100, {
      code: 'InvalidInstanceCount', what: 'instanceCount must be a whole number from 1 to 100', got: count, fix: 'use 1 for single-instance training, more for distributed training',
    });
    if (count === 1) {
      errors.check(props.distribution !== TrainingDistribution.SHARDED_BY_S3_KEY, {
        code: 'DistributedOnOneInstance', what: 'distribution ShardedByS3Key needs more than one instance', got: 'instanceCount 1', fix: 'raise instanceCount or drop distribution',
      });
      errors.check(props.interContainerEncryption !== true, {
        code: 'DistributedOnOneInstance', what: 'interContainerEncryption only applies between several training instances', got: 'instanceCount 1', fix: 'raise instanceCount or drop interContainerEncryption',
      });
    }
  }

  const runtime = d.maxRuntime;
  if (!runtime.isUnresolved()) {
    const seconds = runtime.toSeconds({ integral: false });
    errors.check(Number.isInteger(seconds) && seconds >= 1 && seconds <= 28 * 24 * 3600, {
      code: 'InvalidMaxRuntime', what: 'maxRuntime must be whole seconds between 1 second and 28 days', got: runtime, fix: 'use e.g. Duration.hours(24)',
    });
  }
  if (d.spot) {
    errors.check(d.checkpoints, {
      code: 'SpotWithoutCheckpoints', what: 'managed spot training needs checkpoints, or an interrupted job starts over', got: 'spot: true, checkpoints: false', fix: 'drop checkpoints: false',
    });
    if (d.maxWait && !d.maxWait.isUnresolved() && !runtime.isUnresolved()) {
      errors.check(d.maxWait.toSeconds() >= runtime.toSeconds(), {
        code: 'MaxWaitBelowRuntime', what: 'maxWait (waiting for spot capacity plus training) must be at least maxRuntime', got: `maxWait ${d.maxWait.toHumanString()} < maxRuntime ${runtime.toHumanString()}`, fix: 'raise maxWait or lower maxRuntime',
      });
    }
  } else if (props.maxWait) {
    errors.add({ code: 'MaxWaitWithoutSpot', what: 'maxWait only applies to managed spot training', got: props.maxWait, fix: 'set spot: true or drop maxWait' });
  }

  if (props.volumeSize && !props.volumeSize.isUnresolved()) {
    const gib = props.volumeSize.toGibibytes({ rounding: SizeRoundingBehavior.NONE });
    errors.check(Number.isInteger(gib) && gib >= 1 && gib <= 16384, {
      code: 'InvalidVolumeSize', what: 'volumeSize must be whole GiB from 1 to 16384', got: props.volumeSize.toHumanString(), fix: 'use Size.gibibytes(n)',
    });
  }

  errors.check(d.evalMetrics.includes(props.objective.metricName), {
    code: 'ObjectiveNotEvaluated',
    what: `the objective '${props.objective.metricName}' is not among the metrics the evaluation step reports`,
    got: d.evalMetrics.join(', '),
    fix: `add '${props.objective.metricName}' to evaluation.metrics (and write it to evaluation.json)`,
  });
  const mi = props.objective.minImprovement;
  errors.check(Number.isFinite(mi) && mi >= 0, {
    code: 'InvalidMinImprovement', what: 'the objective\'s minImprovement must be a finite number >= 0', got: mi, fix: 'use 0 (strictly better) or a positive margin',
  });
  errors.check(/^[A-Za-z0-9_.:\-/]{1,255}$/.test(props.objective.metricName), {
    code: 'InvalidMetricName', what: 'objective metric names are 1-255 letters, digits and _ . : - /', got: props.objective.metricName, fix: 'rename the metric',
  });

  const name = props.pipelineName;
  if (name !== undefined && !Token.isUnresolved(name)) {
    errors.check(NAME_PATTERN.test(name) && name.length <= 256, {
      code: 'InvalidName', what: 'pipelineName must be 1-256 letters, digits or hyphens, starting and ending with a letter or digit', got: name, fix: 'rename it, or omit it',
    });
  }
  const hp = Object.entries(props.hyperparameters ?? {});
  errors.check(hp.length <= 100, { code: 'TooManyHyperparameters', what: 'SageMaker accepts at most 100 hyperparameters', got: hp.length, fix: 'pass the rest in a config file in the training data' });
  for (const [k, v] of hp) {
    if (Token.isUnresolved(k) || Token.isUnresolved(v)) { continue; }
    errors.check(k.length >= 1 && k.length <= 256 && v.length <= 2500, {
      code: 'InvalidHyperparameter', what: 'hyperparameter names are 1-256 characters and values at most 2500', got: `${k.slice(0, 40)}=(${v.length} characters)`, fix: 'shorten it',
    });
  }
  for (const m of props.metricDefinitions ?? []) {
    errors.check(m.name.length >= 1 && m.name.length <= 255 && m.regex.length >= 1 && m.regex.length <= 500, {
      code: 'InvalidMetricDefinition', what: 'metric definition names are 1-255 characters and regexes 1-500', got: m.name, fix: 'shorten it',
    });
  }
  const ev = props.evaluation;
  if (ev?.instanceType !== undefined && !Token.isUnresolved(ev.instanceType)) {
    errors.check(/^ml\.[a-z0-9]+\.[a-z0-9]+$/.test(ev.instanceType), {
      code: 'InvalidEvaluationInstanceType', what: 'evaluation.instanceType must be a SageMaker type (ml.<family>.<size>)', got: ev.instanceType, fix: "use e.g. 'ml.m5.xlarge'",
    });
  }
  if (ev?.maxRuntime && !ev.maxRuntime.isUnresolved()) {
    const seconds = ev.maxRuntime.toSeconds({ integral: false });
    errors.check(Number.isInteger(seconds) && seconds >= 1 && seconds <= 5 * 24 * 3600, {
      code: 'InvalidEvaluationRuntime', what: 'evaluation.maxRuntime must be whole seconds between 1 second and 5 days', got: ev.maxRuntime, fix: 'use e.g. Duration.hours(2)',
    });
  }
  if (ev?.entrypoint !== undefined) {
    errors.check(ev.entrypoint.length >= 1 && ev.entrypoint.length <= 100, {
      code: 'InvalidEvaluationEntrypoint', what: 'evaluation.entrypoint needs 1 to 100 items', got: ev.entrypoint.length, fix: "pass e.g. ['python3', '/opt/program/evaluate.py'], or omit it",
    });
  }
  if (props.vpcSubnets && !props.vpc) {
    errors.add({ code: 'SubnetsWithoutVpc', what: 'vpcSubnets needs vpc', got: 'vpcSubnets without vpc', fix: 'pass vpc, or drop vpcSubnets' });
  }
  if (d.gate.mode !== TrainingDataGateMode.DISABLED) {
    const score = d.gate.maxDriftScore;
    errors.check(!Token.isUnresolved(score) && Number.isFinite(score) && score >= 0, {
      code: 'InvalidTrainingDataGate',
      what: 'trainingDataGate maxDriftScore (the largest PSI allowed) must be a literal, finite number >= 0',
      got: Token.isUnresolved(score) ? '(an unresolved token)' : score,
      fix: 'use e.g. 0.25 (significant shift), 0.1 (stricter), or TrainingDataGate.disabled()',
    });
    const rise = d.gate.maxMissingRateIncrease;
    errors.check(!Token.isUnresolved(rise) && rise >= 0 && rise <= 1, {
      code: 'InvalidTrainingDataGate',
      what: 'trainingDataGate maxMissingRateIncrease (a fraction of records) must be a literal number from 0 to 1',
      got: Token.isUnresolved(rise) ? '(an unresolved token)' : rise,
      fix: 'use e.g. 0.1 for 10 percentage points; 1 turns the missing-rate check off',
    });
  }
  if (props.experimentTracking && props.networkIsolation === true) {
    errors.add({
      code: 'IsolatedTracking',
      what: 'network isolation blocks the containers from reaching the MLflow tracking server',
      got: 'networkIsolation: true with experimentTracking',
      fix: 'drop networkIsolation (isolation is off by default with tracking), or drop experimentTracking',
    });
  }
  errors.throwIfAny();
  return { instanceStorage };
}
