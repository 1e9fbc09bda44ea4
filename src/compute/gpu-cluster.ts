import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { Annotations, CfnCondition, CfnElement, Size, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cdk8s from 'cdk8s';
import { Construct } from 'constructs';
import { ClusterAutoscaler } from './cluster-autoscaler';
import { DcgmExporterChart } from './dcgm-exporter';
import { GpuNodePool, GpuNodePoolOptions } from './gpu-node-pool';
import { KarpenterController } from './karpenter-controller';
import { nodeLaunchTemplate } from './node-launch-template';
import { mlError, ValidationErrors } from '../core/errors';
import { acknowledgeManagedPolicy } from '../core/nag';
import { NvidiaDevicePluginChart } from '../k8s/nvidia-device-plugin';

/** The Kubernetes version {@link GpuCluster} defaults to; its kubectl layer is `KubectlV33Layer`. */
const DEFAULT_VERSION = '1.33';
/** Oldest Kubernetes minor EKS still offers in standard or extended support that we accept. */
const MIN_MINOR = 29;
/** Karpenter release matching the CRDs the typed imports were generated from (crds/SOURCES.md). */
export const KARPENTER_DEFAULT_VERSION = '1.14.1';

/**
 * Who can reach the Kubernetes API endpoint of a {@link GpuCluster}.
 */
export class ClusterEndpoint {
  /**
   * Public and private endpoint; the public one open to any address (the EKS default).
   * Synth adds a warning: prefer {@link ClusterEndpoint.publicAndPrivateFrom} or {@link ClusterEndpoint.privateOnly}.
   */
  public static publicAndPrivate(): ClusterEndpoint {
    return new ClusterEndpoint(true, []);
  }

  /**
   * Public endpoint only reachable from `cidrs` (e.g. the CI runners and a VPN), plus the private endpoint for nodes.
   *
   * @param cidrs IPv4 CIDR blocks, e.g. `203.0.113.0/24`
   */
  public static publicAndPrivateFrom(...cidrs: string[]): ClusterEndpoint {
    return new ClusterEndpoint(true, cidrs);
  }

  /** Private endpoint only: the API is reachable from inside the VPC (and peered networks) only. */
  public static privateOnly(): ClusterEndpoint {
    return new ClusterEndpoint(false, []);
  }

  /** Whether the public endpoint is enabled. */
  public readonly publicAccess: boolean;
  /** CIDR blocks the public endpoint accepts; empty means any address when public access is on. */
  public readonly publicCidrs: string[];

  private constructor(publicAccess: boolean, publicCidrs: string[]) {
    this.publicAccess = publicAccess;
    this.publicCidrs = publicCidrs;
  }
}

/** Properties for a {@link GpuCluster}. */
export interface GpuClusterProps {
  /**
   * VPC of the cluster. Nodes go into its private subnets.
   *
   * @default - a new VPC with public and private subnets in 3 availability zones
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Subnets of the control plane ENIs.
   *
   * @default - the private and public subnets of `vpc`
   */
  readonly vpcSubnets?: ec2.SubnetSelection[];

  /**
   * Kubernetes version.
   *
   * @default eks.KubernetesVersion.V1_33
   */
  readonly version?: eks.KubernetesVersion;

  /**
   * Lambda layer with `kubectl` and `helm` for the kubectl provider. Must match `version` (±1 minor).
   *
   * @default - `KubectlV33Layer` from `@aws-cdk/lambda-layer-kubectl-v33` (only valid for Kubernetes 1.32–1.34)
   */
  readonly kubectlLayer?: lambda.ILayerVersion;

  /**
   * KMS key that encrypts Kubernetes secrets (envelope encryption).
   *
   * @default - a new key with yearly rotation
   */
  readonly secretsEncryptionKey?: kms.IKey;

  /**
   * KMS key that encrypts the EBS volumes of every node (system and GPU pools).
   *
   * @default - a new key with yearly rotation
   */
  readonly nodeVolumeKey?: kms.IKey;

  /**
   * Who can reach the API endpoint.
   *
   * @default ClusterEndpoint.publicAndPrivate() - with a synth warning
   */
  readonly endpoint?: ClusterEndpoint;

  /**
   * IAM roles that get the `AmazonEKSClusterAdminPolicy` access policy (cluster-wide).
   *
   * @default - none besides the identity that deploys the stack
   */
  readonly adminRoles?: iam.IRole[];

  /**
   * Instance type of the on-demand system node group (CoreDNS, Karpenter, add-ons).
   *
   * @default m6i.large
   */
  readonly systemInstanceType?: ec2.InstanceType;

  /**
   * Number of system nodes.
   *
   * @default 2
   */
  readonly systemNodeCount?: number;

  /**
   * Install the NVIDIA DCGM exporter (GPU metrics on port 9400) on GPU nodes.
   *
   * @default false
   */
  readonly dcgmExporter?: boolean;

  /**
   * Karpenter version (Helm chart `oci://public.ecr.aws/karpenter/karpenter`), installed with the first
   * Karpenter-provisioned GPU pool. Must be a 1.x release: the NodePool/EC2NodeClass imports are `v1`.
   *
   * @default '1.14.1'
   */
  readonly karpenterVersion?: string;

  /**
   * Install the Kubernetes Cluster Autoscaler (Helm chart `cluster-autoscaler`, pod identity role), which scales the
   * managed node groups, GPU pools from zero included. `true` installs it with the cluster; `false` never installs
   * it: managed GPU pools with `minSize` 0 then get a synth warning, because their pods stay Pending until nodes
   * exist. Karpenter pools never need it.
   *
   * @default - installed with the first managed-node-group GPU pool that can scale (minSize < maxSize)
   */
  readonly clusterAutoscaler?: boolean;
}

/**
 * An EKS cluster (aws-eks-v2) for GPU workloads: secrets encryption, all control-plane logs, a small on-demand
 * system node group with IMDSv2 and encrypted volumes, the NVIDIA device plugin and, optionally, the DCGM exporter.
 * Add GPU capacity with {@link GpuCluster.addGpuNodePool}.
 *
 * @example
 * const cluster = new GpuCluster(stack, 'Gpu', { endpoint: ClusterEndpoint.privateOnly() });
 * cluster.addGpuNodePool('Training', { instanceTypes: [new ec2.InstanceType('g5.2xlarge')] });
 */
export class GpuCluster extends Construct {
  /** The EKS cluster. */
  public readonly cluster: eks.Cluster;
  /** Kubernetes version of the control plane. */
  public readonly kubernetesVersion: eks.KubernetesVersion;
  /** Key of the secrets envelope encryption. */
  public readonly secretsEncryptionKey: kms.IKey;
  /** Key of the node EBS volumes. */
  public readonly nodeVolumeKey: kms.IKey;
  /** The on-demand system node group. */
  public readonly systemNodegroup: eks.Nodegroup;
  /** The NVIDIA device plugin manifest. */
  public readonly devicePlugin: eks.KubernetesManifest;
  /** The VPC of the cluster. */
  public readonly vpc: ec2.IVpc;

  private readonly karpenterVersion: string;
  private karpenterController?: KarpenterController;
  private clusterAutoscalerInstance?: ClusterAutoscaler;
  /** @internal `false` when the user opted out of the Cluster Autoscaler. */
  public readonly _clusterAutoscalerAllowed: boolean;

  constructor(scope: Construct, id: string, props: GpuClusterProps = {}) {
    super(scope, id);
    this.kubernetesVersion = props.version ?? eks.KubernetesVersion.V1_33;
    this.karpenterVersion = props.karpenterVersion ?? KARPENTER_DEFAULT_VERSION;
    this._clusterAutoscalerAllowed = props.clusterAutoscaler !== false;
    const endpoint = props.endpoint ?? ClusterEndpoint.publicAndPrivate();
    validateClusterProps(this, props, this.kubernetesVersion, endpoint, this.karpenterVersion);

    this.vpc = props.vpc ?? new ec2.Vpc(this, 'Vpc', {
      maxAzs: 3,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 18 },
      ],
    });
    if (!props.vpc) { acknowledgeVpc(this.vpc as ec2.Vpc); }

    this.secretsEncryptionKey = props.secretsEncryptionKey ?? new kms.Key(this, 'SecretsKey', {
      enableKeyRotation: true, description: `EKS secrets encryption of ${this.node.path}`,
    });
    this.nodeVolumeKey = props.nodeVolumeKey ?? new kms.Key(this, 'NodeVolumeKey', {
      enableKeyRotation: true, description: `EBS volumes of the nodes of ${this.node.path}`,
    });
    allowEc2VolumeUse(this.nodeVolumeKey);

    let endpointAccess = endpoint.publicAccess ? eks.EndpointAccess.PUBLIC_AND_PRIVATE : eks.EndpointAccess.PRIVATE;
    if (endpoint.publicAccess && endpoint.publicCidrs.length > 0) { endpointAccess = endpointAccess.onlyFrom(...endpoint.publicCidrs); }

    this.cluster = new eks.Cluster(this, 'Resource', {
      version: this.kubernetesVersion,
      vpc: this.vpc,
      vpcSubnets: props.vpcSubnets,
      endpointAccess,
      secretsEncryptionKey: this.secretsEncryptionKey,
      clusterLogging: [
        eks.ClusterLoggingTypes.API, eks.ClusterLoggingTypes.AUDIT, eks.ClusterLoggingTypes.AUTHENTICATOR,
        eks.ClusterLoggingTypes.CONTROLLER_MANAGER, eks.ClusterLoggingTypes.SCHEDULER,
      ],
      kubectlProviderOptions: { kubectlLayer: props.kubectlLayer ?? new KubectlV33Layer(this, 'KubectlLayer') },
      defaultCapacityType: eks.DefaultCapacityType.NODEGROUP,
      defaultCapacity: 0,
    });
    acknowledgeClusterInternals(this.cluster);
    if (endpoint.publicAccess && endpoint.publicCidrs.length === 0) {
      Annotations.of(this).addWarningV2('@cdk-ml-platform/compute:publicEndpoint',
        'The Kubernetes API endpoint is public to any address. Restrict it with ClusterEndpoint.publicAndPrivateFrom(cidrs) '
        + 'or use ClusterEndpoint.privateOnly().');
    }
    if (endpoint.publicAccess) {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions::AwsSolutions-EKS1',
        reason: endpoint.publicCidrs.length > 0
          ? `The public endpoint only accepts ${endpoint.publicCidrs.join(', ')}; nodes use the private endpoint.`
          : 'Public endpoint chosen explicitly or by default (a synth warning says so); IAM authentication still applies to every request.',
      });
    }

    // --- system node group ------------------------------------------------------------------------------------
    const systemRole = nodeRole(this, 'SystemNodeRole');
    const systemTemplate = nodeLaunchTemplate(this, 'SystemLaunchTemplate', {
      volumeKey: this.nodeVolumeKey, rootVolumeSize: Size.gibibytes(50), bottlerocket: false, podImdsAccess: false,
    });
    this.systemNodegroup = this.cluster.addNodegroupCapacity('System', {
      instanceTypes: [props.systemInstanceType ?? new ec2.InstanceType('m6i.large')],
      amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
      capacityType: eks.CapacityType.ON_DEMAND,
      minSize: props.systemNodeCount ?? 2,
      desiredSize: props.systemNodeCount ?? 2,
      maxSize: Math.max(props.systemNodeCount ?? 2, 4),
      nodeRole: systemRole,
      labels: { 'ml-platform/node-role': 'system' },
      launchTemplateSpec: { id: systemTemplate.launchTemplateId!, version: systemTemplate.latestVersionNumber },
      subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    });

    for (const [i, role] of (props.adminRoles ?? []).entries()) {
      this.cluster.grantClusterAdmin(`Admin${i}`, role.roleArn);
    }

    // --- GPU add-ons ----------------------------------------------------------------------------------------
    this.devicePlugin = this.cluster.addCdk8sChart('NvidiaDevicePlugin', new NvidiaDevicePluginChart(new cdk8s.App(), 'nvidia-device-plugin'));
    if (props.dcgmExporter) {
      this.cluster.addCdk8sChart('DcgmExporter', new DcgmExporterChart(new cdk8s.App(), 'dcgm-exporter'));
    }
    if (props.clusterAutoscaler === true) { this.enableClusterAutoscaler(); }
  }

  /**
   * Adds a GPU node pool to this cluster.
   *
   * @param id construct id; also the default pool name
   * @param options pool options
   */
  public addGpuNodePool(id: string, options: GpuNodePoolOptions = {}): GpuNodePool {
    return new GpuNodePool(this, id, { ...options, cluster: this });
  }

  /**
   * Installs the Karpenter controller (Helm chart, IAM, interruption queue) once, and returns it.
   * Karpenter-provisioned GPU pools call this; calling it again returns the same controller.
   */
  public enableKarpenter(): KarpenterController {
    if (!this.karpenterController) {
      this.karpenterController = new KarpenterController(this, 'Karpenter', { cluster: this, version: this.karpenterVersion });
    }
    return this.karpenterController;
  }

  /**
   * Installs the Kubernetes Cluster Autoscaler (Helm chart, pod identity role) once, and returns it.
   * Managed-node-group GPU pools that can scale call this; calling it again returns the same autoscaler.
   *
   * @throws `GpuCluster.ClusterAutoscalerDisabled` when the cluster was created with `clusterAutoscaler: false`
   */
  public enableClusterAutoscaler(): ClusterAutoscaler {
    if (!this._clusterAutoscalerAllowed) {
      throw mlError(this, 'GpuCluster', {
        code: 'ClusterAutoscalerDisabled',
        what: 'enableClusterAutoscaler() was called on a cluster created with clusterAutoscaler: false',
        fix: 'remove clusterAutoscaler: false (or set it to true) instead of calling enableClusterAutoscaler()',
      });
    }
    if (!this.clusterAutoscalerInstance) {
      this.clusterAutoscalerInstance = new ClusterAutoscaler(this, 'ClusterAutoscaler', { cluster: this });
    }
    return this.clusterAutoscalerInstance;
  }
}

/** The minor number of `version`, or undefined if it is not `1.<minor>`. */
export function kubernetesMinor(version: eks.KubernetesVersion): number | undefined {
  const m = /^1\.(\d+)$/.exec(version.version);
  return m ? Number(m[1]) : undefined;
}

/** An IAM role for EC2 worker nodes with the policies every EKS node needs. */
export function nodeRole(scope: Construct, id: string): iam.Role {
  const role = new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
    managedPolicies: ['AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy', 'AmazonEC2ContainerRegistryReadOnly', 'AmazonSSMManagedInstanceCore']
      .map(n => iam.ManagedPolicy.fromAwsManagedPolicyName(n)),
  });
  acknowledgeManagedPolicy(role, 'AmazonEKSWorkerNodePolicy', 'Required by the kubelet to join and describe the cluster (EKS node IAM role).');
  acknowledgeManagedPolicy(role, 'AmazonEKS_CNI_Policy', 'The VPC CNI on the node assigns pod IPs (EKS node IAM role).');
  acknowledgeManagedPolicy(role, 'AmazonEC2ContainerRegistryReadOnly', 'The kubelet pulls add-on images from ECR (EKS node IAM role).');
  acknowledgeManagedPolicy(role, 'AmazonSSMManagedInstanceCore', 'Session Manager access to nodes instead of SSH keys and open ports.');
  return role;
}

/** Lets EC2 (Auto Scaling, Karpenter's CreateFleet) use the node volume key for EBS, as the `aws/ebs` key policy does. */
function allowEc2VolumeUse(key: kms.IKey): void {
  const stack = Stack.of(key);
  key.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'AllowEbsThroughEc2InThisAccount',
    principals: [new iam.AnyPrincipal()],
    actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey', 'kms:CreateGrant'],
    resources: ['*'],
    conditions: {
      StringEquals: { 'kms:CallerAccount': stack.account, 'kms:ViaService': `ec2.${stack.region}.amazonaws.com` },
    },
  }));
}

/** Findings inside aws-eks-v2's own constructs (control-plane role, kubectl provider), which we cannot change. */
function acknowledgeClusterInternals(cluster: eks.Cluster): void {
  Validations.of(cluster.node.defaultChild!).acknowledge({
    id: 'CloudFormation-Validate::W9009',
    reason: 'aws-eks-v2 still renders EncryptionConfig.Resources=[secrets]; EKS accepts it and it states what the key encrypts.',
  });
  acknowledgeManagedPolicy(cluster.role, 'AmazonEKSClusterPolicy', 'The EKS service role policy the control plane requires.');
  const provider = cluster.node.tryFindChild('KubectlProvider');
  if (!provider) { return; }
  const deployOnly = 'aws-eks-v2 kubectl provider: invoked only by CloudFormation during deployments to apply manifests and Helm charts.';
  Validations.of(provider).acknowledge(
    { id: 'AwsSolutions::AwsSolutions-L1', reason: `${deployOnly} Its runtime is chosen by aws-cdk-lib.` },
    { id: 'NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ', reason: `${deployOnly} The Provider framework reports failures to the stack.` },
    { id: 'NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency', reason: `${deployOnly} Reserved concurrency would only add a failure mode.` },
    { id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy', reason: `${deployOnly} CDK attaches its permissions to its own role only.` },
  );
  for (const policy of ['service-role/AWSLambdaBasicExecutionRole', 'service-role/AWSLambdaVPCAccessExecutionRole', 'AmazonEC2ContainerRegistryReadOnly']) {
    acknowledgeManagedPolicy(provider, policy, `${deployOnly} Logs, VPC ENIs and ECR pulls of Helm charts.`);
  }
  Validations.of(provider).acknowledge({
    id: 'AwsSolutions::AwsSolutions-IAM4[Policy::{"Fn::If":["' + Stack.of(cluster).getLogicalId(
      provider.node.findChild('Handler').node.findChild('HasEcrPublic') as CfnCondition) + '",{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},'
      + '":iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly"]]},{"Ref":"AWS::NoValue"}]}]',
    reason: `${deployOnly} Pulls public ECR Helm charts (e.g. Karpenter) when the cluster uses them.`,
  });
  const handler = provider.node.findChild('Handler') as lambda.IFunction;
  Validations.of(provider).acknowledge({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(cluster).getLogicalId(handler.node.defaultChild as CfnElement)}.Arn>:*]`,
    reason: 'The Provider framework invokes the kubectl handler by ARN including any version qualifier (:*).',
  });
}

function acknowledgeVpc(vpc: ec2.Vpc): void {
  const egress = 'The public subnets only hold the NAT gateway for node egress (image pulls, AWS APIs); nodes live in private subnets.';
  Validations.of(vpc).acknowledge(
    { id: 'NIST.800.53.R5::NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW', reason: egress },
    { id: 'NIST.800.53.R5::NIST.800.53.R5-VPCDefaultSecurityGroupClosed', reason: 'Nothing uses the default security group; EKS creates and uses its own.' },
    { id: 'AwsSolutions::AwsSolutions-VPC7', reason: 'Flow logs are an account-level choice; add them with vpc.addFlowLog or pass your own vpc.' },
    { id: 'NIST.800.53.R5::NIST.800.53.R5-VPCFlowLogsEnabled', reason: 'Flow logs are an account-level choice; add them with vpc.addFlowLog or pass your own vpc.' },
  );
}

function validateClusterProps(scope: Construct, props: GpuClusterProps, version: eks.KubernetesVersion,
  endpoint: ClusterEndpoint, karpenterVersion: string): void {
  const errors = new ValidationErrors(scope, 'GpuCluster');
  if (!Token.isUnresolved(version.version)) {
    const minor = kubernetesMinor(version);
    if (errors.check(minor !== undefined && minor >= MIN_MINOR, {
      code: 'InvalidVersion',
      what: 'the Kubernetes version is not a supported 1.<minor> release',
      got: version.version,
      fix: `use eks.KubernetesVersion.V1_${MIN_MINOR} or newer (default ${DEFAULT_VERSION})`,
    }) && !props.kubectlLayer) {
      errors.check(minor! >= 32 && minor! <= 34, {
        code: 'KubectlLayerMismatch',
        what: 'the default kubectl layer (kubectl 1.33) only supports Kubernetes 1.32 to 1.34',
        got: version.version,
        fix: 'pass kubectlLayer from the matching @aws-cdk/lambda-layer-kubectl-vXY package',
      });
    }
  }
  for (const cidr of endpoint.publicCidrs) {
    if (Token.isUnresolved(cidr)) { continue; }
    errors.check(isIpv4Cidr(cidr), {
      code: 'InvalidPublicCidr', what: 'a public endpoint CIDR is not an IPv4 CIDR block', got: cidr, fix: 'use a block such as 203.0.113.0/24',
    });
  }
  if (!endpoint.publicAccess && props.vpc) {
    const subnets = (props.vpcSubnets ?? [{ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }])
      .flatMap(s => { try { return props.vpc!.selectSubnets(s).subnets; } catch { return []; } });
    const privateIds = new Set([...props.vpc.privateSubnets, ...props.vpc.isolatedSubnets].map(s => s.subnetId));
    errors.check(subnets.some(s => privateIds.has(s.subnetId)), {
      code: 'PrivateEndpointWithoutPrivateSubnets',
      what: 'a private-only endpoint needs private subnets for the nodes and the kubectl provider, but vpcSubnets selects none',
      fix: 'give the VPC private subnets (PRIVATE_WITH_EGRESS) and select them in vpcSubnets, or use ClusterEndpoint.publicAndPrivateFrom(cidrs)',
    });
  }
  errors.check(/^1\.\d+\.\d+$/.test(karpenterVersion), {
    code: 'InvalidKarpenterVersion',
    what: 'karpenterVersion must be a Karpenter 1.x chart version without a leading v',
    got: karpenterVersion,
    fix: `use e.g. '${KARPENTER_DEFAULT_VERSION}' (the NodePool/EC2NodeClass imports are karpenter v1)`,
  });
  if (props.systemNodeCount !== undefined) {
    errors.check(Number.isInteger(props.systemNodeCount) && props.systemNodeCount >= 1, {
      code: 'InvalidSystemNodeCount',
      what: 'systemNodeCount must be a whole number of at least 1',
      got: props.systemNodeCount,
      fix: 'use 2 or more for highly available CoreDNS and Karpenter',
    });
  }
  errors.throwIfAny();
}

function isIpv4Cidr(cidr: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  return !!m && m.slice(1, 5).every(o => Number(o) <= 255) && Number(m[5]) <= 32;
}
