// Pure helpers over synthesized CloudFormation JSON: intrinsics rendered as stable strings, policy statements in one
// shape, and which identity policies a template attaches to which principal. Shared by IamStatements (exported test
// kit) and test/support/iam-eval.ts (our own policy evaluator). Not part of the jsii API: free functions and
// `Record` types stay internal.

/** How {@link flatten} treats an intrinsic it has no rendering for. */
export interface FlattenOptions {
  /**
   * Render unknown intrinsics as `${Fn::Name(<json>)}` instead of throwing.
   * @default false - throw, so an evaluator never guesses
   */
  readonly lenient?: boolean;
}

/** Renders a CloudFormation value (strings and intrinsics) as a stable string. */
export function flatten(value: unknown, options: FlattenOptions = {}): string {
  const f = (v: unknown) => flatten(v, options);
  if (value === undefined || value === null) { return ''; }
  if (typeof value === 'string') { return value; }
  if (typeof value === 'number' || typeof value === 'boolean') { return String(value); }
  const o = value as Record<string, any>;
  if (o['Fn::Join']) {
    const [delimiter, items] = o['Fn::Join'];
    if (Array.isArray(items)) { return items.map(f).join(delimiter); }
  }
  if (o['Fn::GetAtt']) {
    const [id, attr] = Array.isArray(o['Fn::GetAtt']) ? o['Fn::GetAtt'] : String(o['Fn::GetAtt']).split('.');
    return `\${${f(id)}.${f(attr)}}`;
  }
  if (o.Ref !== undefined) { return `\${${f(o.Ref)}}`; }
  if (o['Fn::Sub'] !== undefined) { return f(Array.isArray(o['Fn::Sub']) ? o['Fn::Sub'][0] : o['Fn::Sub']); }
  if (o['Fn::Select']) {
    const [index, list] = o['Fn::Select'];
    if (list?.['Fn::Split']) {
      const [delimiter, source] = list['Fn::Split'];
      return `\${Select(${f(index)},Split(${f(delimiter)},${f(source)}))}`;
    }
    return `\${Select(${f(index)},${stableJson(list)})}`;
  }
  if (o['Fn::ImportValue']) { return `\${Import(${f(o['Fn::ImportValue'])})}`; }
  const keys = Object.keys(o);
  if (options.lenient) {
    if (keys.length === 1 && (keys[0].startsWith('Fn::') || keys[0] === 'Condition')) {
      return `\${${keys[0]}(${stableJson(o[keys[0]])})}`;
    }
    return stableJson(o);
  }
  throw new Error(`cannot flatten ${JSON.stringify(value)}: no stable rendering for this intrinsic`);
}

/** JSON with object keys sorted at every level, so equal values always print the same. */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/** A deep copy of `value` with object keys in sorted order. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) { return value.map(sortKeys); }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value as object).sort().map(k => [k, sortKeys((value as any)[k])]));
  }
  return value;
}

/** One policy statement with every intrinsic rendered as a string and every list as an array. */
export interface FlatStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: string[];
  readonly NotPrincipal?: string[];
  readonly Action?: string[];
  readonly NotAction?: string[];
  readonly Resource?: string[];
  readonly NotResource?: string[];
  readonly Condition?: Record<string, Record<string, string[]>>;
}

/** `"*"`, `{ AWS: x }`, `{ Service: [a, b] }` as `['*']`, `['AWS:x']`, `['Service:a', 'Service:b']`. */
export function flattenPrincipal(principal: unknown, options: FlattenOptions = {}): string[] | undefined {
  if (principal === undefined) { return undefined; }
  if (typeof principal === 'string') { return [principal]; }
  const out: string[] = [];
  for (const [type, values] of Object.entries(principal as Record<string, unknown>)) {
    for (const v of Array.isArray(values) ? values : [values]) { out.push(`${type}:${flatten(v, options)}`); }
  }
  return out;
}

/** A raw statement (from a template) in the flat shape: lists everywhere, intrinsics as strings. */
export function flattenStatement(raw: any, options: FlattenOptions = {}): FlatStatement {
  const list = (v: unknown): string[] | undefined =>
    (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).map(x => flatten(x, options)));
  const condition: Record<string, Record<string, string[]>> | undefined = raw.Condition
    ? Object.fromEntries(Object.entries<Record<string, unknown>>(raw.Condition)
      .map(([op, keys]) => [op, Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, list(v)!]))]))
    : undefined;
  return {
    Sid: raw.Sid,
    Effect: raw.Effect,
    Principal: flattenPrincipal(raw.Principal, options),
    NotPrincipal: flattenPrincipal(raw.NotPrincipal, options),
    Action: list(raw.Action),
    NotAction: list(raw.NotAction),
    Resource: list(raw.Resource),
    NotResource: list(raw.NotResource),
    Condition: condition,
  };
}

/** An identity policy document of a template and the principals it applies to. */
export interface AttachedPolicy {
  /** Where the document lives: the policy's logical id, or `<principal logical id>/<inline policy name>`. */
  readonly source: string;
  /** The document (`{ Statement: [...] }`), as in the template. */
  readonly document: any;
  /**
   * Principals it applies to: logical ids of roles, users and groups of the template (`Ref`s), or literal names of
   * principals defined elsewhere.
   */
  readonly principals: string[];
}

const IDENTITY_TYPES = ['AWS::IAM::Role', 'AWS::IAM::User', 'AWS::IAM::Group'];

function refsOf(values: unknown, options: FlattenOptions): string[] {
  if (!Array.isArray(values)) { return []; }
  return values.map(v => ((v as any)?.Ref !== undefined ? flatten((v as any).Ref, options) : flatten(v, options)));
}

/**
 * Every identity policy of a template's `resources` with the principals it is attached to: inline `Policies` of
 * roles, users and groups; `AWS::IAM::Policy` and `AWS::IAM::ManagedPolicy` resources (through their `Roles`,
 * `Users` and `Groups`, or a principal's `ManagedPolicyArns` referencing a managed policy of the template).
 * AWS managed policies are ignored: their documents are not in the template.
 */
export function identityPolicies(resources: Record<string, any>, options: FlattenOptions = {}): AttachedPolicy[] {
  const out: AttachedPolicy[] = [];
  const managedUsers = new Map<string, string[]>();
  for (const [id, r] of Object.entries<any>(resources)) {
    if (!IDENTITY_TYPES.includes(r?.Type)) { continue; }
    for (const p of r.Properties?.Policies ?? []) {
      out.push({ source: `${id}/${flatten(p.PolicyName, options)}`, document: p.PolicyDocument, principals: [id] });
    }
    for (const arn of r.Properties?.ManagedPolicyArns ?? []) {
      const ref = (arn as any)?.Ref;
      if (typeof ref === 'string') { managedUsers.set(ref, [...(managedUsers.get(ref) ?? []), id]); }
    }
  }
  for (const [id, r] of Object.entries<any>(resources)) {
    if (r?.Type !== 'AWS::IAM::Policy' && r?.Type !== 'AWS::IAM::ManagedPolicy') { continue; }
    const p = r.Properties ?? {};
    const principals = [...refsOf(p.Roles, options), ...refsOf(p.Users, options), ...refsOf(p.Groups, options)];
    if (r.Type === 'AWS::IAM::ManagedPolicy') { principals.push(...(managedUsers.get(id) ?? [])); }
    out.push({ source: id, document: p.PolicyDocument, principals: [...new Set(principals)] });
  }
  return out;
}
