import { Annotations, ArnFormat, CustomResource, Duration, IResource, Lazy, Names, Resource, SizeRoundingBehavior, Stack, Token, Validations } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IConstruct } from 'constructs';
import { ICapturingEndpoint } from './capturing-endpoint';
import { DeploymentStrategy } from './deployment-strategy';
import { EndpointVariant } from './endpoint-variant';
import { LatestApprovedFunction } from './latest-approved-function';
import { ModelSource } from './model-source';
import { VerifyEndpointFunction } from './verify-endpoint-function';
import { ValidationErrors } from '../core/errors';
import { hasInstanceStorage, lookupInstanceType } from '../core/gpu-catalog';
import { ModelLineage, UNKNOWN_LINEAGE, applyLineageTags, applyModelLineageTags, dataVersionOfUrl } from '../core/lineage';
import { acknowledgeCustomResourceProvider, acknowledgeWildcardResource } from '../core/nag';
import { DataZone, IDataLake } from '../data/data-lake';
import { IModelRegistry } from '../registry/model-registry';

/** Data capture of an endpoint's requests and responses into the lake's `monitoring` zone. */
export interface DataCaptureOptions {
  /**
   * Share of requests captured, 0-100.
   * @default 100
   */
  readonly samplingPercentage?: number;
  /**
   * Capture request payloads.
   * @default true
   */
  readonly captureInput?: boolean;
  /**
   * Capture response payloads.
   * @default true
   */
  readonly captureOutput?: boolean;
  /**
   * Content types captured as JSON text (not base64).
   * @default ['application/json']
   */
  readonly jsonContentTypes?: string[];
  /**
   * Content types captured as CSV text (not base64).
   * @default ['text/csv']
   */
  readonly csvContentTypes?: string[];
}

/** Thresholds of the alarms that roll a deployment back. */
export interface RollbackThresholds {
  /**
   * p99 model latency above which a deployment rolls back, in milliseconds.
   * @default 1000
   */
  readonly maxP99LatencyMs?: number;
  /**
   * 5xx errors per minute (per variant) above which a deployment rolls back.
   * @default 0
   */
  readonly max5xxErrorsPerMinute?: number;
}

/** Asynchronous inference: queued requests, results in S3, notifications, scale to zero. */
export interface AsyncInferenceOptions {
  /**
   * Concurrent requests per instance.
   * @default - chosen by SageMaker
   */
  readonly maxConcurrentInvocationsPerInstance?: number;
  /**
   * Topic notified of successful results.
   * @default - a new KMS-encrypted topic
   */
  readonly successTopic?: sns.ITopic;
  /**
   * Topic notified of failures.
   * @default - a new KMS-encrypted topic
   */
  readonly errorTopic?: sns.ITopic;
  /**
   * Backlog per instance the autoscaling keeps (ApproximateBacklogSizePerInstance).
   * @default 5
   */
  readonly targetBacklogPerInstance?: number;
}

/** Properties for a {@link ModelEndpoint}. */
export interface ModelEndpointProps {
  /** The lake: data capture goes to its `monitoring` zone, model artifacts come from its `models` zone. */
  readonly dataLake: IDataLake;
  /** What the endpoint serves. */
  readonly model: ModelSource;
  /**
   * Production variants (at most 10).
   * @default - one instance variant: 2 × ml.m5.xlarge, autoscaling up to 4
   */
  readonly variants?: EndpointVariant[];
  /**
   * How new models roll out.
   * @default DeploymentStrategy.canary() (10 %, 10 minutes bake)
   */
  readonly deployment?: DeploymentStrategy;
  /**
   * Thresholds of the built-in rollback alarms (5xx errors, p99 model latency).
   * @default - 0 errors per minute, 1000 ms p99
   */
  readonly rollbackThresholds?: RollbackThresholds;
  /**
   * Further alarms that roll a deployment back (e.g. a PredictionHealthMonitor's). At most 10 in total.
   * @default - only the built-in alarms
   */
  readonly rollbackAlarms?: cloudwatch.IAlarm[];
  /**
   * Capture requests and responses for drift monitoring.
   * @default true
   */
  readonly dataCaptureEnabled?: boolean;
  /**
   * Data capture settings.
   * @default - every request and response, JSON and CSV as text
   */
  readonly dataCapture?: DataCaptureOptions;
  /**
   * Serve asynchronously (queued requests, results in the lake).
   * @default - real-time endpoint
   */
  readonly asyncInference?: AsyncInferenceOptions;
  /**
   * KMS key for the instances' storage volumes, captured data and async results.
   * @default - the data lake's key
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Run the model in this VPC.
   * @default - no VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets for the model.
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Block all network access from the model container.
   * @default true
   */
  readonly networkIsolation?: boolean;
  /**
   * Execution role of the model.
   * @default - a new role: read models, write capture, pull the image
   */
  readonly role?: iam.IRole;
  /**
   * Name of the endpoint (1-63 letters, digits, hyphens). Endpoint configs are never named, so updates
   * never trip over a name.
   * @default - generated from the construct path, lowercase
   */
  readonly endpointName?: string;
  /**
   * How long a deployment may take before the verification fails it; at most 55 minutes (CloudFormation
   * gives a custom resource one hour).
   * @default Duration.minutes(50)
   */
  readonly verifyTimeout?: Duration;
}

/** A SageMaker endpoint. */
export interface IModelEndpoint extends IResource {
  /**
   * Name of the endpoint.
   * @attribute
   */
  readonly endpointName: string;
  /**
   * ARN of the endpoint.
   * @attribute
   */
  readonly endpointArn: string;
  /** Lets `grantee` invoke the endpoint. */
  grantInvoke(grantee: iam.IGrantable): iam.Grant;
}

const CAPTURE_PREFIX = 'capture/';
const NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const MAX_VARIANTS = 10;
const MAX_ROLLBACK_ALARMS = 10;
/** CloudFormation gives a custom resource one hour; verification must end (with its own message) before that. */
const DEFAULT_VERIFY_TIMEOUT = Duration.minutes(50);
const MAX_VERIFY_TIMEOUT_MINUTES = 55;
/** SageMaker's limit on a deployment's total wait (MaximumExecutionTimeoutInSeconds). */
const MAX_DEPLOYMENT_SECONDS = 28_800;

/**
 * A safe SageMaker endpoint: model from the registry or an image; instance (GPU or CPU), serverless or
 * asynchronous variants; data capture into the lake for drift monitoring; autoscaling; canary, linear,
 * all-at-once or rolling deployments with automatic rollback on 5xx errors, p99 latency and any alarm you
 * add; and a verification after every deployment that fails the stack when SageMaker silently rolled back.
 *
 * **Capture layout.** `s3://<monitoring bucket>/capture/<endpoint name>/<variant>/<yyyy>/<mm>/<dd>/<hh>/<id>.jsonl`,
 * SageMaker's capture JSON Lines (`captureData.endpointInput/endpointOutput`, base64 unless the content
 * type is listed as JSON/CSV). DriftMonitor reads this layout.
 */
export class ModelEndpoint extends Resource implements IModelEndpoint, ICapturingEndpoint, iam.IGrantable {
  /** Key prefix of data capture in the monitoring zone: `capture/`; SageMaker appends `<endpoint>/<variant>/yyyy/mm/dd/hh/`. */
  public static readonly CAPTURE_KEY_PREFIX = CAPTURE_PREFIX;

  public readonly endpointName: string;
  public readonly endpointArn: string;
  /** The model's execution role. */
  public readonly role: iam.IRole;
  public readonly grantPrincipal: iam.IPrincipal;
  /** S3 URI of this endpoint's data capture (undefined when capture is off). */
  public readonly captureUri?: string;
  /**
   * Key prefix of this endpoint's capture files in the lake's `monitoring` zone, `capture/<endpoint name>/`
   * (undefined when capture is off). Monitors read the files below it.
   */
  public readonly captureKeyPrefix?: string;
  /** The lake the endpoint captures into and serves models from. */
  public readonly dataLake: IDataLake;
  /** The registry the endpoint serves from (ModelSource.fromLatestApproved/fromModelPackage), if any. */
  public readonly registry?: IModelRegistry;
  /** Names of the variants, in order. */
  public readonly variantNames: string[];
  /** The built-in rollback alarms: 5xx errors and p99 latency, per variant. */
  public readonly rollbackAlarms: cloudwatch.Alarm[] = [];
  /** Topics of an asynchronous endpoint. */
  public readonly asyncSuccessTopic?: sns.ITopic;
  /** Topics of an asynchronous endpoint. */
  public readonly asyncErrorTopic?: sns.ITopic;
  private readonly extraAlarms: cloudwatch.IAlarm[] = [];

  constructor(scope: Construct, id: string, props: ModelEndpointProps) {
    super(scope, id);
    const variants = props.variants ?? [EndpointVariant.instance({ instanceType: 'ml.m5.xlarge' })];
    const deployment = props.deployment ?? DeploymentStrategy.canary();
    const capture = props.dataCaptureEnabled ?? !variants.some(v => v.kind === 'serverless');
    validate(this, props, variants, deployment, capture);
    this.extraAlarms.push(...props.rollbackAlarms ?? []);
    // Alarms added later count too.
    this.node.addValidation({
      validate: () => {
        const total = this.rollbackAlarms.length + this.extraAlarms.length;
        return total <= MAX_ROLLBACK_ALARMS ? [] : [
          `[ModelEndpoint.TooManyRollbackAlarms] SageMaker takes at most ${MAX_ROLLBACK_ALARMS} rollback alarms, got ${total}; ` +
          `combine alarms with a CompositeAlarm (at ${this.node.path})`,
        ];
      },
    });

    const stack = Stack.of(this);
    const lake = props.dataLake;
    this.dataLake = lake;
    this.registry = props.model.registry;
    const key = props.encryptionKey ?? lake.encryptionKey;
    this.variantNames = variants.map((v, i) => v.instanceOptions?.variantName ?? v.serverlessOptions?.variantName ?? (i === 0 ? 'primary' : `variant${i + 1}`));

    // --- role -------------------------------------------------------------------------------------------------
    const role = props.role ?? new iam.Role(this, 'Role', {
      description: `Execution role of the model behind ${this.node.path}`,
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
    });
    this.role = role;
    this.grantPrincipal = role;
    lake.grantRead(DataZone.MODELS, role);
    if (props.model.registry) { props.model.registry.grantRead(role); }
    props.model.image?.grantPull(role);
    if (key !== lake.encryptionKey) { key.grantEncryptDecrypt(role); }
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
    // Model packages name their inference image only at deploy time: pull from this account's repositories.
    const repositories = stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: '*' });
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'], resources: [repositories],
    }));
    // Deployment guardrails read the rollback alarms' state.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: ['*'] }));
    const logGroup = stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '/aws/sagemaker/Endpoints/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup, `${logGroup}:log-stream:*`],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'], resources: ['*'], conditions: { StringLike: { 'cloudwatch:namespace': ['/aws/sagemaker/*', 'AWS/SageMaker'] } },
    }));

    // --- model ------------------------------------------------------------------------------------------------
    // Lineage (ml-platform:image, data-version, model-package tags on the model and the endpoint config): a package
    // names its image and data version only at deploy time, read by the latest-approved custom resource.
    let packageArn = props.model.modelPackageArn;
    let lineage: ModelLineage;
    if (props.model.registry) {
      const resolved = packageLineage(this, { registry: props.model.registry });
      packageArn = resolved.modelPackage;
      lineage = resolved;
    } else if (packageArn) {
      lineage = { ...packageLineage(this, { modelPackageArn: packageArn }), modelPackage: packageArn };
    } else {
      const dataUrl = props.model.modelDataUrl;
      // An image without model data has its model baked in: no data version to record, but the tag is always there.
      lineage = { image: props.model.image!.imageUri, dataVersion: dataUrl !== undefined ? dataVersionOfUrl(dataUrl) : UNKNOWN_LINEAGE };
    }
    let vpcConfig: sagemaker.CfnModel.VpcConfigProperty | undefined;
    if (props.vpc) {
      const sg = new ec2.SecurityGroup(this, 'SecurityGroup', { vpc: props.vpc, description: `Model behind ${this.node.path}`, allowAllOutbound: true });
      const subnets = props.vpc.selectSubnets(props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
      vpcConfig = { securityGroupIds: [sg.securityGroupId], subnets: subnets.subnetIds };
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['ec2:CreateNetworkInterface', 'ec2:CreateNetworkInterfacePermission', 'ec2:DeleteNetworkInterface', 'ec2:DeleteNetworkInterfacePermission',
          'ec2:DescribeNetworkInterfaces', 'ec2:DescribeVpcs', 'ec2:DescribeDhcpOptions', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups'],
        resources: ['*'],
      }));
    }
    const model = new sagemaker.CfnModel(this, 'Model', {
      executionRoleArn: role.roleArn,
      primaryContainer: packageArn
        ? { modelPackageName: packageArn }
        : { image: props.model.image!.imageUri, modelDataUrl: props.model.modelDataUrl },
      // Serverless inference does not support network isolation.
      enableNetworkIsolation: props.networkIsolation ?? !variants.some(v => v.kind === 'serverless'),
      vpcConfig,
    });
    // Every policy of the role (default, overflow, or an imported role's) is attached before the model is created.
    model.node.addDependency(role);

    // --- endpoint config (never named: a changed config is a new resource, never a name clash) ---------------
    const instanceVolumesLocal = variants.some(v => v.instanceOptions && hasInstanceStorage(v.instanceOptions.instanceType));
    const serverless = variants.some(v => v.kind === 'serverless');
    const sampling = props.dataCapture?.samplingPercentage ?? 100;
    this.captureUri = capture ? lake.uri(DataZone.MONITORING, CAPTURE_PREFIX.slice(0, -1)) : undefined;
    if (capture) {
      lake.grantWrite(DataZone.MONITORING, role, CAPTURE_PREFIX);
    }
    let asyncConfig: sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty | undefined;
    if (props.asyncInference) {
      const topic = (topicId: string, given?: sns.ITopic) => given ?? new sns.Topic(this, topicId, { masterKey: key, enforceSSL: true });
      this.asyncSuccessTopic = topic('AsyncSuccessTopic', props.asyncInference.successTopic);
      this.asyncErrorTopic = topic('AsyncErrorTopic', props.asyncInference.errorTopic);
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['sns:Publish'], resources: [this.asyncSuccessTopic.topicArn, this.asyncErrorTopic.topicArn],
      }));
      // Publishing to a KMS-encrypted topic: data keys through SNS only (explicit actions, no kms:GenerateDataKey*).
      iam.Grant.addToPrincipalOrResource({
        grantee: role,
        resource: key,
        resourceArns: [key.keyArn],
        resourceSelfArns: ['*'],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${stack.region}.amazonaws.com` } },
      });
      lake.grantReadWrite(DataZone.MONITORING, role, 'async/');
      asyncConfig = {
        clientConfig: { maxConcurrentInvocationsPerInstance: props.asyncInference.maxConcurrentInvocationsPerInstance },
        outputConfig: {
          s3OutputPath: lake.uri(DataZone.MONITORING, 'async/output'),
          s3FailurePath: lake.uri(DataZone.MONITORING, 'async/failure'),
          kmsKeyId: key.keyArn,
          notificationConfig: { successTopic: this.asyncSuccessTopic.topicArn, errorTopic: this.asyncErrorTopic.topicArn },
        },
      };
    }
    const endpointConfig = new sagemaker.CfnEndpointConfig(this, 'EndpointConfig', {
      productionVariants: variants.map((v, i) => v.instanceOptions ? {
        variantName: this.variantNames[i],
        modelName: model.attrModelName,
        instanceType: v.instanceOptions.instanceType,
        initialInstanceCount: v.instanceOptions.initialInstanceCount ?? 2,
        initialVariantWeight: v.instanceOptions.weight ?? 1,
      } : {
        variantName: this.variantNames[i],
        modelName: model.attrModelName,
        serverlessConfig: {
          memorySizeInMb: v.serverlessOptions!.memorySize.toMebibytes(),
          maxConcurrency: v.serverlessOptions!.maxConcurrency,
          provisionedConcurrency: v.serverlessOptions!.provisionedConcurrency,
        },
      }),
      // SageMaker rejects a volume key on instance types with local NVMe (it encrypts those itself) and on serverless.
      kmsKeyId: instanceVolumesLocal || serverless ? undefined : key.keyArn,
      dataCaptureConfig: capture ? {
        enableCapture: true,
        initialSamplingPercentage: sampling,
        destinationS3Uri: this.captureUri!,
        kmsKeyId: key.keyArn,
        captureOptions: [
          ...(props.dataCapture?.captureInput ?? true ? [{ captureMode: 'Input' }] : []),
          ...(props.dataCapture?.captureOutput ?? true ? [{ captureMode: 'Output' }] : []),
        ],
        captureContentTypeHeader: {
          jsonContentTypes: props.dataCapture?.jsonContentTypes ?? ['application/json'],
          csvContentTypes: props.dataCapture?.csvContentTypes ?? ['text/csv'],
        },
      } : undefined,
      asyncInferenceConfig: asyncConfig,
    });

    applyModelLineageTags([model, endpointConfig], lineage);

    if (instanceVolumesLocal || serverless) {
      Validations.of(endpointConfig).acknowledge({
        id: 'NIST.800.53.R5::NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured',
        reason: serverless ? 'Serverless endpoints take no volume KMS key.'
          : 'The instance types have local NVMe storage, which SageMaker encrypts itself and for which it rejects a volume KMS key.',
      });
    }

    // --- endpoint ---------------------------------------------------------------------------------------------
    // Named (a stable, generated name unless given): the rollback alarms watch the endpoint by name, and the
    // endpoint's deployment config names the alarms, so a CloudFormation-generated name would be a cycle. The
    // endpoint itself is never replaced by config changes (UpdateEndpoint), so its name never clashes.
    const name = props.endpointName
      ?? Names.uniqueResourceName(this, { maxLength: 63, separator: '-' }).toLowerCase().replace(/[^a-z0-9-]/g, '').replace(/^-+|-+$/g, '');
    const endpoint = new sagemaker.CfnEndpoint(this, 'Resource', {
      endpointName: name,
      endpointConfigName: endpointConfig.attrEndpointConfigName,
      // Keep the instance counts autoscaling chose: a rollout must not shrink a fleet scaled out under load.
      retainAllVariantProperties: true,
      deploymentConfig: Lazy.any({ produce: () => renderDeployment(deployment, [...this.rollbackAlarms, ...this.extraAlarms], serverless) }),
    });
    this.endpointName = name;
    this.endpointArn = endpoint.ref;
    this.captureKeyPrefix = capture ? `${CAPTURE_PREFIX}${name}/` : undefined;

    // --- rollback alarms (not named: replacing one never clashes) ----------------------------------------------
    const thresholds = props.rollbackThresholds ?? {};
    for (const variant of this.variantNames) {
      this.rollbackAlarms.push(new cloudwatch.Alarm(this, `${variant}Errors5xx`, {
        alarmDescription: `5xx errors of ${this.node.path} variant ${variant}: rolls a deployment back`,
        metric: this.metricInvocation5XXErrors({
          dimensionsMap: { EndpointName: this.endpointName, VariantName: variant }, period: Duration.minutes(1),
        }),
        threshold: thresholds.max5xxErrorsPerMinute ?? 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }));
      if (!props.asyncInference) {
        this.rollbackAlarms.push(new cloudwatch.Alarm(this, `${variant}LatencyP99`, {
          alarmDescription: `p99 model latency of ${this.node.path} variant ${variant}: rolls a deployment back`,
          metric: this.metricModelLatency({ dimensionsMap: { EndpointName: this.endpointName, VariantName: variant }, period: Duration.minutes(1) }),
          // ModelLatency is in microseconds.
          threshold: (thresholds.maxP99LatencyMs ?? 1000) * 1000,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 2,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }));
      }
    }

    for (const alarm of this.rollbackAlarms) {
      Validations.of(alarm).acknowledge({
        id: 'NIST.800.53.R5::NIST.800.53.R5-CloudWatchAlarmAction',
        reason: 'A deployment-guardrail alarm: SageMaker watches it and rolls the deployment back; it needs no action of its own.',
      });
    }

    // --- autoscaling ------------------------------------------------------------------------------------------
    variants.forEach((v, i) => {
      const o = v.instanceOptions;
      if (!o) { return; }
      const initial = o.initialInstanceCount ?? 2;
      const min = props.asyncInference ? o.minCapacity ?? 0 : o.minCapacity ?? initial;
      const max = o.maxCapacity ?? Math.max(initial * 2, 1);
      if (max <= min && !props.asyncInference) { return; }
      const target = new appscaling.ScalableTarget(this, `${this.variantNames[i]}Scaling`, {
        serviceNamespace: appscaling.ServiceNamespace.SAGEMAKER,
        resourceId: `endpoint/${this.endpointName}/variant/${this.variantNames[i]}`,
        scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        minCapacity: min,
        maxCapacity: max,
      });
      target.node.addDependency(endpoint);
      if (props.asyncInference) {
        target.scaleToTrackMetric('Backlog', {
          targetValue: props.asyncInference.targetBacklogPerInstance ?? 5,
          customMetric: new cloudwatch.Metric({
            namespace: 'AWS/SageMaker',
            metricName: 'ApproximateBacklogSizePerInstance',
            dimensionsMap: { EndpointName: this.endpointName },
            statistic: cloudwatch.Stats.AVERAGE,
          }),
        });
        // From zero: a backlog with no instances starts one.
        target.scaleOnMetric('FromZero', {
          metric: new cloudwatch.Metric({
            namespace: 'AWS/SageMaker',
            metricName: 'HasBacklogWithoutCapacity',
            dimensionsMap: { EndpointName: this.endpointName },
            statistic: cloudwatch.Stats.AVERAGE,
            period: Duration.minutes(1),
          }),
          scalingSteps: [{ upper: 0.5, change: 0 }, { lower: 0.5, change: 1 }],
          adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
          cooldown: Duration.minutes(5),
        });
      } else {
        target.scaleToTrackMetric('Invocations', {
          targetValue: o.targetInvocationsPerInstance ?? 1000,
          predefinedMetric: appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        });
      }
    });
    const totalInstances = variants.reduce((n, v) =>
      n + (v.instanceOptions ? v.instanceOptions.minCapacity ?? v.instanceOptions.initialInstanceCount ?? 2 : 0), 0);
    if (!props.asyncInference && !serverless && totalInstances === 1) {
      Annotations.of(this).addWarningV2('cdk-ml-platform:ModelEndpoint.SingleInstance',
        'the endpoint runs on one instance: no redundancy across Availability Zones (AWS Config flags it); use at least 2 for production');
    }

    // --- verification: fail the deployment if SageMaker did not end up on this config -------------------------
    const verify = new CustomResource(this, 'VerifyDeployment', {
      serviceToken: verifyProvider(this, props.verifyTimeout ?? DEFAULT_VERIFY_TIMEOUT).serviceToken,
      resourceType: 'Custom::VerifyEndpointDeployment',
      properties: {
        EndpointName: this.endpointName,
        EndpointConfigName: endpointConfig.attrEndpointConfigName,
        TimeoutSeconds: String((props.verifyTimeout ?? DEFAULT_VERIFY_TIMEOUT).toSeconds()),
      },
    });
    verify.node.addDependency(endpoint);

    // --- nag acknowledgements for our own role -----------------------------------------------------------------
    if (role instanceof iam.Role) {
      acknowledgeWildcardResource(role, lake.bucket(DataZone.MODELS).arnForObjects('*'), 'Model artifacts anywhere in the models zone may be served (registered packages point at them).');
      acknowledgeWildcardResource(role, repositories, 'A model package names its inference image only at deploy time; pulls stay within this account.');
      if (capture) { acknowledgeWildcardResource(role, lake.bucket(DataZone.MONITORING).arnForObjects(`${CAPTURE_PREFIX}*`), 'SageMaker writes capture files under time-partitioned keys.'); }
      if (props.asyncInference) { acknowledgeWildcardResource(role, lake.bucket(DataZone.MONITORING).arnForObjects('async/*'), 'Async results are written under request-specific keys.'); }
      if (props.model.registry) { acknowledgeWildcardResource(role, props.model.registry.modelPackageArnPattern, 'Any approved version of the registry may be served.'); }
      acknowledgeWildcardResource(role, '*', 'ecr:GetAuthorizationToken, cloudwatch:DescribeAlarms, cloudwatch:PutMetricData (namespace-conditioned) and EC2 network interface actions have no resource ARNs.');
      acknowledgeWildcardResource(role, logGroup, 'SageMaker names the log group of each endpoint under /aws/sagemaker/Endpoints/.');
      acknowledgeWildcardResource(role, `${logGroup}:log-stream:*`, 'SageMaker names the log streams of each instance.');
      Validations.of(role).acknowledge({ id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The policy is defined by this construct for this role only.' });
    }
    applyLineageTags(this, 'model-endpoint');
  }

  /** Adds an alarm that rolls a deployment back (rendered at synth; at most 10 in total). */
  public addRollbackAlarm(alarm: cloudwatch.IAlarm): void {
    this.extraAlarms.push(alarm);
  }

  /**
   * Every alarm that rolls a deployment back: the built-in ones, those of `rollbackAlarms` and those added
   * with {@link addRollbackAlarm} so far. The continuous-training loop watches the same alarms during its
   * bake period after a promotion.
   */
  public allRollbackAlarms(): cloudwatch.IAlarm[] {
    return [...this.rollbackAlarms, ...this.extraAlarms];
  }

  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync'], resourceArns: [this.endpointArn] });
  }

  /**
   * Lets `grantee` deploy a new model to this endpoint and roll it back, outside CloudFormation.
   *
   * Deploy: `CreateModel` and `CreateEndpointConfig` (with `AddTags`) for names starting with the endpoint's
   * name (as the continuous-training loop names them), `iam:PassRole` of this endpoint's execution role to
   * SageMaker only, and `UpdateEndpoint` of this endpoint, which applies its deployment config (canary/linear,
   * auto-rollback alarms). Roll back: `UpdateEndpoint` back to an earlier config of this endpoint (the one
   * CloudFormation deployed, or one named after the endpoint) and `UpdateEndpointWeightsAndCapacities` to shift
   * traffic between its variants. Reads: `DescribeEndpoint`, and `DescribeEndpointConfig`, `DescribeModel` and
   * `ListTags` of those configs and models (the loop tags each config with the one it replaced). KMS:
   * `kms:CreateGrant` (for AWS resources only) and `kms:DescribeKey` on the keys the endpoint config uses.
   *
   * Nothing else: no other endpoint, no `CreateEndpoint`/`DeleteEndpoint`, no other role to pass. Approving
   * the model package is a separate permission (`ModelRegistry.grantApprove`).
   */
  public grantDeploy(grantee: iam.IGrantable): iam.Grant {
    const stack = Stack.of(this);
    const prefix = Token.isUnresolved(this.endpointName) ? this.endpointName : this.endpointName.slice(0, 50);
    const arn = (resource: string, name: string) => stack.formatArn({ service: 'sagemaker', resource, resourceName: name });
    const cfnConfig = this.node.findChild('EndpointConfig') as sagemaker.CfnEndpointConfig;
    const cfnModel = this.node.findChild('Model') as sagemaker.CfnModel;
    const configs = [arn('endpoint-config', `${prefix}*`), cfnConfig.ref];
    const models = [arn('model', `${prefix}*`), cfnModel.ref];
    let grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:DescribeEndpoint', 'sagemaker:UpdateEndpoint', 'sagemaker:UpdateEndpointWeightsAndCapacities'],
      resourceArns: [this.endpointArn],
    }).combine(iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:DescribeEndpointConfig', 'sagemaker:DescribeModel', 'sagemaker:ListTags'],
      resourceArns: [...configs, ...models],
    })).combine(iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:CreateEndpointConfig', 'sagemaker:CreateModel', 'sagemaker:AddTags'],
      resourceArns: [configs[0], models[0]],
    })).combine(iam.Grant.addToPrincipal({
      grantee,
      actions: ['iam:PassRole'],
      resourceArns: [this.role.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    }));
    const capture = cfnConfig.dataCaptureConfig as sagemaker.CfnEndpointConfig.DataCaptureConfigProperty | undefined;
    const asyncOutput = (cfnConfig.asyncInferenceConfig as sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty | undefined)
      ?.outputConfig as sagemaker.CfnEndpointConfig.AsyncInferenceOutputConfigProperty | undefined;
    const keyArns = [...new Set([cfnConfig.kmsKeyId, capture?.kmsKeyId, asyncOutput?.kmsKeyId].filter((k): k is string => typeof k === 'string'))];
    if (keyArns.length > 0) {
      grant = grant.combine(iam.Grant.addToPrincipal({ grantee, actions: ['kms:DescribeKey'], resourceArns: keyArns }))
        .combine(iam.Grant.addToPrincipal({
          grantee,
          actions: ['kms:CreateGrant'],
          resourceArns: keyArns,
          conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
        }));
    }
    return grant;
  }

  /** An `AWS/SageMaker` endpoint invocation metric (dimensions EndpointName and, for one variant, VariantName). */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/SageMaker',
      metricName,
      ...props,
      dimensionsMap: { EndpointName: this.endpointName, VariantName: this.variantNames[0], ...props?.dimensionsMap },
    }).attachTo(this);
  }

  /**
   * Requests sent to the model (`Invocations`, count).
   * @default - sum over 5 minutes
   */
  public metricInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Invocations', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Time the model took to respond (`ModelLatency`, in **microseconds**).
   * @default - p99 over 5 minutes
   */
  public metricModelLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ModelLatency', { statistic: cloudwatch.Stats.p(99), ...props });
  }

  /**
   * Requests answered with a 5xx code (`Invocation5XXErrors`, count).
   * @default - sum over 5 minutes
   */
  public metricInvocation5XXErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Invocation5XXErrors', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Requests answered with a 4xx code (`Invocation4XXErrors`, count).
   * @default - sum over 5 minutes
   */
  public metricInvocation4XXErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Invocation4XXErrors', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * GPU utilization of the instances (`GPUUtilization`, percent, up to 100 × GPUs per instance).
   * @default - average over 5 minutes
   */
  public metricGpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.instanceMetric('GPUUtilization', props);
  }

  /**
   * GPU memory utilization of the instances (`GPUMemoryUtilization`, percent).
   * @default - average over 5 minutes
   */
  public metricGpuMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.instanceMetric('GPUMemoryUtilization', props);
  }

  /**
   * CPU utilization of the instances (`CPUUtilization`, percent, up to 100 × vCPUs).
   * @default - average over 5 minutes
   */
  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.instanceMetric('CPUUtilization', props);
  }

  private instanceMetric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: '/aws/sagemaker/Endpoints',
      metricName,
      statistic: cloudwatch.Stats.AVERAGE,
      ...props,
      dimensionsMap: { EndpointName: this.endpointName, VariantName: this.variantNames[0], ...props?.dimensionsMap },
    }).attachTo(this);
  }
}

function renderDeployment(d: DeploymentStrategy, alarms: cloudwatch.IAlarm[], serverless: boolean): sagemaker.CfnEndpoint.DeploymentConfigProperty {
  const autoRollbackConfiguration = alarms.length > 0 ? { alarms: alarms.map(a => ({ alarmName: a.alarmName })) } : undefined;
  const s = d._settings;
  if (d.kind === 'ROLLING') {
    return {
      autoRollbackConfiguration,
      rollingUpdatePolicy: {
        maximumBatchSize: { type: 'CAPACITY_PERCENT', value: s.percent! },
        waitIntervalInSeconds: s.interval!.toSeconds(),
        rollbackMaximumBatchSize: s.rollbackPercent !== undefined ? { type: 'CAPACITY_PERCENT', value: s.rollbackPercent } : undefined,
      },
    };
  }
  const bake = s.bake!.toSeconds();
  const routing: sagemaker.CfnEndpoint.TrafficRoutingConfigProperty = d.kind === 'CANARY'
    ? { type: 'CANARY', waitIntervalInSeconds: bake, canarySize: s.instances !== undefined ? { type: 'INSTANCE_COUNT', value: s.instances } : { type: 'CAPACITY_PERCENT', value: s.percent! } }
    : d.kind === 'LINEAR'
      ? { type: 'LINEAR', waitIntervalInSeconds: s.interval!.toSeconds(), linearStepSize: { type: 'CAPACITY_PERCENT', value: s.percent! } }
      : { type: 'ALL_AT_ONCE', waitIntervalInSeconds: bake };
  return {
    autoRollbackConfiguration: serverless ? undefined : autoRollbackConfiguration,
    blueGreenUpdatePolicy: { trafficRoutingConfiguration: routing, terminationWaitInSeconds: serverless ? undefined : Math.min(bake, 3600) },
  };
}

/**
 * The lineage of a model package, read at deploy time by the latest-approved custom resource: for a registry, the
 * newest approved package of its group (resolved at the first deployment; the resource keeps it until the group
 * changes), else the given package. Values are tag-safe (the handler sanitizes them).
 */
function packageLineage(scope: IConstruct, source: { registry?: IModelRegistry; modelPackageArn?: string }): Required<ModelLineage> {
  const stack = Stack.of(scope);
  const id = 'CdkMlPlatformLatestApprovedProvider';
  let provider = stack.node.tryFindChild(id) as cr.Provider | undefined;
  if (!provider) {
    const fn = new LatestApprovedFunction(stack, `${id}Handler`, { description: 'cdk-ml-platform: newest approved model package', timeout: Duration.minutes(1) });
    provider = new cr.Provider(stack, id, { onEventHandler: fn });
    acknowledgeCustomResourceProvider(fn, provider);
  }
  const fn = provider.onEventHandler as LatestApprovedFunction;
  // Attributes: a changed list updates resources deployed by earlier versions, so they return every attribute.
  const attributes = 'ModelPackageArn,Image,DataVersion';
  let resource: CustomResource;
  if (source.registry) {
    const registry = source.registry;
    registry.grantRead(fn);
    acknowledgeWildcardResource(fn.role!, registry.modelPackageArnPattern, 'Any version of the group may be the newest approved one.');
    resource = new CustomResource(scope, 'LatestApprovedModelPackage', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::LatestApprovedModelPackage',
      properties: { ModelPackageGroupName: registry.modelPackageGroupName, Attributes: attributes },
    });
  } else {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeModelPackage'], resources: [source.modelPackageArn!] }));
    resource = new CustomResource(scope, 'ModelPackageLineage', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::ModelPackageLineage',
      properties: { ModelPackageArn: source.modelPackageArn, Attributes: attributes },
    });
  }
  return {
    modelPackage: resource.getAttString('ModelPackageArn'),
    image: resource.getAttString('Image'),
    dataVersion: resource.getAttString('DataVersion'),
  };
}

function verifyProvider(scope: IConstruct, timeout: Duration): cr.Provider {
  const stack = Stack.of(scope);
  const id = `CdkMlPlatformVerifyEndpointProvider${timeout.toSeconds()}s`;
  const existing = stack.node.tryFindChild(id) as cr.Provider | undefined;
  if (existing) { return existing; }
  const onEvent = new VerifyEndpointFunction(stack, `${id}OnEvent`, {
    description: 'cdk-ml-platform: verifies endpoint deployments (start)', timeout: Duration.minutes(1), environment: { VERIFY_PHASE: 'onEvent' },
  });
  const isComplete = new VerifyEndpointFunction(stack, `${id}IsComplete`, {
    description: 'cdk-ml-platform: verifies endpoint deployments (poll)', timeout: Duration.minutes(1), environment: { VERIFY_PHASE: 'isComplete' },
  });
  for (const fn of [onEvent, isComplete]) {
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['sagemaker:DescribeEndpoint'],
      resources: [stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: '*' })],
    }));
    acknowledgeWildcardResource(fn.role!, stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: '*' }),
      'Endpoint names are generated by CloudFormation and the provider is shared by the stack\'s endpoints; DescribeEndpoint only reads status.');
  }
  const provider = new cr.Provider(stack, id, {
    onEventHandler: onEvent, isCompleteHandler: isComplete, queryInterval: Duration.seconds(30), totalTimeout: timeout,
  });
  acknowledgeCustomResourceProvider(onEvent, provider);
  acknowledgeCustomResourceProvider(isComplete, provider);
  const waiter = provider.node.findChild('waiter-state-machine');
  Validations.of(waiter).acknowledge(
    { id: 'AwsSolutions::AwsSolutions-SF1', reason: 'The Provider framework\'s internal waiter; every outcome is reported to the CloudFormation stack events.' },
    { id: 'AwsSolutions::AwsSolutions-SF2', reason: 'The Provider framework\'s internal waiter; tracing adds nothing to the stack events it reports to.' },
  );
  for (const fn of ['framework-isComplete', 'framework-onTimeout']) {
    const f = provider.node.findChild(fn) as lambda.Function;
    acknowledgeWildcardResource(waiter, `${f.functionArn}:*`, 'The waiter invokes the framework\'s functions by ARN including any version qualifier.');
  }
  return provider;
}

function validate(scope: IConstruct, props: ModelEndpointProps, variants: EndpointVariant[], deployment: DeploymentStrategy, capture: boolean): void {
  const errors = new ValidationErrors(scope, 'ModelEndpoint');
  errors.check(variants.length >= 1 && variants.length <= MAX_VARIANTS, {
    code: 'VariantCount', what: `an endpoint has 1 to ${MAX_VARIANTS} production variants`, got: variants.length, fix: 'split the models over several endpoints',
  });
  const serverless = variants.filter(v => v.kind === 'serverless');
  if (serverless.length > 0) {
    errors.check(variants.length === 1, { code: 'ServerlessMultipleVariants', what: 'a serverless endpoint has exactly one variant', got: variants.length, fix: 'use one serverless variant, or instance variants only' });
    errors.check(!props.vpc, { code: 'ServerlessVpc', what: 'serverless endpoints cannot run in a VPC', got: 'vpc set', fix: 'drop vpc or use an instance variant' });
    errors.check(!(props.dataCaptureEnabled === true || (props.dataCaptureEnabled !== false && props.dataCapture !== undefined)), {
      code: 'ServerlessDataCapture', what: 'serverless endpoints do not support data capture', got: 'data capture requested', fix: 'use an instance variant for drift monitoring, or drop data capture',
    });
    errors.check(!props.asyncInference, { code: 'AsyncServerless', what: 'asynchronous inference needs instance variants', got: 'serverless variant with asyncInference', fix: 'use an instance variant' });
    errors.check(props.networkIsolation !== true, {
      code: 'ServerlessNetworkIsolation', what: 'serverless endpoints do not support network isolation', got: 'networkIsolation: true', fix: 'drop networkIsolation or use an instance variant',
    });
    errors.check(deployment.kind === 'ALL_AT_ONCE', {
      code: 'ServerlessDeployment',
      what: 'serverless endpoints only deploy all at once (no canary, linear or rolling guardrails)',
      got: deployment.kind,
      fix: 'use DeploymentStrategy.allAtOnce()',
    });
  }
  const names = new Set<string>();
  for (const v of variants) {
    const name = v.instanceOptions?.variantName ?? v.serverlessOptions?.variantName;
    if (name !== undefined) {
      errors.check(!names.has(name), { code: 'DuplicateVariant', what: 'variant names must be unique', got: name, fix: 'rename one' });
      errors.check(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(name), { code: 'InvalidVariantName', what: 'variant names are 1-63 letters, digits or hyphens', got: name, fix: 'rename it' });
      names.add(name);
    }
    const o = v.instanceOptions;
    if (o) {
      if (!Token.isUnresolved(o.instanceType)) {
        errors.check(/^ml\.[a-z0-9]+\.[a-z0-9]+$/.test(o.instanceType), { code: 'InvalidInstanceType', what: 'instanceType must be a SageMaker type (ml.<family>.<size>)', got: o.instanceType, fix: "use e.g. 'ml.g5.xlarge' or 'ml.m5.xlarge'" });
        const e = lookupInstanceType(o.instanceType);
        errors.check(!e || e.acceleratorModel !== 'Trainium', { code: 'TrainingOnlyInstance', what: 'Trainium instances train models; they do not host endpoints', got: o.instanceType, fix: 'use a GPU (g5, g6) or Inferentia2 (inf2) type' });
      }
      const initial = o.initialInstanceCount ?? 2;
      const min = o.minCapacity ?? (props.asyncInference ? 0 : initial);
      const max = o.maxCapacity ?? Math.max(initial * 2, 1);
      errors.check(Number.isInteger(initial) && initial >= 1, { code: 'InvalidInstanceCount', what: 'initialInstanceCount must be a whole number >= 1', got: initial, fix: 'use 2 or more for production' });
      errors.check(min <= max, { code: 'MinAboveMax', what: 'minCapacity must not exceed maxCapacity', got: `min ${min} > max ${max}`, fix: 'lower minCapacity or raise maxCapacity' });
      errors.check(min >= 0 && Number.isInteger(min) && Number.isInteger(max), { code: 'InvalidCapacity', what: 'capacities are whole numbers >= 0', got: `min ${min}, max ${max}`, fix: 'use whole numbers' });
      errors.check(min >= 1 || !!props.asyncInference, { code: 'ZeroMinCapacity', what: 'only asynchronous endpoints can scale to zero instances', got: min, fix: 'use minCapacity >= 1, or asyncInference' });
      if (o.weight !== undefined && !Token.isUnresolved(o.weight)) {
        errors.check(Number.isFinite(o.weight) && o.weight >= 0, { code: 'InvalidWeight', what: 'weight is a finite number >= 0 (traffic share relative to the other variants)', got: o.weight, fix: 'use e.g. 1, or 0 to send the variant no traffic' });
      }
      const target = o.targetInvocationsPerInstance;
      if (target !== undefined && !Token.isUnresolved(target)) {
        errors.check(Number.isFinite(target) && target > 0, { code: 'InvalidScalingTarget', what: 'targetInvocationsPerInstance is a finite number of invocations per minute above 0', got: target, fix: 'use e.g. 1000 (the default), or a load-tested value' });
      }
    }
    const s = v.serverlessOptions;
    if (s) {
      const mb = s.memorySize.toMebibytes({ rounding: SizeRoundingBehavior.NONE });
      // toHumanString throws for a size that is not whole bytes (e.g. NaN).
      errors.check([1024, 2048, 3072, 4096, 5120, 6144].includes(mb), { code: 'InvalidServerlessMemory', what: 'serverless memory is 1024 to 6144 MB in steps of 1024', got: `${mb} MiB`, fix: 'use Size.mebibytes(2048) or similar' });
      errors.check(Number.isInteger(s.maxConcurrency) && s.maxConcurrency >= 1 && s.maxConcurrency <= 200, { code: 'InvalidServerlessConcurrency', what: 'maxConcurrency is 1 to 200', got: s.maxConcurrency, fix: 'use a value in range' });
      if (s.provisionedConcurrency !== undefined) {
        errors.check(Number.isInteger(s.provisionedConcurrency) && s.provisionedConcurrency >= 1 && s.provisionedConcurrency <= s.maxConcurrency, {
          code: 'InvalidServerlessConcurrency', what: 'provisionedConcurrency is 1 to maxConcurrency', got: s.provisionedConcurrency, fix: 'use a value in range',
        });
      }
    }
  }
  const sampling = props.dataCapture?.samplingPercentage;
  if (sampling !== undefined) {
    errors.check(Number.isInteger(sampling) && sampling >= 0 && sampling <= 100, { code: 'InvalidSampling', what: 'samplingPercentage is a whole number from 0 to 100', got: sampling, fix: 'use e.g. 20' });
  }
  const t = props.rollbackThresholds ?? {};
  if (t.maxP99LatencyMs !== undefined && !Token.isUnresolved(t.maxP99LatencyMs)) {
    errors.check(Number.isFinite(t.maxP99LatencyMs) && t.maxP99LatencyMs > 0, { code: 'InvalidRollbackThreshold', what: 'rollbackThresholds.maxP99LatencyMs is a finite number of milliseconds above 0', got: t.maxP99LatencyMs, fix: 'use e.g. 1000 (the default)' });
  }
  if (t.max5xxErrorsPerMinute !== undefined && !Token.isUnresolved(t.max5xxErrorsPerMinute)) {
    errors.check(Number.isFinite(t.max5xxErrorsPerMinute) && t.max5xxErrorsPerMinute >= 0, { code: 'InvalidRollbackThreshold', what: 'rollbackThresholds.max5xxErrorsPerMinute is a finite number >= 0', got: t.max5xxErrorsPerMinute, fix: 'use e.g. 0 (the default: any 5xx rolls back)' });
  }
  const a = props.asyncInference;
  if (a?.maxConcurrentInvocationsPerInstance !== undefined && !Token.isUnresolved(a.maxConcurrentInvocationsPerInstance)) {
    const n = a.maxConcurrentInvocationsPerInstance;
    errors.check(Number.isInteger(n) && n >= 1 && n <= 1000, { code: 'InvalidAsyncInference', what: 'asyncInference.maxConcurrentInvocationsPerInstance is a whole number from 1 to 1000', got: n, fix: 'use e.g. 4, or omit it to let SageMaker choose' });
  }
  if (a?.targetBacklogPerInstance !== undefined && !Token.isUnresolved(a.targetBacklogPerInstance)) {
    const n = a.targetBacklogPerInstance;
    errors.check(Number.isFinite(n) && n > 0, { code: 'InvalidAsyncInference', what: 'asyncInference.targetBacklogPerInstance is a finite number of queued requests above 0', got: n, fix: 'use e.g. 5 (the default)' });
  }
  if (capture && props.dataCapture?.captureInput === false && props.dataCapture?.captureOutput === false) {
    errors.add({ code: 'NothingCaptured', what: 'data capture with neither input nor output captures nothing', got: 'captureInput: false, captureOutput: false', fix: 'capture at least one, or set dataCaptureEnabled: false' });
  }
  const s = deployment._settings;
  // A canary may take at most half of each variant's fleet.
  const fleet = Math.min(...variants.map(v => v.instanceOptions ? v.instanceOptions.initialInstanceCount ?? 2 : Infinity));
  if (deployment.kind === 'CANARY') {
    if (s.instances !== undefined) {
      errors.check(s.percent === undefined, { code: 'CanarySize', what: 'give the canary as percent or as instances, not both', got: `${s.percent} % and ${s.instances} instances`, fix: 'drop one' });
      errors.check(Number.isInteger(s.instances) && s.instances >= 1 && s.instances * 2 <= fleet, {
        code: 'CanaryTooLarge', what: 'a canary takes at most half the fleet', got: `${s.instances} of ${fleet} instances`, fix: 'lower instances, or use allAtOnce/linear',
      });
    } else {
      errors.check(s.percent! >= 1 && s.percent! <= 50, { code: 'CanaryTooLarge', what: 'a canary takes 1 to 50 % of the fleet', got: `${s.percent} %`, fix: 'lower percent, or use linear/allAtOnce' });
    }
  }
  if (deployment.kind === 'LINEAR') {
    errors.check(s.percent! >= 10 && s.percent! <= 50, { code: 'InvalidLinearStep', what: 'a linear step shifts 10 to 50 % of the fleet', got: `${s.percent} %`, fix: 'use e.g. 10' });
    const steps = Math.ceil(100 / s.percent!);
    const total = steps * s.interval!.toSeconds() + s.bake!.toSeconds();
    errors.check(total <= MAX_DEPLOYMENT_SECONDS, {
      code: 'DeploymentTooLong',
      what: `a deployment may wait at most ${MAX_DEPLOYMENT_SECONDS} seconds in total (steps × interval + bake)`,
      got: `${steps} steps × ${s.interval!.toSeconds()} s + ${s.bake!.toSeconds()} s = ${total} s`,
      fix: 'use larger steps or a shorter interval',
    });
  }
  if (deployment.kind === 'ROLLING') {
    errors.check(s.percent! >= 5 && s.percent! <= 50, { code: 'InvalidRollingBatch', what: 'a rolling batch replaces 5 to 50 % of the fleet', got: `${s.percent} %`, fix: 'use e.g. 25' });
    errors.check(variants.length === 1, { code: 'RollingMultipleVariants', what: 'rolling deployments need a single-variant endpoint', got: variants.length, fix: 'use a blue/green strategy' });
    if (s.rollbackPercent !== undefined) {
      errors.check(s.rollbackPercent >= 5 && s.rollbackPercent <= 100, { code: 'InvalidRollingBatch', what: 'rollbackBatchPercent is 5 to 100 % of the fleet', got: `${s.rollbackPercent} %`, fix: 'use e.g. 50, or omit it' });
    }
    errors.check(!props.asyncInference, { code: 'RollingAsync', what: 'rolling deployments are not available for asynchronous endpoints', got: 'asyncInference with rolling', fix: 'use a blue/green strategy' });
  }
  for (const d of [s.bake, s.interval]) {
    if (d && !d.isUnresolved()) {
      errors.check(d.toSeconds() >= 0 && d.toSeconds() <= 3600, { code: 'InvalidBake', what: 'bake times and intervals are 0 to 3600 seconds', got: d, fix: 'use at most Duration.hours(1)' });
    }
  }
  if (props.verifyTimeout && !props.verifyTimeout.isUnresolved()) {
    const minutes = props.verifyTimeout.toSeconds() / 60;
    errors.check(minutes >= 1 && minutes <= MAX_VERIFY_TIMEOUT_MINUTES, {
      code: 'InvalidVerifyTimeout',
      what: `verifyTimeout is 1 to ${MAX_VERIFY_TIMEOUT_MINUTES} minutes (CloudFormation gives a custom resource one hour)`,
      got: props.verifyTimeout,
      fix: 'use e.g. Duration.minutes(50), and shorter bake times for very long rollouts',
    });
  }
  const locals = variants.filter(v => v.instanceOptions).map(v => hasInstanceStorage(v.instanceOptions!.instanceType));
  errors.check(locals.every(x => x) || locals.every(x => !x), {
    code: 'MixedVolumeEncryption',
    what: 'variants mix instance types with local NVMe and EBS-only ones: one config cannot encrypt the EBS volumes of some and leave the key off others',
    got: variants.map(v => v.instanceOptions?.instanceType ?? 'serverless').join(', '),
    fix: 'use one kind of instance storage per endpoint, or separate endpoints',
  });
  const builtIn = props.asyncInference ? 1 : 2;
  const alarmCount = variants.length * builtIn + (props.rollbackAlarms?.length ?? 0);
  errors.check(alarmCount <= MAX_ROLLBACK_ALARMS, {
    code: 'TooManyRollbackAlarms', what: `SageMaker takes at most ${MAX_ROLLBACK_ALARMS} rollback alarms (${builtIn} built in per variant)`, got: alarmCount, fix: 'combine alarms with a CompositeAlarm',
  });
  if (props.endpointName !== undefined && !Token.isUnresolved(props.endpointName)) {
    errors.check(NAME_PATTERN.test(props.endpointName) && props.endpointName.length <= 63, { code: 'InvalidName', what: 'endpointName is 1-63 letters, digits or hyphens', got: props.endpointName, fix: 'rename it, or omit it' });
  }
  if (props.vpcSubnets && !props.vpc) { errors.add({ code: 'SubnetsWithoutVpc', what: 'vpcSubnets needs vpc', got: 'vpcSubnets without vpc', fix: 'pass vpc' }); }
  const packageArn = props.model.modelPackageArn;
  if (props.model.kind === 'package' && packageArn !== undefined && !Token.isUnresolved(packageArn)) {
    errors.check(/^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package\/\S+$/.test(packageArn), {
      code: 'InvalidModelPackage',
      what: 'ModelSource.fromModelPackage takes the ARN of a model package version',
      got: packageArn,
      fix: "use e.g. 'arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/3', or ModelSource.fromLatestApproved(registry)",
    });
  }
  if (props.model.kind === 'image' && props.model.modelDataUrl !== undefined && !Token.isUnresolved(props.model.modelDataUrl)) {
    errors.check(/^s3:\/\/[^/]+\/.+/.test(props.model.modelDataUrl), { code: 'InvalidModelData', what: 'modelDataUrl is an s3:// URI of the artifacts', got: props.model.modelDataUrl, fix: 'use s3://bucket/key/model.tar.gz' });
  }
  errors.throwIfAny();
}

