import { CODE_VERSION_TAG } from '../core/lineage-keys';

/** Options for {@link TemplateNormalizer.normalize}. */
export interface NormalizeOptions {
  /**
   * Keep CDK metadata: resource `Metadata` entries `aws:cdk:path` and `aws:asset:*`, and the `CDKMetadata`
   * resource with its `CDKMetadataAvailable` condition (asset hashes inside them are still replaced).
   *
   * @default false - removed, they change with construct paths, asset hashes and the CDK version
   */
  readonly keepMetadata?: boolean;

  /**
   * Keep the `BootstrapVersion` parameter and the `CheckBootstrapVersion` rule the default synthesizer adds.
   *
   * @default false - removed, they change with CDK upgrades and say nothing about the platform
   */
  readonly keepBootstrapVersion?: boolean;

  /**
   * More tag keys whose values are volatile (a build number, a deploy timestamp). Their values are replaced by
   * `[VOLATILE]` in tags and, like the code version, wherever else they occur in the template.
   *
   * @default - only `ml-platform:code-version`
   */
  readonly extraVolatileTagKeys?: string[];

  /**
   * More volatile values as regular expressions (JavaScript syntax, no flags). Every match in any string of the
   * template, and in object keys, is replaced by `[VOLATILE]`.
   *
   * @default - none
   */
  readonly extraVolatilePatterns?: string[];
}

/** Placeholder for a CDK asset hash (file, directory, container image, nested template). */
const ASSET_HASH = '[ASSET HASH]';
/** Placeholder for the code version: context `cdk-ml-platform:codeVersion` or the git commit. */
const CODE_VERSION = '[CODE VERSION]';
/** Placeholder for a value of {@link NormalizeOptions.extraVolatileTagKeys} or `extraVolatilePatterns`. */
const VOLATILE = '[VOLATILE]';
/** Placeholder for the hash part of a logical id derived from an asset hash (Lambda `currentVersion`). */
const ID_HASH = '[HASH]';

/**
 * A 64-hex-digit asset hash used as an object key or file name (`<hash>.zip`, `<hash>.json`, `asset.<hash>`). Image
 * digests (`sha256:<hex>`) are left alone: a new image is a change a reviewer must see.
 */
const ASSET_FILE = /(?<![0-9a-f:])[0-9a-f]{64}(?=\.[A-Za-z0-9])/g;
const ASSET_DIR = /\basset\.[0-9a-f]{64}/g;
/** The tag of a container image asset in the bootstrap repository (`cdk-<qualifier>-container-assets-...:<hash>`). */
const CONTAINER_ASSET = /(container-assets-[^:/"\s]*:)[0-9a-f]{64}\b/g;
/** Parameters of the legacy synthesizer: `AssetParameters<hash>S3Bucket<8 hex>`. */
const ASSET_PARAMETER = /AssetParameters[0-9a-f]{64}(S3Bucket|S3VersionKey|ArtifactHash|ImageName)?([0-9A-F]{8})?/g;
/** Logical ids of Lambda versions, which hash the function's code (`...CurrentVersion<32 hex>`). */
const VERSION_ID = /CurrentVersion[0-9a-f]{32}\b/g;
/** A bare asset hash as a custom resource property value (a hash passed to force an update). */
const BARE_HASH = /^[0-9a-f]{64}$/;

const METADATA_KEYS = /^aws:(cdk:path|asset:.*)$/;

/**
 * Replaces the values of a synthesized CloudFormation template that change without a change to the platform, so
 * snapshot tests fail only on real changes.
 *
 * Replaced (placeholders in brackets):
 * - asset hashes in S3 keys and file names, `Fn::Sub`/`Fn::Join` parts, Lambda `Code.S3Key`, nested stack
 *   `TemplateURL`s, Helm chart assets (`ChartAssetURL`), container image asset tags (also inside Kubernetes
 *   manifests), legacy `AssetParameters...` parameters and their references: `[ASSET HASH]`;
 * - bare 64-hex-digit hashes as custom resource properties: `[ASSET HASH]`;
 * - the hash in logical ids of Lambda versions (`...CurrentVersion<hash>`), everywhere they are referenced: `[HASH]`;
 * - the code version (`ml-platform:code-version` tag; context `cdk-ml-platform:codeVersion` or the git commit),
 *   wherever it occurs (tags, the pipeline's `CodeVersion`, the model card content, environment variables), and
 *   the `Default` of CloudFormation parameters named `...CodeVersion`: `[CODE VERSION]`;
 * - `aws:cdk:path` and `aws:asset:*` metadata, the `CDKMetadata` resource, the bootstrap version parameter and rule:
 *   removed (see {@link NormalizeOptions}).
 *
 * The bootstrap asset bucket (`cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}`) is kept: it changes only with
 * the bootstrap qualifier, which is a real deployment change. Container image digests (`@sha256:...`) are kept too.
 *
 * @example
 * const normalized = TemplateNormalizer.normalize(Template.fromStack(stack).toJSON());
 * expect(normalized).toMatchSnapshot();
 */
export class TemplateNormalizer {
  /**
   * A normalized deep copy of `template` (CloudFormation JSON); the input is not modified.
   *
   * @param template a synthesized template, e.g. `Template.fromStack(stack).toJSON()`
   * @param options what else to replace or keep
   */
  public static normalize(template: any, options: NormalizeOptions = {}): any {
    if (template === null || typeof template !== 'object' || Array.isArray(template)) { return template; }
    const copy = JSON.parse(JSON.stringify(template));
    removeCdkNoise(copy, options);
    const values = volatileValues(copy, options.extraVolatileTagKeys ?? []);
    const patterns = (options.extraVolatilePatterns ?? []).map(p => new RegExp(p, 'g'));
    const replaceString = (s: string): string => {
      let out = s
        .replace(ASSET_PARAMETER, (_m, suffix?: string, check?: string) => `AssetParameters${ASSET_HASH}${suffix ?? ''}${check ? ID_HASH : ''}`)
        .replace(ASSET_DIR, `asset.${ASSET_HASH}`)
        .replace(ASSET_FILE, ASSET_HASH)
        .replace(CONTAINER_ASSET, `$1${ASSET_HASH}`)
        .replace(VERSION_ID, `CurrentVersion${ID_HASH}`);
      for (const v of values) {
        if (out === v.value) { return v.placeholder; }
        if (v.value.length >= MIN_SUBSTRING_LENGTH) { out = out.split(v.value).join(v.placeholder); }
      }
      for (const p of patterns) { out = out.replace(p, VOLATILE); }
      return out;
    };
    const result = rewrite(copy, replaceString, false);
    normalizeCodeVersionParameters(result);
    return result;
  }

  private constructor() {}
}

/**
 * Volatile values shorter than this are replaced only where they are a whole string: a code version `v1` must not
 * turn `apiVersion: v1` into a placeholder. A short git SHA has 7 characters.
 */
const MIN_SUBSTRING_LENGTH = 7;

interface VolatileValue {
  readonly value: string;
  readonly placeholder: string;
}

/** The values of volatile tags (code version first), longest first so a value containing another wins. */
function volatileValues(template: any, extraKeys: string[]): VolatileValue[] {
  const found = new Map<string, string>();
  const keys = new Map<string, string>([[CODE_VERSION_TAG, CODE_VERSION], ...extraKeys.map(k => [k, VOLATILE] as [string, string])]);
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) { node.forEach(visit); return; }
    if (!node || typeof node !== 'object') { return; }
    const o = node as Record<string, unknown>;
    const tags = o.Tags;
    if (Array.isArray(tags)) {
      for (const t of tags) {
        const key = (t as any)?.Key ?? (t as any)?.key;
        const value = (t as any)?.Value ?? (t as any)?.value;
        if (typeof key === 'string' && keys.has(key) && typeof value === 'string' && value !== '' && !found.has(value)) {
          found.set(value, keys.get(key)!);
        }
      }
    } else if (tags && typeof tags === 'object') {
      for (const [key, value] of Object.entries(tags)) {
        if (keys.has(key) && typeof value === 'string' && value !== '' && !found.has(value)) { found.set(value, keys.get(key)!); }
      }
    }
    Object.values(o).forEach(visit);
  };
  visit(template);
  return [...found.entries()]
    .map(([value, placeholder]) => ({ value, placeholder }))
    .sort((a, b) => b.value.length - a.value.length || (a.value < b.value ? -1 : 1));
}

/** Removes metadata and the bootstrap version check, unless kept by `options`. */
function removeCdkNoise(template: any, options: NormalizeOptions): void {
  if (!options.keepMetadata) {
    const resources = template.Resources;
    if (resources && typeof resources === 'object') {
      if (resources.CDKMetadata?.Type === 'AWS::CDK::Metadata') {
        delete resources.CDKMetadata;
        if (template.Conditions) {
          delete template.Conditions.CDKMetadataAvailable;
          if (Object.keys(template.Conditions).length === 0) { delete template.Conditions; }
        }
      }
      for (const r of Object.values<any>(resources)) {
        if (!r?.Metadata || typeof r.Metadata !== 'object') { continue; }
        for (const key of Object.keys(r.Metadata)) {
          if (METADATA_KEYS.test(key)) { delete r.Metadata[key]; }
        }
        if (Object.keys(r.Metadata).length === 0) { delete r.Metadata; }
      }
    }
  }
  if (!options.keepBootstrapVersion) {
    if (template.Parameters?.BootstrapVersion?.Default?.startsWith?.('/cdk-bootstrap/')) {
      delete template.Parameters.BootstrapVersion;
      if (Object.keys(template.Parameters).length === 0) { delete template.Parameters; }
    }
    if (template.Rules?.CheckBootstrapVersion) {
      delete template.Rules.CheckBootstrapVersion;
      if (Object.keys(template.Rules).length === 0) { delete template.Rules; }
    }
  }
}

/** CloudFormation parameters named `...CodeVersion` default to the code version. */
function normalizeCodeVersionParameters(template: any): void {
  for (const [name, parameter] of Object.entries<any>(template.Parameters ?? {})) {
    if (/CodeVersion$/i.test(name) && parameter && typeof parameter === 'object' && parameter.Default !== undefined) {
      parameter.Default = CODE_VERSION;
    }
  }
}

/**
 * `node` with `replace` applied to every string and object key; bare hashes in custom resource properties become
 * `[ASSET HASH]`. Keys that collapse onto one name (two legacy asset parameters) are numbered in order.
 */
function rewrite(node: unknown, replace: (s: string) => string, inCustomResource: boolean): any {
  if (typeof node === 'string') {
    return inCustomResource && BARE_HASH.test(node) ? ASSET_HASH : replace(node);
  }
  if (Array.isArray(node)) { return node.map(n => rewrite(n, replace, inCustomResource)); }
  if (!node || typeof node !== 'object') { return node; }
  const o = node as Record<string, unknown>;
  const isCustom = typeof o.Type === 'string' && (o.Type.startsWith('Custom::') || o.Type === 'AWS::CloudFormation::CustomResource');
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o)) {
    let newKey = replace(key);
    for (let i = 2; newKey in out; i++) { newKey = `${replace(key)} #${i}`; }
    out[newKey] = rewrite(value, replace, inCustomResource || (isCustom && key === 'Properties'));
  }
  return out;
}
