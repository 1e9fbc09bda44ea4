import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import {
  ClusterEndpoint, DataLake, GpuCluster, KubernetesModelServer, ModelRegistry, ModelServerPromoter, NodeProvisioner,
} from '../../src';
import { MODEL_SERVER_PROMOTER_GROUP, promoterRbac } from '../../src/automation/model-server-promoter';
import { cfnLint, findTemplates } from '../support/cfn-lint';
import { manifestsOfTemplate, validateManifests } from '../support/manifests';
import { nagFindings } from '../support/nag';

const SERVE_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serve@sha256:' + 'b'.repeat(64);

function setup(modelKey = 'serving/fraud/') {
  const app = new App();
  const stack = new Stack(app, 'Serve');
  const cluster = new GpuCluster(stack, 'Gpu', { endpoint: ClusterEndpoint.privateOnly() });
  const pool = cluster.addGpuNodePool('Serving', { instanceTypes: [new ec2.InstanceType('g5.xlarge')], provisioner: NodeProvisioner.managedNodeGroup({ maxSize: 4 }) });
  const lake = new DataLake(stack, 'Lake');
  const registry = new ModelRegistry(stack, 'Registry', { modelPackageGroupName: 'fraud-scoring' });
  const server = new KubernetesModelServer(stack, 'Server', {
    cluster, pool, dataLake: lake, image: SERVE_IMAGE, modelKey, serverName: 'fraud-scoring', namespace: 'serving',
  });
  return { app, stack, cluster, lake, registry, server };
}

describe('ModelServerPromoter', () => {
  test('reconciles on every package state change of the group and every 15 minutes, with retries and a dead-letter queue', () => {
    const { stack, registry, server } = setup();
    const promoter = new ModelServerPromoter(stack, 'Promoter', { server, registry });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.sagemaker'],
        'detail-type': ['SageMaker Model Package State Change'],
        'detail': { ModelPackageGroupName: ['fraud-scoring'] },
      },
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 21600 }, DeadLetterConfig: Match.anyValue() })],
    });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
    t.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 1,
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
      Environment: {
        Variables: Match.objectLike({
          SERVER_NAMESPACE: 'serving',
          SERVER_DEPLOYMENT: 'fraud-scoring',
          MODEL_PACKAGE_GROUP: 'fraud-scoring',
          TARGET_PREFIX: 'serving/fraud/',
          SOURCE_PREFIX: 'pipelines/',
        }),
      },
    });
    t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1 });
    expect(promoter.deadLetterAlarm).toBeDefined();
    // No run before the function may reach and patch the Deployment (a 401/403 is not retried).
    for (const [, rule] of Object.entries(t.findResources('AWS::Events::Rule'))) {
      expect(rule.DependsOn).toEqual(expect.arrayContaining([
        stack.resolve((promoter.accessEntry as any).logicalId),
      ]));
    }
  });

  test('vpcSubnets places the function (the default: every private subnet with egress of the cluster VPC)', () => {
    const { stack, registry, server, cluster } = setup();
    const promoter = new ModelServerPromoter(stack, 'Promoter', { server, registry, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, availabilityZones: [cluster.cluster.vpc.availabilityZones[0]] } });
    const fn = Template.fromStack(stack).findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('keeps Serve/Server') } });
    const subnets = JSON.stringify(Object.values(fn)[0].Properties.VpcConfig.SubnetIds);
    // One subnet: the selection (one availability zone) was used instead of the default (every private subnet).
    expect(Object.values(fn)[0].Properties.VpcConfig.SubnetIds).toHaveLength(1);
    expect(subnets).toContain('PrivateSubnet1');
    expect(promoter.promoterFunction.isBoundToVpc).toBe(true);
  });

  test('Kubernetes rights: an access entry with one group, bound to get/patch on this Deployment only', () => {
    const { stack, registry, server } = setup();
    const promoter = new ModelServerPromoter(stack, 'Promoter', { server, registry });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::EKS::AccessEntry', { KubernetesGroups: [MODEL_SERVER_PROMOTER_GROUP], Type: 'STANDARD' });
    const [role, binding] = promoterRbac('serving', 'x', 'fraud-scoring');
    expect(role.rules).toEqual([{ apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['fraud-scoring'], verbs: ['get', 'patch'] }]);
    expect(binding.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: MODEL_SERVER_PROMOTER_GROUP }]);
    const { objects } = manifestsOfTemplate(t.toJSON());
    const rbac = objects.filter(o => o.kind === 'Role' && o.metadata.name.startsWith('cdk-ml-platform-promoter-'));
    expect(rbac).toHaveLength(1);
    expect(rbac[0].rules).toEqual(role.rules);
    expect(validateManifests(objects)).toEqual([]);
    // The Role is applied after the server's objects (its namespace among them).
    expect(promoter.rbac.node.dependencies).toContain(server.manifest);
  });

  test('IAM: reads the group and the pipelines prefix of the models zone, writes only below the server key', () => {
    const { stack, registry, server } = setup();
    const promoter = new ModelServerPromoter(stack, 'Promoter', { server, registry });
    const roleId = stack.resolve((promoter.promoterFunction.role!.node.defaultChild as any).logicalId);
    const policies = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
      .filter((p: any) => JSON.stringify(p.Properties.Roles).includes(roleId));
    const statements = policies.flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const text = JSON.stringify(statements);
    expect(text).toContain('sagemaker:ListModelPackages');
    expect(text).toContain('sagemaker:DescribeModelPackage');
    expect(text).toContain('eks:DescribeCluster');
    expect(text).toContain('/pipelines/*');
    const writes = statements.filter((s: any) => [].concat(s.Action).some((a: string) => a.startsWith('s3:Put') || a.startsWith('s3:Delete') || a === 's3:*'));
    expect(writes.length).toBeGreaterThan(0);
    for (const w of writes) { expect(JSON.stringify(w.Resource)).toContain('/serving/fraud/*'); }
    // The pipelines prefix is read-only: no statement writes there.
    for (const w of writes) { expect(JSON.stringify(w.Resource)).not.toContain('/pipelines/*'); }
    const reads = statements.filter((s: any) => JSON.stringify(s.Resource).includes('/pipelines/*'));
    expect(reads.flatMap((s: any) => [].concat(s.Action))).toContain('s3:GetObject');
    // The lake key, for the server-side copy of an encrypted object into an encrypted key.
    expect(statements.flatMap((s: any) => [].concat(s.Action))).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey']));
  });

  test('is clean under AwsSolutions and NIST 800-53 R5, and cfn-lint', () => {
    const { app, stack, registry, server } = setup();
    new ModelServerPromoter(stack, 'Promoter', { server, registry, reconcileInterval: Duration.minutes(15) });
    expect(nagFindings(app).filter(f => f.constructPath.includes('/Promoter'))).toEqual([]);
    expect(cfnLint(findTemplates(app.synth().directory))).toEqual([]);
  });

  test('[ModelServerPromoter.ModelKeyNotPrefix] a server that loads one object', () => {
    const { stack, registry, server } = setup('serving/fraud/model.tar.gz');
    expect(() => new ModelServerPromoter(stack, 'Promoter', { server, registry })).toThrow(/\[ModelServerPromoter\.ModelKeyNotPrefix\].*Serve\/Promoter/s);
  });

  test('[ModelServerPromoter.InvalidSourcePrefix] and [ModelServerPromoter.InvalidReconcileInterval]', () => {
    const { stack, registry, server } = setup();
    expect(() => new ModelServerPromoter(stack, 'A', { server, registry, sourcePrefix: 'pipelines/*' }))
      .toThrow(/\[ModelServerPromoter\.InvalidSourcePrefix\].*Serve\/A/s);
    expect(() => new ModelServerPromoter(stack, 'B', { server, registry, reconcileInterval: Duration.minutes(1) }))
      .toThrow(/\[ModelServerPromoter\.InvalidReconcileInterval\].*Serve\/B/s);
  });
});
