import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import {
  CLUSTER_AUTOSCALER_CHART_REPOSITORY, CLUSTER_AUTOSCALER_CHART_VERSION, CLUSTER_AUTOSCALER_IMAGE_REPOSITORY, CLUSTER_AUTOSCALER_IMAGE_TAG,
} from '../../src/compute/cluster-autoscaler';
import { GpuCluster, GpuClusterProps } from '../../src/compute/gpu-cluster';
import { NodeProvisioner } from '../../src/compute/gpu-node-pool';
import { cfnLint, findTemplates } from '../support/cfn-lint';
import { manifestsOfTemplate, validateManifests } from '../support/manifests';
import { nagFindings } from '../support/nag';

process.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = '20';

/** Synth output directories of this file (each holds a copy of the kubectl layer), removed after the tests. */
const outdirs: string[] = [];
afterAll(() => { for (const dir of outdirs) { fs.rmSync(dir, { recursive: true, force: true }); } });

function setup(props: GpuClusterProps = {}) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, 'Test');
  const cluster = new GpuCluster(stack, 'Gpu', props);
  return { app, stack, cluster };
}

/** A cluster with one default (scale-from-zero) managed GPU pool. */
function managedStack(props: GpuClusterProps = {}) {
  const s = setup(props);
  const pool = s.cluster.addGpuNodePool('Train', { instanceTypes: [new ec2.InstanceType('g5.2xlarge'), new ec2.InstanceType('g5.12xlarge')] });
  return { ...s, pool };
}

const helmCharts = (stack: Stack) => Template.fromStack(stack).findResources('Custom::AWSCDK-EKS-HelmChart', { Properties: { Chart: 'cluster-autoscaler' } });

/** The Values of the cluster-autoscaler Helm chart, with tokens (Fn::Join parts) replaced by `TOKEN`. */
function chartValues(stack: Stack): any {
  const [chart] = Object.values(helmCharts(stack));
  const v = chart.Properties.Values;
  const text = typeof v === 'string' ? v : v['Fn::Join'][1].map((p: any) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  return JSON.parse(text);
}

function autoscalerPolicyStatements(stack: Stack): any[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  const statements = Object.entries(policies)
    .filter(([logicalId]) => logicalId.includes('ClusterAutoscaler'))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
  expect(statements.length).toBeGreaterThan(0);
  return statements;
}

describe('ClusterAutoscaler', () => {
  test('pinned Helm chart from the kubernetes/autoscaler repository, with pinned 1.33 image', () => {
    expect(CLUSTER_AUTOSCALER_CHART_VERSION).toBe('9.47.0');
    expect(CLUSTER_AUTOSCALER_IMAGE_TAG).toMatch(/^v1\.33\.\d+$/);
    const { stack } = managedStack();
    Template.fromStack(stack).hasResourceProperties('Custom::AWSCDK-EKS-HelmChart', {
      Chart: 'cluster-autoscaler',
      Repository: 'https://kubernetes.github.io/autoscaler',
      Version: '9.47.0',
      Release: 'cluster-autoscaler',
      Namespace: 'kube-system',
    });
    expect(CLUSTER_AUTOSCALER_CHART_REPOSITORY).toBe('https://kubernetes.github.io/autoscaler');
    const values = chartValues(stack);
    expect(values.image).toEqual({ repository: CLUSTER_AUTOSCALER_IMAGE_REPOSITORY, tag: CLUSTER_AUTOSCALER_IMAGE_TAG });
    expect(CLUSTER_AUTOSCALER_IMAGE_REPOSITORY).toBe('registry.k8s.io/autoscaling/cluster-autoscaler');
  });

  test('values: cluster name, region, pod-identity service account, args, system nodes only, one replica, requests', () => {
    const { stack } = managedStack();
    const values = chartValues(stack);
    expect(values.cloudProvider).toBe('aws');
    expect(values.autoDiscovery).toEqual({ clusterName: 'TOKEN' });
    expect(values.awsRegion).toBe('TOKEN');
    expect(values.rbac.serviceAccount).toEqual({ create: false, name: 'cluster-autoscaler' });
    expect(values.extraArgs).toEqual({
      'balance-similar-node-groups': true,
      'skip-nodes-with-system-pods': false,
      'expander': 'least-waste',
      'scale-down-unneeded-time': '10m',
    });
    expect(values.nodeSelector).toEqual({ 'ml-platform/node-role': 'system' });
    expect(values.tolerations).toEqual([]);
    expect(values.replicaCount).toBe(1);
    expect(values.resources.requests).toEqual({ cpu: '100m', memory: '600Mi' });
    expect(values.podAnnotations).toEqual({ 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' });

    // The cluster name and region are the real cluster's, not literals.
    const [chart] = Object.values(helmCharts(stack));
    const joined = JSON.stringify(chart.Properties.Values);
    const clusterId = Object.keys(Template.fromStack(stack).findResources('AWS::EKS::Cluster'))[0];
    expect(joined).toContain(`{"Ref":"${clusterId}"}`);
    expect(joined).toContain('{"Ref":"AWS::Region"}');
  });

  test('the chart waits for its service account and the system node group', () => {
    const { stack } = managedStack();
    const [chart] = Object.values(helmCharts(stack));
    const t = Template.fromStack(stack);
    const systemNg = Object.entries(t.findResources('AWS::EKS::Nodegroup')).find(([, r]) => r.Properties.Labels?.['ml-platform/node-role'] === 'system')![0];
    expect(chart.DependsOn).toEqual(expect.arrayContaining([systemNg]));
    expect(chart.DependsOn.some((d: string) => d.includes('ClusterAutoscalerServiceAccount'))).toBe(true);
  });

  test('pod identity association for kube-system/cluster-autoscaler', () => {
    const { stack } = managedStack();
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::EKS::PodIdentityAssociation', { Namespace: 'kube-system', ServiceAccount: 'cluster-autoscaler' });
    t.resourceCountIs('AWS::EKS::Addon', 1);
    t.hasResourceProperties('AWS::EKS::Addon', { AddonName: 'eks-pod-identity-agent' });
    const sa = manifestsOfTemplate(t.toJSON()).objects.find(m => m.kind === 'ServiceAccount' && m.metadata.name === 'cluster-autoscaler');
    expect(sa?.metadata.namespace).toBe('kube-system');
  });

  test('IAM: Describe* on *, DescribeNodegroup on this cluster, scaling only of Auto Scaling groups tagged for this cluster', () => {
    const { stack } = managedStack();
    const statements = autoscalerPolicyStatements(stack);
    const describe = statements.find(s => s.Sid === 'AllowNodeGroupDiscovery');
    expect(describe.Resource).toBe('*');
    expect(describe.Condition).toBeUndefined();
    expect(describe.Action).toEqual(expect.arrayContaining([
      'autoscaling:DescribeAutoScalingGroups', 'autoscaling:DescribeAutoScalingInstances', 'autoscaling:DescribeLaunchConfigurations',
      'autoscaling:DescribeScalingActivities', 'autoscaling:DescribeTags', 'ec2:DescribeImages', 'ec2:DescribeInstanceTypes',
      'ec2:DescribeLaunchTemplateVersions', 'ec2:GetInstanceTypesFromInstanceRequirements',
    ]));
    expect(describe.Action.some((a: string) => !/^(autoscaling|ec2):(Describe|Get)/.test(a))).toBe(false);

    const nodegroups = statements.find(s => s.Sid === 'AllowDescribeOwnNodegroups');
    expect(nodegroups.Action).toBe('eks:DescribeNodegroup');
    const clusterId = Object.keys(Template.fromStack(stack).findResources('AWS::EKS::Cluster'))[0];
    expect(nodegroups.Resource['Fn::Join'][1].slice(-3)).toEqual([':nodegroup/', { Ref: clusterId }, '/*/*']);

    const scaling = statements.find(s => s.Sid === 'AllowScalingOwnNodegroups');
    expect(scaling.Action).toEqual(['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup']);
    expect(scaling.Resource).toBe('*');
    expect(scaling.Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/eks:cluster-name': { Ref: clusterId } },
      StringEqualsIgnoreCase: { 'aws:ResourceTag/k8s.io/cluster-autoscaler/enabled': 'true' },
    });
    // No other statement grants a mutating Auto Scaling or EC2 action.
    const mutating = statements.flatMap(s => [s.Action].flat()).filter((a: string) => !/^(autoscaling|ec2|eks):(Describe|Get)/.test(a));
    expect(mutating.sort()).toEqual(['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup']);
  });

  test('installed once for two managed pools; enableClusterAutoscaler() is idempotent', () => {
    const { stack, cluster } = managedStack();
    cluster.addGpuNodePool('Infer', { provisioner: NodeProvisioner.managedNodeGroup({ maxSize: 2 }) });
    expect(cluster.enableClusterAutoscaler()).toBe(cluster.enableClusterAutoscaler());
    const t = Template.fromStack(stack);
    expect(Object.keys(helmCharts(stack))).toHaveLength(1);
    t.resourceCountIs('AWS::EKS::PodIdentityAssociation', 1);
  });

  test('not installed for a Karpenter-only cluster, nor for a fixed-size managed pool', () => {
    const k = setup();
    k.cluster.addGpuNodePool('Batch', { provisioner: NodeProvisioner.karpenter() });
    expect(Object.keys(helmCharts(k.stack))).toHaveLength(0);
    Template.fromStack(k.stack).resourcePropertiesCountIs('AWS::EKS::PodIdentityAssociation', { ServiceAccount: 'cluster-autoscaler' }, 0);

    const f = setup();
    f.cluster.addGpuNodePool('Fixed', { provisioner: NodeProvisioner.managedNodeGroup({ minSize: 2, maxSize: 2 }) });
    expect(Object.keys(helmCharts(f.stack))).toHaveLength(0);
    Annotations.fromStack(f.stack).hasNoWarning('*', Match.stringLikeRegexp('Pending'));
  });

  test('clusterAutoscaler: true installs it without any pool', () => {
    const { stack } = setup({ clusterAutoscaler: true });
    expect(Object.keys(helmCharts(stack))).toHaveLength(1);
  });

  test('opt-out: no autoscaler, a warning on each managed pool starting at zero, coded error on enableClusterAutoscaler()', () => {
    const { stack, cluster } = managedStack({ clusterAutoscaler: false });
    cluster.addGpuNodePool('Warm', { provisioner: NodeProvisioner.managedNodeGroup({ minSize: 1, maxSize: 3 }) });
    cluster.addGpuNodePool('Batch', { provisioner: NodeProvisioner.karpenter() });
    expect(Object.keys(helmCharts(stack))).toHaveLength(0);
    const annotations = Annotations.fromStack(stack);
    annotations.hasWarning('/Test/Gpu/Train', Match.stringLikeRegexp('pods will stay Pending until nodes exist'));
    annotations.hasNoWarning('/Test/Gpu/Warm', Match.stringLikeRegexp('Pending'));
    annotations.hasNoWarning('/Test/Gpu/Batch', Match.stringLikeRegexp('Pending'));
    expect(() => cluster.enableClusterAutoscaler()).toThrow(/\[GpuCluster\.ClusterAutoscalerDisabled\].*\(at Test\/Gpu\)/);
  });

  test('warns when the cluster minor differs from the autoscaler minor', () => {
    const a = managedStack({ version: eks.KubernetesVersion.V1_32 });
    Annotations.fromStack(a.stack).hasWarning('/Test/Gpu/ClusterAutoscaler', Match.stringLikeRegexp('built for Kubernetes 1.33'));
    const b = managedStack();
    Annotations.fromStack(b.stack).hasNoWarning('/Test/Gpu/ClusterAutoscaler', Match.anyValue());
  });

  test('every manifest the cluster applies validates', () => {
    const { stack } = managedStack();
    const { objects } = manifestsOfTemplate(Template.fromStack(stack).toJSON());
    expect(objects.length).toBeGreaterThan(0);
    expect(validateManifests(objects)).toEqual([]);
  });

  test('cdk-nag (AwsSolutions, NIST 800-53 R5) and cfn-lint clean', () => {
    const { app, cluster } = managedStack({ endpoint: undefined });
    cluster.addGpuNodePool('Infer', { provisioner: NodeProvisioner.managedNodeGroup({ maxSize: 2 }) });
    expect(nagFindings(app)).toEqual([]);
    expect(cfnLint(findTemplates(app.outdir))).toEqual([]);
  });
});
