// SageMaker Pipelines Lambda step: decides whether the challenger model (just trained and evaluated) beats the
// champion (the most recent Approved model package of the group). The pipeline's ConditionStep branches on
// `is_better`: register/approve the challenger, or keep the champion.
//
// Event (the Lambda step's Arguments; numbers may arrive as JSON numbers or as strings):
//   evaluation_uri       s3://bucket/key of the challenger's evaluation.json
//   metric               metric name inside evaluation.json, e.g. 'validation:auc'
//   direction            'Maximize' | 'Minimize'
//   min_improvement      absolute margin the challenger must win by, >= 0
//   model_package_group  model package group name (or ARN)
//
// evaluation.json — the contract for users' evaluation scripts. The same file is registered as the model
// package's ModelMetrics.ModelQuality.Statistics, so the champion's file has the same shape:
//   { "metrics": { "<metric name>": { "value": <number> }, ... } }
// e.g. { "metrics": { "validation:auc": { "value": 0.912 }, "validation:logloss": { "value": 0.31 } } }
// The value must be a JSON number. Python's json.dump writes a NaN score as a bare NaN (not valid JSON); it
// is read as NaN, never promoted. Other keys (per metric and at the top level) are ignored.
//
// Decision:
//   - A missing, non-numeric, NaN or ±Infinity challenger value is never promoted (is_better false).
//   - No Approved package in the group: the challenger is better (the first model is registered).
//   - The champion has no readable metrics file or no finite value for the metric: the challenger is better
//     (a broken champion must not block the group forever).
//   - Otherwise, with min_improvement 0 the challenger must be strictly better: challenger > champion
//     (Maximize) or challenger < champion (Minimize). Equal values keep the champion (no churn).
//     With min_improvement m > 0: challenger >= champion + m (Maximize) or challenger <= champion - m
//     (Minimize), compared with a tolerance of a few ulps so that 0.85 counts as 0.80 + 0.05.
//
// Output (Lambda step OutputParameters, all JSON scalars):
//   is_better             boolean
//   challenger_value      the value as a string, 'NaN' for NaN or a non-numeric value, 'missing' when absent
//   champion_value        the champion's value, or 'none' (no champion, or no comparable value)
//   champion_package_arn  the champion's model package ARN, or 'none'
//   threshold             the value the challenger had to reach (see `reason` for > or >=), or 'none'
//   reason                one sentence with both values, the metric and the direction
//
// A missing challenger evaluation.json, a malformed event or an AWS error other than throttling fails the
// step. Throttling (ThrottlingException, SlowDown, HTTP 429/503) is retried with capped exponential backoff.
// The SDK clients are devDependencies bundled into the handler by esbuild; projen's lambda component adds
// `*.lambda.ts` entry points to the eslint devDependencies allowlist on the next synth.
/* eslint-disable import/no-extraneous-dependencies */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeModelPackageCommand,
  ListModelPackagesCommand,
  ListModelPackagesCommandOutput,
  ModelPackageSummary,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { isThrottling, retryThrottled } from '../core/aws-retry';

export { isThrottling };
/* eslint-enable import/no-extraneous-dependencies */

/** The Lambda step's Arguments. */
export interface CompareEvent {
  readonly evaluation_uri: string;
  readonly metric: string;
  readonly direction: 'Maximize' | 'Minimize';
  readonly min_improvement: number | string;
  readonly model_package_group: string;
}

/** The Lambda step's outputs (JSON scalars only). */
export interface CompareResult {
  readonly is_better: boolean;
  readonly challenger_value: string;
  readonly champion_value: string;
  readonly champion_package_arn: string;
  readonly threshold: string;
  readonly reason: string;
}

/** Clients and seams for tests. */
export interface CompareOptions {
  readonly sagemaker: SageMakerClient;
  readonly s3: S3Client;
  /** Attempts for a throttled call, including the first. Default 6. */
  readonly maxAttempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly log?: (message: string) => void;
}

/** A validated event. */
export interface ComparisonRequest {
  readonly evaluationUri: string;
  readonly bucket: string;
  readonly key: string;
  readonly metric: string;
  readonly direction: 'Maximize' | 'Minimize';
  readonly minImprovement: number;
  readonly modelPackageGroup: string;
}

/** Backoff before retry `attempt` (1-based): between half and all of min(10 s, 200 ms * 2^attempt). */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(10_000, 200 * 2 ** attempt);
  return Math.round(cap / 2 + (cap / 2) * random());
}

function withRetry<T>(what: string, call: () => Promise<T>, opts: CompareOptions): Promise<T> {
  return retryThrottled(what, call, {
    maxAttempts: opts.maxAttempts ?? 6,
    backoff: a => backoffMs(a),
    sleep: opts.sleep,
    log: opts.log,
    exhausted: message => new Error(message),
  });
}

// ---------------------------------------------------------------------------------------------------------
// Event validation

const S3_URI = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/;

/** Splits s3://bucket/key, or returns undefined when `uri` is not one. */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const m = S3_URI.exec(uri);
  return m ? { bucket: m[1], key: m[2] } : undefined;
}

function requiredString(event: Record<string, unknown>, field: string): string {
  const value = event[field];
  if (value === undefined || value === null) {
    throw new Error(`compare-with-champion: the event has no ${field}`);
  }
  if (typeof value !== 'string' || value.trim() === '') {
    throw new Error(`compare-with-champion: ${field} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value.trim();
}

/** Validates the Lambda step's Arguments; throws an Error naming the bad field. */
export function validateEvent(event: unknown): ComparisonRequest {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new Error(`compare-with-champion: the event must be an object, got ${JSON.stringify(event)}`);
  }
  const e = event as Record<string, unknown>;
  const evaluationUri = requiredString(e, 'evaluation_uri');
  const location = parseS3Uri(evaluationUri);
  if (!location) {
    throw new Error(`compare-with-champion: evaluation_uri must be an s3://bucket/key URI, got ${JSON.stringify(evaluationUri)}`);
  }
  const metric = requiredString(e, 'metric');
  const direction = requiredString(e, 'direction');
  if (direction !== 'Maximize' && direction !== 'Minimize') {
    throw new Error(`compare-with-champion: direction must be 'Maximize' or 'Minimize', got ${JSON.stringify(direction)}`);
  }
  const rawMin = e.min_improvement;
  if (rawMin === undefined || rawMin === null) {
    throw new Error('compare-with-champion: the event has no min_improvement');
  }
  const minImprovement = typeof rawMin === 'number' ? rawMin
    : typeof rawMin === 'string' && rawMin.trim() !== '' ? Number(rawMin.trim()) : NaN;
  if (!Number.isFinite(minImprovement) || minImprovement < 0) {
    throw new Error(`compare-with-champion: min_improvement must be a number >= 0, got ${JSON.stringify(rawMin)}`);
  }
  const modelPackageGroup = requiredString(e, 'model_package_group');
  return { evaluationUri, ...location, metric, direction, minImprovement, modelPackageGroup };
}

// ---------------------------------------------------------------------------------------------------------
// evaluation.json

const NON_STANDARD = ['-Infinity', 'Infinity', 'NaN'] as const;
const SENTINEL = '\u0000cdk-ml-platform:';

/**
 * JSON.parse that also reads the bare NaN, Infinity and -Infinity tokens Python's json.dump writes
 * (outside strings only). Throws SyntaxError when the text is not JSON even so.
 */
export function parseEvaluationJson(text: string): unknown {
  const body = text.replace(/^\uFEFF/, '');
  try {
    return JSON.parse(body);
  } catch (first) {
    let out = '';
    let inString = false;
    let replaced = false;
    for (let i = 0; i < body.length; i++) {
      const ch = body[i];
      if (inString) {
        out += ch;
        if (ch === '\\') { out += body[++i] ?? ''; } else if (ch === '"') { inString = false; }
        continue;
      }
      if (ch === '"') { inString = true; out += ch; continue; }
      const token = NON_STANDARD.find(t => body.startsWith(t, i));
      if (token) {
        out += JSON.stringify(SENTINEL + token);
        i += token.length - 1;
        replaced = true;
        continue;
      }
      out += ch;
    }
    if (!replaced) { throw first; }
    return JSON.parse(out, (_key, value) => typeof value === 'string' && value.startsWith(SENTINEL)
      ? Number(value.slice(SENTINEL.length)) : value);
  }
}

/** What an evaluation.json says about one metric. */
export type MetricReading =
  | { readonly kind: 'finite'; readonly value: number }
  | { readonly kind: 'unusable'; readonly display: 'NaN' | 'missing' | 'Infinity' | '-Infinity'; readonly why: string };

/** Reads metrics[metric].value from a parsed evaluation.json. */
export function readMetric(doc: unknown, metric: string): MetricReading {
  const metrics = (doc as { metrics?: unknown } | null)?.metrics;
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) {
    return { kind: 'unusable', display: 'missing', why: 'has no "metrics" object' };
  }
  const entry = Object.prototype.hasOwnProperty.call(metrics, metric) ? (metrics as Record<string, unknown>)[metric] : undefined;
  if (typeof entry !== 'object' || entry === null || !('value' in entry) || (entry as { value?: unknown }).value === null) {
    return { kind: 'unusable', display: 'missing', why: `has no metrics[${JSON.stringify(metric)}].value` };
  }
  const value = (entry as { value: unknown }).value;
  if (typeof value !== 'number') {
    return { kind: 'unusable', display: 'NaN', why: `has a non-numeric ${metric} (${JSON.stringify(value)})` };
  }
  if (Number.isNaN(value)) {
    return { kind: 'unusable', display: 'NaN', why: `has ${metric} = NaN` };
  }
  if (!Number.isFinite(value)) {
    const display = value > 0 ? 'Infinity' : '-Infinity';
    return { kind: 'unusable', display, why: `has ${metric} = ${display}` };
  }
  return { kind: 'finite', value };
}

const NOT_FOUND = new Set(['NoSuchKey', 'NoSuchBucket', 'NotFound']);

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return NOT_FOUND.has(e?.name ?? '') || e?.$metadata?.httpStatusCode === 404;
}

/** Reads an S3 object as text; undefined when it does not exist. */
async function readObject(bucket: string, key: string, opts: CompareOptions): Promise<string | undefined> {
  try {
    const res = await withRetry(`GetObject(s3://${bucket}/${key})`,
      () => opts.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })), opts);
    return res.Body ? await res.Body.transformToString('utf-8') : '';
  } catch (e) {
    if (isNotFound(e)) { return undefined; }
    const err = e as Error & { $metadata?: unknown };
    if (!err?.$metadata) { throw e; } // not a service error (e.g. still throttled after every attempt)
    const hint = err.name === 'AccessDenied' ? ' (without s3:ListBucket, a missing object also reads as AccessDenied)' : '';
    throw new Error(`compare-with-champion: could not read s3://${bucket}/${key}: ${err.name}: ${err.message}${hint}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Champion lookup

const groupNameOf = (nameOrArn: string) => nameOrArn.startsWith('arn:') ? nameOrArn.split('/').pop()! : nameOrArn;

/**
 * The most recent Approved model package of the group, or undefined. Asks the service to filter and sort,
 * and also filters (Approved, this group) and sorts (CreationTime, then version, newest first) itself,
 * over every page, so the answer is right even from an implementation that ignores a filter or the order.
 */
export async function findChampion(group: string, opts: CompareOptions): Promise<ModelPackageSummary | undefined> {
  const summaries: ModelPackageSummary[] = [];
  const seen = new Set<string>();
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const page: ListModelPackagesCommandOutput = await withRetry(`ListModelPackages(${group})`,
      () => opts.sagemaker.send(new ListModelPackagesCommand({
        ModelPackageGroupName: group,
        ModelApprovalStatus: 'Approved',
        SortBy: 'CreationTime',
        SortOrder: 'Descending',
        MaxResults: 100,
        NextToken: token,
      })), opts);
    summaries.push(...(page.ModelPackageSummaryList ?? []));
    nextToken = page.NextToken || undefined;
    if (nextToken && seen.has(nextToken)) {
      throw new Error(`compare-with-champion: ListModelPackages(${group}) returned the same NextToken twice`);
    }
    if (nextToken) { seen.add(nextToken); }
  } while (nextToken);

  const name = groupNameOf(group);
  const time = (s: ModelPackageSummary) => (s.CreationTime ? new Date(s.CreationTime).getTime() : 0) || 0;
  return summaries
    .filter(s => s.ModelApprovalStatus === 'Approved' && s.ModelPackageArn
      && (s.ModelPackageGroupName === undefined || s.ModelPackageGroupName === name))
    .sort((a, b) => time(b) - time(a) || (b.ModelPackageVersion ?? 0) - (a.ModelPackageVersion ?? 0))[0];
}

/** The champion's value for the metric, or why there is none. */
async function championReading(arn: string, metric: string, opts: CompareOptions): Promise<MetricReading> {
  const pkg = await withRetry(`DescribeModelPackage(${arn})`,
    () => opts.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn })), opts);
  const uri = pkg.ModelMetrics?.ModelQuality?.Statistics?.S3Uri;
  if (!uri) {
    return { kind: 'unusable', display: 'missing', why: 'has no ModelMetrics.ModelQuality.Statistics' };
  }
  const location = parseS3Uri(uri);
  if (!location) {
    return { kind: 'unusable', display: 'missing', why: `has a metrics file that is not an s3://bucket/key URI (${uri})` };
  }
  const text = await readObject(location.bucket, location.key, opts);
  if (text === undefined) {
    return { kind: 'unusable', display: 'missing', why: `has a metrics file ${uri} that does not exist` };
  }
  let doc: unknown;
  try {
    doc = parseEvaluationJson(text);
  } catch {
    return { kind: 'unusable', display: 'missing', why: `has a metrics file ${uri} that is not valid JSON` };
  }
  const reading = readMetric(doc, metric);
  return reading.kind === 'finite' ? reading : { ...reading, why: `${reading.why} in ${uri}` };
}

// ---------------------------------------------------------------------------------------------------------
// Decision

/** Number as text for humans: 12 significant digits, so 0.8 + 0.05 shows as 0.85. */
function show(n: number): string {
  return String(Number(n.toPrecision(12)));
}

/**
 * Challenger against champion. Strictly better when `minImprovement` is 0 (equal values keep the champion);
 * otherwise better by at least `minImprovement`, with a tolerance of a few ulps for the addition.
 */
export function beats(challenger: number, champion: number, direction: 'Maximize' | 'Minimize', minImprovement: number) {
  const sign = direction === 'Maximize' ? 1 : -1;
  const threshold = champion + sign * minImprovement;
  const strictlyBetter = sign * (challenger - champion) > 0;
  const tolerance = 4 * Number.EPSILON * Math.max(Math.abs(challenger), Math.abs(champion), minImprovement);
  const better = strictlyBetter && (minImprovement === 0 || sign * (challenger - threshold) >= -tolerance);
  const op = (direction === 'Maximize' ? '>' : '<') + (minImprovement === 0 ? '' : '=');
  return { better, threshold, needed: `${op} ${show(threshold)}` };
}

/** Compares the challenger's evaluation with the champion of the group. See the module comment. */
export async function compareWithChampion(event: unknown, opts: CompareOptions): Promise<CompareResult> {
  const req = validateEvent(event);
  const { metric, direction, modelPackageGroup: group } = req;

  const text = await readObject(req.bucket, req.key, opts);
  if (text === undefined) {
    throw new Error(`compare-with-champion: the challenger evaluation ${req.evaluationUri} does not exist; ` +
      'the evaluation step must write it (format: {"metrics": {"<name>": {"value": <number>}}})');
  }
  let doc: unknown;
  try {
    doc = parseEvaluationJson(text);
  } catch (e) {
    throw new Error(`compare-with-champion: the challenger evaluation ${req.evaluationUri} is not valid JSON: ${(e as Error).message}`);
  }
  const challenger = readMetric(doc, metric);
  const challengerValue = challenger.kind === 'finite' ? String(challenger.value) : challenger.display;

  const champion = await findChampion(group, opts);
  const championArn = champion?.ModelPackageArn ?? 'none';
  const reading = champion ? await championReading(championArn, metric, opts) : undefined;
  const championValue = reading?.kind === 'finite' ? String(reading.value) : 'none';
  opts.log?.(`challenger ${metric} = ${challengerValue} (${req.evaluationUri}); champion ${championArn} = ${championValue}`);
  const result = (is_better: boolean, threshold: string, reason: string): CompareResult => ({
    is_better, challenger_value: challengerValue, champion_value: championValue, champion_package_arn: championArn, threshold, reason,
  });

  if (challenger.kind !== 'finite') {
    const against = champion ? `champion ${championArn} = ${championValue}` : `no approved champion in ${group}`;
    return result(false, 'none', `the challenger evaluation ${req.evaluationUri} ${challenger.why}, so it is not promoted ` +
      `(${against}, ${direction})`);
  }
  if (!champion || !reading) {
    return result(true, 'none', `no approved champion in ${group}; the first model is registered ` +
      `(challenger ${metric} = ${challengerValue}, ${direction})`);
  }
  if (reading.kind !== 'finite') {
    return result(true, 'none', `champion ${championArn} has no comparable ${metric} (it ${reading.why}), ` +
      `so the challenger (${metric} = ${challengerValue}) replaces it (${direction})`);
  }
  const { better, threshold, needed } = beats(challenger.value, reading.value, direction, req.minImprovement);
  const terms = `(${direction}, min_improvement ${req.minImprovement}: needed ${needed})`;
  return result(better, show(threshold), better
    ? `challenger ${metric} = ${challengerValue} beats champion ${championValue} ${terms}`
    : `challenger ${metric} = ${challengerValue} does not beat champion ${championValue} ${terms}, so the champion is kept`);
}

let sagemaker: SageMakerClient | undefined;
let s3: S3Client | undefined;

/** Lambda entry point for the pipeline's Lambda step. */
export async function handler(event: CompareEvent): Promise<CompareResult> {
  sagemaker ??= new SageMakerClient({});
  s3 ??= new S3Client({});
  const result = await compareWithChampion(event, { sagemaker, s3, log: message => console.log(message) });
  console.log(JSON.stringify(result));
  return result;
}
