import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cdk8s from 'cdk8s';
import { KUBEFLOW_LAUNCHER_GROUP, KubeflowJobLauncher, KubeflowJobLauncherProps, launcherRbac } from '../../src/automation/kubeflow-launcher';
import { ClusterEndpoint, GpuCluster } from '../../src/compute/gpu-cluster';
import { MlPlatformError } from '../../src/core/errors';
import { DataLake } from '../../src/data/data-lake';
import { GPU_POOL_LABEL, GPU_PRESENT_LABEL, GPU_TAINT_EFFECT, GPU_TAINT_KEY, GPU_TAINT_VALUE, GpuPoolPlacement } from '../../src/k8s/gpu-scheduling';
import { KubeflowTrainingJob, KubeflowTrainingJobProps } from '../../src/training/kubeflow-training-job';
import { cfnLint, findTemplates } from '../support/cfn-lint';
import { validateManifests } from '../support/manifests';
import { nagFindingsFor } from '../support/nag';

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-train:1.4.2';
const placement: GpuPoolPlacement = {
  poolName: 'a10g',
  nodeLabels: { [GPU_PRESENT_LABEL]: 'true', [GPU_POOL_LABEL]: 'a10g' },
  taints: [{ key: GPU_TAINT_KEY, value: GPU_TAINT_VALUE, effect: GPU_TAINT_EFFECT }],
  instanceTypes: ['g5.2xlarge'],
  gpusPerInstanceType: [1],
  maxGpus: 8,
};

function templateJob(props: Partial<KubeflowTrainingJobProps> = {}): KubeflowTrainingJob {
  return new KubeflowTrainingJob(new cdk8s.Chart(new cdk8s.App(), 'Template'), 'Train', {
    placement, image: IMAGE, jobName: 'fraud-train', namespace: 'training', command: ['torchrun', 'train.py'], ...props,
  });
}

function build(stack: Stack, props: Partial<KubeflowJobLauncherProps> = {}, jobProps: Partial<KubeflowTrainingJobProps> = {}): KubeflowJobLauncher {
  const gpu = new GpuCluster(stack, 'Gpu', { endpoint: ClusterEndpoint.privateOnly() });
  const lake = new DataLake(stack, 'Lake');
  return new KubeflowJobLauncher(stack, 'Launcher', { cluster: gpu.cluster, job: templateJob(jobProps), dataLake: lake, ...props });
}

function synth(props: Partial<KubeflowJobLauncherProps> = {}) {
  const stack = new Stack(new App(), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const launcher = build(stack, props);
  return { stack, launcher, template: Template.fromStack(stack) };
}

function codesOf(fn: () => unknown): string[] {
  try { fn(); } catch (e) { if (e instanceof MlPlatformError) { return e.codes; } throw e; }
  return [];
}

describe('KubeflowJobLauncher', () => {
  const { stack, launcher, template } = synth();

  test('access entry maps the function role to the launcher group only, with no access policy', () => {
    template.hasResourceProperties('AWS::EKS::AccessEntry', {
      PrincipalArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('LauncherFunctionServiceRole'), 'Arn'] },
      KubernetesGroups: [KUBEFLOW_LAUNCHER_GROUP],
      Type: 'STANDARD',
    });
    const entries = template.findResources('AWS::EKS::AccessEntry', { Properties: { KubernetesGroups: [KUBEFLOW_LAUNCHER_GROUP] } });
    expect(Object.values(entries).map((e: any) => e.Properties.AccessPolicies)).toEqual([undefined]);
  });

  function rbacManifests(): any[] {
    const res = template.findResources('Custom::AWSCDK-EKS-KubernetesResource');
    const rbac = Object.values(res).map((r: any) => r.Properties.Manifest).find(m => typeof m === 'string' && m.includes(KUBEFLOW_LAUNCHER_GROUP));
    expect(typeof rbac).toBe('string');
    return JSON.parse(rbac);
  }

  test('RBAC: one namespaced Role with exactly create/get/list/watch/delete on pytorchjobs, bound to the group', () => {
    const manifests = rbacManifests();
    expect(manifests.map((m: any) => m.kind).sort()).toEqual(['Role', 'RoleBinding']);
    const role = manifests.find((m: any) => m.kind === 'Role');
    expect(role.metadata.namespace).toBe('training');
    expect(role.rules).toEqual([{ apiGroups: ['kubeflow.org'], resources: ['pytorchjobs'], verbs: ['create', 'get', 'list', 'watch', 'delete'] }]);
    const binding = manifests.find((m: any) => m.kind === 'RoleBinding');
    expect(binding.metadata.namespace).toBe('training');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: KUBEFLOW_LAUNCHER_GROUP }]);
    expect(launcher.namespace).toBe('training');
  });

  test('every manifest is valid (the RBAC objects and a rendered job template)', () => {
    expect(validateManifests(rbacManifests())).toEqual([]);
    expect(validateManifests(launcherRbac('other', 'x'))).toEqual([]);
  });

  test('IAM: DescribeCluster on the cluster only, step answers on pipeline executions, SQS consume', () => {
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('LauncherFunctionServiceRole') }] } });
    const statements = Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const describe = statements.find((s: any) => s.Action === 'eks:DescribeCluster');
    expect(describe.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Gpu/), 'Arn'] });
    const answer = statements.find((s: any) => Array.isArray(s.Action) && s.Action.includes('sagemaker:SendPipelineExecutionStepSuccess'));
    expect(answer.Action).toEqual(['sagemaker:SendPipelineExecutionStepSuccess', 'sagemaker:SendPipelineExecutionStepFailure']);
    expect(JSON.stringify(answer.Resource)).toContain(':pipeline/*/execution/*');
    const actions = statements.flatMap((s: any) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:SendMessage']));
    expect(actions.filter((a: string) => a.startsWith('eks:'))).toEqual(['eks:DescribeCluster']);
    expect(actions.some((a: string) => a === '*' || a === 'sagemaker:*' || a === 'eks:*')).toBe(false);
  });

  test('queue: KMS, DLQ, SSL only; partial batch responses', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: Match.anyValue(),
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
      VisibilityTimeout: 720,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { FunctionResponseTypes: ['ReportBatchItemFailures'], BatchSize: 5 });
  });

  test('function: in the cluster VPC private subnets, HTTPS to the cluster security group, template in the environment', () => {
    const fns = template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('Kubeflow PyTorchJob launcher') } });
    const fn: any = Object.values(fns)[0];
    expect(fn.Properties.VpcConfig.SubnetIds).toHaveLength(3);
    expect(JSON.stringify(fn.Properties.VpcConfig.SubnetIds)).toContain('PrivateSubnet');
    const vars = fn.Properties.Environment.Variables;
    expect(vars.JOB_NAMESPACE).toBe('training');
    // The handler answers the step on the delivery that would move the message to the DLQ.
    expect(vars.MAX_RECEIVE_COUNT).toBe('5');
    expect(vars.JOB_NAME_PREFIX).toBe('fraud-train');
    expect(vars.WATCH_INTERVAL_SECONDS).toBe('300');
    const job = JSON.parse(vars.JOB_TEMPLATE);
    expect(job.kind).toBe('PyTorchJob');
    expect(job.spec.pytorchReplicaSpecs.Master.template.spec.containers[0].image).toBe(IMAGE);
    expect(job.spec.pytorchReplicaSpecs.Master.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe(1);
    expect(JSON.stringify(vars.OUTPUT_PREFIX)).toContain('s3://');
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('LauncherSecurityGroup'), 'GroupId'] },
    });
  });

  test('cdk-nag AwsSolutions and NIST 800-53 R5 find nothing', () => {
    expect(nagFindingsFor(s => { build(s); })).toEqual([]);
  });

  test('cfn-lint clean', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'launcher-'));
    try {
      const app = new App({ outdir: dir });
      build(new Stack(app, 'Lint'));
      app.synth();
      expect(cfnLint(findTemplates(dir))).toEqual([]);
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });

  describe('coded errors', () => {
    const run = (props: Partial<KubeflowJobLauncherProps>, jobProps: Partial<KubeflowTrainingJobProps> = {}) =>
      codesOf(() => build(new Stack(new App(), 'E'), props, jobProps));
    test('InvalidNamespace', () => expect(run({ namespace: 'Bad_NS' }, { namespace: undefined })).toEqual(['KubeflowJobLauncher.InvalidNamespace']));
    test('NamespaceMismatch', () => expect(run({ namespace: 'other' })).toEqual(['KubeflowJobLauncher.NamespaceMismatch']));
    test('InvalidJobNamePrefix', () => expect(run({ jobNamePrefix: '9-starts-with-digit' })).toEqual(['KubeflowJobLauncher.InvalidJobNamePrefix']));
    test('InvalidWatchInterval', () => expect(run({ watchInterval: Duration.minutes(20) })).toEqual(['KubeflowJobLauncher.InvalidWatchInterval']));
    test('InvalidMaxRunTime', () => expect(run({ watchInterval: Duration.minutes(10), maxRunTime: Duration.minutes(5) })).toEqual(['KubeflowJobLauncher.InvalidMaxRunTime']));
    test('TemplateTooLarge', () => expect(run({}, { env: Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`VAR_${i}`, 'x'.repeat(40)])) }))
      .toEqual(['KubeflowJobLauncher.TemplateTooLarge']));
  });
});
