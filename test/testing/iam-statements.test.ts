import { App, Aws, CfnCondition, Fn, NestedStack, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { IamStatementKind, IamStatements } from '../../src/testing';

/** A stack with known grants: a role reading a TLS-only bucket and sending to a queue, a nested stack publishing. */
function build() {
  const app = new App();
  const stack = new Stack(app, 'Kit');
  const role = new iam.Role(stack, 'Worker', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  const bucket = new s3.Bucket(stack, 'Data', { enforceSSL: true });
  bucket.grantRead(role, 'features/*');
  const queue = new sqs.Queue(stack, 'Jobs');
  queue.grantSendMessages(role);
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    effect: iam.Effect.DENY,
    actions: ['sagemaker:UpdateModelPackage'],
    resources: ['*'],
    conditions: { StringEquals: { 'aws:RequestedRegion': ['us-east-1', 'eu-west-1'] } },
  }));
  const nested = new NestedStack(stack, 'Serving');
  const publisher = new iam.Role(nested, 'Publisher', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
  new sns.Topic(nested, 'Events').grantPublish(publisher);
  return { app, stack };
}

describe('IamStatements', () => {
  test('lists identity, trust and resource statements of the stack and its nested stacks, sorted', () => {
    const { stack } = build();
    const rows = IamStatements.of(stack);
    expect(rows).toStrictEqual(EXPECTED);
  });

  test('renders a table a reviewer reads in a diff', () => {
    const text = IamStatements.render(build().stack);
    expect(text).toContain([
      'DENY Worker  [identity, Kit, WorkerDefaultPolicyD9676315]',
      '  action    sagemaker:UpdateModelPackage',
      '  resource  *',
      '  condition {"StringEquals":{"aws:RequestedRegion":["eu-west-1","us-east-1"]}}',
    ].join('\n'));
    expect(text).toContain('ALLOW Serving/Publisher  [identity, Kit/Serving, PublisherDefaultPolicy113227AA]\n  action    sns:Publish\n  resource  ${EventsD32975C2}\n');
    expect(text.split('\n\n')).toHaveLength(7);
  });

  test('covers inline and managed policies, Lambda permissions and intrinsics it cannot flatten', () => {
    const stack = new Stack(new App(), 'Other');
    const role = new iam.Role(stack, 'Job', {
      assumedBy: new iam.AccountRootPrincipal(),
      inlinePolicies: { Logs: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ sid: 'Write', actions: ['logs:PutLogEvents', 'logs:CreateLogStream'], resources: ['*'] })] }) },
    });
    new iam.ManagedPolicy(stack, 'Managed', {
      roles: [role],
      statements: [new iam.PolicyStatement({ notActions: ['iam:*'], notResources: ['arn:aws:s3:::secret/*'], effect: iam.Effect.DENY })],
    });
    const cond = new CfnCondition(stack, 'InUsEast1', { expression: Fn.conditionEquals(Aws.REGION, 'us-east-1') });
    new lambda.CfnPermission(stack, 'Invoke', {
      action: 'lambda:InvokeFunction',
      functionName: 'arn:aws:lambda:us-east-1:123456789012:function:f',
      principal: 's3.amazonaws.com',
      sourceAccount: Fn.conditionIf(cond.logicalId, '123456789012', Aws.ACCOUNT_ID).toString(),
    });
    const rows = IamStatements.of(stack);
    expect(rows).toContainEqual({
      stack: 'Other',
      kind: IamStatementKind.IDENTITY,
      principal: 'Job',
      policy: 'JobB9D00F9F/Logs',
      sid: 'Write',
      effect: 'Allow',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: ['*'],
    });
    expect(rows).toContainEqual({
      stack: 'Other',
      kind: IamStatementKind.IDENTITY,
      principal: 'Job',
      policy: 'Managed658ACE2E',
      effect: 'Deny',
      actions: ['NOT iam:*'],
      resources: ['NOT arn:aws:s3:::secret/*'],
    });
    expect(rows).toContainEqual({
      stack: 'Other',
      kind: IamStatementKind.RESOURCE,
      principal: 'Service:s3.amazonaws.com',
      policy: 'Invoke',
      effect: 'Allow',
      actions: ['lambda:InvokeFunction'],
      resources: ['arn:aws:lambda:us-east-1:123456789012:function:f'],
      conditions: '{"StringEquals":{"AWS:SourceAccount":"${Fn::If([\\"InUsEast1\\",\\"123456789012\\",{\\"Ref\\":\\"AWS::AccountId\\"}])}"}}',
    });
  });

  test('the order is stable across two syntheses', () => {
    expect(IamStatements.render(build().stack)).toEqual(IamStatements.render(build().stack));
    expect(IamStatements.of(build().stack)).toEqual(IamStatements.of(build().stack));
  });
});

const EXPECTED = [
  {
    stack: 'Kit',
    kind: IamStatementKind.RESOURCE,
    principal: 'AWS:*',
    policy: 'DataPolicyB80589C3',
    effect: 'Deny',
    actions: ['s3:*'],
    resources: ['${Data666C94C7.Arn}', '${Data666C94C7.Arn}/*'],
    conditions: '{"Bool":{"aws:SecureTransport":"false"}}',
  },
  {
    stack: 'Kit',
    kind: IamStatementKind.TRUST,
    principal: 'Service:lambda.amazonaws.com',
    policy: 'Worker11F36D0F/AssumeRolePolicy',
    effect: 'Allow',
    actions: ['sts:AssumeRole'],
    resources: [],
  },
  {
    stack: 'Kit',
    kind: IamStatementKind.IDENTITY,
    principal: 'Worker',
    policy: 'WorkerDefaultPolicyD9676315',
    effect: 'Allow',
    actions: ['s3:GetBucket*', 's3:GetObject*', 's3:List*'],
    resources: ['${Data666C94C7.Arn}', '${Data666C94C7.Arn}/features/*'],
  },
  {
    stack: 'Kit',
    kind: IamStatementKind.IDENTITY,
    principal: 'Worker',
    policy: 'WorkerDefaultPolicyD9676315',
    effect: 'Allow',
    actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
    resources: ['${JobsDF1CC2D4.Arn}'],
  },
  {
    stack: 'Kit',
    kind: IamStatementKind.IDENTITY,
    principal: 'Worker',
    policy: 'WorkerDefaultPolicyD9676315',
    effect: 'Deny',
    actions: ['sagemaker:UpdateModelPackage'],
    resources: ['*'],
    conditions: '{"StringEquals":{"aws:RequestedRegion":["eu-west-1","us-east-1"]}}',
  },
  // the nested stack: its own template, principals named by their path below the root stack
  {
    stack: 'Kit/Serving',
    kind: IamStatementKind.TRUST,
    principal: 'Service:states.amazonaws.com',
    policy: 'PublisherF0355618/AssumeRolePolicy',
    effect: 'Allow',
    actions: ['sts:AssumeRole'],
    resources: [],
  },
  {
    stack: 'Kit/Serving',
    kind: IamStatementKind.IDENTITY,
    principal: 'Serving/Publisher',
    policy: 'PublisherDefaultPolicy113227AA',
    effect: 'Allow',
    actions: ['sns:Publish'],
    resources: ['${EventsD32975C2}'],
  },
];
