import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { CfnAccessEntry } from 'aws-cdk-lib/aws-eks';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { KubeflowLauncherFunction } from './kubeflow-launcher-function';
import { ValidationErrors, isResolved } from '../core/errors';
import { acknowledgeManagedPolicy, acknowledgeWildcardAction, acknowledgeWildcardResource } from '../core/nag';
import { DataZone, IDataLake } from '../data/data-lake';
import { ICallbackTrainer } from '../training/callback-trainer';
import { KubeflowTrainingJob } from '../training/kubeflow-training-job';

/** The Kubernetes group the launcher's IAM role is mapped to by its EKS access entry. */
export const KUBEFLOW_LAUNCHER_GROUP = 'cdk-ml-platform:kubeflow-launcher';
/** Deliveries of a launch message before the DLQ; the last one answers the step with the failure. */
const MAX_RECEIVE_COUNT = 5;
/** Lambda's limit on all environment variables of a function together. */
const LAMBDA_ENV_LIMIT_BYTES = 4 * 1024;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** `<prefix>-<10 hex>` plus the operator's `-worker-<i>` (and `-master-0`) suffixes must fit a 63-character label. */
const MAX_PREFIX_LENGTH = 36;

/** Properties of a {@link KubeflowJobLauncher}. */
export interface KubeflowJobLauncherProps {
  /**
   * The EKS cluster the jobs run on (for a `GpuCluster`, pass `gpuCluster.cluster`). It must have a kubectl provider:
   * the RBAC Role and RoleBinding are applied with it.
   */
  readonly cluster: eks.ICluster;

  /**
   * The job every run launches: its synthesized PyTorchJob is the template. Only the name, namespace, labels and the
   * run's environment variables (ML_PLATFORM_INPUT_URI, ML_PLATFORM_OUTPUT_URI, ML_PLATFORM_CODE_VERSION) change per
   * run; image, command, resources and placement stay as synthesized. Define it in a cdk8s Chart that you do not add
   * to the cluster, or the template itself would run once at deploy time.
   */
  readonly job: KubeflowTrainingJob;

  /**
   * Namespace the jobs are created in; the launcher's RBAC Role lives there. The namespace must exist (e.g. the one of
   * the training operator setup).
   *
   * @default - the job's namespace, or `default` when it has none
   */
  readonly namespace?: string;

  /**
   * Where runs may write their model: a run's OutputUri must lie in the MODELS zone of this data lake, else its step
   * fails at once.
   *
   * @default - any s3:// URI
   */
  readonly dataLake?: IDataLake;

  /**
   * Prefix of the job names: `<prefix>-<first 10 hex of sha256(callback token)>`.
   *
   * @default - the job's name, cut to 36 characters
   */
  readonly jobNamePrefix?: string;

  /**
   * How often a running job's status is checked (a delayed SQS message; 1 second to 15 minutes).
   *
   * @default Duration.minutes(5)
   */
  readonly watchInterval?: Duration;

  /**
   * Longest a job may run before the launcher deletes it and fails the pipeline step.
   *
   * @default Duration.days(7)
   */
  readonly maxRunTime?: Duration;

  /**
   * KMS key of the launch queue and its dead-letter queue.
   *
   * @default - a new key with yearly rotation
   */
  readonly queueEncryptionKey?: kms.IKey;

  /**
   * Subnets of the launcher function, in the cluster's VPC. They must reach the cluster's private endpoint and, through
   * NAT or VPC endpoints, SQS, SageMaker and EKS.
   *
   * @default - the private subnets with egress of the cluster's VPC
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
}

/**
 * Runs the training step of a SageMaker pipeline as a Kubeflow PyTorchJob on EKS, for a pipeline **Callback step**.
 *
 * The Callback step sends its token and arguments (`InputDataUri`, `OutputUri`, `CodeVersion`) to {@link queue}. A
 * Lambda function, mapped into the cluster by an EKS access entry to the group `cdk-ml-platform:kubeflow-launcher`
 * (which a namespaced Role lets create, get, list, watch and delete `pytorchjobs.kubeflow.org`, nothing else),
 * submits the job through the Kubernetes API, checks it every `watchInterval` and answers the step with
 * `SendPipelineExecutionStepSuccess` (output parameters `ModelArtifacts` = `<OutputUri>/model.tar.gz` and `JobName`)
 * or `SendPipelineExecutionStepFailure` (the job's failure condition).
 *
 * @example
 * const template = new KubeflowTrainingJob(new cdk8s.Chart(new cdk8s.App(), 'Template'), 'Train', {
 *   placement: pool.placement, image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-train:1.4.2', namespace: 'training',
 * });
 * const launcher = new KubeflowJobLauncher(stack, 'Launcher', { cluster: gpu.cluster, job: template, dataLake: lake });
 * new GpuTrainingPipeline(stack, 'Training', { dataLake: lake, registry, image, objective, trainingData, callbackTrainer: launcher });
 *
 * `MlPlatform` with `TrainingBackend.kubeflow()` wires all of this per model.
 */
export class KubeflowJobLauncher extends Construct implements ICallbackTrainer {
  /** The queue the Callback step sends to (`SqsQueueUrl` of the step). */
  public readonly queue: sqs.Queue;
  /** Messages that failed `maxReceiveCount` times (malformed, or an API that stayed unreachable). */
  public readonly deadLetterQueue: sqs.Queue;
  /** The launcher function. */
  public readonly launcherFunction: lambda.Function;
  /** Namespace of the launched jobs. */
  public readonly namespace: string;
  /** Prefix of the launched jobs' names. */
  public readonly jobNamePrefix: string;
  /** The EKS access entry of the function's role. */
  public readonly accessEntry: CfnAccessEntry;
  /** The RBAC Role and RoleBinding of the launcher group. */
  public readonly rbac: eks.KubernetesManifest;
  /** URL of {@link queue}: the `SqsQueueUrl` of the pipeline's Callback step. */
  public readonly callbackQueueUrl: string;
  /** `Kubeflow PyTorchJob <prefix>-* in namespace <namespace>`. */
  public readonly trainerDescription: string;

  constructor(scope: Construct, id: string, props: KubeflowJobLauncherProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const template = props.job.apiObject.toJson();
    const templateNamespace: string | undefined = template?.metadata?.namespace;
    this.namespace = props.namespace ?? templateNamespace ?? 'default';
    this.jobNamePrefix = props.jobNamePrefix ?? String(props.job.jobName).slice(0, MAX_PREFIX_LENGTH).replace(/-+$/, '');
    const watch = props.watchInterval ?? Duration.minutes(5);
    const maxRun = props.maxRunTime ?? Duration.days(7);
    delete template.metadata?.namespace;
    const templateJson = JSON.stringify(template);
    validate(this, props, { namespace: this.namespace, templateNamespace, prefix: this.jobNamePrefix, watch, maxRun, templateJson });

    // --- queue ---------------------------------------------------------------------------------------------------
    const key = props.queueEncryptionKey ?? new kms.Key(this, 'QueueKey', {
      enableKeyRotation: true, description: `Kubeflow launch queue of ${this.node.path}`,
    });
    // SageMaker sends the callback message itself (in the pipeline's execution role): it needs the key through SQS.
    const dlqRetention = Duration.days(14);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key, enforceSSL: true, retentionPeriod: dlqRetention,
    });
    const timeout = Duration.minutes(2);
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      // Lambda's guidance: at least 6 times the function timeout.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });

    this.callbackQueueUrl = this.queue.queueUrl;
    this.trainerDescription = `Kubeflow PyTorchJob ${this.jobNamePrefix}-* in namespace ${this.namespace}`;

    // --- function ------------------------------------------------------------------------------------------------
    const env: Record<string, string> = {
      CLUSTER_NAME: props.cluster.clusterName,
      JOB_NAMESPACE: this.namespace,
      JOB_NAME_PREFIX: this.jobNamePrefix,
      JOB_TEMPLATE: templateJson,
      QUEUE_URL: this.queue.queueUrl,
      WATCH_INTERVAL_SECONDS: String(watch.toSeconds()),
      MAX_RUN_SECONDS: String(maxRun.toSeconds()),
      MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
    };
    if (props.dataLake) { env.OUTPUT_PREFIX = props.dataLake.uri(DataZone.MODELS); }
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.cluster.vpc,
      description: `Kubeflow launcher ${this.node.path}: HTTPS to the EKS API and AWS endpoints`,
      allowAllOutbound: false,
    });
    securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the Kubernetes API and AWS service endpoints');
    this.launcherFunction = new KubeflowLauncherFunction(this, 'Function', {
      description: `cdk-ml-platform: Kubeflow PyTorchJob launcher of ${this.node.path}`,
      timeout,
      memorySize: 256,
      environment: env,
      logGroup,
      vpc: props.cluster.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [securityGroup],
      reservedConcurrentExecutions: 5,
    });
    props.cluster.connections.allowFrom(securityGroup, ec2.Port.tcp(443), 'Kubeflow launcher to the Kubernetes API');
    this.launcherFunction.addEventSource(new SqsEventSource(this.queue, { batchSize: 5, reportBatchItemFailures: true }));
    this.queue.grantSendMessages(this.launcherFunction);

    const role = this.launcherFunction.role!;
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['eks:DescribeCluster'],
      resources: [props.cluster.clusterArn],
    }));
    // The callback token does not name its pipeline: any execution of this account and region may be answered.
    const executions = stack.formatArn({ service: 'sagemaker', resource: 'pipeline', resourceName: '*/execution/*' });
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['sagemaker:SendPipelineExecutionStepSuccess', 'sagemaker:SendPipelineExecutionStepFailure'],
      resources: [executions],
    }));

    // --- cluster access: access entry + namespaced RBAC ---------------------------------------------------------
    this.accessEntry = new CfnAccessEntry(this, 'AccessEntry', {
      clusterName: props.cluster.clusterName,
      principalArn: role.roleArn,
      kubernetesGroups: [KUBEFLOW_LAUNCHER_GROUP],
      type: 'STANDARD',
    });
    // One Role per launcher (two launchers may share a namespace; deleting one must not remove the other's Role).
    const roleName = `cdk-ml-platform-kubeflow-launcher-${this.node.addr.slice(0, 8)}`;
    this.rbac = new eks.KubernetesManifest(this, 'Rbac', {
      cluster: props.cluster,
      manifest: launcherRbac(this.namespace, roleName),
    });
    // Messages are consumed only once the function can reach the API (access entry) and may create jobs (RBAC).
    for (const mapping of this.launcherFunction.node.children.filter(c => c instanceof lambda.EventSourceMapping)) {
      mapping.node.addDependency(this.accessEntry, this.rbac);
    }

    acknowledge(this, role, executions, key);
  }

  /**
   * Lets `grantee` (e.g. the SageMaker pipeline's role) send Callback-step messages to {@link queue}: `sqs:SendMessage`,
   * `sqs:GetQueueAttributes` and `sqs:GetQueueUrl` on the queue and exactly the two key actions SQS needs for a sender
   * (`kms:GenerateDataKey`, `kms:Decrypt`), no wildcard actions.
   */
  public grantSendMessages(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      resourceArns: [this.queue.queueArn],
      resource: this.queue,
    });
    this.queue.encryptionMasterKey?.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
    return grant;
  }
}

/** The namespaced Role and RoleBinding of the launcher group: PyTorchJobs only, no other resource. */
export function launcherRbac(namespace: string, name: string): Record<string, any>[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'cdk-ml-platform' } },
      rules: [{ apiGroups: ['kubeflow.org'], resources: ['pytorchjobs'], verbs: ['create', 'get', 'list', 'watch', 'delete'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'cdk-ml-platform' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: KUBEFLOW_LAUNCHER_GROUP }],
    },
  ];
}

function validate(scope: Construct, props: KubeflowJobLauncherProps, d: {
  namespace: string;
  templateNamespace?: string;
  prefix: string;
  watch: Duration;
  maxRun: Duration;
  templateJson: string;
}): void {
  const errors = new ValidationErrors(scope, 'KubeflowJobLauncher');
  if (isResolved(d.namespace)) {
    errors.check(DNS_1123_LABEL.test(d.namespace) && d.namespace.length <= 63, {
      code: 'InvalidNamespace',
      what: 'namespace must be a DNS-1123 label',
      got: d.namespace,
      fix: 'use at most 63 lowercase letters, digits and -, starting and ending alphanumeric',
    });
    if (props.namespace !== undefined && d.templateNamespace !== undefined && isResolved(d.templateNamespace)) {
      errors.check(props.namespace === d.templateNamespace, {
        code: 'NamespaceMismatch',
        what: `the launcher namespace differs from the job's namespace '${d.templateNamespace}'`,
        got: props.namespace,
        fix: 'leave namespace unset to use the job\'s, or give the job the same namespace',
      });
    }
  }
  if (isResolved(d.prefix)) {
    errors.check(DNS_1035_LABEL.test(d.prefix) && d.prefix.length <= MAX_PREFIX_LENGTH, {
      code: 'InvalidJobNamePrefix',
      what: `jobNamePrefix must be a DNS-1035 label of at most ${MAX_PREFIX_LENGTH} characters, so that `
        + "'<prefix>-<10 hex>-worker-<i>' stays a valid pod name",
      got: d.prefix,
      fix: 'use lowercase letters, digits and -, starting with a letter',
    });
  }
  const watchSeconds = d.watch.toSeconds({ integral: false });
  errors.check(Number.isInteger(watchSeconds) && watchSeconds >= 1 && watchSeconds <= 900, {
    code: 'InvalidWatchInterval',
    what: 'watchInterval must be a whole number of seconds between 1 second and 15 minutes (the SQS DelaySeconds range)',
    got: d.watch,
    fix: 'use e.g. Duration.minutes(5)',
  });
  const maxRunSeconds = d.maxRun.toSeconds({ integral: false });
  errors.check(Number.isInteger(maxRunSeconds) && maxRunSeconds >= watchSeconds, {
    code: 'InvalidMaxRunTime',
    what: 'maxRunTime must be a whole number of seconds, at least watchInterval',
    got: d.maxRun,
    fix: 'use e.g. Duration.days(7)',
  });
  if (!Token.isUnresolved(d.templateJson)) {
    const bytes = Buffer.byteLength(d.templateJson, 'utf8');
    // The other variables (names, URL, numbers) take well under 1 KiB.
    errors.check(bytes <= LAMBDA_ENV_LIMIT_BYTES - 1024, {
      code: 'TemplateTooLarge',
      what: `the job template is ${bytes} bytes of JSON; it travels in the function's environment, which Lambda limits to 4 KiB in all`,
      got: bytes,
      fix: 'shorten the job (fewer environment variables, command arguments or tolerations), e.g. move configuration into the image',
    });
  }
  errors.throwIfAny();
}

function acknowledge(scope: KubeflowJobLauncher, role: iam.IRole, executions: string, key: kms.IKey): void {
  acknowledgeWildcardResource(role, executions,
    'A callback token does not name its pipeline; SendPipelineExecutionStepSuccess/Failure only accept tokens SageMaker issued.');
  for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
    acknowledgeWildcardAction(role, action, 'The key permissions SQS needs to send watch messages to a queue encrypted with a customer managed key (aws-cdk-lib Queue.grantSendMessages).');
  }
  acknowledgeManagedPolicy(scope.launcherFunction, 'service-role/AWSLambdaBasicExecutionRole', 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs.');
  acknowledgeManagedPolicy(scope.launcherFunction, 'service-role/AWSLambdaVPCAccessExecutionRole', 'AWSLambdaVPCAccessExecutionRole only manages the function\'s own ENIs in the cluster VPC.');
  Validations.of(scope.launcherFunction).acknowledge(
    { id: 'NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ', reason: 'SQS-triggered: failed messages go to the queue\'s dead-letter queue, not a function DLQ.' },
    { id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy', reason: 'CDK attaches the function\'s permissions as a policy owned by this role only.' },
  );
  Validations.of(scope.node.findChild('Logs')).acknowledge({
    id: 'NIST.800.53.R5::NIST.800.53.R5-CloudWatchLogGroupEncrypted',
    reason: 'Job names, HTTP statuses and condition messages only, no data; CloudWatch Logs encrypts them at rest.',
  });
  void key;
}
