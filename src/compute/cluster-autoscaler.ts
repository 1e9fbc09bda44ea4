import { Annotations, Stack, Validations } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { GpuCluster } from './gpu-cluster';
import { kubernetesMinor } from './gpu-cluster';
import { acknowledgeWildcardResource } from '../core/nag';

/** Namespace and service account of the Cluster Autoscaler. */
const NAMESPACE = 'kube-system';
const SERVICE_ACCOUNT = 'cluster-autoscaler';

/** The Cluster Autoscaler Helm repository (kubernetes/autoscaler, GitHub Pages). */
export const CLUSTER_AUTOSCALER_CHART_REPOSITORY = 'https://kubernetes.github.io/autoscaler';
/**
 * Chart version: 9.47.0 is the release that moved the chart to Cluster Autoscaler 1.33
 * (kubernetes/autoscaler#8295, "Bump the Chart version to 9.47.0 and the CA image to 1.33.0").
 */
export const CLUSTER_AUTOSCALER_CHART_VERSION = '9.47.0';
/** Image repository of the Cluster Autoscaler. */
export const CLUSTER_AUTOSCALER_IMAGE_REPOSITORY = 'registry.k8s.io/autoscaling/cluster-autoscaler';
/**
 * Image tag, pinned explicitly instead of the chart's `appVersion` default: v1.33.3 is a patch release of the
 * 1.33 line (promoted to registry.k8s.io in kubernetes/k8s.io#8815). Keep the minor equal to the cluster's.
 */
export const CLUSTER_AUTOSCALER_IMAGE_TAG = 'v1.33.3';
/** The Kubernetes minor the pinned Cluster Autoscaler is built for. */
const CLUSTER_AUTOSCALER_MINOR = 33;

/** Properties for a {@link ClusterAutoscaler}. */
export interface ClusterAutoscalerProps {
  /** The cluster whose managed node groups the autoscaler scales. */
  readonly cluster: GpuCluster;
}

/**
 * The Kubernetes Cluster Autoscaler of a {@link GpuCluster}: Helm release `cluster-autoscaler` in `kube-system` on the
 * system node group, and its IAM role bound through EKS Pod Identity.
 *
 * It discovers every EKS managed node group of the cluster by the Auto Scaling group tags EKS sets on them
 * (`k8s.io/cluster-autoscaler/enabled`, `k8s.io/cluster-autoscaler/<cluster name>`) and scales GPU pools from zero.
 * For a node group at zero nodes it learns labels and taints from `eks:DescribeNodegroup` (EKS does not copy node
 * group tags or labels to the Auto Scaling group) and GPU counts from the EC2 instance type data.
 *
 * Created once per cluster by {@link GpuCluster.enableClusterAutoscaler}.
 */
export class ClusterAutoscaler extends Construct {
  /** The Helm release. */
  public readonly chart: eks.HelmChart;
  /** The autoscaler's service account, bound to its IAM role through EKS Pod Identity. */
  public readonly serviceAccount: eks.ServiceAccount;

  constructor(scope: Construct, id: string, props: ClusterAutoscalerProps) {
    super(scope, id);
    const cluster = props.cluster.cluster;
    const stack = Stack.of(this);

    const minor = kubernetesMinor(props.cluster.kubernetesVersion);
    if (minor !== undefined && minor !== CLUSTER_AUTOSCALER_MINOR) {
      Annotations.of(this).addWarningV2('@cdk-ml-platform/compute:clusterAutoscalerVersion',
        `Cluster Autoscaler ${CLUSTER_AUTOSCALER_IMAGE_TAG} is built for Kubernetes 1.${CLUSTER_AUTOSCALER_MINOR}, `
        + `the cluster runs ${props.cluster.kubernetesVersion.version}; upstream only supports matching minors.`);
    }

    // --- identity -----------------------------------------------------------------------------------------------
    this.serviceAccount = new eks.ServiceAccount(this, 'ServiceAccount', {
      cluster, name: SERVICE_ACCOUNT, namespace: NAMESPACE, identityType: eks.IdentityType.POD_IDENTITY,
    });
    for (const statement of autoscalerStatements(stack, cluster)) {
      this.serviceAccount.addToPrincipalPolicy(statement);
    }
    acknowledgeAutoscalerPolicy(this.serviceAccount.role, stack, cluster);

    // --- Helm release -------------------------------------------------------------------------------------------
    this.chart = cluster.addHelmChart('ClusterAutoscaler', {
      chart: 'cluster-autoscaler',
      repository: CLUSTER_AUTOSCALER_CHART_REPOSITORY,
      version: CLUSTER_AUTOSCALER_CHART_VERSION,
      release: 'cluster-autoscaler',
      namespace: NAMESPACE,
      wait: true,
      values: {
        cloudProvider: 'aws',
        awsRegion: stack.region,
        autoDiscovery: { clusterName: cluster.clusterName },
        image: { repository: CLUSTER_AUTOSCALER_IMAGE_REPOSITORY, tag: CLUSTER_AUTOSCALER_IMAGE_TAG },
        rbac: { create: true, serviceAccount: { create: false, name: SERVICE_ACCOUNT } },
        replicaCount: 1,
        extraArgs: {
          // Spread scale-ups over node groups that differ only in zone or name (same labels, taints and shape).
          'balance-similar-node-groups': true,
          // GPU nodes are expensive: kube-system pods that are not DaemonSets must not pin an idle GPU node.
          // PodDisruptionBudgets are still honoured.
          'skip-nodes-with-system-pods': false,
          // Of the pools that fit the pending pods, take the one that leaves the least CPU and memory idle;
          // stateless, unlike `priority`, which needs a ConfigMap kept in sync with the pools.
          'expander': 'least-waste',
          // Same idle time as the Karpenter pools' default consolidateAfter.
          'scale-down-unneeded-time': '10m',
        },
        // Never on GPU nodes: system node group only, and no toleration for the nvidia.com/gpu taint.
        nodeSelector: { 'ml-platform/node-role': 'system' },
        tolerations: [],
        // The autoscaler must not evict itself while draining the node it runs on.
        podAnnotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' },
        resources: { requests: { cpu: '100m', memory: '600Mi' }, limits: { memory: '600Mi' } },
        securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } },
        containerSecurityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      },
    });
    this.chart.node.addDependency(this.serviceAccount);
    this.chart.node.addDependency(props.cluster.systemNodegroup);
  }
}

/**
 * The Cluster Autoscaler AWS policy (cluster-autoscaler/cloudprovider/aws/README.md): read-only discovery on `*`
 * (these actions have no resource-level permissions) and scaling only of this cluster's managed node groups.
 */
function autoscalerStatements(stack: Stack, cluster: eks.ICluster): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'AllowNodeGroupDiscovery',
      actions: [
        'autoscaling:DescribeAutoScalingGroups', 'autoscaling:DescribeAutoScalingInstances', 'autoscaling:DescribeLaunchConfigurations',
        'autoscaling:DescribeScalingActivities', 'autoscaling:DescribeTags',
        'ec2:DescribeImages', 'ec2:DescribeInstanceTypes', 'ec2:DescribeLaunchTemplateVersions', 'ec2:GetInstanceTypesFromInstanceRequirements',
      ],
      resources: ['*'],
    }),
    // Labels and taints of managed node groups at zero nodes; supports resource-level permissions, so only ours.
    new iam.PolicyStatement({
      sid: 'AllowDescribeOwnNodegroups',
      actions: ['eks:DescribeNodegroup'],
      resources: [nodegroupArns(stack, cluster)],
    }),
    // EKS tags each managed node group's Auto Scaling group with eks:cluster-name = <cluster> next to
    // k8s.io/cluster-autoscaler/<cluster> = owned and k8s.io/cluster-autoscaler/enabled = true. The cluster name is
    // generated by CloudFormation, so it cannot be part of a condition key; eks:cluster-name scopes to the same groups.
    new iam.PolicyStatement({
      sid: 'AllowScalingOwnNodegroups',
      actions: ['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'],
      resources: ['*'],
      conditions: {
        StringEquals: { 'aws:ResourceTag/eks:cluster-name': cluster.clusterName },
        StringEqualsIgnoreCase: { 'aws:ResourceTag/k8s.io/cluster-autoscaler/enabled': 'true' },
      },
    }),
  ];
}

function nodegroupArns(stack: Stack, cluster: eks.ICluster): string {
  return `arn:${stack.partition}:eks:${stack.region}:${stack.account}:nodegroup/${cluster.clusterName}/*/*`;
}

function acknowledgeAutoscalerPolicy(role: iam.IRole, stack: Stack, cluster: eks.ICluster): void {
  acknowledgeWildcardResource(role, '*',
    'Auto Scaling and EC2 Describe* calls have no resource-level permissions; SetDesiredCapacity and '
    + 'TerminateInstanceInAutoScalingGroup are limited by condition to Auto Scaling groups tagged eks:cluster-name=<this cluster> '
    + 'and k8s.io/cluster-autoscaler/enabled (upstream Cluster Autoscaler policy).');
  acknowledgeWildcardResource(role, nodegroupArns(stack, cluster),
    'Node group names are generated by CloudFormation; the ARN pattern only matches node groups of this cluster.');
  Validations.of(role).acknowledge({
    id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy',
    reason: 'The policy is defined by this construct for the Cluster Autoscaler role only.',
  });
}
