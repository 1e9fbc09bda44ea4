// Validation of generated Kubernetes manifests: custom resources against the OpenAPI schema of their CRD in crds/
// (ajv), core objects with npm kubernetes-models (ESM-only, so run by a child node process). Both fail, never skip,
// when their tool is missing.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { Yaml } from 'cdk8s';

/** The kubectl handler's payload limit for one chart's manifests (what `cluster.addCdk8sChart` sends inline). */
export const KUBECTL_MANIFEST_LIMIT_BYTES = 256 * 1024;

/** Repository root. */
const ROOT = path.join(__dirname, '..', '..');
/** CRD YAML files the custom resources are checked against. */
export const CRD_DIR = path.join(ROOT, 'crds');
/** The script that validates core objects with kubernetes-models. */
const CORE_SCRIPT = path.join(__dirname, 'validate-core-manifests.mjs');

/** A Kubernetes object as synthesized (cdk8s `Chart.toJson()` / `Testing.synth()` output). */
export type Manifest = Record<string, any>;

/** Size of the manifests as the kubectl handler receives them (JSON). */
export function manifestBytes(manifests: Manifest[]): number {
  return Buffer.byteLength(JSON.stringify(manifests), 'utf8');
}

/** `Kind/name` of a manifest, for messages. */
export function describeManifest(m: Manifest): string {
  return `${m?.apiVersion ?? '?'} ${m?.kind ?? '?'}/${m?.metadata?.name ?? '?'}`;
}

interface CrdVersion {
  readonly file: string;
  readonly schema: Record<string, unknown>;
}

let crdIndex: Map<string, CrdVersion> | undefined;
const compiled = new Map<string, ValidateFunction>();

/** `group/version Kind` → the CRD version's schema, for every CRD in {@link CRD_DIR}. */
function loadCrds(): Map<string, CrdVersion> {
  if (crdIndex) { return crdIndex; }
  const index = new Map<string, CrdVersion>();
  const files = fs.existsSync(CRD_DIR) ? fs.readdirSync(CRD_DIR).filter(f => /\.ya?ml$/.test(f)).sort() : [];
  if (files.length === 0) { throw new Error(`no CRD YAML found in ${CRD_DIR}: cannot validate custom resources`); }
  for (const file of files) {
    for (const doc of Yaml.load(path.join(CRD_DIR, file))) {
      if (doc?.kind !== 'CustomResourceDefinition') { continue; }
      const { group, names, versions } = doc.spec;
      for (const v of versions ?? []) {
        const schema = v.schema?.openAPIV3Schema;
        if (!schema) { throw new Error(`${file}: version ${v.name} of ${names.kind} has no openAPIV3Schema`); }
        index.set(`${group}/${v.name} ${names.kind}`, { file, schema });
      }
    }
  }
  crdIndex = index;
  return index;
}

/** Whether a manifest's group has a CRD in {@link CRD_DIR} (the group of any CRD there, whatever the kind). */
export function isCustomResource(m: Manifest): boolean {
  const apiVersion = String(m?.apiVersion ?? '');
  if (!apiVersion.includes('/')) { return false; }
  const group = apiVersion.split('/')[0];
  return [...loadCrds().keys()].some(k => k.startsWith(`${group}/`));
}

/**
 * Adapts a Kubernetes structural schema for plain JSON-schema validation, as the API server applies it:
 * unknown fields of objects with `properties` are pruned by the server, so they are reported here (unless
 * `x-kubernetes-preserve-unknown-fields`), and embedded resources accept `apiVersion`, `kind` and `metadata`.
 */
function structural(schema: unknown): unknown {
  if (schema === null || typeof schema !== 'object') { return schema; }
  const s: Record<string, any> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'properties' || k === 'patternProperties') {
      // maps from field names to schemas
      s[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([name, sub]) => [name, structural(sub)]));
    } else if (['items', 'additionalProperties', 'not'].includes(k)) {
      s[k] = structural(v);
    } else if (['allOf', 'anyOf', 'oneOf'].includes(k)) {
      s[k] = (v as unknown[]).map(structural);
    } else {
      s[k] = v; // enum, required, default, description, x-kubernetes-* ...: data, not schemas
    }
  }
  if (s['x-kubernetes-embedded-resource'] === true) {
    s.properties = { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, ...s.properties };
  }
  if (s.properties && s.additionalProperties === undefined && s['x-kubernetes-preserve-unknown-fields'] !== true) {
    s.additionalProperties = false;
  }
  return s;
}

function newAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, logger: false });
  ajv.addKeyword({
    keyword: 'x-kubernetes-int-or-string',
    schemaType: 'boolean',
    errors: false,
    validate: (enabled: boolean, data: unknown) => !enabled || typeof data === 'string' || Number.isInteger(data),
  });
  return ajv;
}

function renderError(m: Manifest, file: string, e: ErrorObject): string {
  const where = e.instancePath === '' ? '/' : e.instancePath;
  const detail = e.keyword === 'additionalProperties' ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'`
    : e.keyword === 'enum' ? ` ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}` : '';
  const message = e.keyword === 'additionalProperties' ? 'has unknown field (the API server would prune it)' : e.message;
  return `${describeManifest(m)}: ${where} ${message}${detail} (schema ${file}#${e.schemaPath})`;
}

/**
 * Validates custom resources against the `openAPIV3Schema` of their CRD version in `crds/`.
 *
 * Every manifest must be a custom resource whose group, version and kind has a CRD there; anything else is an error.
 * `x-kubernetes-validations` (CEL rules) are not evaluated.
 *
 * @returns one line per problem: `<apiVersion> <Kind>/<name>: <JSON pointer> <message> (schema <file>#<schema path>)`
 */
export function validateCustomResources(manifests: Manifest[]): string[] {
  const crds = loadCrds();
  const problems: string[] = [];
  for (const m of manifests) {
    const key = `${m?.apiVersion} ${m?.kind}`;
    const crd = crds.get(key);
    if (!crd) {
      problems.push(`${describeManifest(m)}: no CRD for ${key} in ${CRD_DIR} (known: ${[...crds.keys()].join(', ')})`);
      continue;
    }
    let validate = compiled.get(key);
    if (!validate) {
      validate = newAjv().compile(structural(crd.schema) as object);
      compiled.set(key, validate);
    }
    if (!validate(m)) {
      problems.push(...(validate.errors ?? []).map(e => renderError(m, crd.file, e)));
    }
  }
  return problems;
}

/**
 * Validates core Kubernetes objects with npm `kubernetes-models` (`new Model(obj).validate()`), in a child
 * `node` process because the package is ESM-only.
 *
 * Objects that kubernetes-models has no model for (custom resources, unknown kinds) are errors.
 * Throws when the script cannot run or kubernetes-models is not installed.
 *
 * @returns one line per problem: `<apiVersion> <Kind>/<name>: <JSON pointer> <message>`
 */
export function validateCoreManifests(manifests: Manifest[]): string[] {
  const result = spawnSync(process.execPath, [CORE_SCRIPT], {
    cwd: ROOT,
    input: JSON.stringify(manifests),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) { throw new Error(`cannot run ${CORE_SCRIPT}: ${result.error.message}`); }
  if (result.status !== 0) {
    throw new Error(`${path.basename(CORE_SCRIPT)} failed (exit ${result.status}): ${result.stderr.trim() || result.stdout.trim()}`);
  }
  let parsed: { problems?: unknown };
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    throw new Error(`${path.basename(CORE_SCRIPT)} printed no JSON: ${result.stdout.slice(0, 500)}`);
  }
  if (!Array.isArray(parsed.problems)) { throw new Error(`${path.basename(CORE_SCRIPT)} printed no problems list`); }
  return parsed.problems.map(String);
}

/** Validates every manifest: custom resources (groups with a CRD in `crds/`) with ajv, the rest with kubernetes-models. */
export function validateManifests(manifests: Manifest[]): string[] {
  const custom = manifests.filter(isCustomResource);
  const core = manifests.filter(m => !isCustomResource(m));
  return [
    ...(custom.length > 0 ? validateCustomResources(custom) : []),
    ...(core.length > 0 ? validateCoreManifests(core) : []),
  ];
}

/**
 * A stand-in for a token that is valid where the real value would be: subnet and security group ids get
 * well-formed ids (CRD schemas check their patterns), anything else `TOKEN`.
 */
function placeholder(token: any, resources: Record<string, any>): string {
  const ref = token?.Ref ?? token?.['Fn::GetAtt']?.[0];
  const attribute = token?.['Fn::GetAtt']?.[1];
  const type = typeof ref === 'string' ? resources[ref]?.Type : undefined;
  if (type === 'AWS::EC2::Subnet') { return 'subnet-0a1b2c3d4e5f60718'; }
  if (type === 'AWS::EC2::SecurityGroup' || attribute === 'ClusterSecurityGroupId' || attribute === 'GroupId') { return 'sg-0a1b2c3d4e5f60718'; }
  return 'TOKEN';
}

/** Joins an `Fn::Join` of strings and tokens with a placeholder for each token (for parsing manifests). */
function flattenJoin(v: any, resources: Record<string, any>): string {
  if (typeof v === 'string') { return v; }
  if (v && Array.isArray(v['Fn::Join'])) {
    const [sep, parts] = v['Fn::Join'];
    return (parts as unknown[]).map(p => (typeof p === 'string' ? p : placeholder(p, resources))).join(sep);
  }
  return JSON.stringify(v);
}

/**
 * Every Kubernetes object applied by the `Custom::AWSCDK-EKS-KubernetesResource` resources of a synthesized
 * template (tokens replaced by `TOKEN`), with the size of each resource's manifest payload in bytes.
 */
export function manifestsOfTemplate(template: any): { objects: Manifest[]; payloadBytes: number[] } {
  const objects: Manifest[] = [];
  const payloadBytes: number[] = [];
  if (!template || typeof template.Resources !== 'object') {
    // A Template object (or anything else) would yield no manifests and make every check on them pass vacuously.
    throw new Error('manifestsOfTemplate takes the template JSON (Template.toJSON()), with a Resources section');
  }
  for (const r of Object.values<any>(template.Resources)) {
    if (r.Type !== 'Custom::AWSCDK-EKS-KubernetesResource') { continue; }
    const text = flattenJoin(r.Properties.Manifest, template.Resources);
    payloadBytes.push(Buffer.byteLength(text, 'utf8'));
    objects.push(...(JSON.parse(text) as Manifest[]));
  }
  return { objects, payloadBytes };
}
