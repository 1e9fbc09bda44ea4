import { Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cr from 'aws-cdk-lib/custom-resources';
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
  const finding = () => `Resource::${flatten(Stack.of(scope).resolve(resourceArn))}`;
  const now = finding();
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[${now}]`, reason });
  // A reference to another stack (e.g. the data lake from a model's nested stack) resolves to a parameter of this
  // stack only once synthesis has wired the references, which is how cdk-nag sees it: acknowledge that form too,
  // from a validation (it runs after references are resolved and before the policy-validation plugins).
  scope.node.addValidation({
    validate: () => {
      const later = finding();
      if (later !== now) {
        Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[${later}]`, reason });
      }
      return [];
    },
  });
}

/**
 * Acknowledges the AwsSolutions-IAM5 finding for one wildcard action (e.g. `kms:ReEncrypt*`) on `scope`, with the
 * reason. Only that exact finding is acknowledged.
 */
export function acknowledgeWildcardAction(scope: IConstruct, action: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[Action::${action}]`, reason });
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

/**
 * Acknowledges the findings inherent to a deploy-time custom resource: its handler function and the
 * aws-cdk-lib Provider framework function, both invoked only by CloudFormation during deployments.
 */
export function acknowledgeCustomResourceProvider(onEvent: lambda.IFunction, provider: cr.Provider): void {
  const reasons = [
    { id: 'NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC', reason: 'Deploy-time custom resource that only calls AWS APIs; no VPC resources to reach.' },
    { id: 'NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ', reason: 'Invoked synchronously by CloudFormation through the Provider framework, which reports every failure to the stack.' },
    { id: 'NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency', reason: 'Runs only during deployments of this stack; reserved concurrency would only add a failure mode.' },
    { id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy', reason: 'CDK attaches the function\'s permissions as a policy owned by this role only.' },
  ];
  const logs = 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs.';
  for (const scope of [onEvent, provider]) {
    Validations.of(scope).acknowledge(...reasons);
    acknowledgeManagedPolicy(scope, 'service-role/AWSLambdaBasicExecutionRole', logs);
  }
  acknowledgeWildcardResource(provider, `${onEvent.functionArn}:*`,
    'The Provider framework invokes the handler function by ARN including any version qualifier (:*).');
}
