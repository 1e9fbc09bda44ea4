import * as fs from 'fs';
import * as path from 'path';
import { CfnElement, NestedStack, Stack, Stage } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { flatten, flattenPrincipal, identityPolicies, sortKeys, stableJson } from './policy-documents';

/** Where an {@link IamStatementSummary} comes from. */
export enum IamStatementKind {
  /** An identity policy of a role, user or group: what the principal may do. */
  IDENTITY = 'identity',
  /** A resource policy (bucket, key, queue, topic, repository, secret, Lambda permission): who may use the resource. */
  RESOURCE = 'resource',
  /** A role's trust policy (`AssumeRolePolicyDocument`): who may assume the role. */
  TRUST = 'trust',
}

/** One IAM statement of a synthesized stack, for one principal, in a stable form. */
export interface IamStatementSummary {
  /** Construct path of the stack that holds the statement (a nested stack's own path). */
  readonly stack: string;
  /** What kind of policy the statement belongs to. */
  readonly kind: IamStatementKind;
  /**
   * Who the statement is about. Identity policies: the construct path of the role, user or group below the root
   * stack (`Endpoint/Role`), or its logical id or name when no construct of the stack defines it. Resource and
   * trust policies: the statement's principal, as `<type>:<value>` (`Service:lambda.amazonaws.com`,
   * `AWS:${EndpointRole47E61C54.Arn}`) or `*`; `NOT <principal>` for `NotPrincipal`.
   */
  readonly principal: string;
  /** Where the statement lives: the policy's logical id, `<logical id>/<inline policy name>`, `<role>/AssumeRolePolicy`. */
  readonly policy: string;
  /** The statement id. @default - none */
  readonly sid?: string;
  /** `Allow` or `Deny`. */
  readonly effect: string;
  /** Actions, sorted; `NOT <action>` entries stand for `NotAction`. */
  readonly actions: string[];
  /**
   * Resources, sorted, with intrinsics flattened: `${Bucket83908E77.Arn}/prefix/*`, `${AWS::Region}`; `NOT <resource>`
   * entries stand for `NotResource`. Empty for trust policies.
   */
  readonly resources: string[];
  /** Conditions as JSON with sorted keys and sorted values. @default - no conditions */
  readonly conditions?: string;
}

/** Resource policies: where their document is, and which property names the resources they govern. */
const RESOURCE_POLICIES: Record<string, { document: string; target?: string }> = {
  'AWS::S3::BucketPolicy': { document: 'PolicyDocument', target: 'Bucket' },
  'AWS::SQS::QueuePolicy': { document: 'PolicyDocument', target: 'Queues' },
  'AWS::SNS::TopicPolicy': { document: 'PolicyDocument', target: 'Topics' },
  'AWS::KMS::Key': { document: 'KeyPolicy' },
  'AWS::ECR::Repository': { document: 'RepositoryPolicyText' },
  'AWS::SecretsManager::ResourcePolicy': { document: 'ResourcePolicy', target: 'SecretId' },
  'AWS::Events::EventBusPolicy': { document: 'Statement' },
  'AWS::Logs::ResourcePolicy': { document: 'PolicyDocument' },
};

/**
 * The IAM statements of a synthesized stack in a stable, reviewable form, for snapshot tests in platform repos.
 *
 * Covers identity policies (`AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy`, inline `Policies` of roles, users and
 * groups), role trust policies, resource policies (S3 bucket, KMS key, SQS queue, SNS topic, ECR repository, Secrets
 * Manager secret, EventBridge bus, CloudWatch Logs) and `AWS::Lambda::Permission`, in the stack and in every nested
 * stack below it. AWS managed policies are listed by neither: their documents are not in the template.
 *
 * @example
 * expect(IamStatements.render(stack)).toMatchSnapshot();
 */
export class IamStatements {
  /**
   * Every statement of `stack` and its nested stacks, one entry per principal, sorted by stack, principal, kind,
   * effect, policy, actions, resources and conditions. Synthesizes the app the stack belongs to (once, like
   * `Template.fromStack`).
   */
  public static of(stack: Stack): IamStatementSummary[] {
    const stage = Stage.of(stack);
    if (!stage) { throw new Error(`IamStatements: stack ${stack.node.path} is not part of an App or Stage`); }
    const assembly = stage.synth();
    const stacks = [stack, ...stack.node.findAll().filter((c): c is Stack => c !== stack && Stack.isStack(c) && NestedStack.isNestedStack(c))];
    const paths = logicalIdPaths(stack);
    const rows: IamStatementSummary[] = [];
    for (const s of stacks) {
      const template = s.nestedStackParent
        ? JSON.parse(fs.readFileSync(path.join(assembly.directory, s.templateFile), 'utf-8'))
        : assembly.getStackArtifact(s.artifactId).template;
      rows.push(...statementsOf(template, s.node.path, id => paths.get(`${s.node.path}\u0000${id}`)));
    }
    return rows.sort(compareRows);
  }

  /**
   * {@link IamStatements.of} as a text table, one statement per principal and block, for a snapshot a reviewer
   * reads in a pull request diff.
   */
  public static render(stack: Stack): string {
    const rows = IamStatements.of(stack);
    const blocks = rows.map(r => {
      const lines = [
        `${r.effect.toUpperCase()} ${r.principal}  [${r.kind}, ${r.stack}, ${r.policy}${r.sid ? `, ${r.sid}` : ''}]`,
        ...r.actions.map(a => `  action    ${a}`),
        ...r.resources.map(x => `  resource  ${x}`),
      ];
      if (r.conditions) { lines.push(`  condition ${r.conditions}`); }
      return lines.join('\n');
    });
    return blocks.join('\n\n') + (blocks.length > 0 ? '\n' : '');
  }

  private constructor() {}
}

/** `<stack path>\0<logical id>` → construct path below the root stack, for every CfnElement of `root`'s tree. */
function logicalIdPaths(root: Stack): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (c: IConstruct) => {
    if (CfnElement.isCfnElement(c)) {
      const owner = c.stack;
      const rel = c.node.path.startsWith(`${root.node.path}/`) ? c.node.path.slice(root.node.path.length + 1) : c.node.path;
      out.set(`${owner.node.path}\u0000${owner.resolve(c.logicalId)}`, rel.replace(/\/Resource$/, ''));
    }
    c.node.children.forEach(visit);
  };
  visit(root);
  return out;
}

const LENIENT = { lenient: true };

function statementsOf(template: any, stackPath: string, pathOf: (logicalId: string) => string | undefined): IamStatementSummary[] {
  const resources: Record<string, any> = template?.Resources ?? {};
  const rows: IamStatementSummary[] = [];
  const add = (kind: IamStatementKind, policy: string, doc: unknown, principals?: string[]) => {
    const parsed = typeof doc === 'string' ? tryParse(doc) : doc;
    const statements = Array.isArray((parsed as any)?.Statement) ? (parsed as any).Statement
      : (parsed as any)?.Statement ? [(parsed as any).Statement] : [];
    for (const s of statements) {
      for (const principal of principals ?? statementPrincipals(s)) {
        rows.push(summary(s, { stack: stackPath, kind, policy, principal }));
      }
    }
  };
  for (const p of identityPolicies(resources, LENIENT)) {
    add(IamStatementKind.IDENTITY, p.source, p.document, p.principals.map(id => pathOf(id) ?? id));
  }
  for (const [id, r] of Object.entries<any>(resources)) {
    const props = r?.Properties ?? {};
    if (r?.Type === 'AWS::IAM::Role' && props.AssumeRolePolicyDocument) {
      add(IamStatementKind.TRUST, `${id}/AssumeRolePolicy`, props.AssumeRolePolicyDocument);
    }
    const rp = RESOURCE_POLICIES[r?.Type];
    if (rp && props[rp.document]) {
      // EventBusPolicy carries a single statement as `Statement`.
      add(IamStatementKind.RESOURCE, id, rp.document === 'Statement' ? { Statement: [props.Statement] } : props[rp.document]);
    }
    if (r?.Type === 'AWS::Lambda::Permission') {
      const condition: Record<string, Record<string, unknown>> = {};
      if (props.SourceArn !== undefined) { condition.ArnLike = { 'AWS:SourceArn': props.SourceArn }; }
      if (props.SourceAccount !== undefined) { condition.StringEquals = { 'AWS:SourceAccount': props.SourceAccount }; }
      if (props.PrincipalOrgID !== undefined) { (condition.StringEquals ??= {})['aws:PrincipalOrgID'] = props.PrincipalOrgID; }
      if (props.FunctionUrlAuthType !== undefined) { (condition.StringEquals ??= {})['lambda:FunctionUrlAuthType'] = props.FunctionUrlAuthType; }
      add(IamStatementKind.RESOURCE, id, {
        Statement: [{
          Effect: 'Allow',
          Action: props.Action,
          Resource: props.FunctionName,
          Principal: lambdaPrincipal(props.Principal),
          ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
        }],
      });
    }
  }
  return rows;
}

/** A Lambda permission's `Principal` (a service, an account, an ARN or `*`) as a policy principal. */
function lambdaPrincipal(principal: unknown): unknown {
  if (typeof principal === 'string') {
    if (principal === '*') { return '*'; }
    return /\.amazonaws\.com(\.cn)?$/.test(principal) ? { Service: principal } : { AWS: principal };
  }
  return { AWS: principal };
}

function tryParse(text: string): unknown {
  try { return JSON.parse(text); } catch { return undefined; }
}

function statementPrincipals(s: any): string[] {
  const principals = flattenPrincipal(s?.Principal, LENIENT) ?? [];
  const not = (flattenPrincipal(s?.NotPrincipal, LENIENT) ?? []).map(p => `NOT ${p}`);
  const all = [...principals, ...not];
  return all.length > 0 ? [...new Set(all)].sort() : ['(none)'];
}

function summary(s: any, where: { stack: string; kind: IamStatementKind; policy: string; principal: string }): IamStatementSummary {
  const list = (v: unknown): string[] => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(x => flatten(x, LENIENT)));
  const sorted = (values: string[]) => [...new Set(values)].sort();
  const conditions = s?.Condition ? conditionJson(s.Condition) : undefined;
  return {
    ...where,
    ...(typeof s?.Sid === 'string' && s.Sid !== '' ? { sid: s.Sid } : {}),
    effect: String(s?.Effect ?? 'Allow'),
    actions: sorted([...list(s?.Action), ...list(s?.NotAction).map(a => `NOT ${a}`)]),
    resources: sorted([...list(s?.Resource), ...list(s?.NotResource).map(r => `NOT ${r}`)]),
    ...(conditions !== undefined ? { conditions } : {}),
  };
}

/** Conditions with intrinsics flattened, values sorted and keys in sorted order. */
function conditionJson(condition: Record<string, Record<string, unknown>>): string {
  const flat = Object.fromEntries(Object.entries(condition ?? {}).map(([op, keys]) => [op,
    Object.fromEntries(Object.entries(keys ?? {}).map(([k, v]) => [k,
      Array.isArray(v) ? v.map(x => flatten(x, LENIENT)).sort() : flatten(v, LENIENT)]))]));
  return stableJson(sortKeys(flat));
}

function compareRows(a: IamStatementSummary, b: IamStatementSummary): number {
  const key = (r: IamStatementSummary) => [r.stack, r.principal, r.kind, r.effect, r.policy, r.actions.join(','),
    r.resources.join(','), r.conditions ?? '', r.sid ?? ''];
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i]) { return ka[i] < kb[i] ? -1 : 1; }
  }
  return 0;
}
