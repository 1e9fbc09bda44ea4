import { execFileSync } from 'child_process';
import { Tags, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { MlPlatformContext } from './context';
import { mlError } from './errors';
import { CODE_VERSION_TAG, COMPONENT_TAG, DATA_VERSION_TAG, IMAGE_TAG, MODEL_PACKAGE_TAG } from './lineage-keys';
import { TAG_VALUE, isValidTagValue, sanitizeTagValue, tagSafeDigest } from './tag-value';


export {
  CODE_VERSION_TAG, COMPONENT_TAG, DATA_VERSION_TAG, IMAGE_TAG, MODEL_PACKAGE_TAG, UNKNOWN_LINEAGE,
} from './lineage-keys';

/**
 * Resource types whose `Tags` can only be set at creation: a changed tag value replaces the resource.
 * The code-version tag changes with every commit, so it is never put on these (a named resource
 * cannot even be replaced).
 */
export const CREATE_ONLY_TAG_TYPES = ['AWS::SageMaker::FeatureGroup'];

/**
 * Resource types that aws-cdk-lib can tag but whose CloudFormation schema (as cfn-lint ships it) has no
 * `Tags` property: our lineage tags stay off them so templates stay lint-clean.
 */
export const UNTAGGABLE_TYPES = ['AWS::ApplicationAutoScaling::ScalableTarget', 'AWS::CloudWatch::Dashboard'];

/** How long each git command may take before the fallback gives up (no code version, never an error). */
const GIT_TIMEOUT_MS = 3000;
/** Git's answer per working directory, computed once per process. */
const gitVersions = new Map<string, string | undefined>();

/**
 * The git commit checked out in `cwd` (`git rev-parse HEAD`), with `-dirty` appended when tracked files have
 * uncommitted changes (untracked files do not count); undefined when git is missing, `cwd` is not in a
 * repository, the repository has no commit yet, or git takes longer than 3 seconds. Never throws.
 *
 * Computed once per process and directory. `gitBinary` exists for tests.
 */
export function gitCodeVersion(cwd: string = process.cwd(), gitBinary: string = 'git'): string | undefined {
  const cacheKey = `${gitBinary}\u0000${cwd}`;
  if (gitVersions.has(cacheKey)) { return gitVersions.get(cacheKey); }
  const git = (args: string[]) => execFileSync(gitBinary, args, {
    cwd, encoding: 'utf8', timeout: GIT_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'ignore'], windowsHide: true,
  }).trim();
  let version: string | undefined;
  try {
    const sha = git(['rev-parse', '--verify', '--quiet', 'HEAD']);
    if (/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) {
      version = sha;
      try {
        // --no-optional-locks: never take index.lock (a concurrent git command in the same repository must not fail).
        if (git(['--no-optional-locks', 'status', '--porcelain', '--untracked-files=no']) !== '') { version = `${sha}-dirty`; }
      } catch {
        // The commit alone is still the best answer.
      }
    }
  } catch {
    version = undefined;
  }
  gitVersions.set(cacheKey, version);
  return version;
}

/** Whether the git fallback of {@link codeVersion} is on: context `cdk-ml-platform:codeVersionFromGit` not false. */
function codeVersionFromGit(scope: IConstruct): boolean {
  const value = scope.node.tryGetContext(MlPlatformContext.CODE_VERSION_FROM_GIT);
  return !(value === false || value === 'false');
}

/**
 * The code version of the platform: context `cdk-ml-platform:codeVersion`; else, unless context
 * `cdk-ml-platform:codeVersionFromGit` is `false`, the git commit of the directory synth runs in
 * (`<sha>` or `<sha>-dirty`, see {@link gitCodeVersion}); else undefined. Git never fails a synth.
 *
 * Throws a coded error when the context value cannot be a tag value.
 */
export function codeVersion(scope: IConstruct): string | undefined {
  const value = scope.node.tryGetContext(MlPlatformContext.CODE_VERSION);
  if (value === undefined || value === null || value === '') {
    return codeVersionFromGit(scope) ? gitCodeVersion() : undefined;
  }
  const text = String(value);
  if (!Token.isUnresolved(text) && !TAG_VALUE.test(text)) {
    throw mlError(scope, 'Lineage', {
      code: 'InvalidCodeVersion',
      what: `context '${MlPlatformContext.CODE_VERSION}' must be a valid AWS tag value`,
      got: text,
      fix: 'use at most 256 letters, digits, spaces and _ . : / = + - @ (a git SHA or release tag fits)',
    });
  }
  return text;
}

/**
 * Tags everything under `scope` with `ml-platform:component = <component>` and, when a code version is known
 * ({@link codeVersion}), `ml-platform:code-version = <version>` (except on resource types whose tags are
 * create-only, see {@link CREATE_ONLY_TAG_TYPES}).
 *
 * Users add their own tags with `Tags.of(scope)`; besides these two, the library adds only the lineage tags
 * of models, endpoint configs and training runs ({@link applyModelLineageTags}).
 */
export function applyLineageTags(scope: IConstruct, component: string): void {
  Tags.of(scope).add(COMPONENT_TAG, component, { excludeResourceTypes: UNTAGGABLE_TYPES });
  const version = codeVersion(scope);
  if (version !== undefined) {
    Tags.of(scope).add(CODE_VERSION_TAG, version, { excludeResourceTypes: [...CREATE_ONLY_TAG_TYPES, ...UNTAGGABLE_TYPES] });
  }
}

/** Lineage of one model: what it serves and what it was trained on. */
export interface ModelLineage {
  /** The container image (may be a token). */
  readonly image: string;
  /** The data version (may be a token); undefined: not tagged. */
  readonly dataVersion?: string;
  /** The model package ARN (may be a token); undefined: not tagged. */
  readonly modelPackage?: string;
}

/**
 * A lineage value as a tag value: tokens stay as they are (resolved at deploy time, e.g. by the latest-approved
 * custom resource, which sanitizes them itself); literal values are sanitized to the tag value charset and 256
 * characters.
 */
export function lineageTagValue(value: string): string {
  return Token.isUnresolved(value) ? value : sanitizeTagValue(value);
}

/**
 * The data version of artifacts at `url`: the URL itself when it is a valid tag value, else its
 * `sha256:<hex>` digest; tokens stay as they are.
 */
export function dataVersionOfUrl(url: string): string {
  if (Token.isUnresolved(url)) { return url; }
  return isValidTagValue(url) ? url : tagSafeDigest(url);
}

/**
 * Tags `resources` (a model, an endpoint config) with `ml-platform:image`, `ml-platform:data-version` and
 * `ml-platform:model-package`. Their tags are updatable, so a changed value never replaces them.
 */
export function applyModelLineageTags(resources: IConstruct[], lineage: ModelLineage): void {
  const tags: Array<[string, string | undefined]> = [
    [IMAGE_TAG, lineage.image], [DATA_VERSION_TAG, lineage.dataVersion], [MODEL_PACKAGE_TAG, lineage.modelPackage],
  ];
  for (const resource of resources) {
    for (const [key, value] of tags) {
      if (value !== undefined) { Tags.of(resource).add(key, lineageTagValue(value)); }
    }
  }
}
