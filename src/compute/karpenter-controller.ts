import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { GpuCluster } from './gpu-cluster';
import { nodeRole } from './gpu-cluster';
import { acknowledgeWildcardResource } from '../core/nag';

/** Namespace and service account of the Karpenter controller. */
const NAMESPACE = 'kube-system';
const SERVICE_ACCOUNT = 'karpenter';
/** Karpenter's Helm chart (public ECR, OCI). */
export const KARPENTER_CHART_REPOSITORY = 'oci://public.ecr.aws/karpenter/karpenter';

/** Properties for a {@link KarpenterController}. */
export interface KarpenterControllerProps {
  /** The cluster Karpenter manages nodes for. */
  readonly cluster: GpuCluster;
  /** Helm chart version, e.g. `1.14.1`. */
  readonly version: string;
}

/**
 * The Karpenter controller of a {@link GpuCluster}: Helm release, controller IAM role (EKS Pod Identity),
 * node role with an `EC2_LINUX` access entry, and the interruption queue fed by EventBridge (spot interruption
 * warnings, rebalance recommendations, instance state changes, AWS Health scheduled changes).
 *
 * Created once per cluster by {@link GpuCluster.enableKarpenter}.
 */
export class KarpenterController extends Construct {
  /** Role of the nodes Karpenter launches (EC2NodeClass `spec.role`). */
  public readonly nodeRole: iam.Role;
  /** Interruption queue (`settings.interruptionQueue`). */
  public readonly interruptionQueue: sqs.Queue;
  /** The Helm release; NodePool/EC2NodeClass manifests depend on it (the chart installs the CRDs). */
  public readonly chart: eks.HelmChart;
  /** The controller's service account, bound to its IAM role through EKS Pod Identity. */
  public readonly serviceAccount: eks.ServiceAccount;

  constructor(scope: Construct, id: string, props: KarpenterControllerProps) {
    super(scope, id);
    const cluster = props.cluster.cluster;
    const stack = Stack.of(this);

    // --- nodes ------------------------------------------------------------------------------------------------
    this.nodeRole = nodeRole(this, 'NodeRole');
    new eks.AccessEntry(this, 'NodeAccess', {
      cluster, principal: this.nodeRole.roleArn, accessEntryType: eks.AccessEntryType.EC2_LINUX, accessPolicies: [],
    });

    // --- interruption queue -----------------------------------------------------------------------------------
    this.interruptionQueue = new sqs.Queue(this, 'InterruptionQueue', {
      retentionPeriod: Duration.minutes(5),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.interruptionQueue).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason: 'Interruption notices are only useful for minutes (5-minute retention, as upstream); a dead-letter queue would hold stale events.',
    });
    const rules: Array<[string, events.EventPattern]> = [
      ['ScheduledChangeRule', { source: ['aws.health'], detailType: ['AWS Health Event'] }],
      ['SpotInterruptionRule', { source: ['aws.ec2'], detailType: ['EC2 Spot Instance Interruption Warning'] }],
      ['RebalanceRule', { source: ['aws.ec2'], detailType: ['EC2 Instance Rebalance Recommendation'] }],
      ['InstanceStateChangeRule', { source: ['aws.ec2'], detailType: ['EC2 Instance State-change Notification'] }],
    ];
    for (const [ruleId, eventPattern] of rules) {
      new events.Rule(this, ruleId, { eventPattern, targets: [new targets.SqsQueue(this.interruptionQueue)] });
    }

    // --- controller identity ------------------------------------------------------------------------------------
    this.serviceAccount = new eks.ServiceAccount(this, 'ServiceAccount', {
      cluster, name: SERVICE_ACCOUNT, namespace: NAMESPACE, identityType: eks.IdentityType.POD_IDENTITY,
    });
    for (const statement of controllerStatements(stack, cluster, this.nodeRole, this.interruptionQueue, props.cluster)) {
      this.serviceAccount.addToPrincipalPolicy(statement);
    }
    acknowledgeControllerPolicy(this.serviceAccount.role, stack);

    // --- Helm release -------------------------------------------------------------------------------------------
    this.chart = cluster.addHelmChart('Karpenter', {
      chart: 'karpenter',
      repository: KARPENTER_CHART_REPOSITORY,
      version: props.version,
      release: 'karpenter',
      namespace: NAMESPACE,
      wait: true,
      values: {
        settings: { clusterName: cluster.clusterName, interruptionQueue: this.interruptionQueue.queueName },
        serviceAccount: { create: false, name: SERVICE_ACCOUNT },
        replicas: 2,
        controller: { resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } } },
      },
    });
    this.chart.node.addDependency(this.serviceAccount);
    this.chart.node.addDependency(props.cluster.systemNodegroup);
  }
}

/** The controller policy, after the upstream v1 `KarpenterControllerPolicy`, scoped by the `eks:eks-cluster-name` tag. */
function controllerStatements(stack: Stack, cluster: eks.ICluster, role: iam.IRole, queue: sqs.IQueue,
  gpuCluster: GpuCluster): iam.PolicyStatement[] {
  const ec2Arn = (resource: string) => `arn:${stack.partition}:ec2:${stack.region}:*:${resource}`;
  const ownResources = ['fleet/*', 'instance/*', 'volume/*', 'network-interface/*', 'launch-template/*', 'spot-instances-request/*'].map(ec2Arn);
  const clusterTag = { 'aws:RequestTag/eks:eks-cluster-name': cluster.clusterName };
  return [
    new iam.PolicyStatement({
      sid: 'AllowScopedEC2InstanceAccessActions',
      actions: ['ec2:RunInstances', 'ec2:CreateFleet'],
      resources: [`arn:${stack.partition}:ec2:${stack.region}::image/*`, `arn:${stack.partition}:ec2:${stack.region}::snapshot/*`,
        ec2Arn('security-group/*'), ec2Arn('subnet/*'), ec2Arn('capacity-reservation/*')],
    }),
    new iam.PolicyStatement({
      sid: 'AllowScopedEC2LaunchTemplateAccessActions',
      actions: ['ec2:RunInstances', 'ec2:CreateFleet'],
      resources: [ec2Arn('launch-template/*')],
      conditions: { StringEquals: { 'aws:ResourceTag/eks:eks-cluster-name': cluster.clusterName }, StringLike: { 'aws:ResourceTag/karpenter.sh/nodepool': '*' } },
    }),
    new iam.PolicyStatement({
      sid: 'AllowScopedEC2InstanceActionsWithTags',
      actions: ['ec2:RunInstances', 'ec2:CreateFleet', 'ec2:CreateLaunchTemplate'],
      resources: ownResources,
      conditions: { StringEquals: clusterTag, StringLike: { 'aws:RequestTag/karpenter.sh/nodepool': '*' } },
    }),
    new iam.PolicyStatement({
      sid: 'AllowScopedResourceCreationTagging',
      actions: ['ec2:CreateTags'],
      resources: ownResources,
      conditions: {
        StringEquals: { ...clusterTag, 'ec2:CreateAction': ['RunInstances', 'CreateFleet', 'CreateLaunchTemplate'] },
        StringLike: { 'aws:RequestTag/karpenter.sh/nodepool': '*' },
      },
    }),
    new iam.PolicyStatement({
      sid: 'AllowScopedResourceTagging',
      actions: ['ec2:CreateTags'],
      resources: [ec2Arn('instance/*')],
      conditions: {
        'StringEquals': { 'aws:ResourceTag/eks:eks-cluster-name': cluster.clusterName },
        'StringLike': { 'aws:ResourceTag/karpenter.sh/nodepool': '*' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': ['eks:eks-cluster-name', 'karpenter.sh/nodeclaim', 'Name'] },
      },
    }),
    new iam.PolicyStatement({
      sid: 'AllowScopedDeletion',
      actions: ['ec2:TerminateInstances', 'ec2:DeleteLaunchTemplate'],
      resources: [ec2Arn('instance/*'), ec2Arn('launch-template/*')],
      conditions: { StringEquals: { 'aws:ResourceTag/eks:eks-cluster-name': cluster.clusterName }, StringLike: { 'aws:ResourceTag/karpenter.sh/nodepool': '*' } },
    }),
    new iam.PolicyStatement({
      sid: 'AllowRegionalReadActions',
      actions: ['ec2:DescribeCapacityReservations', 'ec2:DescribeImages', 'ec2:DescribeInstances', 'ec2:DescribeInstanceTypeOfferings',
        'ec2:DescribeInstanceTypes', 'ec2:DescribeLaunchTemplates', 'ec2:DescribeSecurityGroups', 'ec2:DescribeSpotPriceHistory',
        'ec2:DescribeSubnets', 'ec2:DescribePlacementGroups'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:RequestedRegion': stack.region } },
    }),
    new iam.PolicyStatement({
      sid: 'AllowSSMReadActions',
      actions: ['ssm:GetParameter'],
      resources: [`arn:${stack.partition}:ssm:${stack.region}::parameter/aws/service/*`],
    }),
    new iam.PolicyStatement({ sid: 'AllowPricingReadActions', actions: ['pricing:GetProducts'], resources: ['*'] }),
    new iam.PolicyStatement({
      sid: 'AllowInterruptionQueueActions',
      actions: ['sqs:DeleteMessage', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
      resources: [queue.queueArn],
    }),
    new iam.PolicyStatement({
      sid: 'AllowPassingInstanceRole',
      actions: ['iam:PassRole'],
      resources: [role.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    }),
    new iam.PolicyStatement({
      sid: 'AllowScopedInstanceProfileCreationActions',
      actions: ['iam:CreateInstanceProfile', 'iam:TagInstanceProfile'],
      resources: [`arn:${stack.partition}:iam::${stack.account}:instance-profile/*`],
      conditions: {
        StringEquals: { ...clusterTag, 'aws:RequestTag/topology.kubernetes.io/region': stack.region },
        StringLike: { 'aws:RequestTag/karpenter.k8s.aws/ec2nodeclass': '*' },
      },
    }),
    new iam.PolicyStatement({
      sid: 'AllowScopedInstanceProfileActions',
      actions: ['iam:AddRoleToInstanceProfile', 'iam:RemoveRoleFromInstanceProfile', 'iam:DeleteInstanceProfile', 'iam:TagInstanceProfile'],
      resources: [`arn:${stack.partition}:iam::${stack.account}:instance-profile/*`],
      conditions: {
        StringEquals: { 'aws:ResourceTag/eks:eks-cluster-name': cluster.clusterName, 'aws:ResourceTag/topology.kubernetes.io/region': stack.region },
        StringLike: { 'aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass': '*' },
      },
    }),
    new iam.PolicyStatement({
      sid: 'AllowInstanceProfileReadActions',
      actions: ['iam:GetInstanceProfile', 'iam:ListInstanceProfiles'],
      resources: [`arn:${stack.partition}:iam::${stack.account}:instance-profile/*`],
    }),
    new iam.PolicyStatement({ sid: 'AllowAPIServerEndpointDiscovery', actions: ['eks:DescribeCluster'], resources: [cluster.clusterArn] }),
    // Encrypted volumes with the cluster's customer managed key: EC2 creates grants on Karpenter's behalf.
    new iam.PolicyStatement({
      sid: 'AllowNodeVolumeKeyUse',
      actions: ['kms:CreateGrant', 'kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'],
      resources: [gpuCluster.nodeVolumeKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `ec2.${stack.region}.amazonaws.com` } },
    }),
  ];
}

function acknowledgeControllerPolicy(role: iam.IRole, stack: Stack): void {
  const ec2Arn = (resource: string) => `arn:${stack.partition}:ec2:${stack.region}:*:${resource}`;
  const scoped = 'Karpenter creates these resources with generated ids; each statement is scoped by the eks:eks-cluster-name and '
    + 'karpenter.sh/nodepool tags (upstream KarpenterControllerPolicy).';
  for (const r of ['fleet/*', 'instance/*', 'volume/*', 'network-interface/*', 'launch-template/*', 'spot-instances-request/*']) {
    acknowledgeWildcardResource(role, ec2Arn(r), scoped);
  }
  const selectable = 'Launch inputs chosen by the EC2NodeClass selectors (AMI alias, subnet and security group ids) at run time.';
  acknowledgeWildcardResource(role, `arn:${stack.partition}:ec2:${stack.region}::image/*`, selectable);
  acknowledgeWildcardResource(role, `arn:${stack.partition}:ec2:${stack.region}::snapshot/*`, selectable);
  for (const r of ['security-group/*', 'subnet/*', 'capacity-reservation/*']) { acknowledgeWildcardResource(role, ec2Arn(r), selectable); }
  acknowledgeWildcardResource(role, '*', 'EC2 Describe* and pricing:GetProducts have no resource-level permissions (Describe* limited to this region).');
  acknowledgeWildcardResource(role, `arn:${stack.partition}:ssm:${stack.region}::parameter/aws/service/*`,
    'Karpenter resolves EKS-optimized AMI ids from the public /aws/service/ SSM parameters.');
  acknowledgeWildcardResource(role, `arn:${stack.partition}:iam::${stack.account}:instance-profile/*`,
    'Karpenter names the instance profiles it manages per EC2NodeClass; scoped by tags.');
  Validations.of(role).acknowledge({
    id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy',
    reason: 'The policy is defined by this construct for the Karpenter controller role only.',
  });
}
