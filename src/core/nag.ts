import { Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Flattens a resolved CloudFormation value the way cdk-nag names IAM5 findings
 * (`<Logical.Arn>/prefix/*`, `<Ref>`), so an acknowledgement can name exactly one finding.
 */
function flatten(node: unknown): string {
  if (node === undefined) { return ''; }
  if (typeof node === 'string') { return node.replace(/\$\{/g, '<').replace(/}/g, '>'); }
  const o = node as Record<string, any>;
  if (o['Fn::Join']) { const [d, items] = o['Fn::Join']; return (items as unknown[]).map(flatten).join(d); }
  if (o['Fn::Sub']) { return flatten(o['Fn::Sub']); }
  if (o['Fn::GetAtt']) { const [r, a] = o['Fn::GetAtt']; return `<${flatten(r)}.${flatten(a)}>`; }
  if (o['Fn::ImportValue']) { return flatten(o['Fn::ImportValue']); }
  if (o.Ref !== undefined) { return `<${flatten(o.Ref)}>`; }
  return JSON.stringify(node);
}

/**
 * Acknowledges the AwsSolutions-IAM5 finding for one wildcard resource ARN on `scope` (a role or policy),
 * with the reason. Only that exact finding is acknowledged: any other wildcard still fails.
 */
export function acknowledgeWildcardResource(scope: IConstruct, resourceArn: string, reason: string): void {
  const finding = `Resource::${flatten(Stack.of(scope).resolve(resourceArn))}`;
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[${finding}]`, reason });
}

/**
 * Acknowledges the AwsSolutions-IAM4 finding for one AWS managed policy (e.g.
 * `service-role/AWSLambdaBasicExecutionRole`) on `scope`, with the reason.
 */
export function acknowledgeManagedPolicy(scope: IConstruct, policyName: string, reason: string): void {
  Validations.of(scope).acknowledge({
    id: `AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${policyName}]`,
    reason,
  });
}
