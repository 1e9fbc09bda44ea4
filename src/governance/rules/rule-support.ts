import { CfnResource, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Helpers the MlOpsChecks rules share. Rules read a resource as CloudFormation renders it (PascalCase
 * properties, tags and property overrides included), resolved against its stack, so escape hatches
 * (`addPropertyOverride`) are checked too.
 */

/** The resolved `Properties` of a resource (never undefined), cached for one validation run. */
export function propertiesOf(node: CfnResource): Record<string, any> {
  const cached = CACHE.get(node);
  if (cached) { return cached; }
  const rendered = Stack.of(node).resolve((node as unknown as { _toCloudFormation(): any })._toCloudFormation());
  const resource = rendered?.Resources ? Object.values(rendered.Resources)[0] as Record<string, any> : undefined;
  const props = (resource?.Properties ?? {}) as Record<string, any>;
  CACHE.set(node, props);
  return props;
}

let CACHE = new WeakMap<CfnResource, Record<string, any>>();
let RESOURCES = new WeakMap<IConstruct, CfnResource[]>();
let LOGICAL_IDS = new WeakMap<Stack, Map<string, CfnResource>>();

/**
 * Forgets cached properties and indexes: a pack calls this at the start of every validation run. Within a run the
 * tree does not change, so rules that look across resources (an endpoint's config, a monitor's endpoint) use
 * indexes built once instead of walking the tree per resource (a platform of 100 models has thousands).
 */
export function resetPropertyCache(): void {
  CACHE = new WeakMap();
  RESOURCES = new WeakMap();
  LOGICAL_IDS = new WeakMap();
}

/** True for `true` and `'true'` (CloudFormation accepts both). */
export function isTrue(value: unknown): boolean {
  return value === true || value === 'true' || value === 'True';
}

/** True when a value is present: a non-empty string, an intrinsic, or any other non-null value. */
export function isSet(value: unknown): boolean {
  if (value === undefined || value === null) { return false; }
  if (typeof value === 'string') { return value.trim() !== ''; }
  return true;
}

/** The logical id a `Ref` or `Fn::GetAtt` points at, or undefined for anything else. */
export function referencedLogicalId(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') { return undefined; }
  const o = value as Record<string, any>;
  if (typeof o.Ref === 'string') { return o.Ref; }
  const getAtt = o['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') { return getAtt[0]; }
  if (typeof getAtt === 'string') { return getAtt.split('.')[0]; }
  return undefined;
}

/** Every CloudFormation resource under `scope` (the whole app when given the root). */
export function allResources(scope: IConstruct): CfnResource[] {
  let list = RESOURCES.get(scope);
  if (!list) {
    list = scope.node.findAll().filter((c): c is CfnResource => CfnResource.isCfnResource(c));
    RESOURCES.set(scope, list);
  }
  return list;
}

/** The resource of `stack` with this logical id, if any. */
export function resourceByLogicalId(stack: Stack, logicalId: string): CfnResource | undefined {
  let index = LOGICAL_IDS.get(stack);
  if (!index) {
    index = new Map();
    for (const r of allResources(stack)) {
      if (Stack.of(r) === stack) { index.set(stack.resolve(r.logicalId), r); }
    }
    LOGICAL_IDS.set(stack, index);
  }
  return index.get(logicalId);
}

/**
 * The resource a property value points at: a `Ref`/`Fn::GetAtt` in the same stack, or, for a literal name,
 * the resource of `type` in the app whose `nameProperty` resolves to that name.
 */
export function resolveReference(from: CfnResource, value: unknown, type: string, nameProperty: string): CfnResource | undefined {
  const logicalId = referencedLogicalId(value);
  if (logicalId !== undefined) {
    const found = resourceByLogicalId(Stack.of(from), logicalId);
    return found?.cfnResourceType === type ? found : undefined;
  }
  if (typeof value !== 'string') { return undefined; }
  return allResources(from.node.root)
    .filter(r => r.cfnResourceType === type)
    .find(r => propertiesOf(r)[nameProperty] === value);
}

/** The tags of a resource as a key → value map (values may be intrinsics). */
export function tagsOf(node: CfnResource): Map<string, unknown> {
  const tags = propertiesOf(node).Tags;
  const out = new Map<string, unknown>();
  if (Array.isArray(tags)) {
    for (const t of tags) {
      if (t && typeof t === 'object' && typeof t.Key === 'string') { out.set(t.Key, t.Value); }
    }
  } else if (tags && typeof tags === 'object') {
    for (const [k, v] of Object.entries(tags)) { out.set(k, v); }
  }
  return out;
}

/**
 * Parses a JSON document that may be a plain string, an object, or an `Fn::Join` / `Fn::Sub` of strings and
 * intrinsics (a Kubernetes manifest with a token in it). Intrinsics become the placeholder `"<token>"` text.
 * Returns undefined when the text is not JSON.
 */
export function parseJsonDocument(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !('Fn::Join' in (value as object)) && !('Fn::Sub' in (value as object))) {
    return value;
  }
  const text = flattenToText(value);
  if (text === undefined) { return undefined; }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function flattenToText(value: unknown): string | undefined {
  if (typeof value === 'string') { return value; }
  if (value === null || typeof value !== 'object') { return undefined; }
  const o = value as Record<string, any>;
  if (Array.isArray(o['Fn::Join'])) {
    const [delimiter, parts] = o['Fn::Join'];
    if (!Array.isArray(parts)) { return undefined; }
    return parts.map(p => typeof p === 'string' ? p : (flattenToText(p) ?? '<token>')).join(String(delimiter));
  }
  if (o['Fn::Sub'] !== undefined) {
    const template = Array.isArray(o['Fn::Sub']) ? o['Fn::Sub'][0] : o['Fn::Sub'];
    return typeof template === 'string' ? template.replace(/\$\{[^}]*\}/g, '<token>') : undefined;
  }
  return '<token>';
}

/** Walks up from `node` (inclusive) and returns the first scope `pick` returns a value for. */
export function findAncestorValue<T>(node: IConstruct, pick: (scope: IConstruct) => T | undefined): T | undefined {
  let current: IConstruct | undefined = node;
  while (current) {
    const value = pick(current);
    if (value !== undefined) { return value; }
    current = current.node.scope;
  }
  return undefined;
}

/** A SageMaker instance type named in a value, when it is a literal string. */
export function literalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
