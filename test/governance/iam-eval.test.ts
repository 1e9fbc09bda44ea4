import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Statement, arnOf, evaluate, flatten, roleLogicalId, statementsForRole, wildcardMatch } from '../support/iam-eval';

const allow = (Action: string[], Resource: string[], Condition?: Statement['Condition']): Statement =>
  ({ Effect: 'Allow', Action, Resource, Condition, source: 'test' });
const deny = (Action: string[], Resource: string[], Condition?: Statement['Condition']): Statement =>
  ({ Effect: 'Deny', Action, Resource, Condition, source: 'test' });

describe('iam-eval: values and wildcards', () => {
  test('flatten renders intrinsics as stable strings', () => {
    expect(flatten({ 'Fn::GetAtt': ['Bucket83908E77', 'Arn'] })).toBe('${Bucket83908E77.Arn}');
    expect(flatten({ Ref: 'AWS::Partition' })).toBe('${AWS::Partition}');
    expect(flatten({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::b/', { 'Fn::GetAtt': ['X', 'Name'] }]] }))
      .toBe('arn:${AWS::Partition}:s3:::b/${X.Name}');
    expect(flatten({ 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: 'Machine' }] }] })).toBe('${Select(6,Split(:,${Machine}))}');
    expect(() => flatten({ 'Fn::If': ['C', 'a', 'b'] })).toThrow(/cannot flatten/);
  });

  test('arnOf resolves tokens of a stack the same way', () => {
    const stack = new Stack();
    const bucket = new s3.Bucket(stack, 'Bucket');
    const id = stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
    expect(arnOf(stack, bucket.arnForObjects('a/b.csv'))).toBe(`\${${id}.Arn}/a/b.csv`);
    expect(arnOf(stack, 'literal')).toBe('literal');
  });

  test('wildcards: * any run, ? one character, everything else literal; case only on request', () => {
    expect(wildcardMatch('s3:Get*', 's3:GetObject')).toBe(true);
    expect(wildcardMatch('s3:Get*', 's3:getobject')).toBe(false);
    expect(wildcardMatch('s3:Get*', 's3:getobject', true)).toBe(true);
    expect(wildcardMatch('arn:aws:s3:::b/?.csv', 'arn:aws:s3:::b/a.csv')).toBe(true);
    expect(wildcardMatch('arn:aws:s3:::b/?.csv', 'arn:aws:s3:::b/ab.csv')).toBe(false);
    expect(wildcardMatch('${X.Arn}/*', '${X.Arn}/a/b')).toBe(true);
    expect(wildcardMatch('${X.Arn}/*', '${Y.Arn}/a')).toBe(false);
    expect(wildcardMatch('a.b', 'axb')).toBe(false);
    expect(wildcardMatch('*', '')).toBe(true);
  });
});

describe('iam-eval: decisions', () => {
  test('implicit deny by default, allow when a statement applies, explicit deny wins', () => {
    expect(evaluate([], 's3:GetObject', 'arn:aws:s3:::b/k')).toBe('implicitDeny');
    const s = [allow(['s3:*'], ['*']), deny(['s3:DeleteObject*'], ['arn:aws:s3:::b/*'])];
    expect(evaluate(s, 's3:GetObject', 'arn:aws:s3:::b/k')).toBe('allow');
    expect(evaluate(s, 'S3:deleteobjectversion', 'arn:aws:s3:::b/k')).toBe('explicitDeny');
    expect(evaluate(s, 's3:DeleteObject', 'arn:aws:s3:::other/k')).toBe('allow');
    expect(evaluate(s, 'sqs:SendMessage', 'arn:aws:sqs:::q')).toBe('implicitDeny');
  });

  test('NotAction and NotResource', () => {
    const s: Statement[] = [
      { Effect: 'Allow', NotAction: ['iam:*'], Resource: ['*'], source: 'test' },
      { Effect: 'Deny', Action: ['s3:PutObject'], NotResource: ['arn:aws:s3:::mine/*'], source: 'test' },
    ];
    expect(evaluate(s, 'iam:PassRole', 'arn:aws:iam::1:role/r')).toBe('implicitDeny');
    expect(evaluate(s, 's3:PutObject', 'arn:aws:s3:::mine/k')).toBe('allow');
    expect(evaluate(s, 's3:PutObject', 'arn:aws:s3:::theirs/k')).toBe('explicitDeny');
  });

  test('conditions: a missing key fails the condition (unless IfExists); Null; unknown operators throw', () => {
    const s = [allow(['kms:Decrypt'], ['*'], { StringEquals: { 'kms:ViaService': ['s3.us-east-1.amazonaws.com'] } })];
    expect(evaluate(s, 'kms:Decrypt', 'k')).toBe('implicitDeny');
    expect(evaluate(s, 'kms:Decrypt', 'k', { 'KMS:viaService': 's3.us-east-1.amazonaws.com' })).toBe('allow');
    expect(evaluate(s, 'kms:Decrypt', 'k', { 'kms:ViaService': 'sqs.us-east-1.amazonaws.com' })).toBe('implicitDeny');

    const like = [allow(['s3:ListBucket'], ['*'], { StringLike: { 's3:prefix': ['data/*'] } })];
    expect(evaluate(like, 's3:ListBucket', 'b', { 's3:prefix': 'data/x' })).toBe('allow');
    expect(evaluate(like, 's3:ListBucket', 'b', { 's3:prefix': 'other/x' })).toBe('implicitDeny');

    // A deny whose condition does not hold does not apply.
    const conditionalDeny = [allow(['*'], ['*']), deny(['s3:*'], ['*'], { Bool: { 'aws:SecureTransport': ['false'] } })];
    expect(evaluate(conditionalDeny, 's3:GetObject', 'b', { 'aws:SecureTransport': 'true' })).toBe('allow');
    expect(evaluate(conditionalDeny, 's3:GetObject', 'b', { 'aws:SecureTransport': 'false' })).toBe('explicitDeny');
    expect(evaluate(conditionalDeny, 's3:GetObject', 'b')).toBe('allow');

    const ifExists = [allow(['s3:GetObject'], ['*'], { StringEqualsIfExists: { 'aws:SourceVpc': ['vpc-1'] } })];
    expect(evaluate(ifExists, 's3:GetObject', 'b')).toBe('allow');
    expect(evaluate(ifExists, 's3:GetObject', 'b', { 'aws:SourceVpc': 'vpc-2' })).toBe('implicitDeny');

    const notEquals = [allow(['s3:GetObject'], ['*'], { StringNotEquals: { 'aws:PrincipalTag/team': ['ops'] } })];
    expect(evaluate(notEquals, 's3:GetObject', 'b', { 'aws:PrincipalTag/team': 'ml' })).toBe('allow');
    expect(evaluate(notEquals, 's3:GetObject', 'b', { 'aws:PrincipalTag/team': 'ops' })).toBe('implicitDeny');

    const isNull = [deny(['s3:PutObject'], ['*'], { Null: { 's3:x-amz-server-side-encryption': ['true'] } }), allow(['s3:*'], ['*'])];
    expect(evaluate(isNull, 's3:PutObject', 'b')).toBe('explicitDeny');
    expect(evaluate(isNull, 's3:PutObject', 'b', { 's3:x-amz-server-side-encryption': 'aws:kms' })).toBe('allow');

    expect(() => evaluate([allow(['*'], ['*'], { DateGreaterThan: { 'aws:CurrentTime': ['2020-01-01'] } })], 'a:b', 'c', { 'aws:CurrentTime': 'x' }))
      .toThrow(/not supported/);
    expect(() => evaluate([allow(['*'], ['*'], { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['a'] } })], 'a:b', 'c'))
      .toThrow(/not supported/);
  });
});

describe('iam-eval: statements of a role in a template', () => {
  test('inline policies, AWS::IAM::Policy, customer managed policies (by Roles or ManagedPolicyArns); not other roles', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const role = new iam.Role(stack, 'Role', {
      assumedBy: new iam.AccountRootPrincipal(),
      inlinePolicies: { Inline: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: ['a:Inline'], resources: ['*'] })] }) },
    });
    const other = new iam.Role(stack, 'Other', { assumedBy: new iam.AccountRootPrincipal() });
    const bucket = new s3.Bucket(stack, 'Bucket');
    bucket.grantRead(role);
    other.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['a:Other'], resources: ['*'] }));
    new iam.ManagedPolicy(stack, 'ByRoles', { statements: [new iam.PolicyStatement({ actions: ['a:ByRoles'], resources: ['*'] })], roles: [role] });
    role.addManagedPolicy(new iam.ManagedPolicy(stack, 'ByArn', { statements: [new iam.PolicyStatement({ actions: ['a:ByArn'], resources: ['*'] })] }));
    role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'));

    const statements = statementsForRole(Template.fromStack(stack), roleLogicalId(stack, role));
    const actions = statements.flatMap(s => s.Action ?? []);
    expect(actions).toEqual(expect.arrayContaining(['a:Inline', 'a:ByRoles', 'a:ByArn', 's3:GetObject*']));
    expect(actions).not.toContain('a:Other');
    expect(statements.find(s => s.Action?.includes('a:Inline'))!.source).toBe(`${roleLogicalId(stack, role)}/Inline`);
    // The AWS managed policy is not in the template: ignored, so only what the template defines is evaluated.
    expect(evaluate(statements, 'ec2:RunInstances', '*')).toBe('implicitDeny');
    expect(evaluate(statements, 's3:GetObject', arnOf(stack, bucket.arnForObjects('k')))).toBe('allow');
    expect(evaluate(statements, 'a:Inline', 'x')).toBe('explicitDeny');
    expect(() => statementsForRole(Template.fromStack(stack), 'Nope')).toThrow(/no AWS::IAM::Role/);
  });
});
