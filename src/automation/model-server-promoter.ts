import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { CfnAccessEntry } from 'aws-cdk-lib/aws-eks';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ModelServerPromoterFunction } from './model-server-promoter-function';
import { ValidationErrors } from '../core/errors';
import { acknowledgeManagedPolicy, acknowledgeWildcardResource } from '../core/nag';
import { DataZone } from '../data/data-lake';
import { IModelRegistry } from '../registry/model-registry';
import { KubernetesModelServer } from '../serving/kubernetes-model-server';

/** The Kubernetes group the promoter's IAM role is mapped to by its EKS access entry. */
export const MODEL_SERVER_PROMOTER_GROUP = 'cdk-ml-platform:model-server-promoter';

/** Properties of a {@link ModelServerPromoter}. */
export interface ModelServerPromoterProps {
  /** The server to keep on the newest approved model. Its `modelKey` must be a key prefix (ending in `/`). */
  readonly server: KubernetesModelServer;
  /** The model package group whose newest Approved version the server serves. */
  readonly registry: IModelRegistry;
  /**
   * Key prefix of the models zone the packages' model data may come from.
   * @default 'pipelines/' - where GpuTrainingPipeline writes model artifacts
   */
  readonly sourcePrefix?: string;
  /**
   * How often the server is reconciled besides the registry's events (an event can be missed; the first run after a
   * deploy also promotes a version approved before it).
   * @default Duration.minutes(15)
   */
  readonly reconcileInterval?: Duration;
  /**
   * Subnets of the function, in the cluster's VPC. They must reach the cluster's API endpoint and, through NAT or VPC
   * endpoints, S3, SageMaker and EKS.
   * @default - the private subnets with egress of the cluster's VPC
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
}

/**
 * Keeps a {@link KubernetesModelServer} on the newest Approved version of a model package group: the promotion step of
 * the continuous-training loop for models served on EKS.
 *
 * On every state change of a package of the group (and every `reconcileInterval`), a Lambda function in the cluster's
 * VPC finds the newest Approved package; when the Deployment's pod template annotation `ml-platform/model-package` or
 * the model object's metadata does not name it, it copies the package's `model.tar.gz` to the server's model key and
 * merge-patches the annotation, so Kubernetes rolls the pods (each downloads the model at start and is ready only once
 * it serves). Rejecting the served version in the registry rolls back to the newest remaining Approved one; the
 * registry is the source of truth (a `kubectl rollout undo` is reverted by the next reconciliation).
 *
 * There is no automatic rollback on alarms for a model server: watch the prediction-health alarms and reject the
 * version in the registry. Until a first version is approved the server's pods have no model and stay unready.
 * Reserves one concurrent execution of the account (serialized reconciliations).
 *
 * The function's Kubernetes rights come from an EKS access entry with one group, bound by a namespaced Role to `get`
 * and `patch` on this server's Deployment only. Failed events are retried and then kept in a dead-letter queue with
 * an alarm.
 */
export class ModelServerPromoter extends Construct {
  /** The reconciling function. */
  public readonly promoterFunction: lambda.Function;
  /** Package state changes of the group. */
  public readonly rule: events.Rule;
  /** Events the function failed on after its retries. */
  public readonly deadLetterQueue: sqs.Queue;
  /** In alarm while an event waits in {@link deadLetterQueue}. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** The access entry of the function's role. */
  public readonly accessEntry: CfnAccessEntry;
  /** The RBAC Role and RoleBinding of the promoter group. */
  public readonly rbac: eks.KubernetesManifest;

  constructor(scope: Construct, id: string, props: ModelServerPromoterProps) {
    super(scope, id);
    const server = props.server;
    const sourcePrefix = props.sourcePrefix ?? 'pipelines/';
    const interval = props.reconcileInterval ?? Duration.minutes(15);
    validate(this, props, sourcePrefix, interval);
    const cluster = server.cluster.cluster;
    const lake = server.dataLake;
    const models = lake.bucket(DataZone.MODELS);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      // SSE-SQS: Lambda and EventBridge send to it without a key-policy grant.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: cluster.vpc,
      description: `Model server promoter ${this.node.path}: HTTPS to the EKS API and AWS endpoints`,
      allowAllOutbound: false,
    });
    securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the Kubernetes API and AWS service endpoints');
    cluster.connections.allowFrom(securityGroup, ec2.Port.tcp(443), 'Model server promoter to the Kubernetes API');
    this.promoterFunction = new ModelServerPromoterFunction(this, 'Function', {
      description: `cdk-ml-platform: keeps ${server.node.path} on the newest approved model of its group`,
      // A multi-GB server-side copy plus Kubernetes retries.
      timeout: Duration.minutes(15),
      memorySize: 256,
      logGroup,
      vpc: cluster.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [securityGroup],
      // One reconciliation at a time: two could copy different versions in either order.
      reservedConcurrentExecutions: 1,
      retryAttempts: 2,
      deadLetterQueue: this.deadLetterQueue,
      environment: {
        CLUSTER_NAME: cluster.clusterName,
        SERVER_NAMESPACE: server.namespace,
        SERVER_DEPLOYMENT: server.serverName,
        MODEL_PACKAGE_GROUP: props.registry.modelPackageGroupName,
        TARGET_BUCKET: models.bucketName,
        TARGET_PREFIX: server.modelKey,
        SOURCE_BUCKET: models.bucketName,
        SOURCE_PREFIX: sourcePrefix,
      },
    });
    const fn = this.promoterFunction;
    const role = fn.role!;
    props.registry.grantRead(fn);
    lake.grantRead(DataZone.MODELS, fn, sourcePrefix);
    lake.grantWrite(DataZone.MODELS, fn, server.modelKey);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['eks:DescribeCluster'], resources: [cluster.clusterArn] }));

    this.rule = new events.Rule(this, 'Rule', {
      description: `cdk-ml-platform: model package state changes of ${props.registry.modelPackageGroupName} reconcile ${server.node.path}`,
      eventPattern: {
        source: ['aws.sagemaker'],
        detailType: ['SageMaker Model Package State Change'],
        detail: { ModelPackageGroupName: [props.registry.modelPackageGroupName] },
      },
    });
    const schedule = new events.Rule(this, 'Schedule', {
      description: `cdk-ml-platform: periodic reconciliation of ${server.node.path} with its registry`,
      schedule: events.Schedule.rate(interval),
    });
    for (const rule of [this.rule, schedule]) {
      rule.addTarget(new targets.LambdaFunction(fn, { deadLetterQueue: this.deadLetterQueue, retryAttempts: 8, maxEventAge: Duration.hours(6) }));
    }
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: `${server.node.path} could not be moved to the newest approved model (see the promoter's log group); ` +
        'the pods keep serving the previous model',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.accessEntry = new CfnAccessEntry(this, 'AccessEntry', {
      clusterName: cluster.clusterName,
      principalArn: role.roleArn,
      kubernetesGroups: [MODEL_SERVER_PROMOTER_GROUP],
      type: 'STANDARD',
    });
    // One Role per promoter, naming its Deployment: get and patch that one object, nothing else.
    const roleName = `cdk-ml-platform-promoter-${this.node.addr.slice(0, 8)}`;
    this.rbac = new eks.KubernetesManifest(this, 'Rbac', { cluster, manifest: promoterRbac(server.namespace, roleName, server.serverName) });
    this.rbac.node.addDependency(server.manifest);
    // No run before the function can reach the API (access entry) and may read and patch the Deployment (RBAC):
    // a 401/403 is not retried and would land in the dead-letter queue on the first deploy.
    for (const rule of [this.rule, schedule]) { rule.node.addDependency(this.accessEntry, this.rbac); }

    acknowledgeWildcardResource(role, models.arnForObjects(`${sourcePrefix}*`),
      'A package\'s model data lies under an execution-specific key below the pipelines prefix of the models zone.');
    acknowledgeWildcardResource(role, models.arnForObjects(`${server.modelKey}*`),
      'The promoter writes model.tar.gz below the server\'s model key.');
    acknowledgeWildcardResource(role, props.registry.modelPackageArnPattern, 'The newest approved package is any version of this group.');
    acknowledgeManagedPolicy(fn, 'service-role/AWSLambdaBasicExecutionRole', 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs.');
    acknowledgeManagedPolicy(fn, 'service-role/AWSLambdaVPCAccessExecutionRole', 'AWSLambdaVPCAccessExecutionRole only manages the function\'s own ENIs in the cluster VPC.');
    Validations.of(fn).acknowledge({
      id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy', reason: 'CDK attaches the function\'s permissions as a policy owned by this role only.',
    });
    Validations.of(logGroup).acknowledge({
      id: 'NIST.800.53.R5::NIST.800.53.R5-CloudWatchLogGroupEncrypted',
      reason: 'Package ARNs, object keys and HTTP statuses only, no data; CloudWatch Logs encrypts them at rest.',
    });
    Validations.of(this.deadLetterAlarm).acknowledge({
      id: 'NIST.800.53.R5::NIST.800.53.R5-CloudWatchAlarmAction',
      reason: 'Add actions with alarm.addAlarmAction(); the library cannot know where your team is paged.',
    });
  }
}

/** The namespaced Role and RoleBinding of the promoter group: get and patch of one Deployment. */
export function promoterRbac(namespace: string, name: string, deployment: string): Record<string, any>[] {
  const labels = { 'app.kubernetes.io/managed-by': 'cdk-ml-platform' };
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace, labels },
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], resourceNames: [deployment], verbs: ['get', 'patch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: MODEL_SERVER_PROMOTER_GROUP }],
    },
  ];
}

function validate(scope: Construct, props: ModelServerPromoterProps, sourcePrefix: string, interval: Duration): void {
  const errors = new ValidationErrors(scope, 'ModelServerPromoter');
  errors.check(props.server.modelKey.endsWith('/'), {
    code: 'ModelKeyNotPrefix',
    what: 'the server\'s modelKey is one object; the promoter writes model.tar.gz below a key prefix',
    got: props.server.modelKey,
    fix: 'give the server a modelKey ending in "/" (e.g. serving/fraud/)',
  });
  errors.check(sourcePrefix.length > 0 && !/[*?]/.test(sourcePrefix) && !sourcePrefix.startsWith('/'), {
    code: 'InvalidSourcePrefix',
    what: 'sourcePrefix must be a non-empty key prefix of the models zone, without wildcards or a leading "/"',
    got: sourcePrefix,
    fix: 'use e.g. \'pipelines/\'',
  });
  const minutes = interval.toMinutes({ integral: false });
  errors.check(Number.isInteger(minutes) && minutes >= 5 && minutes <= 24 * 60, {
    code: 'InvalidReconcileInterval',
    what: 'reconcileInterval must be whole minutes from 5 minutes to 1 day',
    got: interval,
    fix: 'use e.g. Duration.hours(1)',
  });
  errors.throwIfAny();
}
