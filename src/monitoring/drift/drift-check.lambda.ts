// Scheduled drift check: reads the SageMaker data capture files written since the last run (a watermark in S3),
// feeds their input records to the drift engine, writes a report to S3 and publishes CloudWatch metrics in the
// Embedded Metric Format (JSON lines on stdout). The watermark moves only after the report and the metrics are
// out, so a crash re-processes a window rather than skipping it.
//
// The SDK client is a devDependency bundled into the handler by esbuild; projen's lambda component adds
// `*.lambda.ts` entry points to the eslint devDependencies allowlist on the next synth.
/* eslint-disable import/no-extraneous-dependencies */
import { GetObjectCommand, ListObjectsV2Command, ListObjectsV2CommandOutput, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { decodeCaptureLine } from './capture';
import { fullJitterBackoff, isThrottling, retryThrottled } from '../../core/aws-retry';

/** The drift engine: receives the input records of one window and scores them against the baseline. */
export interface DriftAnalyzer {
  add(record: Record<string, unknown>): void;
  addMalformed(): void;
  result(): { overallDriftScore: number; features: Record<string, { psi?: number }>; [k: string]: unknown };
}

export interface DriftCheckConfig {
  readonly bucket: string;
  /** Prefix of the endpoint's capture files, `capture/<endpoint>/`. */
  readonly capturePrefix: string;
  readonly endpointName: string;
  /** S3 key of the watermark JSON ({@link Watermark}). */
  readonly stateKey: string;
  /** Reports are written to `<reportPrefix><ISO timestamp>.json`. */
  readonly reportPrefix: string;
  /** Column names of CSV payloads. */
  readonly featureNames?: string[];
  /** Most capture files read per run, oldest first. Default {@link DEFAULT_MAX_OBJECTS}. */
  readonly maxObjects?: number;
}

export interface DriftCheckDeps {
  readonly s3: S3Client;
  readonly analyzer: DriftAnalyzer;
  /** Writes one EMF JSON line (the handler prints it to stdout). */
  readonly emit: (line: string) => void;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly log?: (message: string) => void;
  /** Attempts for a throttled S3 call, including the first. Default 8. */
  readonly maxAttempts?: number;
}

/** The state kept between runs: the last capture file processed. */
export interface Watermark {
  readonly lastKey: string;
  /** LastModified of that object, ISO 8601. */
  readonly lastModified: string;
}

export interface DriftCheckSummary {
  /** Capture files handled this run (including poisoned ones). */
  readonly objects: number;
  readonly records: number;
  readonly malformed: number;
  /** Capture files that could not be read at all and were skipped. */
  readonly poisoned: number;
  /** Key of the report written; undefined when there was nothing new. */
  readonly reportKey?: string;
  /** The watermark after the run (undefined when nothing was ever processed). */
  readonly watermark?: Watermark;
}

export const DEFAULT_MAX_OBJECTS = 500;
export const METRIC_NAMESPACE = 'MlPlatform/Drift';
/** A capture line longer than this many characters is malformed and skipped. */
export const MAX_LINE_CHARS = 16 * 1024 * 1024;

/** Throttling that outlasted every retry: fails the run (never counted as a poisoned object). */
export class ThrottledError extends Error {}

/** Retries `call` on throttling with capped exponential backoff and full jitter. */
function withRetry<T>(what: string, call: () => Promise<T>, deps: DriftCheckDeps): Promise<T> {
  return retryThrottled(what, call, {
    maxAttempts: deps.maxAttempts ?? 8,
    backoff: fullJitterBackoff,
    sleep: deps.sleep,
    log: deps.log,
    exhausted: (message, cause) => new ThrottledError(message, { cause }),
  });
}

const isNoSuchKey = (e: unknown) => {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return err?.name === 'NoSuchKey' || err?.$metadata?.httpStatusCode === 404;
};

/** Reads the watermark; undefined when there is none yet. A watermark that cannot be read fails the run. */
async function readWatermark(config: DriftCheckConfig, deps: DriftCheckDeps): Promise<Watermark | undefined> {
  const uri = `s3://${config.bucket}/${config.stateKey}`;
  let text: string;
  try {
    const got = await withRetry(`GetObject(${uri})`, () => deps.s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: config.stateKey })), deps);
    text = await got.Body!.transformToString('utf-8');
  } catch (e) {
    if (isNoSuchKey(e)) { return undefined; }
    throw e;
  }
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch {
    state = undefined;
  }
  const s = state as Partial<Watermark> | undefined;
  if (!s || typeof s.lastKey !== 'string' || typeof s.lastModified !== 'string') {
    throw new Error(`The drift watermark ${uri} is not {"lastKey": string, "lastModified": string}: ${JSON.stringify(text.slice(0, 200))}; ` +
      'fix or delete it (deleting re-processes all capture files)');
  }
  return { lastKey: s.lastKey, lastModified: s.lastModified };
}

interface Listed {
  readonly key: string;
  readonly lastModified?: Date;
}

/** The capture files after `lastKey`, oldest (smallest key) first, at most `max`. */
async function listNew(config: DriftCheckConfig, lastKey: string | undefined, max: number, deps: DriftCheckDeps): Promise<Listed[]> {
  const uri = `s3://${config.bucket}/${config.capturePrefix}`;
  const found: Listed[] = [];
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await withRetry(`ListObjectsV2(${uri})`, () => deps.s3.send(new ListObjectsV2Command({
      Bucket: config.bucket, Prefix: config.capturePrefix, StartAfter: token ? undefined : lastKey, ContinuationToken: token,
    })), deps);
    for (const o of page.Contents ?? []) {
      if (!o.Key || !o.Key.endsWith('.jsonl') || (lastKey !== undefined && o.Key <= lastKey)) { continue; }
      found.push({ key: o.Key, lastModified: o.LastModified });
      if (found.length >= max) { return found; }
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found;
}

/** Streams `body` as UTF-8 (invalid bytes throw) and calls `onLine` for each line without its line break. */
async function forEachLine(body: AsyncIterable<Uint8Array>, onLine: (line: string) => void, onOversize: () => void): Promise<void> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending = '';
  let skipping = false;
  const push = (text: string) => {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      if (skipping) {
        skipping = false;
      } else if (pending.length + nl - start > MAX_LINE_CHARS) {
        onOversize();
      } else {
        onLine(pending + text.slice(start, nl));
      }
      pending = '';
      start = nl + 1;
    }
    if (!skipping) {
      pending += text.slice(start);
      if (pending.length > MAX_LINE_CHARS) {
        pending = '';
        skipping = true;
        onOversize();
      }
    }
  };
  for await (const chunk of body) { push(decoder.decode(chunk, { stream: true })); }
  push(decoder.decode());
  if (!skipping && pending.length > 0) { onLine(pending); }
}

interface ObjectResult {
  readonly records: Record<string, unknown>[];
  readonly malformed: number;
}

/**
 * Reads one capture file. Its records are returned rather than fed to the analyzer as they are read, so a file
 * that fails half-way contributes nothing (capture files are small: SageMaker rolls them every few MB).
 */
async function readCaptureFile(config: DriftCheckConfig, key: string, deps: DriftCheckDeps): Promise<ObjectResult> {
  const uri = `s3://${config.bucket}/${key}`;
  const response = await withRetry(`GetObject(${uri})`, () => deps.s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key })), deps);
  const body = response.Body as AsyncIterable<Uint8Array> | undefined;
  if (!body) { throw new Error(`GetObject(${uri}) returned no body`); }
  const records: Record<string, unknown>[] = [];
  let malformed = 0;
  await forEachLine(body, raw => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') { return; }
    try {
      const decoded = decodeCaptureLine(line, { featureNames: config.featureNames });
      records.push(...decoded.input ?? []);
    } catch (e) {
      malformed++;
      if (malformed <= 5) { deps.log?.(`${uri}: ${(e as Error).message}`); }
    }
  }, () => { malformed++; });
  return { records, malformed };
}

/** One EMF document: `values` are published under `dimensions` in {@link METRIC_NAMESPACE}. */
function emfLine(timestamp: Date, dimensions: Record<string, string>, metrics: Record<string, { value: number; unit: string }>): string | undefined {
  const finite = Object.entries(metrics).filter(([, m]) => Number.isFinite(m.value));
  if (finite.length === 0) { return undefined; }
  const doc: Record<string, unknown> = {
    _aws: {
      Timestamp: timestamp.getTime(),
      CloudWatchMetrics: [{
        Namespace: METRIC_NAMESPACE,
        Dimensions: [Object.keys(dimensions)],
        Metrics: finite.map(([name, m]) => ({ Name: name, Unit: m.unit })),
      }],
    },
    ...dimensions,
  };
  for (const [name, m] of finite) { doc[name] = m.value; }
  return JSON.stringify(doc);
}

/**
 * Runs one drift check over the capture files written since the watermark; see the file comment. A capture
 * file that cannot be read at all (GetObject error other than throttling, bytes that are not UTF-8) is counted
 * as poisoned, logged and skipped; it never stops the run. Persistent throttling fails the run (the watermark
 * is unchanged, so the next run retries the same files).
 */
export async function runDriftCheck(config: DriftCheckConfig, deps: DriftCheckDeps): Promise<DriftCheckSummary> {
  const now = deps.now ?? (() => new Date());
  const maxObjects = config.maxObjects ?? DEFAULT_MAX_OBJECTS;
  if (!Number.isSafeInteger(maxObjects) || maxObjects <= 0) {
    throw new Error(`maxObjects must be a positive whole number, got ${JSON.stringify(config.maxObjects)}`);
  }
  const dims = { EndpointName: config.endpointName };
  const before = await readWatermark(config, deps);
  const listed = await listNew(config, before?.lastKey, maxObjects, deps);
  deps.log?.(`${listed.length} new capture file(s) under s3://${config.bucket}/${config.capturePrefix} after ${before?.lastKey ?? '(start)'}`);

  if (listed.length === 0) {
    const line = emfLine(now(), dims, {
      RecordsAnalyzed: { value: 0, unit: 'Count' }, MalformedRecords: { value: 0, unit: 'Count' }, PoisonedObjects: { value: 0, unit: 'Count' },
    });
    if (line) { deps.emit(line); }
    return { objects: 0, records: 0, malformed: 0, poisoned: 0, watermark: before };
  }

  let records = 0;
  let malformed = 0;
  const poisonedKeys: string[] = [];
  for (const object of listed) {
    let result: ObjectResult;
    try {
      result = await readCaptureFile(config, object.key, deps);
    } catch (e) {
      if (e instanceof ThrottledError || isThrottling(e)) { throw e; }
      poisonedKeys.push(object.key);
      deps.log?.(`Skipping poisoned capture file s3://${config.bucket}/${object.key}: ${(e as Error).name}: ${(e as Error).message}`);
      continue;
    }
    result.records.forEach(r => deps.analyzer.add(r));
    for (let i = 0; i < result.malformed; i++) { deps.analyzer.addMalformed(); }
    records += result.records.length;
    malformed += result.malformed;
  }

  const analysis = deps.analyzer.result();
  const finishedAt = now();
  const last = listed[listed.length - 1];
  const reportKey = `${config.reportPrefix}${finishedAt.toISOString()}.json`;
  const report = {
    format: 'cdk-ml-platform/drift-report',
    version: 1,
    createdAt: finishedAt.toISOString(),
    endpointName: config.endpointName,
    window: { afterKey: before?.lastKey ?? null, firstKey: listed[0].key, lastKey: last.key, objects: listed.length },
    recordsAnalyzed: records,
    malformedRecords: malformed,
    poisonedObjects: poisonedKeys,
    result: analysis,
  };
  await withRetry(`PutObject(s3://${config.bucket}/${reportKey})`, () => deps.s3.send(new PutObjectCommand({
    Bucket: config.bucket, Key: reportKey, Body: `${JSON.stringify(report, null, 2)}\n`, ContentType: 'application/json',
  })), deps);

  const lines = [emfLine(finishedAt, dims, {
    DriftScore: { value: analysis.overallDriftScore, unit: 'None' },
    RecordsAnalyzed: { value: records, unit: 'Count' },
    MalformedRecords: { value: malformed, unit: 'Count' },
    PoisonedObjects: { value: poisonedKeys.length, unit: 'Count' },
  })];
  for (const [feature, stats] of Object.entries(analysis.features)) {
    if (stats?.psi !== undefined) { lines.push(emfLine(finishedAt, { ...dims, Feature: feature }, { PSI: { value: stats.psi, unit: 'None' } })); }
  }
  lines.forEach(line => { if (line) { deps.emit(line); } });

  const watermark: Watermark = { lastKey: last.key, lastModified: (last.lastModified ?? finishedAt).toISOString() };
  await withRetry(`PutObject(s3://${config.bucket}/${config.stateKey})`, () => deps.s3.send(new PutObjectCommand({
    Bucket: config.bucket, Key: config.stateKey, Body: JSON.stringify(watermark), ContentType: 'application/json',
  })), deps);
  deps.log?.(`Analyzed ${records} record(s) from ${listed.length} file(s) (${malformed} malformed, ${poisonedKeys.length} poisoned); ` +
    `report s3://${config.bucket}/${reportKey}`);
  return { objects: listed.length, records, malformed, poisoned: poisonedKeys.length, reportKey, watermark };
}

/** Creates the drift engine for one run. */
export type AnalyzerFactory = (config: DriftCheckConfig) => DriftAnalyzer;

const notConfigured: AnalyzerFactory = () => { throw new Error('drift engine not configured'); };

/**
 * The drift engine used by {@link handler}. It throws 'drift engine not configured' until the construct's
 * Lambda wiring sets it with {@link setAnalyzerFactory} (the one seam left until the engine is plugged in).
 */
export let createAnalyzer: AnalyzerFactory = notConfigured;

/** Sets (or, with undefined, resets) {@link createAnalyzer}. */
export function setAnalyzerFactory(factory: AnalyzerFactory | undefined): void {
  createAnalyzer = factory ?? notConfigured;
}

/** The configuration from DRIFT_* environment variables; throws listing every missing one. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): DriftCheckConfig {
  const required = ['DRIFT_BUCKET', 'DRIFT_CAPTURE_PREFIX', 'DRIFT_ENDPOINT_NAME', 'DRIFT_STATE_KEY', 'DRIFT_REPORT_PREFIX'];
  const missing = required.filter(name => !env[name]?.trim());
  if (missing.length > 0) {
    throw new Error(`The drift check needs the environment variable(s) ${missing.join(', ')}`);
  }
  const names = env.DRIFT_FEATURE_NAMES?.split(',').map(n => n.trim()).filter(n => n !== '');
  const maxObjects = env.DRIFT_MAX_OBJECTS?.trim() ? Number(env.DRIFT_MAX_OBJECTS) : undefined;
  return {
    bucket: env.DRIFT_BUCKET!.trim(),
    capturePrefix: env.DRIFT_CAPTURE_PREFIX!.trim(),
    endpointName: env.DRIFT_ENDPOINT_NAME!.trim(),
    stateKey: env.DRIFT_STATE_KEY!.trim(),
    reportPrefix: env.DRIFT_REPORT_PREFIX!.trim(),
    featureNames: names && names.length > 0 ? names : undefined,
    maxObjects,
  };
}

let client: S3Client | undefined;

/** Lambda entry point (EventBridge schedule; the event is not used). */
export async function handler(_event?: unknown): Promise<DriftCheckSummary> {
  const config = configFromEnv();
  const analyzer = createAnalyzer(config);
  client ??= new S3Client({});
  const summary = await runDriftCheck(config, {
    s3: client, analyzer, emit: line => console.log(line), log: message => console.log(message),
  });
  console.log(JSON.stringify(summary));
  return summary;
}
