// A small IAM identity-policy evaluator over a synthesized CloudFormation template, for tests that ask
// "can this role do X on Y?". It covers what our templates use: Allow/Deny, Action/NotAction,
// Resource/NotResource, IAM wildcards (`*`, `?`; actions case-insensitive, resources case-sensitive) and the
// common condition operators. Intrinsics become stable strings (`${Logical.Arn}`, `${Logical}`,
// `${AWS::Region}`), so a test names a resource the way the template does. Resource policies (bucket, key),
// SCPs, permission boundaries and session policies are out of scope.
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { FlatStatement, flatten as flattenValue, flattenStatement, identityPolicies } from '../../src/testing/policy-documents';

/** One policy statement with every intrinsic resolved to a string. */
export interface Statement extends FlatStatement {
  /** Where the statement comes from: the policy's logical id, or `<role>/<inline policy name>`. */
  readonly source: string;
}

/** The outcome of an authorization check. */
export type Decision = 'allow' | 'explicitDeny' | 'implicitDeny';

/** Request context: condition keys (case-insensitive) and their values. */
export type RequestContext = Record<string, string | string[]>;

/** Renders a CloudFormation value (strings and intrinsics) as a stable string; throws on intrinsics it cannot render. */
export const flatten = (value: unknown): string => flattenValue(value);

/** Resolves a CDK value (a token such as `bucket.bucketArn` or a literal) in `stack` and flattens it. */
export function arnOf(stack: Stack, value: string): string {
  return flatten(stack.resolve(value));
}

/** The logical id of a role defined in `stack`. */
export function roleLogicalId(stack: Stack, role: iam.IRole): string {
  const cfn = role.node.defaultChild as iam.CfnRole | undefined;
  if (!cfn) { throw new Error(`iam-eval: ${role.node.path} is not a role defined in a stack`); }
  return stack.getLogicalId(cfn);
}

/**
 * Every identity-policy statement that applies to the role `roleId` in a template: its inline policies,
 * `AWS::IAM::Policy` and `AWS::IAM::ManagedPolicy` resources attached to it (through their `Roles`, or the
 * role's `ManagedPolicyArns` referencing a managed policy of the template). AWS managed policies are ignored.
 */
export function statementsForRole(template: Template | Record<string, any>, roleId: string): Statement[] {
  const json = template instanceof Template ? template.toJSON() : template;
  const resources: Record<string, any> = json.Resources ?? {};
  const role = resources[roleId];
  if (!role || role.Type !== 'AWS::IAM::Role') { throw new Error(`iam-eval: no AWS::IAM::Role ${roleId} in the template`); }
  return identityPolicies(resources)
    .filter(p => p.principals.includes(roleId))
    .flatMap(p => (p.document?.Statement ?? []).map((s: unknown) => ({ ...flattenStatement(s), source: p.source })));
}

/** IAM wildcard match: `*` any run of characters, `?` one character; everything else literal. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const re = '^' + pattern.split('').map(c => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('') + '$';
  return new RegExp(re, ignoreCase ? 'is' : 's').test(value);
}

function contextValues(context: RequestContext, key: string): string[] | undefined {
  const found = Object.entries(context).find(([k]) => k.toLowerCase() === key.toLowerCase());
  if (!found) { return undefined; }
  return Array.isArray(found[1]) ? found[1] : [found[1]];
}

/** Whether one condition operator holds for every key it names (values of a key are OR-ed). */
function conditionHolds(operator: string, keys: Record<string, string[]>, context: RequestContext): boolean {
  const ifExists = operator.endsWith('IfExists');
  const op = ifExists ? operator.slice(0, -'IfExists'.length) : operator;
  if (op.includes(':')) { throw new Error(`iam-eval: set operator ${operator} is not supported`); }
  return Object.entries(keys).every(([key, expected]) => {
    const actual = contextValues(context, key);
    if (op === 'Null') {
      const wantsMissing = expected.some(e => e.toLowerCase() === 'true');
      return wantsMissing === (actual === undefined);
    }
    if (actual === undefined) { return ifExists; }
    const any = (test: (a: string, e: string) => boolean) => actual.some(a => expected.some(e => test(a, e)));
    switch (op) {
      case 'StringEquals': case 'ArnEquals': return any((a, e) => a === e);
      case 'StringNotEquals': case 'ArnNotEquals': return !any((a, e) => a === e);
      case 'StringEqualsIgnoreCase': return any((a, e) => a.toLowerCase() === e.toLowerCase());
      case 'StringNotEqualsIgnoreCase': return !any((a, e) => a.toLowerCase() === e.toLowerCase());
      case 'StringLike': case 'ArnLike': return any((a, e) => wildcardMatch(e, a));
      case 'StringNotLike': case 'ArnNotLike': return !any((a, e) => wildcardMatch(e, a));
      case 'Bool': return any((a, e) => a.toLowerCase() === e.toLowerCase());
      default: throw new Error(`iam-eval: condition operator ${operator} is not supported`);
    }
  });
}

/** Whether `statement` applies to the request (action, resource and every condition). */
export function statementApplies(statement: Statement, action: string, resource: string, context: RequestContext = {}): boolean {
  const actionOk = statement.Action
    ? statement.Action.some(p => wildcardMatch(p, action, true))
    : statement.NotAction ? !statement.NotAction.some(p => wildcardMatch(p, action, true)) : false;
  if (!actionOk) { return false; }
  const resourceOk = statement.Resource
    ? statement.Resource.some(p => wildcardMatch(p, resource))
    : statement.NotResource ? !statement.NotResource.some(p => wildcardMatch(p, resource)) : false;
  if (!resourceOk) { return false; }
  return Object.entries(statement.Condition ?? {}).every(([op, keys]) => conditionHolds(op, keys, context));
}

/**
 * Evaluates identity policies the way IAM does within one account: an applicable Deny wins, then an
 * applicable Allow, otherwise the request is implicitly denied.
 */
export function evaluate(statements: Statement[], action: string, resource: string, context: RequestContext = {}): Decision {
  const applicable = statements.filter(s => statementApplies(s, action, resource, context));
  if (applicable.some(s => s.Effect === 'Deny')) { return 'explicitDeny'; }
  if (applicable.some(s => s.Effect === 'Allow')) { return 'allow'; }
  return 'implicitDeny';
}
