// EventBridge target of AuditTrail: files each SageMaker state change and continuous-training decision as one
// JSON object in the Object Lock audit bucket. The bucket's default retention locks every object on write.
//
// Key: <prefix>/<yyyy>/<mm>/<dd>/<source>/<detail-type-slug>/<yyyymmddThhmmssZ>-<event id>.json, where prefix is
// `events` for the kinds the construct routes here (AUDIT_KNOWN_EVENTS) and `other` for any other well-formed
// event (kept, never dropped: an audit store should not lose a record because a rule was widened).
//
// Idempotent by event id: the key depends only on the event, and the write is conditional (If-None-Match: *),
// so a redelivery of the same event gets 412 Precondition Failed and is reported as a duplicate instead of
// creating a second object version (a concurrent redelivery gets 409 ConditionalRequestConflict and is retried). Throttling is retried with backoff; a malformed event throws, so Lambda's
// async retries and then the dead-letter queue keep it for inspection.
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { defaultSleep, fullJitterBackoff, retryThrottled } from '../core/aws-retry';

/** The EventBridge envelope fields the writer reads. */
export interface AuditEvent {
  readonly 'version'?: string;
  readonly 'id': string;
  readonly 'detail-type': string;
  readonly 'source': string;
  readonly 'account'?: string;
  readonly 'time': string;
  readonly 'region'?: string;
  readonly 'resources'?: string[];
  readonly 'detail'?: unknown;
}

/** One (source, detail-type) pair the construct routes to the writer. */
export interface KnownEventKind {
  readonly source: string;
  readonly detailType: string;
}

/** How the writer runs. */
export interface AuditWriterConfig {
  /** AUDIT_BUCKET: the Object Lock audit bucket. */
  readonly bucket: string;
  /** AUDIT_KNOWN_EVENTS (JSON): kinds filed under `events/`; anything else goes under `other/`. */
  readonly known: KnownEventKind[];
}

/** Dependencies, injectable for tests. */
export interface AuditWriterDeps {
  readonly s3: S3Client;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly log?: (message: string) => void;
  /** Attempts including the first, for throttling. @default 6 */
  readonly maxAttempts?: number;
}

/** What happened to one event. */
export interface AuditWriteResult {
  readonly key: string;
  /** `written`: a new object; `duplicate`: the key already existed (a redelivery of the same event). */
  readonly status: 'written' | 'duplicate';
}

/** An event that cannot be filed. Its name lets a reader of the DLQ or logs tell it from an AWS failure. */
export class MalformedAuditEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedAuditEventError';
  }
}

/** EventBridge event ids are UUIDs; anything that could escape its key segment is refused. */
const EVENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** EventBridge `time`: RFC 3339 in UTC, e.g. 2026-11-30T12:00:00Z (fractional seconds tolerated). */
const EVENT_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$/;

/** Lowercase key segment: letters, digits and dots kept, every other run becomes one `-`. */
export function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 100);
}

/** Checks the envelope; throws {@link MalformedAuditEventError} naming every missing or invalid field. */
export function validateEvent(event: unknown): AuditEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new MalformedAuditEventError(`audit event must be an EventBridge event object, got ${describe(event)}`);
  }
  const e = event as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof e.id !== 'string' || !EVENT_ID.test(e.id)) {
    problems.push(`id must be 1-128 letters, digits, '.', '_' or '-' (got ${describe(e.id)})`);
  }
  for (const field of ['source', 'detail-type']) {
    const v = e[field];
    if (typeof v !== 'string' || slug(v) === '') {
      problems.push(`${field} must be a non-empty string with at least one letter or digit (got ${describe(v)})`);
    }
  }
  const m = typeof e.time === 'string' ? EVENT_TIME.exec(e.time) : null;
  // A real calendar date: Date.parse would roll 2026-02-30 over to March 2.
  const parsed = m ? new Date(Date.parse(e.time as string)) : undefined;
  if (!m || !parsed || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== `${m[1]}-${m[2]}-${m[3]}`) {
    problems.push(`time must be an RFC 3339 UTC timestamp such as 2026-11-30T12:00:00Z (got ${describe(e.time)})`);
  }
  if (problems.length > 0) {
    throw new MalformedAuditEventError(`malformed audit event: ${problems.join('; ')}`);
  }
  return e as unknown as AuditEvent;
}

/** The object key of `event` (validated first). */
export function auditKey(event: AuditEvent, known: KnownEventKind[]): string {
  const e = validateEvent(event);
  const [, yyyy, mm, dd, hh, mi, ss] = EVENT_TIME.exec(e.time)!;
  const isKnown = known.some(k => k.source === e.source && k.detailType === e['detail-type']);
  const prefix = isKnown ? 'events' : 'other';
  return `${prefix}/${yyyy}/${mm}/${dd}/${slug(e.source)}/${slug(e['detail-type'])}/${yyyy}${mm}${dd}T${hh}${mi}${ss}Z-${e.id}.json`;
}

function isPreconditionFailed(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412;
}

function isConditionalConflict(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === 'ConditionalRequestConflict' || e?.$metadata?.httpStatusCode === 409;
}

/** Attempts when two deliveries of one event race on the same key (S3 answers one of them 409). */
const CONFLICT_ATTEMPTS = 3;

/** Writes one event; a second delivery of the same event is a no-op reported as `duplicate`. */
export async function writeAuditEvent(event: unknown, config: AuditWriterConfig, deps: AuditWriterDeps): Promise<AuditWriteResult> {
  const valid = validateEvent(event);
  const key = auditKey(valid, config.known);
  const body = JSON.stringify(valid);
  const what = `PutObject s3://${config.bucket}/${key}`;
  for (let attempt = 1; ; attempt++) {
    try {
      await retryThrottled(what, () => deps.s3.send(new PutObjectCommand({
        Bucket: config.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json',
        // Only the first delivery creates the object; Object Lock needs a checksum, and the SDK's default
        // CRC32 (x-amz-checksum-crc32) satisfies it.
        IfNoneMatch: '*',
      })), {
        maxAttempts: deps.maxAttempts ?? 6,
        backoff: n => fullJitterBackoff(n),
        sleep: deps.sleep,
        log: deps.log,
      });
      deps.log?.(`wrote s3://${config.bucket}/${key}`);
      return { key, status: 'written' };
    } catch (e) {
      if (isPreconditionFailed(e)) {
        deps.log?.(`duplicate delivery of event ${valid.id}: s3://${config.bucket}/${key} already exists`);
        return { key, status: 'duplicate' };
      }
      // A concurrent write of the same key is in flight: retry, and the next answer is 412 (or success).
      if (!isConditionalConflict(e) || attempt >= CONFLICT_ATTEMPTS) { throw e; }
      deps.log?.(`${what} conflicted with a concurrent write (attempt ${attempt}), retrying`);
      await (deps.sleep ?? defaultSleep)(fullJitterBackoff(attempt));
    }
  }
}

/** Reads the configuration from AUDIT_BUCKET and AUDIT_KNOWN_EVENTS; throws naming what is missing. */
export function configFromEnv(env: Record<string, string | undefined> = process.env): AuditWriterConfig {
  const bucket = env.AUDIT_BUCKET;
  if (!bucket) { throw new Error('AUDIT_BUCKET is not set: the AuditTrail construct sets it to the audit bucket name'); }
  let known: KnownEventKind[];
  try {
    known = JSON.parse(env.AUDIT_KNOWN_EVENTS ?? '[]');
  } catch (e) {
    throw new Error(`AUDIT_KNOWN_EVENTS is not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(known) || known.some(k => typeof k?.source !== 'string' || typeof k?.detailType !== 'string')) {
    throw new Error('AUDIT_KNOWN_EVENTS must be a JSON array of {"source", "detailType"} objects');
  }
  return { bucket, known };
}

function describe(value: unknown): string {
  if (value === undefined) { return 'undefined'; }
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

let client: S3Client | undefined;

/** EventBridge target entry point. */
export async function handler(event: unknown): Promise<AuditWriteResult> {
  client ??= new S3Client({});
  const result = await writeAuditEvent(event, configFromEnv(), { s3: client, log: m => console.log(m) });
  return result;
}
