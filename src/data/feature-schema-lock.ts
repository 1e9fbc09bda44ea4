import * as fs from 'fs';
import * as path from 'path';
import { IConstruct } from 'constructs';
import { MlPlatformContext } from '../core/context';

/** A feature as the lock file and the additions handler describe it. */
export interface FeatureSpec {
  readonly name: string;
  readonly type: string;
  readonly collectionType?: string;
  readonly vectorDimension?: number;
}

/** What the lock file remembers about one feature group. */
export interface LockEntry {
  /** Physical name of the group this entry describes. */
  readonly featureGroupName: string;
  /** Bumped by `allowReplacement`; part of generated names from 2 on. */
  readonly generation: number;
  readonly recordIdentifier: string;
  readonly eventTime: string;
  /** The definitions the CloudFormation resource was created with; never change for a generation. */
  readonly baseFeatures: FeatureSpec[];
  /** Features added since, in the order they were added (applied by UpdateFeatureGroup). */
  readonly addedFeatures: FeatureSpec[];
  /**
   * The create-only settings of the group (a change replaces it), as `name=<resolved JSON>` strings:
   * description, online store (type, key), offline store (bucket, database, format, key), role.
   */
  readonly createOnly: string[];
  /** The group's tags as synthesized (create-only too); recorded at synth. */
  readonly tags?: unknown[];
}

interface LockFile {
  readonly '//'?: string;
  readonly 'version': number;
  readonly 'featureGroups': Record<string, LockEntry>;
}

const LOCK_VERSION = 1;
const LOCK_COMMENT = 'Written by cdk-ml-platform at synth. Commit this file: it records the schema each feature group ' +
  'was created with, so adding features never replaces a group (and its data). Do not edit by hand.';

/** Default lock file name, resolved against the directory `cdk synth` runs in. */
export const DEFAULT_LOCK_FILE = 'feature-schemas.lock.json';

/** The lock file path from context `cdk-ml-platform:featureSchemaLockFile`, or the default in the working directory. */
export function lockFilePath(scope: IConstruct): string {
  const configured = scope.node.tryGetContext(MlPlatformContext.FEATURE_SCHEMA_LOCK_FILE);
  return path.resolve(typeof configured === 'string' && configured !== '' ? configured : DEFAULT_LOCK_FILE);
}

/** Environment variables that CI systems set (CodeBuild and Jenkins do not set `CI`). */
const CI_VARIABLES = ['CI', 'CODEBUILD_BUILD_ID', 'JENKINS_URL', 'TF_BUILD', 'GITHUB_ACTIONS', 'GITLAB_CI', 'BUILDKITE'];

/** Whether this process runs in a CI system. */
export function isCiEnvironment(): boolean {
  return CI_VARIABLES.some(v => {
    const value = process.env[v];
    return value !== undefined && value !== '' && value !== 'false' && value !== '0';
  });
}

/**
 * How synth treats the lock file:
 * - `frozen`: a lock that does not match fails synth (context `cdk-ml-platform:frozenFeatureSchemas=true`,
 *   or `cdk synth` in CI);
 * - `write`: synth updates the lock (context `...=false`, or `cdk synth` outside CI);
 * - `read`: the lock is read but neither enforced nor written (unit tests and other in-process synths,
 *   so test stacks never land in the committed lock).
 */
export type LockMode = 'frozen' | 'write' | 'read';

export function lockMode(scope: IConstruct): LockMode {
  const configured = scope.node.tryGetContext(MlPlatformContext.FROZEN_FEATURE_SCHEMAS);
  if (configured === true || configured === 'true') { return 'frozen'; }
  if (configured === false || configured === 'false') { return 'write'; }
  // The CDK CLI runs the app with CDK_OUTDIR set.
  if (!process.env.CDK_OUTDIR) { return 'read'; }
  return isCiEnvironment() ? 'frozen' : 'write';
}

/** Reads one entry; a missing file is an empty lock. Throws with the path when the file is not a valid lock. */
export function readLockEntry(file: string, key: string): LockEntry | undefined {
  return readLock(file).featureGroups[key];
}

/** Every entry of the lock file. */
export function readLockEntries(file: string): Record<string, LockEntry> {
  return readLock(file).featureGroups;
}

function readLock(file: string): LockFile {
  if (!fs.existsSync(file)) { return { version: LOCK_VERSION, featureGroups: {} }; }
  let parsed: LockFile;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`[FeatureStore.InvalidSchemaLock] ${file} is not valid JSON (${(e as Error).message}); restore it from version control`);
  }
  if (parsed.version !== LOCK_VERSION || typeof parsed.featureGroups !== 'object' || parsed.featureGroups === null) {
    throw new Error(`[FeatureStore.InvalidSchemaLock] ${file} is not a version ${LOCK_VERSION} feature schema lock; restore it from version control`);
  }
  return parsed;
}

/** Writes (or replaces) one entry, keeping the others; groups are sorted so diffs stay small. */
export function writeLockEntry(file: string, key: string, entry: LockEntry): void {
  const lock = readLock(file);
  const groups: Record<string, LockEntry> = { ...lock.featureGroups, [key]: entry };
  const sorted: Record<string, LockEntry> = {};
  for (const k of Object.keys(groups).sort()) { sorted[k] = groups[k]; }
  const out: LockFile = { '//': LOCK_COMMENT, 'version': LOCK_VERSION, 'featureGroups': sorted };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Write and rename, so a reader never sees a half-written file.
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(out, undefined, 2)}\n`);
  fs.renameSync(temp, file);
}

/** Two specs describe the same feature definition. */
export function sameSpec(a: FeatureSpec, b: FeatureSpec): boolean {
  return a.name === b.name && a.type === b.type && a.collectionType === b.collectionType && a.vectorDimension === b.vectorDimension;
}

/** Renders a spec for messages: `amount (Fractional)`, `tags (List of String)`, `emb (Vector[128])`. */
export function describeSpec(s: FeatureSpec): string {
  if (s.collectionType === 'Vector') { return `${s.name} (Vector[${s.vectorDimension}])`; }
  return s.collectionType ? `${s.name} (${s.collectionType} of ${s.type})` : `${s.name} (${s.type})`;
}

/** How the desired schema relates to the locked one. */
export interface SchemaDiff {
  readonly removed: FeatureSpec[];
  readonly retyped: Array<{ readonly from: FeatureSpec; readonly to: FeatureSpec }>;
  readonly added: FeatureSpec[];
  readonly keysChanged: string[];
  readonly createOnlyChanged: string[];
}

/** Compares the desired features and key features with a lock entry. */
export function diffSchema(entry: LockEntry, desired: FeatureSpec[], recordIdentifier: string, eventTime: string,
  createOnly: string[]): SchemaDiff {
  const locked = [...entry.baseFeatures, ...entry.addedFeatures];
  const byName = new Map(desired.map(f => [f.name, f]));
  const lockedNames = new Set(locked.map(f => f.name));
  const removed = locked.filter(f => !byName.has(f.name));
  const retyped = locked.filter(f => byName.has(f.name) && !sameSpec(f, byName.get(f.name)!))
    .map(f => ({ from: f, to: byName.get(f.name)! }));
  const added = desired.filter(f => !lockedNames.has(f.name));
  const keysChanged: string[] = [];
  if (entry.recordIdentifier !== recordIdentifier) { keysChanged.push(`recordIdentifier '${entry.recordIdentifier}' → '${recordIdentifier}'`); }
  if (entry.eventTime !== eventTime) { keysChanged.push(`eventTime '${entry.eventTime}' → '${eventTime}'`); }
  const before = new Set(entry.createOnly ?? []);
  const after = new Set(createOnly);
  const createOnlyChanged = [
    ...[...before].filter(x => !after.has(x)).map(x => `${x} → ${createOnly.find(y => y.split('=')[0] === x.split('=')[0]) ?? '(unset)'}`),
  ];
  return { removed, retyped, added, keysChanged, createOnlyChanged };
}
