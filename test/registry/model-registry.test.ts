import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { MlPlatformContext, ModelRegistry, ModelRegistryProps } from '../../src';
import { nagFindingsFor } from '../support/nag';

function build(props?: ModelRegistryProps, context?: Record<string, unknown>) {
  const app = new App({ context });
  const stack = new Stack(app, 'Platform');
  const registry = new ModelRegistry(stack, 'Registry', props);
  return { stack, registry, template: Template.fromStack(stack) };
}

function policyOf(grant: (r: ModelRegistry, role: iam.Role) => void): any[] {
  const app = new App();
  const stack = new Stack(app, 'Platform');
  const registry = new ModelRegistry(stack, 'Registry');
  const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  grant(registry, role);
  const [policy] = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')) as any[];
  return policy.Properties.PolicyDocument.Statement;
}

describe('ModelRegistry', () => {
  test('defines a retained model package group with a generated lowercase name', () => {
    const { template, registry } = build();
    expect(registry.modelPackageGroupName).toMatch(/^platform-registry-[0-9a-f]{8}$/);
    template.hasResource('AWS::SageMaker::ModelPackageGroup', {
      Properties: { ModelPackageGroupName: registry.modelPackageGroupName, Tags: [{ Key: 'ml-platform:component', Value: 'model-registry' }] },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('cross-account read: resource policy for the group and its packages', () => {
    const { template } = build({ crossAccountReadAccounts: ['444455556666'], description: 'fraud models' });
    template.hasResourceProperties('AWS::SageMaker::ModelPackageGroup', {
      ModelPackageGroupDescription: 'fraud models',
      ModelPackageGroupPolicy: {
        Statement: [
          Match.objectLike({ Action: ['sagemaker:DescribeModelPackageGroup'], Principal: { AWS: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::444455556666:root']] }] } }),
          Match.objectLike({ Action: ['sagemaker:DescribeModelPackage', 'sagemaker:ListModelPackages'] }),
        ],
      },
    });
  });

  test('grants are separate: register cannot approve, approve cannot register', () => {
    const register = policyOf((r, role) => r.grantRegister(role)).flatMap(s => [s.Action].flat());
    const approve = policyOf((r, role) => r.grantApprove(role)).flatMap(s => [s.Action].flat());
    const read = policyOf((r, role) => r.grantRead(role)).flatMap(s => [s.Action].flat());
    expect(register).toContain('sagemaker:CreateModelPackage');
    expect(register).not.toContain('sagemaker:UpdateModelPackage');
    expect(approve).toContain('sagemaker:UpdateModelPackage');
    expect(approve).not.toContain('sagemaker:CreateModelPackage');
    expect(read).toEqual(['sagemaker:DescribeModelPackageGroup', 'sagemaker:ListModelPackages', 'sagemaker:DescribeModelPackage']);
  });

  test('grants target the group and its packages only', () => {
    const [statement] = policyOf((r, role) => r.grantApprove(role));
    expect(statement.Resource).toEqual([
      { 'Fn::Join': ['', expect.arrayContaining([expect.stringMatching(/:model-package\/platform-registry-[0-9a-f]{8}\/\*$/)])] },
      { 'Fn::GetAtt': [expect.stringMatching(/^Registry/), 'ModelPackageGroupArn'] },
    ]);
  });

  test('onApproved: an EventBridge rule for approvals in this group only', () => {
    const stack = new Stack(new App(), 'Platform');
    const registry = new ModelRegistry(stack, 'Registry');
    registry.onApproved('Deploy');
    registry.onModelPackageStateChange('Audit');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.sagemaker'],
        'detail-type': ['SageMaker Model Package State Change'],
        'detail': { ModelPackageGroupName: [registry.modelPackageGroupName], ModelApprovalStatus: ['Approved'] },
      },
    });
    template.resourceCountIs('AWS::Events::Rule', 2);
  });

  test('fromModelRegistryAttributes', () => {
    const stack = new Stack();
    const registry = ModelRegistry.fromModelRegistryAttributes(stack, 'R', {
      modelPackageGroupArn: 'arn:aws:sagemaker:us-east-1:111111111111:model-package-group/fraud',
    });
    expect(registry.modelPackageGroupName).toBe('fraud');
    expect(registry.modelPackageArnPattern).toMatch(/:sagemaker:us-east-1:111111111111:model-package\/fraud\/\*$/);
  });

  test('nag-clean', () => {
    expect(nagFindingsFor(stack => new ModelRegistry(stack, 'Registry', { crossAccountReadAccounts: ['444455556666'] }))).toEqual([]);
  });

  test.each([
    [{ modelPackageGroupName: 'with_underscore' }, 'InvalidName'],
    [{ modelPackageGroupName: 'a'.repeat(64) }, 'InvalidName'],
    [{ modelPackageGroupName: '-lead' }, 'InvalidName'],
    [{ description: 'x'.repeat(1025) }, 'InvalidDescription'],
    [{ crossAccountReadAccounts: ['12345'] }, 'InvalidAccount'],
  ])('validation %p → %s', (props, code) => {
    expect(() => build(props as ModelRegistryProps)).toThrow(new RegExp(`\\[ModelRegistry\\.${code}\\].*\\(at Platform/Registry\\)`));
  });

  test('DESTROY needs the opt-in', () => {
    expect(() => build({ removalPolicy: RemovalPolicy.DESTROY })).toThrow(/\[ModelRegistry\.DestroyRequiresOptIn\]/);
    expect(() => build({ removalPolicy: RemovalPolicy.DESTROY }, { [MlPlatformContext.REMOVE_DATA_ON_DESTROY]: true })).not.toThrow();
  });
});
