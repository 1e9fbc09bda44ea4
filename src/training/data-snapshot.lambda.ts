// SageMaker Pipelines Lambda step: snapshots the training dataset before training. Lists every object under
// the input prefix, records each object's version and SHA-256 in a manifest (so the exact bytes a model was
// trained on can be found again), and computes the drift baseline statistics of the CSV / JSON Lines records
// in one streaming pass. Writes `<output_uri>/<execution_id>/manifest.json` and `.../baseline.json`.
//
// Training-data gate (`gate_mode` 'stop' or 'require_approval'): in the same pass, every record is also folded
// into a DriftEngine built from the champion's baseline (the newest Approved model package of
// `model_package_group`, its CustomerMetadataProperties.baseline_uri). The decision, its reason and the numbers
// behind it are written to `.../gate.json` (the audit record) and returned as gate_passed / gate_reason /
// gate_report_uri. Decisions:
//   - no Approved champion, or a champion without baseline_uri: pass ('no champion baseline: ...');
//   - a champion baseline that cannot be read or parsed: FAIL CLOSED (a deleted or tampered baseline must not
//     wave poisoned data through); throttling that outlasts the retries fails the step instead;
//   - no CSV / JSON Lines record in the new data, or none in the champion's baseline: pass ('nothing to compare');
//   - fail when the drift score (largest per-feature PSI) is above max_drift_score, or a feature's missing rate
//     rose by more than max_missing_rate_increase; the reason names the features.
// With 'require_approval' the step also returns model_approval_status: `approval_status` when the gate passed,
// 'PendingManualApproval' when it failed.
import { createHash } from 'crypto';
/* eslint-disable import/no-extraneous-dependencies */
import { GetObjectCommand, ListObjectsV2Command, ListObjectsV2CommandOutput, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeModelPackageCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
/* eslint-enable import/no-extraneous-dependencies */
import { findChampion } from './compare-with-champion.lambda';
import { fullJitterBackoff, isThrottling, retryThrottled } from '../core/aws-retry';
import { Baseline, BaselineBuilder, BaselineBuilderOptions, parseBaseline } from '../core/baseline';
import { DriftEngine, DriftReport } from '../monitoring/drift/engine';

export { isThrottling };

/** The Lambda step's `Arguments`. */
export interface SnapshotEvent {
  /** Folder of the dataset, `s3://bucket/prefix/`. A missing trailing slash is added: the URI always names a folder. */
  readonly input_uri: string;
  /** Where results go, `s3://bucket/prefix` (trailing slash optional); must not be inside `input_uri`. */
  readonly output_uri: string;
  /** Pipeline execution id; results go under `<output_uri>/<execution_id>/`. */
  readonly execution_id: string;
  /** Version of the code that trains on this snapshot (a git SHA or release tag), recorded in the manifest. */
  readonly code_version: string;
  /** Fail when the dataset is larger than this many bytes. Default {@link DEFAULT_MAX_BYTES} (50 GiB). */
  readonly max_bytes?: number;
  /** Training-data gate: 'stop' or 'require_approval'; absent, empty or 'disabled' = no gate (no champion lookup). */
  readonly gate_mode?: string;
  /** Gate: the registry group (name or ARN) whose newest Approved package is the champion. */
  readonly model_package_group?: string;
  /** Gate: highest allowed drift score (largest per-feature PSI), a number >= 0 (or its string). */
  readonly max_drift_score?: number | string;
  /** Gate: highest allowed rise of a feature's missing rate, 0 to 1 (or its string). */
  readonly max_missing_rate_increase?: number | string;
  /** Gate 'require_approval': the status a model is registered with when the gate passes (the pipeline parameter). */
  readonly approval_status?: string;
}

/** The Lambda step's `OutputParameters` (JSON scalars only). */
export interface SnapshotResult {
  readonly manifest_uri: string;
  /** SHA-256 (hex) of the exact bytes of manifest.json. */
  readonly manifest_sha256: string;
  readonly baseline_uri: string;
  /** The dataset folder, normalized to end with `/`. */
  readonly dataset_uri: string;
  readonly record_count: number;
  readonly malformed_records: number;
  readonly unparsed_objects: number;
  /** Gate only: whether the training data passed the gate. */
  readonly gate_passed?: boolean;
  /** Gate only: one sentence (at most {@link MAX_GATE_REASON_CHARS} characters) saying why. */
  readonly gate_reason?: string;
  /** Gate only: `s3://.../<execution_id>/gate.json`, the audit record. */
  readonly gate_report_uri?: string;
  /** Gate with `approval_status` only: the status to register a model with. */
  readonly model_approval_status?: string;
}

/** One object of the snapshot. */
export interface ManifestObject {
  readonly key: string;
  /** The version read, or null when the bucket is not versioned. */
  readonly versionId: string | null;
  /** Bytes read (and hashed). */
  readonly size: number;
  /** SHA-256 (lowercase hex) of the object's bytes. */
  readonly sha256: string;
}

/** manifest.json, format `cdk-ml-platform/dataset-manifest` version 1. */
export interface DatasetManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: 1;
  readonly createdAt: string;
  readonly inputUri: string;
  readonly codeVersion: string;
  readonly executionId: string;
  /** Every object under `inputUri`, sorted by key. */
  readonly objects: ManifestObject[];
  readonly totalBytes: number;
  /** Records parsed from `.csv`, `.jsonl` and `.json` objects. */
  readonly recordCount: number;
  /** Lines (CSV records) that could not be parsed and were skipped. */
  readonly malformedRecords: number;
  /** Objects hashed and listed but not parsed (other extensions, e.g. `.parquet`). */
  readonly unparsedObjects: number;
}

/** Dependencies and tuning, injectable for tests. */
export interface SnapshotOptions {
  readonly s3: S3Client;
  /** Clock for `createdAt`. */
  readonly now?: () => Date;
  readonly log?: (message: string) => void;
  /** Attempts for a throttled S3 call, including the first. Default 8. */
  readonly maxAttempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Sampling settings of the baseline (`now` comes from the option above). */
  readonly baseline?: Omit<BaselineBuilderOptions, 'now'>;
  /** SageMaker client for the gate's champion lookup; required when the event enables the gate. */
  readonly sagemaker?: SageMakerClient;
}

export const MANIFEST_FORMAT = 'cdk-ml-platform/dataset-manifest';
/** Default of {@link SnapshotEvent.max_bytes}: 50 GiB. */
export const DEFAULT_MAX_BYTES = 50 * 1024 ** 3;
/** A line (or a quoted CSV record spanning lines) longer than this many characters is malformed. */
export const MAX_RECORD_CHARS = 16 * 1024 * 1024;
/** Value of {@link GateReport.format}. */
export const GATE_REPORT_FORMAT = 'cdk-ml-platform/training-data-gate';
/**
 * Longest `gate_reason`: SageMaker limits a CustomerMetadataProperties value (where the reason is registered) to
 * 256 characters. gate.json holds the whole reason.
 */
export const MAX_GATE_REASON_CHARS = 256;
/** Values the drift engine keeps per numeric feature for its KS test (not used by the gate): bounds memory. */
const GATE_KS_VALUES = 10_000;

/** Retries `call` on throttling with capped exponential backoff and full jitter. */
function withRetry<T>(what: string, call: () => Promise<T>, opts: SnapshotOptions): Promise<T> {
  return retryThrottled(what, call, { maxAttempts: opts.maxAttempts ?? 8, backoff: fullJitterBackoff, sleep: opts.sleep, log: opts.log });
}

/** A parsed `s3://bucket/key` URI; `key` may be empty. */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Parses `s3://bucket/key`; throws an Error naming `what` and the value when it is not one. */
export function parseS3Uri(uri: unknown, what = 'S3 URI'): S3Location {
  const fix = 'expected s3://<bucket>/<prefix>, e.g. s3://ml-data/datasets/churn/';
  if (typeof uri !== 'string') {
    throw new Error(`${what} must be a string, got ${uri === undefined ? 'nothing' : JSON.stringify(uri)}; ${fix}`);
  }
  const match = /^s3:\/\/([^/]*)\/?(.*)$/s.exec(uri.trim());
  if (!match) {
    throw new Error(`${what} '${uri}' is not an s3:// URI; ${fix}`);
  }
  const [, bucket, key] = match;
  if (!BUCKET.test(bucket)) {
    throw new Error(`${what} '${uri}' has an invalid bucket name '${bucket}' (3-63 lowercase letters, digits, dots and hyphens); ${fix}`);
  }
  return { bucket, key };
}

/**
 * Splits one CSV record. Fields may be double-quoted (`"a, b"`, `"say ""hi"""`, line breaks inside); a quote
 * inside an unquoted field is an ordinary character (as Python's csv module and pandas read it). Returns
 * undefined when the record is malformed: text after a closing quote, or a quote that is never closed.
 */
export function parseCsvRecord(text: string): string[] | undefined {
  if (!text.includes('"')) { return text.split(','); }
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const quote = text.indexOf('"', i);
        if (quote < 0) { return undefined; } // unterminated quoted field
        value += text.slice(i, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
      fields.push(value);
      if (i === text.length) { return fields; }
      if (text[i] !== ',') { return undefined; } // text after a closing quote
      i++;
    } else {
      const comma = text.indexOf(',', i);
      fields.push(text.slice(i, comma < 0 ? text.length : comma));
      if (comma < 0) { return fields; }
      i = comma + 1;
    }
  }
}

/**
 * Whether a CSV record that continues with `line` is still inside a quoted field at the end of it, by the
 * rules of {@link parseCsvRecord}; `inside` says whether it was at the start of the line.
 */
function endsInsideQuotes(line: string, inside: boolean): boolean {
  let i = 0;
  let fieldStart = !inside;
  for (;;) {
    if (inside) {
      const quote = line.indexOf('"', i);
      if (quote < 0) { return true; }
      if (line[quote + 1] === '"') {
        i = quote + 2;
        continue;
      }
      inside = false;
      fieldStart = false;
      i = quote + 1;
    } else if (fieldStart && line[i] === '"') {
      inside = true;
      fieldStart = false;
      i++;
    } else {
      const comma = line.indexOf(',', i);
      if (comma < 0) { return false; }
      fieldStart = true;
      i = comma + 1;
    }
  }
}

/** Receives the records of one object. */
interface RecordSink {
  record(record: Record<string, unknown>): void;
  malformed(): void;
}

/** Parses decoded text chunk by chunk. */
interface TextParser {
  push(text: string): void;
  end(): void;
}

/**
 * Splits text into lines, without the `\n` (a `\r` before it stays, for the parser to strip). Lines longer than
 * {@link MAX_RECORD_CHARS} are reported and skipped.
 */
class LineSplitter implements TextParser {
  private pending = '';
  private skipping = false;

  constructor(private readonly onLine: (line: string) => void, private readonly onOversize: () => void) {}

  public push(text: string): void {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      if (this.skipping) {
        this.skipping = false;
      } else if (this.pending.length + nl - start > MAX_RECORD_CHARS) {
        this.onOversize();
      } else {
        this.onLine(this.pending + text.slice(start, nl));
      }
      this.pending = '';
      start = nl + 1;
    }
    if (!this.skipping) {
      this.pending += text.slice(start);
      if (this.pending.length > MAX_RECORD_CHARS) {
        this.pending = '';
        this.skipping = true;
        this.onOversize();
      }
    }
  }

  public end(): void {
    if (!this.skipping && this.pending.length > 0) { this.onLine(this.pending); }
    this.pending = '';
    this.skipping = false;
  }
}

/** One JSON object per line; blank lines are skipped. */
function jsonLinesParser(sink: RecordSink): TextParser {
  return new LineSplitter(line => {
    if (line.trim() === '') { return; }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      sink.malformed();
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      sink.malformed();
      return;
    }
    sink.record(value as Record<string, unknown>);
  }, () => sink.malformed());
}

/** CSV with a header line; quoted fields may span lines; blank lines are skipped; values stay strings. */
function csvParser(sink: RecordSink, where: string): TextParser {
  let header: string[] | undefined;
  let partial: string | undefined; // a record whose quoted field continues on the next line

  const onRecord = (text: string) => {
    if (text.trim() === '') { return; }
    const fields = parseCsvRecord(text);
    if (!header) {
      if (!fields) {
        throw new Error(`The CSV header of ${where} cannot be parsed: ${JSON.stringify(text.slice(0, 200))}`);
      }
      const duplicates = fields.filter((f, i) => fields.indexOf(f) !== i);
      if (duplicates.length > 0) {
        throw new Error(`The CSV header of ${where} repeats the column(s) ${[...new Set(duplicates)].join(', ')}; column names must be unique`);
      }
      header = fields;
      return;
    }
    if (!fields || fields.length !== header.length) {
      sink.malformed();
      return;
    }
    const record: Record<string, unknown> = Object.create(null);
    for (let i = 0; i < fields.length; i++) { record[header[i]] = fields[i]; }
    sink.record(record);
  };

  const lines = new LineSplitter(line => {
    const text = partial === undefined ? line : `${partial}\n${line}`;
    if (line.includes('"') ? endsInsideQuotes(line, partial !== undefined) : partial !== undefined) {
      partial = text;
      if (partial.length > MAX_RECORD_CHARS) {
        partial = undefined;
        sink.malformed();
      }
      return;
    }
    partial = undefined;
    onRecord(text.endsWith('\r') ? text.slice(0, -1) : text);
  }, () => {
    partial = undefined;
    sink.malformed();
  });

  return {
    push: text => lines.push(text),
    end: () => {
      lines.end();
      if (partial !== undefined) { sink.malformed(); } // a quote never closed
      partial = undefined;
    },
  };
}

/**
 * How an object's records are read; undefined = hashed and listed only. Table metadata (Iceberg's
 * `metadata/` folder, Hive `_SUCCESS`/`_committed` markers) is never read as data.
 */
export function formatOf(key: string): 'csv' | 'jsonl' | undefined {
  const lower = key.toLowerCase();
  if (lower.includes('/metadata/') || lower.startsWith('metadata/') || /(^|\/)_[^/]*$/.test(lower)) { return undefined; }
  if (lower.endsWith('.csv')) { return 'csv'; }
  if (lower.endsWith('.jsonl') || lower.endsWith('.json')) { return 'jsonl'; }
  return undefined;
}

interface Listed {
  readonly key: string;
  readonly size: number;
  readonly etag?: string;
}

function compareKeys(a: Listed, b: Listed): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Validated gate settings. */
export interface GateSettings {
  readonly mode: 'stop' | 'require_approval';
  readonly modelPackageGroup: string;
  readonly maxDriftScore: number;
  readonly maxMissingRateIncrease: number;
  /** The status to register with when the gate passes (require_approval). */
  readonly approvalStatus?: string;
}

interface ValidEvent {
  readonly input: S3Location;
  readonly output: S3Location;
  readonly executionId: string;
  readonly codeVersion: string;
  readonly maxBytes: number;
  readonly gate?: GateSettings;
}

/** A number argument (JSON number or numeric string); NaN when it is neither. */
function numberArg(raw: unknown): number {
  if (typeof raw === 'number') { return raw; }
  if (typeof raw === 'string' && raw.trim() !== '') { return Number(raw.trim()); }
  return NaN;
}

/** The gate arguments, or undefined when the gate is off; pushes problems. */
function validateGate(event: SnapshotEvent, problems: string[]): GateSettings | undefined {
  const mode = event.gate_mode as unknown;
  if (mode === undefined || mode === null || mode === '' || mode === 'disabled') { return undefined; }
  if (mode !== 'stop' && mode !== 'require_approval') {
    problems.push(`gate_mode must be 'stop', 'require_approval' or 'disabled', got ${JSON.stringify(mode)}`);
    return undefined;
  }
  const group = event.model_package_group as unknown;
  if (typeof group !== 'string' || group.trim() === '') {
    problems.push(`model_package_group must name the registry group whose Approved package is the champion, got ${JSON.stringify(group)}`);
  }
  const maxDriftScore = numberArg(event.max_drift_score);
  if (!(Number.isFinite(maxDriftScore) && maxDriftScore >= 0)) {
    problems.push(`max_drift_score must be a number >= 0, got ${JSON.stringify(event.max_drift_score)}`);
  }
  const maxMissingRateIncrease = numberArg(event.max_missing_rate_increase);
  if (!(maxMissingRateIncrease >= 0 && maxMissingRateIncrease <= 1)) {
    problems.push(`max_missing_rate_increase must be a number from 0 to 1, got ${JSON.stringify(event.max_missing_rate_increase)}`);
  }
  const approval = event.approval_status as unknown;
  if (mode === 'require_approval' && (typeof approval !== 'string' || approval.trim() === '')) {
    problems.push(`approval_status must be the status to register with when the gate passes (gate_mode 'require_approval'), got ${JSON.stringify(approval)}`);
  }
  return {
    mode,
    modelPackageGroup: typeof group === 'string' ? group.trim() : '',
    maxDriftScore,
    maxMissingRateIncrease,
    approvalStatus: typeof approval === 'string' && approval.trim() !== '' ? approval.trim() : undefined,
  };
}

/** Checks the whole event and throws once, listing every problem. */
function validateEvent(event: SnapshotEvent): ValidEvent {
  if (event === null || typeof event !== 'object') {
    throw new Error(`The data snapshot step needs an object of arguments, got ${JSON.stringify(event)}`);
  }
  const problems: string[] = [];
  const attempt = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      problems.push((e as Error).message);
      return undefined;
    }
  };
  const input = attempt(() => parseS3Uri(event.input_uri, 'input_uri'));
  const output = attempt(() => parseS3Uri(event.output_uri, 'output_uri'));
  const executionId = event.execution_id;
  if (typeof executionId !== 'string' || executionId.trim() === '' || executionId.includes('/')) {
    problems.push(`execution_id must be a non-empty string without '/', got ${JSON.stringify(executionId)}; pass ExecutionVariables.PIPELINE_EXECUTION_ID`);
  }
  if (typeof event.code_version !== 'string' || event.code_version.trim() === '') {
    problems.push(`code_version must be a non-empty string (a git SHA or release tag), got ${JSON.stringify(event.code_version)}`);
  }
  const rawMax = event.max_bytes as unknown;
  const maxBytes = rawMax === undefined || rawMax === null || rawMax === '' ? DEFAULT_MAX_BYTES : Number(rawMax);
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    problems.push(`max_bytes must be a positive whole number of bytes, got ${JSON.stringify(rawMax)}`);
  }
  const gate = validateGate(event, problems);
  if (problems.length > 0) {
    throw new Error(`Invalid data snapshot arguments: ${problems.join('; ')}`);
  }
  const inputPrefix = input!.key === '' || input!.key.endsWith('/') ? input!.key : `${input!.key}/`;
  const outputPrefix = output!.key.replace(/\/+$/, '');
  const outputFolder = `${outputPrefix === '' ? '' : `${outputPrefix}/`}${executionId}/`;
  if (input!.bucket === output!.bucket && outputFolder.startsWith(inputPrefix)) {
    throw new Error(`Invalid data snapshot arguments: output_uri '${event.output_uri}' is inside input_uri '${event.input_uri}'; ` +
      'the manifest and baseline would become part of the next snapshot, write them to another prefix');
  }
  return {
    input: { bucket: input!.bucket, key: inputPrefix },
    output: { bucket: output!.bucket, key: outputFolder },
    executionId,
    codeVersion: event.code_version,
    maxBytes,
    gate,
  };
}

/** Lists the dataset's objects (no folder markers); fails when there are none or they are too big. */
async function listObjects(input: S3Location, maxBytes: number, opts: SnapshotOptions): Promise<Listed[]> {
  const uri = `s3://${input.bucket}/${input.key}`;
  const objects: Listed[] = [];
  let total = 0;
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await withRetry(`ListObjectsV2(${uri})`, () => opts.s3.send(new ListObjectsV2Command({
      Bucket: input.bucket, Prefix: input.key, ContinuationToken: token,
    })), opts);
    for (const o of page.Contents ?? []) {
      if (!o.Key || o.Key.endsWith('/')) { continue; }
      objects.push({ key: o.Key, size: o.Size ?? 0, etag: o.ETag });
      total += o.Size ?? 0;
      if (total > maxBytes) {
        throw new Error(`The dataset under ${uri} holds at least ${total} bytes (${objects.length} objects so far), more than max_bytes ` +
          `(${maxBytes}); raise max_bytes or snapshot a smaller prefix`);
      }
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (objects.length === 0) {
    throw new Error(`No objects under ${uri}: the dataset is empty or input_uri is wrong (it must name the dataset folder, ` +
      'e.g. s3://ml-data/datasets/churn/)');
  }
  return objects.sort(compareKeys);
}

/** Reads one object: hashes every byte and, for CSV / JSON Lines, parses its records into `sink`. */
async function readObject(bucket: string, object: Listed, sink: RecordSink, opts: SnapshotOptions): Promise<ManifestObject> {
  const uri = `s3://${bucket}/${object.key}`;
  // IfMatch: the bytes hashed are the bytes listed (and counted against max_bytes), even if the key is overwritten meanwhile.
  const response = await withRetry(`GetObject(${uri})`, () => opts.s3.send(new GetObjectCommand({
    Bucket: bucket, Key: object.key, IfMatch: object.etag,
  })), opts).catch((e: Error) => {
    if (e?.name === 'PreconditionFailed' || (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 412) {
      throw new Error(`${uri} was overwritten while the dataset was being snapshotted; run the step again once writers are done`, { cause: e });
    }
    throw e;
  });
  const body = response.Body as AsyncIterable<Uint8Array> | undefined;
  if (!body) {
    throw new Error(`GetObject(${uri}) returned no body`);
  }
  const format = formatOf(object.key);
  const parser = format === 'csv' ? csvParser(sink, uri) : format === 'jsonl' ? jsonLinesParser(sink) : undefined;
  const decoder = new TextDecoder('utf-8');
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.byteLength;
    parser?.push(decoder.decode(chunk, { stream: true }));
  }
  if (parser) {
    parser.push(decoder.decode());
    parser.end();
  }
  return { key: object.key, versionId: response.VersionId ?? null, size, sha256: hash.digest('hex') };
}

// ---------------------------------------------------------------------------------------------------------
// Training-data gate

/** The champion's baseline, or why there is none to compare with. */
export type ChampionBaseline =
  | { readonly kind: 'baseline'; readonly packageArn: string; readonly baselineUri: string; readonly baseline: Baseline }
  /** Nothing to compare with: the gate passes. */
  | { readonly kind: 'none'; readonly packageArn: string | null; readonly baselineUri: null; readonly reason: string }
  /** The champion names a baseline that cannot be used: the gate fails closed. */
  | { readonly kind: 'unreadable'; readonly packageArn: string; readonly baselineUri: string; readonly reason: string };

/** Drift of one champion-baseline feature in the new data, as gate.json records it. */
export interface GateFeature {
  readonly kind: 'numeric' | 'categorical';
  /** PSI against the champion's baseline; null when either side has no values. */
  readonly psi: number | null;
  /** Share of new records without a usable value. */
  readonly missingRate: number;
  /** The same share in the champion's training data. */
  readonly championMissingRate: number;
  /** `missingRate - championMissingRate`. */
  readonly missingRateIncrease: number;
}

/** gate.json, format `cdk-ml-platform/training-data-gate` version 1: the audit record of one decision. */
export interface GateReport {
  readonly format: typeof GATE_REPORT_FORMAT;
  readonly version: 1;
  readonly createdAt: string;
  readonly executionId: string;
  readonly mode: 'stop' | 'require_approval';
  readonly thresholds: { readonly maxDriftScore: number; readonly maxMissingRateIncrease: number };
  readonly modelPackageGroup: string;
  /** The champion model package, or null when the group has no Approved package. */
  readonly championPackageArn: string | null;
  /** The champion's baseline_uri, or null when it has none. */
  readonly championBaselineUri: string | null;
  readonly datasetUri: string;
  readonly manifestUri: string;
  /** The new training data's own baseline. */
  readonly baselineUri: string;
  /** Records of the new training data. */
  readonly recordCount: number;
  /** Records behind the champion's baseline; null when there is no usable baseline. */
  readonly championRecordCount: number | null;
  /** Largest PSI over the features; null when nothing was compared. */
  readonly overallDriftScore: number | null;
  /** Per champion-baseline feature, in name order; empty when nothing was compared. */
  readonly features: { readonly [name: string]: GateFeature };
  /** Features whose PSI is above maxDriftScore. */
  readonly driftedFeatures: string[];
  /** Features whose missing rate rose by more than maxMissingRateIncrease. */
  readonly missingRateFeatures: string[];
  /** Features of the new data that the champion's baseline does not have (recorded, not judged): records with a value. */
  readonly unknownFeatures: { readonly [name: string]: number };
  readonly decision: 'pass' | 'fail';
  readonly passed: boolean;
  /** The whole reason (gate_reason is this, shortened to {@link MAX_GATE_REASON_CHARS} characters). */
  readonly reason: string;
  /** require_approval only: the status a model of this run is registered with. */
  readonly modelApprovalStatus?: string;
}

const errorText = (e: unknown) => {
  const err = e as { name?: string; message?: string } | undefined;
  return `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`;
};

/** Finds the champion and reads its baseline. Throws only on throttling that outlasts the retries or a lookup error. */
export async function loadChampionBaseline(group: string, opts: SnapshotOptions): Promise<ChampionBaseline> {
  if (!opts.sagemaker) {
    throw new Error('The training-data gate needs a SageMaker client (SnapshotOptions.sagemaker)');
  }
  const sagemaker = opts.sagemaker;
  const champion = await findChampion(group, {
    sagemaker, s3: opts.s3, maxAttempts: opts.maxAttempts, sleep: opts.sleep, log: opts.log,
  });
  if (!champion?.ModelPackageArn) {
    return { kind: 'none', packageArn: null, baselineUri: null, reason: `no champion baseline: no Approved model package in ${group}` };
  }
  const arn = champion.ModelPackageArn;
  const pkg = await withRetry(`DescribeModelPackage(${arn})`,
    () => sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn })), opts);
  const uri = pkg.CustomerMetadataProperties?.baseline_uri;
  if (uri === undefined || uri.trim() === '') {
    return { kind: 'none', packageArn: arn, baselineUri: null, reason: `no champion baseline: champion ${arn} has no baseline_uri` };
  }
  const unreadable = (why: string): ChampionBaseline => ({
    kind: 'unreadable',
    packageArn: arn,
    baselineUri: uri,
    reason: `champion baseline ${uri} cannot be used, failing closed: ${why}`,
  });
  let location: S3Location;
  try {
    location = parseS3Uri(uri, 'baseline_uri');
  } catch (e) {
    return unreadable((e as Error).message);
  }
  let text: string;
  try {
    const got = await withRetry(`GetObject(${uri})`, () => opts.s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key })), opts);
    text = got.Body ? await got.Body.transformToString('utf-8') : '';
  } catch (e) {
    if (!(e as { $metadata?: unknown })?.$metadata) { throw e; } // not a service answer (e.g. still throttled)
    const hint = (e as Error).name === 'AccessDenied' ? ' (a missing object also reads as AccessDenied without s3:ListBucket)' : '';
    return unreadable(`${errorText(e)}${hint}`);
  }
  try {
    return { kind: 'baseline', packageArn: arn, baselineUri: uri, baseline: parseBaseline(text) };
  } catch (e) {
    return unreadable((e as Error).message);
  }
}

/** Number for humans: 4 significant digits. */
const show = (n: number) => String(Number(n.toPrecision(4)));

/**
 * Lists `items` into `budget` characters: as many as fit, then `and N more`. Always lists at least one.
 */
function listWithin(items: string[], budget: number): string {
  let out = '';
  for (let i = 0; i < items.length; i++) {
    const more = items.length - i - 1;
    const next = out === '' ? items[i] : `${out}, ${items[i]}`;
    const tail = more > 0 ? `, and ${more} more` : '';
    if (out !== '' && next.length + tail.length > budget) {
      return `${out}, and ${items.length - i} more`;
    }
    out = next;
  }
  return out;
}

/** Cuts `text` to `max` characters, ending in `…` when cut. */
export function shorten(text: string, max = MAX_GATE_REASON_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

interface GateDecision {
  readonly passed: boolean;
  readonly reason: string;
  readonly overallDriftScore: number | null;
  readonly features: { [name: string]: GateFeature };
  readonly driftedFeatures: string[];
  readonly missingRateFeatures: string[];
  readonly unknownFeatures: { [name: string]: number };
}

/** Floating-point slack for threshold comparisons (0.3 - 0.2 must not count as above 0.1). */
const SLACK = 1e-9;

/** The decision for the champion's baseline and the drift report of the new data against it. */
export function decideGate(champion: ChampionBaseline, report: DriftReport | undefined, gate: GateSettings): GateDecision {
  const empty = { overallDriftScore: null, features: {}, driftedFeatures: [], missingRateFeatures: [], unknownFeatures: {} };
  if (champion.kind === 'none') { return { passed: true, reason: champion.reason, ...empty }; }
  if (champion.kind === 'unreadable') { return { passed: false, reason: champion.reason, ...empty }; }
  if (!report || report.recordCount === 0) {
    return { passed: true, reason: 'nothing to compare: the new training data has no CSV or JSON Lines records', ...empty };
  }
  const baseline = champion.baseline;
  if (baseline.recordCount === 0) {
    return { passed: true, reason: `nothing to compare: the champion's baseline ${champion.baselineUri} has no records`, ...empty };
  }
  const features: { [name: string]: GateFeature } = {};
  const drifted: Array<[string, number]> = [];
  const missing: Array<[string, number]> = [];
  let largestIncrease = 0;
  for (const [name, f] of Object.entries(report.features)) {
    const championMissingRate = baseline.features[name].missing / baseline.recordCount;
    const missingRateIncrease = f.missingRate - championMissingRate;
    features[name] = { kind: f.kind, psi: f.psi, missingRate: f.missingRate, championMissingRate, missingRateIncrease };
    if (f.psi !== null && f.psi > gate.maxDriftScore + SLACK) { drifted.push([name, f.psi]); }
    if (missingRateIncrease > gate.maxMissingRateIncrease + SLACK) { missing.push([name, missingRateIncrease]); }
    largestIncrease = Math.max(largestIncrease, missingRateIncrease);
  }
  drifted.sort((a, b) => b[1] - a[1]);
  missing.sort((a, b) => b[1] - a[1]);
  const decision = {
    overallDriftScore: report.overallDriftScore,
    features,
    driftedFeatures: drifted.map(([n]) => n),
    missingRateFeatures: missing.map(([n]) => n),
    unknownFeatures: report.unknownFeatures,
  };
  if (drifted.length === 0 && missing.length === 0) {
    return {
      passed: true,
      reason: `training data within the champion's baseline: drift score ${show(report.overallDriftScore)} <= ${gate.maxDriftScore}, ` +
        `largest missing-rate increase ${show(largestIncrease)} <= ${gate.maxMissingRateIncrease}`,
      ...decision,
    };
  }
  // The most important facts first: the reason is shortened to 256 characters where it is registered.
  const parts: string[] = [];
  const budget = MAX_GATE_REASON_CHARS - 60;
  const share = missing.length === 0 ? budget : drifted.length === 0 ? budget : Math.floor(budget / 2);
  if (drifted.length > 0) {
    parts.push(`PSI above ${gate.maxDriftScore} on ${listWithin(drifted.map(([n, v]) => `${n} (${show(v)})`), share - 20)}`);
  }
  if (missing.length > 0) {
    parts.push(`missing rate up by more than ${gate.maxMissingRateIncrease} on ${listWithin(missing.map(([n, v]) => `${n} (+${show(v)})`), share - 35)}`);
  }
  return { passed: false, reason: `training data drifted from the champion's baseline: ${parts.join('; ')}`, ...decision };
}

/**
 * Snapshots the dataset under `event.input_uri`: writes the manifest and the baseline statistics under
 * `<output_uri>/<execution_id>/` and returns the step's output parameters.
 */
export async function snapshotDataset(event: SnapshotEvent, opts: SnapshotOptions): Promise<SnapshotResult> {
  const { input, output, executionId, codeVersion, maxBytes, gate } = validateEvent(event);
  const now = opts.now ?? (() => new Date());
  const inputUri = `s3://${input.bucket}/${input.key}`;
  const listed = await listObjects(input, maxBytes, opts);
  opts.log?.(`Snapshotting ${listed.length} object(s) under ${inputUri}`);

  // The gate's drift engine sees exactly the records the baseline does, in the same pass.
  const champion = gate ? await loadChampionBaseline(gate.modelPackageGroup, opts) : undefined;
  const engine = gate && champion?.kind === 'baseline'
    ? new DriftEngine(champion.baseline, { psiAlarm: gate.maxDriftScore, exactKsThreshold: GATE_KS_VALUES })
    : undefined;
  if (champion) {
    opts.log?.(champion.kind === 'baseline'
      ? `Training-data gate: comparing with champion ${champion.packageArn}'s baseline ${champion.baselineUri}`
      : `Training-data gate: ${champion.reason}`);
  }

  const builder = new BaselineBuilder({ ...opts.baseline, now });
  let malformedRecords = 0;
  const sink: RecordSink = {
    record: record => {
      builder.add(record);
      engine?.add(record);
    },
    malformed: () => {
      malformedRecords++;
      engine?.addMalformed();
    },
  };
  const objects: ManifestObject[] = [];
  let unparsedObjects = 0;
  for (const object of listed) {
    const before = { records: builder.recordCount, malformed: malformedRecords };
    objects.push(await readObject(input.bucket, object, sink, opts));
    if (formatOf(object.key) === undefined) {
      unparsedObjects++;
    }
    opts.log?.(`${object.key}: ${object.size} bytes, ${builder.recordCount - before.records} record(s), ` +
      `${malformedRecords - before.malformed} malformed${formatOf(object.key) ? '' : ' (not parsed)'}`);
  }

  const manifest: DatasetManifest = {
    format: MANIFEST_FORMAT,
    version: 1,
    createdAt: now().toISOString(),
    inputUri,
    codeVersion,
    executionId,
    objects,
    totalBytes: objects.reduce((sum, o) => sum + o.size, 0),
    recordCount: builder.recordCount,
    malformedRecords,
    unparsedObjects,
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf-8');
  const manifestSha256 = createHash('sha256').update(manifestBytes).digest('hex');
  const manifestKey = `${output.key}manifest.json`;
  const baselineKey = `${output.key}baseline.json`;
  const manifestUri = `s3://${output.bucket}/${manifestKey}`;
  const baselineUri = `s3://${output.bucket}/${baselineKey}`;

  await withRetry(`PutObject(${manifestUri})`, () => opts.s3.send(new PutObjectCommand({
    Bucket: output.bucket, Key: manifestKey, Body: manifestBytes, ContentType: 'application/json',
  })), opts);
  const baseline = builder.build({ manifestUri, manifestSha256 });
  await withRetry(`PutObject(${baselineUri})`, () => opts.s3.send(new PutObjectCommand({
    Bucket: output.bucket, Key: baselineKey, Body: `${JSON.stringify(baseline, null, 2)}\n`, ContentType: 'application/json',
  })), opts);

  const result: SnapshotResult = {
    manifest_uri: manifestUri,
    manifest_sha256: manifestSha256,
    baseline_uri: baselineUri,
    dataset_uri: inputUri,
    record_count: builder.recordCount,
    malformed_records: malformedRecords,
    unparsed_objects: unparsedObjects,
  };
  if (!gate || !champion) { return result; }

  const decision = decideGate(champion, engine?.result(), gate);
  const approvalStatus = gate.mode === 'require_approval' && gate.approvalStatus !== undefined
    ? (decision.passed ? gate.approvalStatus : 'PendingManualApproval')
    : undefined;
  const gateKey = `${output.key}gate.json`;
  const gateUri = `s3://${output.bucket}/${gateKey}`;
  const report: GateReport = {
    format: GATE_REPORT_FORMAT,
    version: 1,
    createdAt: manifest.createdAt,
    executionId,
    mode: gate.mode,
    thresholds: { maxDriftScore: gate.maxDriftScore, maxMissingRateIncrease: gate.maxMissingRateIncrease },
    modelPackageGroup: gate.modelPackageGroup,
    championPackageArn: champion.packageArn,
    championBaselineUri: champion.baselineUri,
    datasetUri: inputUri,
    manifestUri,
    baselineUri,
    recordCount: builder.recordCount,
    championRecordCount: champion.kind === 'baseline' ? champion.baseline.recordCount : null,
    overallDriftScore: decision.overallDriftScore,
    features: decision.features,
    driftedFeatures: decision.driftedFeatures,
    missingRateFeatures: decision.missingRateFeatures,
    unknownFeatures: decision.unknownFeatures,
    decision: decision.passed ? 'pass' : 'fail',
    passed: decision.passed,
    reason: decision.reason,
    modelApprovalStatus: approvalStatus,
  };
  await withRetry(`PutObject(${gateUri})`, () => opts.s3.send(new PutObjectCommand({
    Bucket: output.bucket, Key: gateKey, Body: `${JSON.stringify(report, null, 2)}\n`, ContentType: 'application/json',
  })), opts);
  opts.log?.(`Training-data gate ${decision.passed ? 'passed' : 'FAILED'} (${gate.mode}): ${decision.reason}`);
  return {
    ...result,
    gate_passed: decision.passed,
    gate_reason: shorten(decision.reason),
    gate_report_uri: gateUri,
    ...(approvalStatus !== undefined ? { model_approval_status: approvalStatus } : {}),
  };
}

let client: S3Client | undefined;
let sagemakerClient: SageMakerClient | undefined;

/** Lambda step entry point. */
export async function handler(event: SnapshotEvent): Promise<SnapshotResult> {
  client ??= new S3Client({});
  const gateOn = event?.gate_mode !== undefined && event.gate_mode !== '' && event.gate_mode !== 'disabled';
  if (gateOn) { sagemakerClient ??= new SageMakerClient({}); }
  const result = await snapshotDataset(event, { s3: client, sagemaker: sagemakerClient, log: message => console.log(message) });
  console.log(JSON.stringify(result));
  return result;
}
