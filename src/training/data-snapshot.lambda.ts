// SageMaker Pipelines Lambda step: snapshots the training dataset before training. Lists every object under
// the input prefix, records each object's version and SHA-256 in a manifest (so the exact bytes a model was
// trained on can be found again), and computes the drift baseline statistics of the CSV / JSON Lines records
// in one streaming pass. Writes `<output_uri>/<execution_id>/manifest.json` and `.../baseline.json`.
import { createHash } from 'crypto';
import { GetObjectCommand, ListObjectsV2Command, ListObjectsV2CommandOutput, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { fullJitterBackoff, isThrottling, retryThrottled } from '../core/aws-retry';
import { BaselineBuilder, BaselineBuilderOptions } from '../core/baseline';

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
}

export const MANIFEST_FORMAT = 'cdk-ml-platform/dataset-manifest';
/** Default of {@link SnapshotEvent.max_bytes}: 50 GiB. */
export const DEFAULT_MAX_BYTES = 50 * 1024 ** 3;
/** A line (or a quoted CSV record spanning lines) longer than this many characters is malformed. */
export const MAX_RECORD_CHARS = 16 * 1024 * 1024;

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

interface ValidEvent {
  readonly input: S3Location;
  readonly output: S3Location;
  readonly executionId: string;
  readonly codeVersion: string;
  readonly maxBytes: number;
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

/**
 * Snapshots the dataset under `event.input_uri`: writes the manifest and the baseline statistics under
 * `<output_uri>/<execution_id>/` and returns the step's output parameters.
 */
export async function snapshotDataset(event: SnapshotEvent, opts: SnapshotOptions): Promise<SnapshotResult> {
  const { input, output, executionId, codeVersion, maxBytes } = validateEvent(event);
  const now = opts.now ?? (() => new Date());
  const inputUri = `s3://${input.bucket}/${input.key}`;
  const listed = await listObjects(input, maxBytes, opts);
  opts.log?.(`Snapshotting ${listed.length} object(s) under ${inputUri}`);

  const builder = new BaselineBuilder({ ...opts.baseline, now });
  let malformedRecords = 0;
  const sink: RecordSink = {
    record: record => builder.add(record),
    malformed: () => { malformedRecords++; },
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

  return {
    manifest_uri: manifestUri,
    manifest_sha256: manifestSha256,
    baseline_uri: baselineUri,
    dataset_uri: inputUri,
    record_count: builder.recordCount,
    malformed_records: malformedRecords,
    unparsed_objects: unparsedObjects,
  };
}

let client: S3Client | undefined;

/** Lambda step entry point. */
export async function handler(event: SnapshotEvent): Promise<SnapshotResult> {
  client ??= new S3Client({});
  const result = await snapshotDataset(event, { s3: client, log: message => console.log(message) });
  console.log(JSON.stringify(result));
  return result;
}
