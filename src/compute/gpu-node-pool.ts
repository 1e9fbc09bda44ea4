import { Annotations, Duration, Size, SizeRoundingBehavior, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as cdk8s from 'cdk8s';
import { Construct } from 'constructs';
import type { GpuCluster } from './gpu-cluster';
import { kubernetesMinor, nodeRole } from './gpu-cluster';
import { nodeLaunchTemplate } from './node-launch-template';
import { Problem, ValidationErrors } from '../core/errors';
import { CatalogEntry, isKnownFamily, lookupInstanceType, NVIDIA_GPU_FAMILIES, parseInstanceType } from '../core/gpu-catalog';
import {
  GPU_POOL_LABEL, GPU_PRESENT_LABEL, GPU_RESOURCE, GPU_TAINT_EFFECT, GPU_TAINT_KEY, GPU_TAINT_VALUE, GpuPoolPlacement, NodeTaint,
} from '../k8s/gpu-scheduling';
import * as karpenter from '../k8s/imports/karpenter.k8s.aws';
import * as karpenterSh from '../k8s/imports/karpenter.sh';
import { DEVICE_PLUGIN_BUILTIN_LABEL, DEVICE_PLUGIN_BUILTIN_VALUE } from '../k8s/nvidia-device-plugin';

/**
 * Default Karpenter AMI alias: AL2023 pinned to a dated EKS AMI release (awslabs/amazon-eks-ami v20260512, the
 * weekly release whose AL2023 AMIs carry release version `<k8s>-20260512`); Karpenter picks the NVIDIA variant for GPU
 * types. Pinned, never `@latest`: a broken AMI must not roll out by itself. Bump it deliberately.
 */
export const KARPENTER_DEFAULT_AMI_ALIAS = 'al2023@v20260512';

/** Capacity type of a GPU node pool. */
export enum GpuCapacityType {
  /** On-demand instances. */
  ON_DEMAND = 'on-demand',
  /** Spot instances (interruptible, cheaper). */
  SPOT = 'spot',
}

/** Options of the managed node group provisioner. */
export interface ManagedNodeGroupProvisionerOptions {
  /**
   * AMI type. Must be an NVIDIA variant; `AL2_x86_64_GPU` only before Kubernetes 1.33.
   *
   * @default eks.NodegroupAmiType.AL2023_X86_64_NVIDIA
   */
  readonly amiType?: eks.NodegroupAmiType;
  /**
   * Fewest nodes.
   *
   * @default 0 - scale from zero
   */
  readonly minSize?: number;
  /**
   * Most nodes.
   *
   * @default 4
   */
  readonly maxSize?: number;
}

/** Options of the Karpenter provisioner. */
export interface KarpenterProvisionerOptions {
  /**
   * EC2NodeClass AMI alias, `<family>@<version>`; pin a dated version, `@latest` is for pre-production only.
   *
   * @default 'al2023@v20260512'
   */
  readonly amiAlias?: string;
  /**
   * Most GPUs the pool may hold at once (NodePool limit on `nvidia.com/gpu`).
   *
   * @default - 4 nodes of the largest instance type
   */
  readonly maxGpus?: number;
  /**
   * How long a node must be empty before Karpenter removes it (`consolidationPolicy: WhenEmpty`).
   *
   * @default Duration.minutes(10)
   */
  readonly consolidateAfter?: Duration;
  /**
   * How many nodes Karpenter may disrupt at once, as a count or percentage (`'1'`, `'10%'`).
   *
   * @default '1'
   */
  readonly disruptionBudget?: string;
  /**
   * Maximum node lifetime before replacement (picks up new AMIs).
   *
   * @default Duration.days(30)
   */
  readonly expireAfter?: Duration;
}

/**
 * How a {@link GpuNodePool} gets its nodes: an EKS managed node group or Karpenter.
 */
export class NodeProvisioner {
  /**
   * An EKS managed node group that scales from zero. The cluster's Cluster Autoscaler scales it; the first such pool
   * installs it (see `GpuClusterProps.clusterAutoscaler`).
   */
  public static managedNodeGroup(options: ManagedNodeGroupProvisionerOptions = {}): NodeProvisioner {
    return new NodeProvisioner(options, undefined);
  }

  /** Karpenter v1 `NodePool` + `EC2NodeClass`; installs the Karpenter controller in the cluster once. */
  public static karpenter(options: KarpenterProvisionerOptions = {}): NodeProvisioner {
    return new NodeProvisioner(undefined, options);
  }

  /** @internal */ public readonly _managed?: ManagedNodeGroupProvisionerOptions;
  /** @internal */ public readonly _karpenter?: KarpenterProvisionerOptions;

  private constructor(managed?: ManagedNodeGroupProvisionerOptions, karpenterOptions?: KarpenterProvisionerOptions) {
    this._managed = managed;
    this._karpenter = karpenterOptions;
  }
}

/** Options for a {@link GpuNodePool}, without the cluster. */
export interface GpuNodePoolOptions {
  /**
   * Pool name: the value of the `ml-platform/gpu-pool` label and the Karpenter NodePool name.
   * Lowercase letters, digits and `-`, at most 63 characters.
   *
   * @default - the construct id, lowercased
   */
  readonly poolName?: string;
  /**
   * EC2 instance types. Every type must carry NVIDIA GPUs (see the GPU catalog).
   *
   * @default [new ec2.InstanceType('g5.xlarge')]
   */
  readonly instanceTypes?: ec2.InstanceType[];
  /**
   * On-demand or spot capacity.
   *
   * @default GpuCapacityType.ON_DEMAND
   */
  readonly capacityType?: GpuCapacityType;
  /**
   * How nodes are provisioned.
   *
   * @default NodeProvisioner.managedNodeGroup()
   */
  readonly provisioner?: NodeProvisioner;
  /**
   * Extra node labels. Must not change `nvidia.com/gpu.present`, `ml-platform/gpu-pool` or the device-plugin label.
   *
   * @default - only the GPU and pool labels
   */
  readonly labels?: { [key: string]: string };
  /**
   * Root (container data) volume size per node.
   *
   * @default Size.gibibytes(200)
   */
  readonly rootVolumeSize?: Size;
  /**
   * Let pods reach the instance metadata service (IMDSv2 hop limit 2 instead of 1).
   * Only for workloads that cannot use EKS Pod Identity or IRSA.
   *
   * @default false
   */
  readonly allowPodImdsAccess?: boolean;
}

/** Properties for a {@link GpuNodePool}. */
export interface GpuNodePoolProps extends GpuNodePoolOptions {
  /** The cluster of the pool. */
  readonly cluster: GpuCluster;
}

/**
 * A pool of NVIDIA GPU nodes, tainted `nvidia.com/gpu=true:NoSchedule` and labelled `nvidia.com/gpu.present=true`
 * and `ml-platform/gpu-pool=<name>`. Workloads reach it through {@link GpuNodePool.placement}.
 */
export class GpuNodePool extends Construct {
  /** Where pods of this pool go: labels, taints, instance types and GPU capacity. */
  public readonly placement: GpuPoolPlacement;
  /** The pool name. */
  public readonly poolName: string;
  /** The managed node group, when provisioned by one. */
  public readonly nodegroup?: eks.Nodegroup;
  /** The Karpenter NodePool and EC2NodeClass manifest, when provisioned by Karpenter. */
  public readonly karpenterManifest?: eks.KubernetesManifest;

  constructor(scope: Construct, id: string, props: GpuNodePoolProps) {
    super(scope, id);
    const provisioner = props.provisioner ?? NodeProvisioner.managedNodeGroup();
    const instanceTypes = props.instanceTypes ?? [new ec2.InstanceType('g5.xlarge')];
    this.poolName = props.poolName ?? id.toLowerCase();
    const capacityType = props.capacityType ?? GpuCapacityType.ON_DEMAND;
    const managed = provisioner._managed;
    const karp = provisioner._karpenter;
    const amiType = managed?.amiType ?? eks.NodegroupAmiType.AL2023_X86_64_NVIDIA;
    const amiAlias = karp?.amiAlias ?? KARPENTER_DEFAULT_AMI_ALIAS;
    const bottlerocket = managed ? amiType.startsWith('BOTTLEROCKET') : amiAlias.startsWith('bottlerocket@');

    // --- validation -----------------------------------------------------------------------------------------
    const errors = new ValidationErrors(this, 'GpuNodePool');
    const entries = validateInstanceTypes(errors, instanceTypes);
    const maxGpusPerNode = Math.max(0, ...entries.map(e => e.acceleratorCount));
    errors.check(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(this.poolName), {
      code: 'InvalidPoolName',
      what: 'the pool name is not a valid Kubernetes label value and object name',
      got: this.poolName,
      fix: 'use lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters',
    });
    for (const [key, value] of Object.entries(props.labels ?? {})) {
      if (key === GPU_PRESENT_LABEL || key === GPU_POOL_LABEL || key === DEVICE_PLUGIN_BUILTIN_LABEL) {
        errors.add({
          code: 'ReservedLabel',
          what: `label '${key}' is set by the pool; overriding it would keep the NVIDIA device plugin or workloads off the nodes`,
          got: `${key}=${value}`,
          fix: `remove '${key}' from labels`,
        });
      }
    }
    let minSize = 0;
    let maxSize = 4;
    if (managed) {
      minSize = managed.minSize ?? 0;
      maxSize = managed.maxSize ?? 4;
      validateAmiType(errors, amiType, props.cluster.kubernetesVersion, entries);
      errors.check(Number.isInteger(minSize) && Number.isInteger(maxSize) && minSize >= 0 && maxSize >= 1 && minSize <= maxSize, {
        code: 'InvalidScaling',
        what: 'node counts must be whole numbers with 0 <= minSize <= maxSize and maxSize >= 1',
        got: `minSize=${minSize}, maxSize=${maxSize}`,
        fix: 'lower minSize or raise maxSize',
      });
    }
    let maxGpus = maxSize * maxGpusPerNode;
    if (karp) {
      maxGpus = karp.maxGpus ?? 4 * maxGpusPerNode;
      errors.check(/^(al2023|bottlerocket)@(latest|v\d{8}|v\d+\.\d+\.\d+)$/.test(amiAlias), {
        code: 'InvalidAmiAlias',
        what: 'amiAlias must be al2023@vYYYYMMDD, bottlerocket@vX.Y.Z or <family>@latest',
        got: amiAlias,
        fix: `pin a dated release such as '${KARPENTER_DEFAULT_AMI_ALIAS}'`,
      });
      if (maxGpusPerNode > 0) {
        errors.check(Number.isInteger(maxGpus) && maxGpus >= maxGpusPerNode, {
          code: 'GpuLimitTooLow',
          what: `maxGpus cannot hold one node of the largest instance type (${maxGpusPerNode} GPUs)`,
          got: maxGpus,
          fix: `set maxGpus to at least ${maxGpusPerNode} or drop the largest instance types`,
        });
      }
      errors.check(/^(\d+|\d{1,3}%)$/.test(karp.disruptionBudget ?? '1'), {
        code: 'InvalidDisruptionBudget',
        what: 'disruptionBudget must be a node count or a percentage',
        got: karp.disruptionBudget,
        fix: "use e.g. '1' or '10%'",
      });
    }
    if (props.rootVolumeSize && !props.rootVolumeSize.isUnresolved()) {
      const gib = props.rootVolumeSize.toGibibytes({ rounding: SizeRoundingBehavior.NONE });
      errors.check(Number.isInteger(gib) && gib >= 20 && gib <= 16_384, {
        code: 'InvalidRootVolumeSize',
        what: 'rootVolumeSize must be whole GiB from 20 (the EKS default node disk) to 16384 (the gp3 maximum)',
        got: `${gib} GiB`,
        fix: 'use e.g. Size.gibibytes(200) (the default), room for CUDA images and dataset caches',
      });
    }
    errors.throwIfAny();
    if (karp && amiAlias.endsWith('@latest')) {
      Annotations.of(this).addWarningV2('@cdk-ml-platform/compute:latestAmi',
        `amiAlias '${amiAlias}' follows every new AMI release: a broken AMI reaches the GPU nodes with the next node replacement; pin a dated release`);
    }

    // --- placement contract -------------------------------------------------------------------------------------
    const nodeLabels: { [key: string]: string } = {
      ...props.labels,
      [GPU_PRESENT_LABEL]: 'true',
      [GPU_POOL_LABEL]: this.poolName,
      ...(bottlerocket ? { [DEVICE_PLUGIN_BUILTIN_LABEL]: DEVICE_PLUGIN_BUILTIN_VALUE } : {}),
    };
    const taints: NodeTaint[] = [{ key: GPU_TAINT_KEY, value: GPU_TAINT_VALUE, effect: GPU_TAINT_EFFECT }];
    this.placement = {
      poolName: this.poolName,
      nodeLabels,
      taints,
      instanceTypes: entries.map(e => e.name),
      gpusPerInstanceType: entries.map(e => e.acceleratorCount),
      maxGpus,
    };

    const rootVolumeSize = props.rootVolumeSize ?? Size.gibibytes(200);
    const cluster = props.cluster;
    if (managed) {
      const template = nodeLaunchTemplate(this, 'LaunchTemplate', {
        volumeKey: cluster.nodeVolumeKey, rootVolumeSize, bottlerocket, podImdsAccess: props.allowPodImdsAccess ?? false,
      });
      this.nodegroup = cluster.cluster.addNodegroupCapacity(`Gpu${id}`, {
        nodegroupName: undefined,
        instanceTypes,
        amiType,
        capacityType: capacityType === GpuCapacityType.SPOT ? eks.CapacityType.SPOT : eks.CapacityType.ON_DEMAND,
        minSize,
        desiredSize: minSize,
        maxSize,
        nodeRole: nodeRole(this, 'NodeRole'),
        // The accelerator label tells Cluster Autoscaler a new node's GPUs are still coming (device plugin not yet
        // registered), so it does not scale up a second time for the same pending pods.
        labels: { ...nodeLabels, [CLUSTER_AUTOSCALER_GPU_LABEL]: acceleratorLabelValue(entries) },
        taints: taints.map(t => ({ key: t.key, value: t.value, effect: eks.TaintEffect.NO_SCHEDULE })),
        launchTemplateSpec: { id: template.launchTemplateId!, version: template.latestVersionNumber },
        subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        tags: clusterAutoscalerNodeTemplateTags(nodeLabels, taints, entries),
      });
      if (minSize < maxSize) {
        if (cluster._clusterAutoscalerAllowed) {
          cluster.enableClusterAutoscaler();
        } else if (minSize === 0) {
          Annotations.of(this).addWarningV2('@cdk-ml-platform/compute:noClusterAutoscaler',
            `Pool '${this.poolName}' starts at 0 nodes but the cluster has clusterAutoscaler: false: pods will stay Pending until `
            + 'nodes exist. Install an autoscaler for managed node groups, raise minSize, or use NodeProvisioner.karpenter().');
        }
      }
    } else if (karp) {
      const controller = cluster.enableKarpenter();
      const chart = new cdk8s.Chart(new cdk8s.App(), 'karpenter-pool');
      const nodeClass = new karpenter.Ec2NodeClass(chart, 'NodeClass', {
        metadata: { name: this.poolName },
        spec: {
          amiSelectorTerms: [{ alias: amiAlias }],
          role: controller.nodeRole.roleName,
          subnetSelectorTerms: cluster.vpc.privateSubnets.map(s => ({ id: s.subnetId })),
          securityGroupSelectorTerms: [{ id: cluster.cluster.clusterSecurityGroupId }],
          metadataOptions: {
            httpEndpoint: karpenter.Ec2NodeClassSpecMetadataOptionsHttpEndpoint.ENABLED,
            httpTokens: karpenter.Ec2NodeClassSpecMetadataOptionsHttpTokens.REQUIRED,
            httpPutResponseHopLimit: props.allowPodImdsAccess ? 2 : 1,
            httpProtocolIPv6: karpenter.Ec2NodeClassSpecMetadataOptionsHttpProtocolIPv6.DISABLED,
          },
          blockDeviceMappings: karpenterBlockDevices(bottlerocket, rootVolumeSize, cluster.nodeVolumeKey.keyArn),
          tags: { 'ml-platform/gpu-pool': this.poolName },
        },
      });
      new karpenterSh.NodePool(chart, 'NodePool', {
        metadata: { name: this.poolName },
        spec: {
          template: {
            metadata: { labels: nodeLabels },
            spec: {
              nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: nodeClass.name },
              taints: taints.map(t => ({ key: t.key, value: t.value, effect: karpenterSh.NodePoolSpecTemplateSpecTaintsEffect.NO_SCHEDULE })),
              requirements: [
                { key: 'node.kubernetes.io/instance-type', operator: karpenterSh.NodePoolSpecTemplateSpecRequirementsOperator.IN, values: entries.map(e => e.name) },
                {
                  key: 'karpenter.k8s.aws/instance-family',
                  operator: karpenterSh.NodePoolSpecTemplateSpecRequirementsOperator.IN,
                  values: [...new Set(entries.map(e => parseInstanceType(e.name)!.family))],
                },
                { key: 'karpenter.k8s.aws/instance-gpu-manufacturer', operator: karpenterSh.NodePoolSpecTemplateSpecRequirementsOperator.IN, values: ['nvidia'] },
                {
                  key: 'karpenter.k8s.aws/instance-gpu-count',
                  operator: karpenterSh.NodePoolSpecTemplateSpecRequirementsOperator.IN,
                  values: [...new Set(entries.map(e => String(e.acceleratorCount)))],
                },
                { key: 'karpenter.sh/capacity-type', operator: karpenterSh.NodePoolSpecTemplateSpecRequirementsOperator.IN, values: [capacityType] },
                {
                  key: 'kubernetes.io/arch',
                  operator: karpenterSh.NodePoolSpecTemplateSpecRequirementsOperator.IN,
                  values: [entries[0].architecture === 'arm64' ? 'arm64' : 'amd64'],
                },
              ],
              expireAfter: `${(karp.expireAfter ?? Duration.days(30)).toHours()}h`,
            },
          },
          limits: { [GPU_RESOURCE]: karpenterSh.NodePoolSpecLimits.fromNumber(maxGpus) },
          disruption: {
            consolidationPolicy: karpenterSh.NodePoolSpecDisruptionConsolidationPolicy.WHEN_EMPTY,
            consolidateAfter: `${(karp.consolidateAfter ?? Duration.minutes(10)).toSeconds()}s`,
            budgets: [{ nodes: karp.disruptionBudget ?? '1' }],
          },
        },
      });
      this.karpenterManifest = cluster.cluster.addCdk8sChart(`KarpenterPool${id}`, chart);
      this.karpenterManifest.node.addDependency(controller.chart);
    }
  }
}

/** Node label Cluster Autoscaler's AWS provider treats as "this node has GPUs" (`GPULabel`). */
const CLUSTER_AUTOSCALER_GPU_LABEL = 'k8s.amazonaws.com/accelerator';

/** `nvidia-<model>` when every instance type carries the same GPU model (e.g. `nvidia-a10g`), else `nvidia`. */
function acceleratorLabelValue(entries: CatalogEntry[]): string {
  const models = [...new Set(entries.map(e => e.acceleratorModel.toLowerCase()))];
  return models.length === 1 ? `nvidia-${models[0].replace(/[^a-z0-9.-]/g, '-')}` : 'nvidia';
}

/**
 * Cluster Autoscaler node-template tags on the node group (labels, taints, GPUs per node), for scale from zero.
 *
 * EKS does NOT copy node group tags to the node group's Auto Scaling group, so Cluster Autoscaler never reads these
 * from there: for a managed node group at zero nodes it calls `eks:DescribeNodegroup` (labels, taints) and takes
 * CPU, memory and GPUs from its EC2 instance type data. The tags record the same template on the node group, for
 * people and tools that copy them to the Auto Scaling group (the documented way for self-managed groups). The GPU count
 * is the smallest of the instance types, so the template never promises GPUs a node may not have. Keys longer than
 * the 128-character AWS tag limit are left out.
 */
function clusterAutoscalerNodeTemplateTags(labels: { [key: string]: string }, taints: NodeTaint[],
  entries: CatalogEntry[]): { [key: string]: string } {
  const prefix = 'k8s.io/cluster-autoscaler/node-template';
  const tags: { [key: string]: string } = {};
  for (const [key, value] of Object.entries(labels)) { tags[`${prefix}/label/${key}`] = value; }
  for (const t of taints) { tags[`${prefix}/taint/${t.key}`] = `${t.value}:${t.effect}`; }
  if (entries.length > 0) {
    tags[`${prefix}/resources/${GPU_RESOURCE}`] = String(Math.min(...entries.map(e => e.acceleratorCount)));
  }
  // AWS tag keys hold at most 128 characters; a longer label key is left to eks:DescribeNodegroup.
  return Object.fromEntries(Object.entries(tags).filter(([key]) => key.length <= 128));
}

function karpenterBlockDevices(bottlerocket: boolean, size: Size, keyArn: string): karpenter.Ec2NodeClassSpecBlockDeviceMappings[] {
  const ebs = (gib: number): karpenter.Ec2NodeClassSpecBlockDeviceMappingsEbs => ({
    volumeSize: `${gib}Gi`,
    volumeType: karpenter.Ec2NodeClassSpecBlockDeviceMappingsEbsVolumeType.GP3,
    encrypted: true,
    kmsKeyId: keyArn,
    deleteOnTermination: true,
  });
  return bottlerocket
    ? [{ deviceName: '/dev/xvda', ebs: ebs(4) }, { deviceName: '/dev/xvdb', ebs: ebs(size.toGibibytes()), rootVolume: true }]
    : [{ deviceName: '/dev/xvda', ebs: ebs(size.toGibibytes()), rootVolume: true }];
}

/** Looks every instance type up in the GPU catalog; returns the NVIDIA entries. */
function validateInstanceTypes(errors: ValidationErrors, instanceTypes: ec2.InstanceType[]): CatalogEntry[] {
  const entries: CatalogEntry[] = [];
  if (!errors.check(instanceTypes.length > 0, {
    code: 'EmptyInstanceTypes', what: 'instanceTypes is empty', fix: 'list at least one NVIDIA GPU instance type, e.g. g5.xlarge',
  })) { return entries; }
  const families = NVIDIA_GPU_FAMILIES.join(', ');
  for (const type of instanceTypes) {
    const name = type.toString();
    if (Token.isUnresolved(name)) { continue; }
    const entry = lookupInstanceType(name);
    const parsed = parseInstanceType(name);
    let problem: Problem | undefined;
    if (!entry && parsed && isKnownFamily(parsed.family)) {
      problem = {
        code: 'UnknownInstanceType',
        what: `instance type size '${parsed.size}' is not known for family ${parsed.family}`,
        got: name,
        fix: 'check the spelling against the EC2 accelerated-computing instance list',
      };
    } else if (!entry) {
      problem = { code: 'NoGpu', what: 'instance type has no NVIDIA GPU', got: name, fix: `choose a type of the families ${families}` };
    } else if (entry.manufacturer !== 'NVIDIA') {
      problem = {
        code: 'NoGpu',
        what: `instance type carries ${entry.acceleratorModel} accelerators, not NVIDIA GPUs`,
        got: name,
        fix: `choose a type of the families ${families}`,
      };
    }
    if (problem) { errors.add(problem); } else { entries.push(entry!); }
  }
  const archs = new Set(entries.map(e => e.architecture));
  errors.check(archs.size <= 1, {
    code: 'MixedArchitectures',
    what: 'instanceTypes mix x86_64 and arm64 types',
    got: entries.map(e => e.name),
    fix: 'use one pool per CPU architecture',
  });
  return entries;
}

const NVIDIA_AMI_TYPES: string[] = [
  eks.NodegroupAmiType.AL2023_X86_64_NVIDIA, eks.NodegroupAmiType.AL2023_ARM_64_NVIDIA,
  eks.NodegroupAmiType.BOTTLEROCKET_X86_64_NVIDIA, eks.NodegroupAmiType.BOTTLEROCKET_ARM_64_NVIDIA,
  eks.NodegroupAmiType.AL2_X86_64_GPU,
];

function validateAmiType(errors: ValidationErrors, amiType: eks.NodegroupAmiType, version: eks.KubernetesVersion, entries: CatalogEntry[]): void {
  if (!errors.check(NVIDIA_AMI_TYPES.includes(amiType), {
    code: 'NoGpuAmi',
    what: 'the AMI type has no NVIDIA driver',
    got: amiType,
    fix: 'use AL2023_x86_64_NVIDIA (default) or BOTTLEROCKET_x86_64_NVIDIA',
  })) { return; }
  const minor = kubernetesMinor(version);
  if (amiType === eks.NodegroupAmiType.AL2_X86_64_GPU && minor !== undefined) {
    errors.check(minor < 33, {
      code: 'Al2GpuAmiUnsupported',
      what: `EKS publishes no Amazon Linux 2 AMIs for Kubernetes 1.33 and later (cluster is ${version.version})`,
      got: amiType,
      fix: 'use AL2023_x86_64_NVIDIA or BOTTLEROCKET_x86_64_NVIDIA',
    });
  }
  const arm = amiType.includes('ARM_64');
  const mismatched = entries.filter(e => (e.architecture === 'arm64') !== arm).map(e => e.name);
  errors.check(mismatched.length === 0, {
    code: 'ArchitectureMismatch',
    what: `instance types do not match the ${arm ? 'arm64' : 'x86_64'} AMI type ${amiType}`,
    got: mismatched,
    fix: arm ? 'use arm64 GPU types (g5g) or an x86_64 AMI type' : 'use x86_64 GPU types or AL2023_ARM_64_NVIDIA for g5g',
  });
}
