import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Testing } from 'cdk8s';
import { ClusterEndpoint, GpuCluster } from '../../src/compute/gpu-cluster';
import { GpuCapacityType, GpuNodePool, NodeProvisioner } from '../../src/compute/gpu-node-pool';
import { NvidiaDevicePluginChart } from '../../src/k8s/nvidia-device-plugin';
import { cfnLint, findTemplates } from '../support/cfn-lint';
import { manifestsOfTemplate, validateManifests } from '../support/manifests';
import { nagFindings } from '../support/nag';

process.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = '20';

/** Synth output directories of this file (each holds a copy of the kubectl layer), removed after the tests. */
const outdirs: string[] = [];
afterAll(() => { for (const dir of outdirs) { fs.rmSync(dir, { recursive: true, force: true }); } });

function setup(props: ConstructorParameters<typeof GpuCluster>[2] = {}) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, 'Test');
  const cluster = new GpuCluster(stack, 'Gpu', props);
  return { app, stack, cluster };
}

/** Manifests of every Custom::AWSCDK-EKS-KubernetesResource whose manifest is a plain string. */
function manifests(stack: Stack): any[] {
  const resources = Template.fromStack(stack).findResources('Custom::AWSCDK-EKS-KubernetesResource');
  const out: any[] = [];
  for (const r of Object.values(resources)) {
    const m = r.Properties.Manifest;
    const text = typeof m === 'string' ? m : JSON.stringify(m);
    try { out.push(...JSON.parse(typeof m === 'string' ? m : flattenJoin(m))); } catch { out.push({ raw: text }); }
  }
  return out;
}
function flattenJoin(v: any): string {
  if (v['Fn::Join']) { return v['Fn::Join'][1].map((p: any) => (typeof p === 'string' ? p : 'TOKEN')).join(v['Fn::Join'][0]); }
  return JSON.stringify(v);
}

describe('GpuCluster', () => {
  test('defines an encrypted, fully logged EKS 1.33 cluster with a public+private endpoint and a warning', () => {
    const { stack } = setup();
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::EKS::Cluster', {
      Version: '1.33',
      EncryptionConfig: [Match.objectLike({ Resources: ['secrets'], Provider: { KeyArn: Match.anyValue() } })],
      Logging: {
        ClusterLogging: {
          EnabledTypes: Match.arrayWith([{ Type: 'api' }, { Type: 'audit' }, { Type: 'authenticator' },
            { Type: 'controllerManager' }, { Type: 'scheduler' }]),
        },
      },
      ResourcesVpcConfig: Match.objectLike({ EndpointPublicAccess: true, EndpointPrivateAccess: true }),
    });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    Annotations.fromStack(stack).hasWarning('/Test/Gpu', Match.stringLikeRegexp('public to any address'));
  });

  test('private-only and allow-listed endpoints', () => {
    const a = setup({ endpoint: ClusterEndpoint.privateOnly() });
    Template.fromStack(a.stack).hasResourceProperties('AWS::EKS::Cluster', {
      ResourcesVpcConfig: Match.objectLike({ EndpointPublicAccess: false, EndpointPrivateAccess: true }),
    });
    Annotations.fromStack(a.stack).hasNoWarning('/Test/Gpu', Match.anyValue());
    const b = setup({ endpoint: ClusterEndpoint.publicAndPrivateFrom('203.0.113.0/24') });
    Template.fromStack(b.stack).hasResourceProperties('AWS::EKS::Cluster', {
      ResourcesVpcConfig: Match.objectLike({ EndpointPublicAccess: true, PublicAccessCidrs: ['203.0.113.0/24'] }),
    });
  });

  test('system node group: 2 x m6i.large on-demand AL2023 with IMDSv2 hop 1 and an encrypted gp3 volume', () => {
    const { stack } = setup();
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::EKS::Nodegroup', {
      AmiType: 'AL2023_x86_64_STANDARD',
      InstanceTypes: ['m6i.large'],
      CapacityType: 'ON_DEMAND',
      ScalingConfig: { MinSize: 2, DesiredSize: 2, MaxSize: 4 },
      LaunchTemplate: Match.objectLike({ Id: Match.anyValue() }),
    });
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: { HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: Match.objectLike({ Encrypted: true, VolumeType: 'gp3', VolumeSize: 50, KmsKeyId: Match.anyValue() }) }],
      }),
    });
  });

  test('admin roles get cluster-admin access entries', () => {
    const app = new App();
    const stack = new Stack(app, 'Test');
    const role = new iam.Role(stack, 'Admin', { assumedBy: new iam.AccountRootPrincipal() });
    new GpuCluster(stack, 'Gpu', { adminRoles: [role] });
    Template.fromStack(stack).hasResourceProperties('AWS::EKS::AccessEntry', {
      PrincipalArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('Admin'), 'Arn'] },
      AccessPolicies: [{
        AccessScope: { Type: 'cluster' },
        PolicyArn: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('AmazonEKSClusterAdminPolicy')])] },
      }],
    });
  });

  test('installs the NVIDIA device plugin; DCGM exporter only on request', () => {
    const { stack } = setup();
    const ds = manifests(stack).filter(m => m.kind === 'DaemonSet');
    expect(ds.map(d => d.metadata.name)).toEqual(['nvidia-device-plugin-daemonset']);
    const dcgm = setup({ dcgmExporter: true });
    const names = manifests(dcgm.stack).filter(m => m.kind === 'DaemonSet').map(d => d.metadata.name).sort();
    expect(names).toEqual(['dcgm-exporter', 'nvidia-device-plugin-daemonset']);
    const exporter = manifests(dcgm.stack).find(m => m.metadata?.name === 'dcgm-exporter');
    expect(exporter.spec.template.spec.containers[0].image).toMatch(/^nvcr\.io\/nvidia\/k8s\/dcgm-exporter:\d/);
    // every manifest the cluster applies (device plugin, DCGM exporter, Karpenter objects) is valid Kubernetes
    const full = setup({ dcgmExporter: true });
    full.cluster.addGpuNodePool('Kp', { provisioner: NodeProvisioner.karpenter() });
    const { objects } = manifestsOfTemplate(Template.fromStack(full.stack).toJSON());
    expect(objects.length).toBeGreaterThanOrEqual(4);
    expect(validateManifests(objects)).toEqual([]);
    expect(exporter.spec.template.spec.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' });
  });

  test.each([
    [{ version: eks.KubernetesVersion.of('1.20') }, 'InvalidVersion'],
    [{ version: eks.KubernetesVersion.of('banana') }, 'InvalidVersion'],
    [{ version: eks.KubernetesVersion.V1_30 }, 'KubectlLayerMismatch'],
    [{ endpoint: ClusterEndpoint.publicAndPrivateFrom('10.0.0.0/33') }, 'InvalidPublicCidr'],
    [{ karpenterVersion: 'v1.14.1' }, 'InvalidKarpenterVersion'],
    [{ systemNodeCount: 0 }, 'InvalidSystemNodeCount'],
  ])('rejects %j with %s', (props, code) => {
    expect(() => setup(props as any)).toThrow(new RegExp(`\\[GpuCluster\\.${code}\\].*\\(at Test/Gpu\\)`));
  });

  test('rejects a private-only endpoint in a VPC without private subnets', () => {
    const app = new App();
    const stack = new Stack(app, 'Test');
    const vpc = new ec2.Vpc(stack, 'Vpc', { subnetConfiguration: [{ name: 'Pub', subnetType: ec2.SubnetType.PUBLIC }] });
    expect(() => new GpuCluster(stack, 'Gpu', { vpc, endpoint: ClusterEndpoint.privateOnly(), vpcSubnets: [{ subnetType: ec2.SubnetType.PUBLIC }] }))
      .toThrow(/\[GpuCluster\.PrivateEndpointWithoutPrivateSubnets\].*\(at Test\/Gpu\)/);
  });
});

describe('GpuNodePool (managed node group)', () => {
  test('AL2023 NVIDIA, taints, labels, scale 0..max, IMDSv2 hop 1, encrypted volume, placement', () => {
    const { stack, cluster } = setup();
    const pool = cluster.addGpuNodePool('Train', {
      instanceTypes: [new ec2.InstanceType('g5.2xlarge'), new ec2.InstanceType('g5.12xlarge')],
      provisioner: NodeProvisioner.managedNodeGroup({ maxSize: 3 }),
      capacityType: GpuCapacityType.SPOT,
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::EKS::Nodegroup', {
      AmiType: 'AL2023_x86_64_NVIDIA',
      CapacityType: 'SPOT',
      InstanceTypes: ['g5.2xlarge', 'g5.12xlarge'],
      ScalingConfig: { MinSize: 0, DesiredSize: 0, MaxSize: 3 },
      Taints: [{ Key: 'nvidia.com/gpu', Value: 'true', Effect: 'NO_SCHEDULE' }],
      Labels: { 'nvidia.com/gpu.present': 'true', 'ml-platform/gpu-pool': 'train', 'k8s.amazonaws.com/accelerator': 'nvidia-a10g' },
      // Cluster Autoscaler node template: every label and taint, and the GPUs of the smallest instance type.
      Tags: {
        'k8s.io/cluster-autoscaler/node-template/label/nvidia.com/gpu.present': 'true',
        'k8s.io/cluster-autoscaler/node-template/label/ml-platform/gpu-pool': 'train',
        'k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu': 'true:NoSchedule',
        'k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu': '1',
      },
    });
    const gpuNodegroup = Object.values(t.findResources('AWS::EKS::Nodegroup')).find(r => r.Properties.Labels['ml-platform/gpu-pool'] === 'train')!;
    expect(Object.keys(gpuNodegroup.Properties.Tags)).toHaveLength(4);
    t.hasResourceProperties('Custom::AWSCDK-EKS-HelmChart', { Chart: 'cluster-autoscaler' });
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: Match.objectLike({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 }),
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: Match.objectLike({ Encrypted: true, VolumeType: 'gp3', VolumeSize: 200 }) }],
      }),
    });
    expect(pool.placement).toEqual({
      poolName: 'train',
      nodeLabels: { 'nvidia.com/gpu.present': 'true', 'ml-platform/gpu-pool': 'train' },
      taints: [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }],
      instanceTypes: ['g5.2xlarge', 'g5.12xlarge'],
      gpusPerInstanceType: [1, 4],
      maxGpus: 12,
    });
  });

  test('hop limit 2 only on opt-in; Bottlerocket NVIDIA keeps the device plugin off', () => {
    const { stack, cluster } = setup();
    const pool = cluster.addGpuNodePool('Infer', {
      allowPodImdsAccess: true, provisioner: NodeProvisioner.managedNodeGroup({ amiType: eks.NodegroupAmiType.BOTTLEROCKET_X86_64_NVIDIA }),
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: Match.objectLike({ HttpPutResponseHopLimit: 2 }),
        BlockDeviceMappings: [Match.objectLike({ DeviceName: '/dev/xvda' }), Match.objectLike({ DeviceName: '/dev/xvdb', Ebs: Match.objectLike({ Encrypted: true }) })],
      }),
    });
    expect(pool.placement.nodeLabels['ml-platform/nvidia-device-plugin']).toBe('builtin');
    const ds = manifests(stack).find(m => m.kind === 'DaemonSet');
    expect(ds.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions)
      .toContainEqual({ key: 'ml-platform/nvidia-device-plugin', operator: 'DoesNotExist' });
  });
});

describe('GpuNodePool (Karpenter)', () => {
  function karpenterStack() {
    const s = setup();
    const pool = s.cluster.addGpuNodePool('Batch', {
      instanceTypes: [new ec2.InstanceType('g6.xlarge'), new ec2.InstanceType('g6.12xlarge')],
      capacityType: GpuCapacityType.SPOT,
      provisioner: NodeProvisioner.karpenter({ maxGpus: 16 }),
    });
    return { ...s, pool };
  }

  test('the AMI alias is pinned by default; @latest is accepted with a warning', () => {
    const pinned = karpenterStack();
    Annotations.fromStack(pinned.stack).hasNoWarning('/Test/Gpu/Batch', Match.stringLikeRegexp('amiAlias'));
    const s = setup();
    s.cluster.addGpuNodePool('Latest', { provisioner: NodeProvisioner.karpenter({ amiAlias: 'al2023@latest' }) });
    Annotations.fromStack(s.stack).hasWarning('/Test/Gpu/Latest', Match.stringLikeRegexp('follows every new AMI release'));
  });

  test('NodePool and EC2NodeClass', () => {
    const { stack, pool } = karpenterStack();
    const all = manifests(stack);
    const nodePool = all.find(m => m.kind === 'NodePool');
    const nodeClass = all.find(m => m.kind === 'EC2NodeClass');
    expect(nodePool.apiVersion).toBe('karpenter.sh/v1');
    expect(nodePool.metadata.name).toBe('batch');
    expect(nodePool.spec.limits).toEqual({ 'nvidia.com/gpu': 16 });
    expect(nodePool.spec.disruption).toEqual({ consolidationPolicy: 'WhenEmpty', consolidateAfter: '600s', budgets: [{ nodes: '1' }] });
    const spec = nodePool.spec.template.spec;
    expect(spec.taints).toEqual([{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }]);
    expect(nodePool.spec.template.metadata.labels).toEqual({ 'nvidia.com/gpu.present': 'true', 'ml-platform/gpu-pool': 'batch' });
    expect(spec.requirements).toEqual(expect.arrayContaining([
      { key: 'karpenter.k8s.aws/instance-gpu-manufacturer', operator: 'In', values: ['nvidia'] },
      { key: 'karpenter.k8s.aws/instance-family', operator: 'In', values: ['g6'] },
      { key: 'karpenter.k8s.aws/instance-gpu-count', operator: 'In', values: ['1', '4'] },
      { key: 'karpenter.sh/capacity-type', operator: 'In', values: ['spot'] },
    ]));
    expect(spec.nodeClassRef).toEqual({ group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'batch' });
    expect(nodeClass.apiVersion).toBe('karpenter.k8s.aws/v1');
    expect(nodeClass.spec.amiSelectorTerms).toEqual([{ alias: 'al2023@v20260512' }]);
    expect(nodeClass.spec.metadataOptions).toEqual({ httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1, httpProtocolIPv6: 'disabled' });
    expect(nodeClass.spec.blockDeviceMappings[0]).toMatchObject({ deviceName: '/dev/xvda', rootVolume: true, ebs: { encrypted: true, volumeType: 'gp3', volumeSize: '200Gi' } });
    expect(pool.placement.maxGpus).toBe(16);
  });

  test('controller: pinned Helm chart, pod identity, node access entry, interruption queue and rules', () => {
    const { stack } = karpenterStack();
    const t = Template.fromStack(stack);
    t.hasResourceProperties('Custom::AWSCDK-EKS-HelmChart', {
      Chart: 'karpenter', Repository: 'oci://public.ecr.aws/karpenter/karpenter', Version: '1.14.1', Namespace: 'kube-system',
    });
    t.hasResourceProperties('AWS::EKS::PodIdentityAssociation', { Namespace: 'kube-system', ServiceAccount: 'karpenter' });
    t.hasResourceProperties('AWS::EKS::Addon', { AddonName: 'eks-pod-identity-agent' });
    t.hasResourceProperties('AWS::EKS::AccessEntry', { Type: 'EC2_LINUX' });
    t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 300 });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    for (const detailType of ['AWS Health Event', 'EC2 Spot Instance Interruption Warning', 'EC2 Instance Rebalance Recommendation',
      'EC2 Instance State-change Notification']) {
      t.hasResourceProperties('AWS::Events::Rule', { EventPattern: Match.objectLike({ 'detail-type': [detailType] }), Targets: [Match.objectLike({ Arn: Match.anyValue() })] });
    }
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'AllowScopedEC2InstanceActionsWithTags' }), Match.objectLike({ Sid: 'AllowPassingInstanceRole' }),
        ]),
      },
    });
  });

  test('one controller for several Karpenter pools', () => {
    const { stack, cluster } = karpenterStack();
    cluster.addGpuNodePool('Other', { provisioner: NodeProvisioner.karpenter() });
    Template.fromStack(stack).resourceCountIs('Custom::AWSCDK-EKS-HelmChart', 1);
  });
});

describe('GpuNodePool validation', () => {
  const cases: Array<[string, (c: GpuCluster) => void, string]> = [
    ['unknown family', c => c.addGpuNodePool('P', { instanceTypes: [new ec2.InstanceType('m5.large')] }), 'NoGpu'],
    ['non-NVIDIA accelerator', c => c.addGpuNodePool('P', { instanceTypes: [new ec2.InstanceType('inf2.xlarge')] }), 'NoGpu'],
    ['unknown size', c => c.addGpuNodePool('P', { instanceTypes: [new ec2.InstanceType('g5.3xlarge')] }), 'UnknownInstanceType'],
    ['empty instance types', c => c.addGpuNodePool('P', { instanceTypes: [] }), 'EmptyInstanceTypes'],
    ['mixed architectures', c => c.addGpuNodePool('P', { instanceTypes: [new ec2.InstanceType('g5.xlarge'), new ec2.InstanceType('g5g.xlarge')] }), 'MixedArchitectures'],
    ['arm type on x86 AMI', c => c.addGpuNodePool('P', { instanceTypes: [new ec2.InstanceType('g5g.xlarge')] }), 'ArchitectureMismatch'],
    ['AL2 GPU AMI on 1.33', c => c.addGpuNodePool('P', { provisioner: NodeProvisioner.managedNodeGroup({ amiType: eks.NodegroupAmiType.AL2_X86_64_GPU }) }), 'Al2GpuAmiUnsupported'],
    ['non-GPU AMI', c => c.addGpuNodePool('P', { provisioner: NodeProvisioner.managedNodeGroup({ amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD }) }), 'NoGpuAmi'],
    ['min > max', c => c.addGpuNodePool('P', { provisioner: NodeProvisioner.managedNodeGroup({ minSize: 3, maxSize: 2 }) }), 'InvalidScaling'],
    ['Karpenter limit below one node', c => c.addGpuNodePool('P', {
      instanceTypes: [new ec2.InstanceType('p4d.24xlarge')],
      provisioner: NodeProvisioner.karpenter({ maxGpus: 4 }),
    }), 'GpuLimitTooLow'],
    ['bad AMI alias', c => c.addGpuNodePool('P', { provisioner: NodeProvisioner.karpenter({ amiAlias: 'al2023' }) }), 'InvalidAmiAlias'],
    ['bad disruption budget', c => c.addGpuNodePool('P', { provisioner: NodeProvisioner.karpenter({ disruptionBudget: 'lots' }) }), 'InvalidDisruptionBudget'],
    ['gpu.present overridden', c => c.addGpuNodePool('P', { labels: { 'nvidia.com/gpu.present': 'false' } }), 'ReservedLabel'],
    ['invalid pool name', c => c.addGpuNodePool('P', { poolName: 'Bad_Name!' }), 'InvalidPoolName'],
    ['pool name too long', c => c.addGpuNodePool('P', { poolName: 'a'.repeat(64) }), 'InvalidPoolName'],
  ];
  test.each(cases)('%s', (_name, build, code) => {
    const { cluster } = setup();
    expect(() => build(cluster)).toThrow(new RegExp(`\\[GpuNodePool\\.${code}\\].*\\(at Test/Gpu/P\\)`));
  });

  test('AL2 GPU AMI is accepted before 1.33', () => {
    const { cluster } = setup({ version: eks.KubernetesVersion.V1_32 });
    expect(() => cluster.addGpuNodePool('P', { provisioner: NodeProvisioner.managedNodeGroup({ amiType: eks.NodegroupAmiType.AL2_X86_64_GPU }) })).not.toThrow();
  });

  test('standalone construct works with the cluster prop', () => {
    const { cluster } = setup();
    expect(new GpuNodePool(cluster, 'P2', { cluster }).poolName).toBe('p2');
  });
});

describe('NvidiaDevicePluginChart', () => {
  test('pinned image, kube-system, toleration, affinity, critical priority, hostPath, no privilege', () => {
    const [ds] = new NvidiaDevicePluginChart(Testing.app(), 'dp').toJson();
    expect(ds.metadata.namespace).toBe('kube-system');
    const pod = ds.spec.template.spec;
    expect(pod.containers[0].image).toBe('nvcr.io/nvidia/k8s-device-plugin:v0.17.4');
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' });
    expect(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([{
      matchExpressions: [
        { key: 'nvidia.com/gpu.present', operator: 'In', values: ['true'] },
        { key: 'ml-platform/nvidia-device-plugin', operator: 'DoesNotExist' },
      ],
    }]);
    expect(pod.volumes).toEqual([{ name: 'device-plugin', hostPath: { path: '/var/lib/kubelet/device-plugins', type: 'Directory' } }]);
    expect(pod.containers[0].securityContext).toMatchObject({ privileged: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  });
});

describe('compliance', () => {
  test.each([
    ['default', {}],
    ['private endpoint', { endpoint: ClusterEndpoint.privateOnly(), dcgmExporter: true }],
  ])('cdk-nag and cfn-lint clean: %s', (_name, props) => {
    const { app, cluster } = setup(props);
    cluster.addGpuNodePool('Managed', { instanceTypes: [new ec2.InstanceType('g5.2xlarge')] });
    cluster.addGpuNodePool('Kp', { provisioner: NodeProvisioner.karpenter() });
    expect(nagFindings(app)).toEqual([]);
    expect(cfnLint(findTemplates(app.outdir))).toEqual([]);
  });
});
