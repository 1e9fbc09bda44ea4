// Scheduled capture check (DriftMonitor and PredictionHealthMonitor): reads the SageMaker data capture files
// written since the last run, feeds them to an analyzer (the drift engine on the inputs, or the prediction
// health analyzer on the outputs), writes a report to S3 and publishes CloudWatch metrics in the Embedded
// Metric Format (JSON lines on stdout). The watermark moves only after the report and the metrics are out,
// so a crash re-processes a window rather than skipping it.
//
// Which files are new. SageMaker writes `<prefix><endpoint>/<variant>/yyyy/mm/dd/hh/<mm-ss-mmm>-<uuid>.jsonl`:
// each instance buffers records and delivers a file a few minutes after its first record, so within a
// variant a file can appear AFTER a file with a larger key. The watermark is therefore kept per variant
// (`{ version: 2, variants: { "<variant prefix>": "<last key processed>" } }`) and a file is only read once
// its capture time (hour from the path, minute and second from the file name; end of the hour when the name
// has no time) is at least `graceSeconds` old. Files are read in capture-time order; within a variant that is
// key order, so "every key up to the watermark is done" holds as long as SageMaker delivers a file within
// the grace period (default 15 minutes). Keys that do not look like capture files use their LastModified.
// A version-1 watermark (`{ lastKey, lastModified }`, one key for all variants) is migrated on read.
//
// The SDK clients are devDependencies bundled into the handler by esbuild; projen's lambda component adds
// `*.lambda.ts` entry points to the eslint devDependencies allowlist on the next synth.
/* eslint-disable import/no-extraneous-dependencies */
import { GetObjectCommand, ListObjectsV2Command, ListObjectsV2CommandOutput, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeModelPackageCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { DecodedCapture, decodeCaptureLine, parseCaptureKey } from './drift/capture';
import { CaptureScanner } from './drift/capture-scanner';
import { DriftEngine } from './drift/engine';
import { forEachLine, MAX_LINE_CHARS } from './drift/line-reader';
import { PredictionHealthAnalyzer } from './health/prediction-health';
import { fullJitterBackoff, isThrottling, retryThrottled, ThrottledError } from '../core/aws-retry';
import { Baseline, parseBaseline } from '../core/baseline';
import { findChampion } from '../training/compare-with-champion.lambda';
/* eslint-enable import/no-extraneous-dependencies */

/** A metric value and its CloudWatch unit. */
export interface MetricValue {
  readonly value: number;
  readonly unit: string;
}

/** What an analyzer found in one window. */
export interface AnalysisResult {
  /** Metrics under the endpoint dimension only. */
  readonly metrics: Record<string, MetricValue>;
  /** Metrics per feature (dimension `Feature`). */
  readonly featureMetrics?: Record<string, Record<string, MetricValue>>;
  /** The full result, written to the report. */
  readonly detail: unknown;
}

/** Receives the decoded capture lines of one window. */
export interface CaptureAnalyzer {
  /**
   * Optional fast path: folds a raw capture line in without decoding it and returns true, or returns false without
   * changing anything, and the line is then decoded and passed to {@link add} (or counted as malformed) instead.
   * It must only accept lines that decode without error, and fold them in exactly as `add` would.
   */
  addLine?(line: string): boolean;
  add(capture: DecodedCapture): void;
  addMalformed(): void;
  result(): AnalysisResult;
}

/** What a check analyzes. */
export type CheckKind = 'drift' | 'prediction-health';

export interface CaptureCheckConfig {
  readonly kind: CheckKind;
  readonly bucket: string;
  /** Prefix of the endpoint's capture files, `capture/<endpoint>/`. */
  readonly capturePrefix: string;
  readonly endpointName: string;
  /** S3 key of the watermark JSON ({@link Watermark}). */
  readonly stateKey: string;
  /** Reports are written to `<reportPrefix><ISO timestamp>.json`. */
  readonly reportPrefix: string;
  /** CloudWatch namespace of the metrics. */
  readonly namespace: string;
  /** Column names of CSV payloads. */
  readonly featureNames?: string[];
  /** Most capture files read per run, oldest first. Default {@link DEFAULT_MAX_OBJECTS}. */
  readonly maxObjects?: number;
  /** Age a capture file's capture time must reach before it is read. Default {@link DEFAULT_GRACE_SECONDS}. */
  readonly graceSeconds?: number;
}

export interface CaptureCheckDeps {
  readonly s3: S3Client;
  readonly analyzer: CaptureAnalyzer;
  /** Writes one EMF JSON line (the handler prints it to stdout). */
  readonly emit: (line: string) => void;
  /** Extra fields for the report (e.g. which baseline the drift was measured against). */
  readonly reportContext?: Record<string, unknown>;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly log?: (message: string) => void;
  /** Attempts for a throttled S3 call, including the first. Default 8. */
  readonly maxAttempts?: number;
}

/** The state kept between runs: per variant prefix, the last capture file processed. */
export interface Watermark {
  readonly version: 2;
  readonly variants: { readonly [variantPrefix: string]: string };
}

export interface CaptureCheckSummary {
  /** Capture files handled this run (including poisoned ones). */
  readonly objects: number;
  /** Capture lines analyzed (not malformed). */
  readonly records: number;
  readonly malformed: number;
  /** Capture files that could not be read at all and were skipped. */
  readonly poisoned: number;
  /** Key of the report written; undefined when there was nothing new. */
  readonly reportKey?: string;
  /** The watermark after the run (undefined when nothing was ever processed). */
  readonly watermark?: Watermark;
  /** Set when the run did nothing on purpose (e.g. no baseline yet). */
  readonly skipped?: string;
}

export const DEFAULT_MAX_OBJECTS = 500;
export const DEFAULT_GRACE_SECONDS = 15 * 60;
export const DRIFT_NAMESPACE = 'MlPlatform/Drift';
export const HEALTH_NAMESPACE = 'MlPlatform/PredictionHealth';
export { MAX_LINE_CHARS };

/** Throttling that outlasted every retry: fails the run (never counted as a poisoned object). */
export { ThrottledError };

interface RetryDeps {
  readonly sleep?: (ms: number) => Promise<void>;
  readonly log?: (message: string) => void;
  readonly maxAttempts?: number;
}

/** Retries `call` on throttling with capped exponential backoff and full jitter. */
function withRetry<T>(what: string, call: () => Promise<T>, deps: RetryDeps): Promise<T> {
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

/** The variant prefix of a key: `<capturePrefix><variant>/`. */
function variantOf(capturePrefix: string, key: string): string {
  const rest = key.slice(capturePrefix.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? capturePrefix : capturePrefix + rest.slice(0, slash + 1);
}

/** Reads the watermark; undefined when there is none yet. A watermark that cannot be read fails the run. */
async function readWatermark(config: CaptureCheckConfig, deps: CaptureCheckDeps): Promise<Watermark | undefined> {
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
  const s = state as { version?: unknown; variants?: unknown; lastKey?: unknown } | undefined;
  if (s && s.version === 2 && s.variants && typeof s.variants === 'object' && !Array.isArray(s.variants)
    && Object.values(s.variants).every(v => typeof v === 'string')) {
    return { version: 2, variants: { ...(s.variants as Record<string, string>) } };
  }
  if (s && typeof s.lastKey === 'string') {
    return { version: 2, variants: { [variantOf(config.capturePrefix, s.lastKey)]: s.lastKey } };
  }
  throw new Error(`The capture-check watermark ${uri} is not {"version": 2, "variants": {prefix: key}}: ${JSON.stringify(text.slice(0, 200))}; ` +
    'fix or delete it (deleting re-processes all capture files)');
}

interface Listed {
  readonly key: string;
  readonly variant: string;
  /** Capture time used for ordering and the grace cutoff, epoch ms. */
  readonly time: number;
}

const FILE_TIME = /\/(\d{2})-(\d{2})-(\d{3})-[^/]*$/;

/** When a capture file's records start: hour from the path, mm-ss-mmm from the name (end of the hour otherwise). */
export function captureTime(key: string, lastModified?: Date): number | undefined {
  const parsed = parseCaptureKey(key);
  if (!parsed) { return lastModified?.getTime(); }
  const m = FILE_TIME.exec(key);
  if (m) {
    const [mm, ss, ms] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (mm < 60 && ss < 60) { return parsed.hour.getTime() + mm * 60_000 + ss * 1000 + ms; }
  }
  return parsed.hour.getTime() + 3_600_000 - 1;
}

async function listPage(config: CaptureCheckConfig, params: { Prefix: string; Delimiter?: string; StartAfter?: string; ContinuationToken?: string },
  deps: CaptureCheckDeps): Promise<ListObjectsV2CommandOutput> {
  return withRetry(`ListObjectsV2(s3://${config.bucket}/${params.Prefix})`,
    () => deps.s3.send(new ListObjectsV2Command({ Bucket: config.bucket, ...params })), deps);
}

/** The variant prefixes under the capture prefix. */
async function listVariants(config: CaptureCheckConfig, deps: CaptureCheckDeps): Promise<string[]> {
  const variants: string[] = [];
  let token: string | undefined;
  do {
    const page = await listPage(config, { Prefix: config.capturePrefix, Delimiter: '/', ContinuationToken: token }, deps);
    for (const p of page.CommonPrefixes ?? []) { if (p.Prefix) { variants.push(p.Prefix); } }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return variants.sort();
}

/**
 * The capture files of one variant after its watermark whose capture time passed the cutoff, in key order,
 * at most `max`. Listing stops at the first file still inside the grace period: later keys are later.
 */
async function listVariant(config: CaptureCheckConfig, variant: string, after: string | undefined, cutoff: number, max: number,
  deps: CaptureCheckDeps): Promise<Listed[]> {
  const found: Listed[] = [];
  let token: string | undefined;
  do {
    const page = await listPage(config, { Prefix: variant, StartAfter: token ? undefined : after, ContinuationToken: token }, deps);
    for (const o of page.Contents ?? []) {
      if (!o.Key || !o.Key.endsWith('.jsonl') || (after !== undefined && o.Key <= after)) { continue; }
      const time = captureTime(o.Key, o.LastModified);
      if (time === undefined || time > cutoff) {
        if (parseCaptureKey(o.Key)) { return found; }
        continue; // an odd key still in its grace period: later keys may be due
      }
      found.push({ key: o.Key, variant, time });
      if (found.length >= max) { return found; }
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found;
}


interface ObjectResult {
  /** The non-blank lines, without their line break. */
  readonly lines: string[];
  /** Lines longer than {@link MAX_LINE_CHARS}, skipped. */
  readonly oversize: number;
}

/**
 * Reads one capture file. Its lines are returned rather than fed to the analyzer as they are read, so a file
 * that fails half-way contributes nothing (capture files are small: SageMaker rolls them every few MB).
 * {@link analyzeLines} then decodes them.
 */
async function readCaptureFile(config: CaptureCheckConfig, key: string, deps: CaptureCheckDeps): Promise<ObjectResult> {
  const uri = `s3://${config.bucket}/${key}`;
  const response = await withRetry(`GetObject(${uri})`, () => deps.s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key })), deps);
  const body = response.Body as AsyncIterable<Uint8Array> | undefined;
  if (!body) { throw new Error(`GetObject(${uri}) returned no body`); }
  const lines: string[] = [];
  let oversize = 0;
  await forEachLine(body, raw => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() !== '') { lines.push(line); }
  }, () => { oversize++; });
  return { lines, oversize };
}

/**
 * Feeds the lines of a file read by {@link readCaptureFile} to the analyzer: through its {@link CaptureAnalyzer.addLine}
 * fast path when it has one and takes the line, else decoded by `decodeCaptureLine`; lines that cannot be decoded (and
 * oversize ones) are counted as malformed, logged (the first 5 of a file) and passed to `addMalformed` after the others.
 */
function analyzeLines(config: CaptureCheckConfig, key: string, read: ObjectResult, deps: CaptureCheckDeps): { records: number; malformed: number } {
  const analyzer = deps.analyzer;
  const options = { featureNames: config.featureNames };
  let records = 0;
  let malformed = read.oversize;
  let logged = 0;
  for (const line of read.lines) {
    if (analyzer.addLine?.(line)) {
      records++;
      continue;
    }
    let capture: DecodedCapture;
    try {
      capture = decodeCaptureLine(line, options);
    } catch (e) {
      malformed++;
      if (++logged <= 5) { deps.log?.(`s3://${config.bucket}/${key}: ${(e as Error).message}`); }
      continue;
    }
    analyzer.add(capture);
    records++;
  }
  for (let i = 0; i < malformed; i++) { analyzer.addMalformed(); }
  return { records, malformed };
}

/** One EMF document: `metrics` are published in `namespace` under `dimensions`. */
export function emfLine(namespace: string, timestamp: Date, dimensions: Record<string, string>,
  metrics: Record<string, MetricValue>): string | undefined {
  const finite = Object.entries(metrics).filter(([, m]) => Number.isFinite(m.value));
  if (finite.length === 0) { return undefined; }
  const doc: Record<string, unknown> = {
    _aws: {
      Timestamp: timestamp.getTime(),
      CloudWatchMetrics: [{
        Namespace: namespace,
        Dimensions: [Object.keys(dimensions)],
        Metrics: finite.map(([name, m]) => ({ Name: name, Unit: m.unit })),
      }],
    },
    ...dimensions,
  };
  for (const [name, m] of finite) { doc[name] = m.value; }
  return JSON.stringify(doc);
}

const count = (value: number): MetricValue => ({ value, unit: 'Count' });

/**
 * Runs one check over the capture files that became due since the watermark; see the file comment. A capture
 * file that cannot be read at all (GetObject error other than throttling, bytes that are not UTF-8) is counted
 * as poisoned, logged and skipped; it never stops the run. Persistent throttling fails the run (the watermark
 * is unchanged, so the next run retries the same files).
 */
export async function runCaptureCheck(config: CaptureCheckConfig, deps: CaptureCheckDeps): Promise<CaptureCheckSummary> {
  const now = deps.now ?? (() => new Date());
  const maxObjects = config.maxObjects ?? DEFAULT_MAX_OBJECTS;
  if (!Number.isSafeInteger(maxObjects) || maxObjects <= 0) {
    throw new Error(`maxObjects must be a positive whole number, got ${JSON.stringify(config.maxObjects)}`);
  }
  const grace = config.graceSeconds ?? DEFAULT_GRACE_SECONDS;
  if (!(Number.isFinite(grace) && grace >= 0)) { throw new Error(`graceSeconds must be a non-negative number, got ${grace}`); }
  const dims = { EndpointName: config.endpointName };
  const startedAt = now();
  const cutoff = startedAt.getTime() - grace * 1000;
  const before = await readWatermark(config, deps);
  const variants = new Set([...await listVariants(config, deps), ...Object.keys(before?.variants ?? {})]);
  let candidates: Listed[] = [];
  for (const variant of [...variants].sort()) {
    candidates.push(...await listVariant(config, variant, before?.variants[variant], cutoff, maxObjects, deps));
  }
  // Oldest capture time first across variants (stable: key order within a variant is kept).
  candidates = candidates.map((c, i) => ({ c, i })).sort((a, b) => a.c.time - b.c.time || a.i - b.i).map(x => x.c).slice(0, maxObjects);
  deps.log?.(`${candidates.length} due capture file(s) under s3://${config.bucket}/${config.capturePrefix} (${variants.size} variant(s), ` +
    `cutoff ${new Date(cutoff).toISOString()})`);

  if (candidates.length === 0) {
    const line = emfLine(config.namespace, startedAt, dims, { RecordsAnalyzed: count(0), MalformedRecords: count(0), PoisonedObjects: count(0) });
    if (line) { deps.emit(line); }
    return { objects: 0, records: 0, malformed: 0, poisoned: 0, watermark: before };
  }

  let records = 0;
  let malformed = 0;
  const poisonedKeys: string[] = [];
  const window: Record<string, { afterKey: string | null; firstKey: string; lastKey: string; objects: number }> = {};
  for (const object of candidates) {
    const afterKey = before?.variants[object.variant] ?? null;
    const w = window[object.variant] ??= { afterKey, firstKey: object.key, lastKey: object.key, objects: 0 };
    w.lastKey = object.key;
    w.objects++;
    let result: ObjectResult;
    try {
      result = await readCaptureFile(config, object.key, deps);
    } catch (e) {
      if (e instanceof ThrottledError || isThrottling(e)) { throw e; }
      poisonedKeys.push(object.key);
      deps.log?.(`Skipping poisoned capture file s3://${config.bucket}/${object.key}: ${(e as Error).name}: ${(e as Error).message}`);
      continue;
    }
    const analyzed = analyzeLines(config, object.key, result, deps);
    records += analyzed.records;
    malformed += analyzed.malformed;
  }

  const analysis = deps.analyzer.result();
  const finishedAt = now();
  const reportKey = `${config.reportPrefix}${finishedAt.toISOString()}.json`;
  const report = {
    format: 'cdk-ml-platform/capture-check-report',
    version: 2,
    kind: config.kind,
    createdAt: finishedAt.toISOString(),
    endpointName: config.endpointName,
    ...deps.reportContext,
    window,
    recordsAnalyzed: records,
    malformedRecords: malformed,
    poisonedObjects: poisonedKeys,
    metrics: Object.fromEntries(Object.entries(analysis.metrics).map(([k, m]) => [k, m.value])),
    result: analysis.detail,
  };
  await withRetry(`PutObject(s3://${config.bucket}/${reportKey})`, () => deps.s3.send(new PutObjectCommand({
    Bucket: config.bucket, Key: reportKey, Body: `${JSON.stringify(report, null, 2)}\n`, ContentType: 'application/json',
  })), deps);

  const lines = [emfLine(config.namespace, finishedAt, dims, {
    ...analysis.metrics,
    RecordsAnalyzed: count(records),
    MalformedRecords: count(malformed),
    PoisonedObjects: count(poisonedKeys.length),
  })];
  for (const [feature, metrics] of Object.entries(analysis.featureMetrics ?? {})) {
    lines.push(emfLine(config.namespace, finishedAt, { ...dims, Feature: feature }, metrics));
  }
  lines.forEach(line => { if (line) { deps.emit(line); } });

  const variantsAfter: Record<string, string> = { ...before?.variants };
  for (const [variant, w] of Object.entries(window)) { variantsAfter[variant] = w.lastKey; }
  const watermark: Watermark = { version: 2, variants: variantsAfter };
  await withRetry(`PutObject(s3://${config.bucket}/${config.stateKey})`, () => deps.s3.send(new PutObjectCommand({
    Bucket: config.bucket, Key: config.stateKey, Body: JSON.stringify(watermark), ContentType: 'application/json',
  })), deps);
  deps.log?.(`Analyzed ${records} capture line(s) from ${candidates.length} file(s) (${malformed} malformed, ${poisonedKeys.length} poisoned); ` +
    `report s3://${config.bucket}/${reportKey}`);
  return { objects: candidates.length, records, malformed, poisoned: poisonedKeys.length, reportKey, watermark };
}

// ---------------------------------------------------------------------------------------------------------------
// Analyzers
// ---------------------------------------------------------------------------------------------------------------

const none = (value: number | null | undefined): MetricValue => ({ value: value ?? NaN, unit: 'None' });

/** The drift engine on the input records of each capture line. Metrics: DriftScore; per feature PSI, JSDistance, MissingRate. */
export function driftAnalyzer(baseline: Baseline, psiAlarm?: number): CaptureAnalyzer {
  const engine = new DriftEngine(baseline, { psiAlarm });
  // The common SageMaker line (JSON payload of one flat record) goes straight into the engine; others are decoded.
  const scanner = new CaptureScanner(engine);
  return {
    addLine: line => scanner.addLine(line),
    add: capture => { (capture.input ?? []).forEach(r => engine.add(r)); },
    addMalformed: () => engine.addMalformed(),
    result: () => {
      const report = engine.result();
      const featureMetrics: Record<string, Record<string, MetricValue>> = {};
      for (const [name, f] of Object.entries(report.features)) {
        featureMetrics[name] = { PSI: none(f.psi), JSDistance: none(f.jsDistance), MissingRate: none(f.missingRate) };
      }
      return {
        metrics: {
          DriftScore: none(report.overallDriftScore),
          DriftedFeatures: count(report.driftedFeatures.length),
          InputRecords: count(report.recordCount),
        },
        featureMetrics,
        detail: report,
      };
    },
  };
}

/** The prediction health analyzer on the outputs of each capture line. */
export function healthAnalyzer(health: PredictionHealthAnalyzer): CaptureAnalyzer {
  return {
    add: capture => {
      if (capture.output === undefined) { return; }
      health.addAll(capture.output);
    },
    addMalformed: () => health.addMalformed(),
    result: () => {
      const r = health.result();
      return {
        metrics: {
          Predictions: count(r.predictions),
          NonFiniteRate: { value: r.nonFiniteRate, unit: 'None' },
          OutOfRangeRate: { value: r.outOfRangeRate, unit: 'None' },
          ConstantPredictions: count(r.constant ? 1 : 0),
          ClassCollapse: count(r.classCollapsed ? 1 : 0),
          TopClassShare: none(r.topClassShare),
          PredictionStdDev: none(r.stdDev),
          PredictionMean: none(r.mean),
        },
        detail: r,
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Baseline of the drift check
// ---------------------------------------------------------------------------------------------------------------

/** Where the drift baseline comes from. */
export interface BaselineSource {
  /** A fixed `s3://bucket/key` of a baseline JSON. */
  readonly uri?: string;
  /** Else: the newest Approved package of this group, its `CustomerMetadataProperties.baseline_uri`. */
  readonly modelPackageGroup?: string;
}

/** A loaded baseline and where it came from; undefined baseline with `missing` saying why. */
export interface LoadedBaseline {
  readonly baseline?: Baseline;
  readonly uri?: string;
  readonly modelPackageArn?: string;
  readonly missing?: string;
}

function parseS3(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) { throw new Error(`Not an s3://bucket/key URI: ${JSON.stringify(uri)}`); }
  return { bucket: m[1], key: m[2] };
}

/**
 * Loads the baseline. No approved package (or one without `baseline_uri`) is not an error: the check skips
 * the run until the first model is approved. A baseline that exists but cannot be read or parsed fails the run.
 */
export async function loadBaseline(source: BaselineSource, clients: { s3: S3Client; sagemaker?: SageMakerClient },
  deps: RetryDeps = {}): Promise<LoadedBaseline> {
  let uri = source.uri;
  let modelPackageArn: string | undefined;
  if (!uri) {
    if (!source.modelPackageGroup || !clients.sagemaker) { throw new Error('The drift check needs DRIFT_BASELINE_URI or DRIFT_MODEL_PACKAGE_GROUP'); }
    const sagemaker = clients.sagemaker;
    const champion = await findChampion(source.modelPackageGroup, { sagemaker, s3: clients.s3, sleep: deps.sleep, log: deps.log });
    if (!champion?.ModelPackageArn) { return { missing: `no Approved model package in group ${source.modelPackageGroup} yet` }; }
    modelPackageArn = champion.ModelPackageArn;
    const described = await withRetry(`DescribeModelPackage(${modelPackageArn})`,
      () => sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: modelPackageArn })), deps);
    uri = described.CustomerMetadataProperties?.baseline_uri;
    if (!uri) { return { modelPackageArn, missing: `the champion ${modelPackageArn} has no CustomerMetadataProperties.baseline_uri` }; }
  }
  const { bucket, key } = parseS3(uri);
  const got = await withRetry(`GetObject(${uri})`, () => clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })), deps);
  const text = await got.Body!.transformToString('utf-8');
  let baseline: Baseline;
  try {
    baseline = parseBaseline(JSON.parse(text));
  } catch (e) {
    throw new Error(`The drift baseline ${uri} cannot be used: ${(e as Error).message}`);
  }
  return { baseline, uri, modelPackageArn };
}

// ---------------------------------------------------------------------------------------------------------------
// Lambda entry point
// ---------------------------------------------------------------------------------------------------------------

/** Everything the entry point reads from CHECK_* and DRIFT_* / HEALTH_* environment variables. */
export interface HandlerConfig {
  readonly check: CaptureCheckConfig;
  readonly baseline?: BaselineSource;
  readonly psiAlarm?: number;
  readonly health?: { minScore?: number; maxScore?: number; classThreshold?: number; minPredictions?: number };
}

function optionalNumber(env: NodeJS.ProcessEnv, name: string, problems: string[]): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) { return undefined; }
  const value = Number(raw);
  if (!Number.isFinite(value)) { problems.push(`${name} must be a number, got ${JSON.stringify(raw)}`); }
  return value;
}

/** The configuration from the environment; throws listing every problem. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): HandlerConfig {
  const problems: string[] = [];
  const kind = (env.CHECK_KIND?.trim() || 'drift') as CheckKind;
  if (kind !== 'drift' && kind !== 'prediction-health') { problems.push(`CHECK_KIND must be drift or prediction-health, got ${JSON.stringify(kind)}`); }
  const required = ['CHECK_BUCKET', 'CHECK_CAPTURE_PREFIX', 'CHECK_ENDPOINT_NAME', 'CHECK_STATE_KEY', 'CHECK_REPORT_PREFIX'];
  const missing = required.filter(name => !env[name]?.trim());
  if (missing.length > 0) { problems.push(`missing ${missing.join(', ')}`); }
  if (kind === 'drift' && !env.DRIFT_BASELINE_URI?.trim() && !env.DRIFT_MODEL_PACKAGE_GROUP?.trim()) {
    problems.push('a drift check needs DRIFT_BASELINE_URI or DRIFT_MODEL_PACKAGE_GROUP');
  }
  const names = env.CHECK_FEATURE_NAMES?.split(',').map(n => n.trim()).filter(n => n !== '');
  const maxObjects = optionalNumber(env, 'CHECK_MAX_OBJECTS', problems);
  const graceSeconds = optionalNumber(env, 'CHECK_GRACE_SECONDS', problems);
  const psiAlarm = optionalNumber(env, 'DRIFT_PSI_ALARM', problems);
  const health = {
    minScore: optionalNumber(env, 'HEALTH_MIN_SCORE', problems),
    maxScore: optionalNumber(env, 'HEALTH_MAX_SCORE', problems),
    classThreshold: optionalNumber(env, 'HEALTH_CLASS_THRESHOLD', problems),
    minPredictions: optionalNumber(env, 'HEALTH_MIN_PREDICTIONS', problems),
  };
  if (problems.length > 0) { throw new Error(`The capture check is misconfigured: ${problems.join('; ')}`); }
  return {
    check: {
      kind,
      bucket: env.CHECK_BUCKET!.trim(),
      capturePrefix: env.CHECK_CAPTURE_PREFIX!.trim(),
      endpointName: env.CHECK_ENDPOINT_NAME!.trim(),
      stateKey: env.CHECK_STATE_KEY!.trim(),
      reportPrefix: env.CHECK_REPORT_PREFIX!.trim(),
      namespace: kind === 'drift' ? DRIFT_NAMESPACE : HEALTH_NAMESPACE,
      featureNames: names && names.length > 0 ? names : undefined,
      maxObjects,
      graceSeconds,
    },
    baseline: kind === 'drift' ? { uri: env.DRIFT_BASELINE_URI?.trim() || undefined, modelPackageGroup: env.DRIFT_MODEL_PACKAGE_GROUP?.trim() || undefined } : undefined,
    psiAlarm,
    health,
  };
}

/** Runs a check configured by {@link configFromEnv} with the given clients. */
export async function runConfiguredCheck(config: HandlerConfig, clients: { s3: S3Client; sagemaker?: SageMakerClient },
  deps: Omit<CaptureCheckDeps, 's3' | 'analyzer' | 'reportContext'>): Promise<CaptureCheckSummary> {
  if (config.check.kind === 'prediction-health') {
    return runCaptureCheck(config.check, { ...deps, s3: clients.s3, analyzer: healthAnalyzer(new PredictionHealthAnalyzer(config.health)) });
  }
  const loaded = await loadBaseline(config.baseline!, clients, deps);
  if (!loaded.baseline) {
    deps.log?.(`Drift check skipped: ${loaded.missing}`);
    return { objects: 0, records: 0, malformed: 0, poisoned: 0, skipped: loaded.missing };
  }
  return runCaptureCheck(config.check, {
    ...deps,
    s3: clients.s3,
    analyzer: driftAnalyzer(loaded.baseline, config.psiAlarm),
    reportContext: { baseline: { uri: loaded.uri, modelPackageArn: loaded.modelPackageArn ?? null } },
  });
}

let s3Client: S3Client | undefined;
let sagemakerClient: SageMakerClient | undefined;

/** Lambda entry point (EventBridge schedule; the event is not used). */
export async function handler(_event?: unknown): Promise<CaptureCheckSummary> {
  const config = configFromEnv();
  s3Client ??= new S3Client({});
  sagemakerClient ??= new SageMakerClient({});
  const summary = await runConfiguredCheck(config, { s3: s3Client, sagemaker: sagemakerClient }, {
    emit: line => console.log(line), log: message => console.log(message),
  });
  console.log(JSON.stringify(summary));
  return summary;
}
