// Continuous-training loop, CONTROL tasks: trigger admission, pipeline start and status, challenger evaluation and
// model registry approval, and the end of a run. The loop's Step Functions state machine invokes this handler with
// `{ "task": "<name>", "state": <RunState> }` (see loop-state.ts); every task returns the whole RunState, updated.
// Endpoint promotion, bake and rollback are loop-deploy.lambda.ts's.
//
// Tasks:
//   admit           normalizes state.event into a RunTrigger (normalizeTrigger): a CloudWatch alarm state change
//                   (kind drift, dedupe key alarm:<alarm>:<state timestamp>; skipped unless the state is ALARM),
//                   an EventBridge schedule (kind schedule, schedule:<rule ARN>:<time>) or a manual "Retrain
//                   requested" event from AUDIT_EVENT_SOURCE (kind manual, manual:<requestId or event id>; skipped
//                   when detail.loop is another loop; dataVersion must be an s3:// URI). Any other event throws.
//                   Then claims the dedupe key and admits the run against the lock, the minimum interval and the
//                   retrain budget (below). Audits 'trigger', plus 'skip' when the run may not go on.
//                   Sets trigger, admitted, skipReason.
//   start           StartPipelineExecution(LOOP_PIPELINE_NAME) with CodeVersion (trigger.codeVersion or
//                   LOOP_CODE_VERSION) and InputDataUri (only when the trigger pins a data version). ClientRequestToken = sha256(runId), so
//                   a retried task gets the same execution. Audits 'start'. Sets pipelineExecutionArn.
//   pipelineStatus  DescribePipelineExecution. Sets pipelineStatus and pipelineFailureReason.
//   evaluate        Failed/Stopped pipeline: a FailureReason containing 'Challenger not registered' (the pipeline's
//                   KeepChampion Fail step) or 'Training data rejected by the training-data gate' (its RejectTrainingData
//                   Fail step) is decision 'keep' (audit 'keep'), anything else 'failed' (audit
//                   'pipeline-failed'). Succeeded: the challenger is the model package of LOOP_MODEL_PACKAGE_GROUP
//                   (newest 50) whose CustomerMetadataProperties.pipeline_execution_arn is this run's execution; the
//                   champion is the newest Approved package other than the challenger. Both objective values are read
//                   from ModelMetrics.ModelQuality.Statistics (evaluation.json, `{ metrics: { <name>: { value } } }`).
//                   A missing, NaN or ±Infinity challenger value never wins; no champion (or one without a finite
//                   value) loses to any finite challenger. Audits 'evaluate' with both values, then:
//                     LOOP_APPROVAL=manual  decision 'await-approval', registry untouched, audit 'await-approval';
//                     better                package Approved, decision 'promote' (LOOP_ENDPOINT_NAME set) or
//                                           'approved', audit 'approve';
//                     not better            package Rejected, champion untouched, decision 'keep', audit 'keep'.
//                   No challenger found: decision 'failed', audit 'failed'.
//                   Sets challenger/champion package ARNs and values, decision, reason.
//   finish          Releases the lock if this run holds it, audits 'failed' when state.error is set (the state
//                   machine's catch) and always 'finish' with the outcome. Works for any state.
//
// DynamoDB table LOOP_TABLE (partition key `pk`, string; TTL attribute `expiresAt`, epoch seconds). All times are
// epoch seconds (N):
//   pk = 'dedupe#<dedupe key>'  runId (S), expiresAt (N, claim + 7 days), createdAt (S, ISO 8601)
//   pk = 'loop'                 runningRunId (S, absent when no run holds the lock), lockExpiresAt (N),
//                               lastStartedAt (N), periodStart (N, start of the budget window), runsInPeriod (N,
//                               admitted runs in that window), version (N, optimistic concurrency), updatedAt (S)
//
// Idempotency (Step Functions retries tasks; EventBridge may deliver an event twice):
//   - The dedupe item is created with attribute_not_exists(pk) (or an expired expiresAt); when it exists, the same
//     runId means our own retry (go on), another runId skips the run as 'duplicate of run <runId>'.
//   - The loop item is read with ConsistentRead, decided in code and written with a condition on the version read
//     (attribute_not_exists(pk) or version = :v), incrementing it; a lost race re-reads and decides again (at most 5
//     times). A run that already holds the lock is admitted again without writing (counted once). A lock whose
//     lockExpiresAt has passed is stale and may be taken over. Budget windows are fixed:
//     periodStart = floor(now / period) * period; the counter restarts in a new window.
//   - start derives ClientRequestToken from the runId: a retry returns the same pipeline execution.
//   - evaluate does not call UpdateModelPackage when the package already has the target status; the champion is
//     looked up excluding the challenger, so a retry after approval decides the same.
//   - finish releases the lock with the condition runningRunId = :run; a failed condition (released already, or
//     another run's lock) is fine.
//   - Audit records go to s3://LOOP_AUDIT_BUCKET/auditKey(prefix, runId, startedAt, decision): a retry overwrites
//     its own record. Each is also sent to LOOP_EVENT_BUS (source AUDIT_EVENT_SOURCE, detail-type
//     AUDIT_EVENT_DETAIL_TYPE; EventBridge delivers at least once, so consumers key on runId + decision).
//
// Throttling on any AWS call is retried with capped exponential backoff and full jitter (core/aws-retry.ts);
// other errors fail the task and the state machine's retry/catch takes over.
//
// The SDK clients are devDependencies bundled into the handler by esbuild; projen's lambda component adds
// `*.lambda.ts` entry points to the eslint devDependencies allowlist on the next synth.
/* eslint-disable import/no-extraneous-dependencies */
import { createHash } from 'crypto';
import {
  AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeModelPackageCommand,
  DescribeModelPackageCommandOutput,
  DescribePipelineExecutionCommand,
  ListModelPackagesCommand,
  ListModelPackagesCommandOutput,
  ModelApprovalStatus,
  ModelPackageSummary,
  SageMakerClient,
  StartPipelineExecutionCommand,
  UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
/* eslint-enable import/no-extraneous-dependencies */
import {
  AUDIT_EVENT_DETAIL_TYPE,
  AUDIT_EVENT_SOURCE,
  AuditDecision,
  AuditRecord,
  LoopConfig,
  RETRAIN_REQUEST_DETAIL_TYPE,
  RunState,
  RunTrigger,
  auditKey,
  loopConfigFromEnv,
  auditRecord,
} from './loop-state';
import { fullJitterBackoff, retryThrottled } from '../core/aws-retry';
import { MetricReading, beats, parseEvaluationJson, parseS3Uri, readMetric } from '../training/compare-with-champion.lambda';

/** Clients, configuration and seams for tests. */
export interface ControlDeps {
  readonly config: LoopConfig;
  readonly sagemaker: SageMakerClient;
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly events: EventBridgeClient;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly log?: (message: string) => void;
  /** Attempts for a throttled AWS call, including the first. Default 8. */
  readonly maxAttempts?: number;
}

/** The task event the state machine sends. */
export interface ControlEvent {
  readonly task: string;
  readonly state: RunState;
}

/** The tasks this handler implements. */
export const CONTROL_TASKS = ['admit', 'start', 'pipelineStatus', 'evaluate', 'finish'] as const;

/** A normalised trigger and, when the event must not start a run, why (decided before DynamoDB is touched). */
export type NormalizedTrigger = RunTrigger & { readonly skipReason?: string };

/** How long a dedupe key is remembered. */
export const DEDUPE_TTL_SECONDS = 7 * 86400;
/** Conditional writes of the loop item before admit gives up (concurrent admits). */
export const MAX_LOCK_ATTEMPTS = 5;
/** Model packages (newest first) searched for the challenger. */
export const MAX_CHALLENGER_SEARCH = 50;
/** The KeepChampion Fail step's message in the pipeline: the challenger lost and was not registered. */
export const KEEP_CHAMPION_FAILURE = 'Challenger not registered';
/** Start of the FailureReason of the pipeline's RejectTrainingData step (the training-data gate stopped the run). */
export const TRAINING_DATA_REJECTED = 'Training data rejected by the training-data gate';

const LOOP_PK = 'loop';
const ERROR_PREFIX = 'loop-control';

// ---------------------------------------------------------------------------------------------------------
// Helpers

function withRetry<T>(what: string, call: () => Promise<T>, deps: ControlDeps): Promise<T> {
  return retryThrottled(what, call, {
    maxAttempts: deps.maxAttempts ?? 8,
    backoff: fullJitterBackoff,
    sleep: deps.sleep,
    log: deps.log,
  });
}

const nowOf = (deps: ControlDeps) => (deps.now ?? (() => new Date()))();
const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const isConditionFailed = (e: unknown) =>
  e instanceof ConditionalCheckFailedException || (e as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';
const truncate = (text: string, max: number) => text.length <= max ? text : `${text.slice(0, max - 1)}…`;

function describeValue(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return truncate(text, 500);
}

const str = (item: Record<string, AttributeValue> | undefined, name: string): string | undefined => item?.[name]?.S;
function num(item: Record<string, AttributeValue> | undefined, name: string): number | undefined {
  const raw = item?.[name]?.N;
  if (raw === undefined) { return undefined; }
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
}

function optionalString(detail: Record<string, unknown>, field: string, what: string): string | undefined {
  const value = detail[field];
  if (value === undefined || value === null) { return undefined; }
  if (typeof value !== 'string' || value.trim() === '') {
    throw new Error(`${ERROR_PREFIX}: ${what}.${field} must be a non-empty string, got ${describeValue(value)}`);
  }
  return value.trim();
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new Error(`${ERROR_PREFIX}: ${what} must be a non-empty string, got ${describeValue(value)}`);
  }
  return value.trim();
}

// ---------------------------------------------------------------------------------------------------------
// Trigger

/**
 * The trigger of a run, from the EventBridge event that started the execution (pure). `skipReason` is set when
 * the event is understood but must not start a run (alarm not in ALARM, request for another loop). Throws an
 * Error naming what was received when the event is none of the three kinds or is malformed.
 */
export function normalizeTrigger(event: unknown, config: LoopConfig): NormalizedTrigger {
  const e = record(event);
  const source = e?.source;
  const detailType = e?.['detail-type'];
  const detail = record(e?.detail);

  if (e && source === 'aws.cloudwatch' && detailType === 'CloudWatch Alarm State Change') {
    const what = 'the CloudWatch alarm event';
    const alarmName = requireString(detail?.alarmName, `${what}'s detail.alarmName`);
    const state = record(detail?.state);
    const value = requireString(state?.value, `${what}'s detail.state.value`);
    const timestamp = requireString(state?.timestamp, `${what}'s detail.state.timestamp`);
    const trigger: RunTrigger = {
      kind: 'drift',
      dedupeKey: `alarm:${alarmName}:${timestamp}`,
      reason: `alarm ${alarmName} changed to ${value} at ${timestamp}` +
        (typeof state?.reason === 'string' && state.reason.trim() !== '' ? `: ${truncate(state.reason.trim(), 300)}` : ''),
    };
    return value === 'ALARM' ? trigger : { ...trigger, skipReason: 'alarm is not in ALARM' };
  }

  if (e && source === 'aws.events' && detailType === 'Scheduled Event') {
    const what = 'the scheduled event';
    const resources = Array.isArray(e.resources) ? e.resources : [];
    const rule = requireString(resources[0], `${what}'s resources[0] (the rule ARN)`);
    const time = requireString(e.time, `${what}'s time`);
    return {
      kind: 'schedule',
      dedupeKey: `schedule:${rule}:${time}`,
      reason: `schedule ${rule.split('/').pop()} fired at ${time}`,
    };
  }

  if (e && source === AUDIT_EVENT_SOURCE && detailType === RETRAIN_REQUEST_DETAIL_TYPE) {
    const what = 'the retrain request';
    if (!detail) {
      throw new Error(`${ERROR_PREFIX}: ${what} has no detail object, got ${describeValue(e.detail)}`);
    }
    const loop = requireString(detail.loop, `${what}'s detail.loop`);
    const reason = optionalString(detail, 'reason', `${what}'s detail`);
    const requestId = optionalString(detail, 'requestId', `${what}'s detail`);
    const dataVersion = optionalString(detail, 'dataVersion', `${what}'s detail`);
    const codeVersion = optionalString(detail, 'codeVersion', `${what}'s detail`);
    if (dataVersion !== undefined && !parseS3Uri(dataVersion)) {
      throw new Error(`${ERROR_PREFIX}: ${what}'s detail.dataVersion must be an s3://bucket/key URI, got ${describeValue(dataVersion)}`);
    }
    const id = requestId ?? (typeof e.id === 'string' && e.id.trim() !== '' ? e.id.trim() : undefined);
    if (id === undefined) {
      throw new Error(`${ERROR_PREFIX}: ${what} has neither detail.requestId nor an event id`);
    }
    const trigger: RunTrigger = {
      kind: 'manual',
      dedupeKey: `manual:${id}`,
      reason: `manual request ${id}: ${reason ? truncate(reason, 500) : 'no reason given'}`,
      ...(dataVersion !== undefined ? { dataVersion } : {}),
      ...(codeVersion !== undefined ? { codeVersion } : {}),
    };
    return loop === config.loopName ? trigger : { ...trigger, skipReason: 'request is for another loop' };
  }

  throw new Error(`${ERROR_PREFIX}: cannot start a run from this event: expected a CloudWatch alarm state change, ` +
    `a scheduled event or a ${JSON.stringify(RETRAIN_REQUEST_DETAIL_TYPE)} event from ${AUDIT_EVENT_SOURCE}; ` +
    `got source ${describeValue(source)}, detail-type ${describeValue(detailType)}: ${describeValue(event)}`);
}

// ---------------------------------------------------------------------------------------------------------
// Audit

/**
 * Writes one audit record to `s3://auditBucket/auditKey(...)` (deterministic: a retry overwrites it) and sends it
 * to the loop's event bus. Lineage (trigger, pipeline execution, packages, code and data version, endpoint) comes
 * from the state; `extra` adds or overrides fields. Returns the record.
 */
export async function writeAudit(
  deps: ControlDeps, state: RunState, decision: AuditDecision, reason: string, extra: Record<string, unknown> = {},
): Promise<AuditRecord> {
  const { config } = deps;
  const entry = auditRecord(config, state, decision, reason, nowOf(deps), extra);
  const body = JSON.stringify(entry);
  const key = auditKey(config.auditPrefix, state.runId, state.startedAt, decision);
  await withRetry(`PutObject(s3://${config.auditBucket}/${key})`, () => deps.s3.send(new PutObjectCommand({
    Bucket: config.auditBucket, Key: key, Body: body, ContentType: 'application/json',
  })), deps);
  await withRetry(`PutEvents(${config.eventBus})`, async () => {
    const res = await deps.events.send(new PutEventsCommand({
      Entries: [{ Source: AUDIT_EVENT_SOURCE, DetailType: AUDIT_EVENT_DETAIL_TYPE, Detail: body, EventBusName: config.eventBus }],
    }));
    const failed = (res.FailedEntryCount ?? 0) > 0 ? res.Entries?.find(x => x.ErrorCode) ?? res.Entries?.[0] : undefined;
    if ((res.FailedEntryCount ?? 0) > 0) {
      const error = new Error(`${ERROR_PREFIX}: EventBridge rejected the audit event: ${failed?.ErrorCode ?? 'unknown error'}: ${failed?.ErrorMessage ?? ''}`);
      // A throttled entry is retried like a throttled call.
      error.name = failed?.ErrorCode === 'ThrottlingException' ? 'ThrottlingException' : 'PutEventsFailed';
      throw error;
    }
    return res;
  }, deps);
  deps.log?.(`audit ${decision}: ${reason}`);
  return entry;
}

// ---------------------------------------------------------------------------------------------------------
// admit

/** Claims the dedupe key for the run; returns the other run that owns it, or undefined when it is ours. */
async function claimDedupe(dedupeKey: string, runId: string, deps: ControlDeps): Promise<string | undefined> {
  const { table } = deps.config;
  const pk = `dedupe#${dedupeKey}`;
  for (let attempt = 1; attempt <= MAX_LOCK_ATTEMPTS; attempt++) {
    const now = nowOf(deps);
    try {
      await withRetry(`PutItem(${table}, ${pk})`, () => deps.dynamodb.send(new PutItemCommand({
        TableName: table,
        Item: {
          pk: { S: pk },
          runId: { S: runId },
          expiresAt: { N: String(epochSeconds(now) + DEDUPE_TTL_SECONDS) },
          createdAt: { S: now.toISOString() },
        },
        // TTL deletion lags: an expired key counts as absent.
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
        ExpressionAttributeValues: { ':now': { N: String(epochSeconds(now)) } },
      })), deps);
      return undefined;
    } catch (e) {
      if (!isConditionFailed(e)) { throw e; }
    }
    const got = await withRetry(`GetItem(${table}, ${pk})`, () => deps.dynamodb.send(new GetItemCommand({
      TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true,
    })), deps);
    const owner = str(got.Item, 'runId');
    if (owner !== undefined) { return owner === runId ? undefined : owner; }
    // Deleted between the write and the read: claim again.
  }
  throw new Error(`${ERROR_PREFIX}: could not claim the dedupe key ${dedupeKey} after ${MAX_LOCK_ATTEMPTS} attempts`);
}

/** The loop item as read. */
interface LoopItem {
  readonly exists: boolean;
  readonly version: number;
  readonly runningRunId?: string;
  readonly lockExpiresAt?: number;
  readonly lastStartedAt?: number;
  readonly periodStart?: number;
  readonly runsInPeriod?: number;
}

async function readLoop(deps: ControlDeps): Promise<LoopItem> {
  const { table } = deps.config;
  const got = await withRetry(`GetItem(${table}, ${LOOP_PK})`, () => deps.dynamodb.send(new GetItemCommand({
    TableName: table, Key: { pk: { S: LOOP_PK } }, ConsistentRead: true,
  })), deps);
  const item = got.Item;
  return {
    exists: item !== undefined,
    version: num(item, 'version') ?? 0,
    runningRunId: str(item, 'runningRunId'),
    lockExpiresAt: num(item, 'lockExpiresAt'),
    lastStartedAt: num(item, 'lastStartedAt'),
    periodStart: num(item, 'periodStart'),
    runsInPeriod: num(item, 'runsInPeriod'),
  };
}

/** Admits the run against the lock, the minimum interval and the budget; returns the skip reason, or undefined. */
async function admitToLoop(runId: string, deps: ControlDeps): Promise<string | undefined> {
  const { config } = deps;
  for (let attempt = 1; attempt <= MAX_LOCK_ATTEMPTS; attempt++) {
    const loop = await readLoop(deps);
    const now = epochSeconds(nowOf(deps));
    if (loop.runningRunId === runId) { return undefined; } // our own retry: admitted already, counted once
    if (loop.runningRunId !== undefined && !(loop.lockExpiresAt !== undefined && loop.lockExpiresAt < now)) {
      return `a run is in progress: ${loop.runningRunId}`;
    }
    if (loop.lastStartedAt !== undefined && now < loop.lastStartedAt + config.minIntervalSeconds) {
      return `minimum interval: last start ${iso(loop.lastStartedAt)}, next allowed ${iso(loop.lastStartedAt + config.minIntervalSeconds)}`;
    }
    const period = config.budgetPeriodSeconds;
    const periodStart = Math.floor(now / period) * period;
    const runs = loop.periodStart === periodStart ? loop.runsInPeriod ?? 0 : 0;
    if (runs >= config.maxRunsPerPeriod) {
      return `retrain budget spent: ${runs} of ${config.maxRunsPerPeriod} runs in the period starting ${iso(periodStart)}`;
    }
    try {
      await withRetry(`PutItem(${config.table}, ${LOOP_PK})`, () => deps.dynamodb.send(new PutItemCommand({
        TableName: config.table,
        Item: {
          pk: { S: LOOP_PK },
          runningRunId: { S: runId },
          lockExpiresAt: { N: String(now + config.lockTtlSeconds) },
          lastStartedAt: { N: String(now) },
          periodStart: { N: String(periodStart) },
          runsInPeriod: { N: String(runs + 1) },
          version: { N: String(loop.version + 1) },
          updatedAt: { S: iso(now) },
        },
        ConditionExpression: loop.exists ? '#v = :v' : 'attribute_not_exists(pk)',
        ExpressionAttributeNames: loop.exists ? { '#v': 'version' } : undefined,
        ExpressionAttributeValues: loop.exists ? { ':v': { N: String(loop.version) } } : undefined,
      })), deps);
      return undefined;
    } catch (e) {
      if (!isConditionFailed(e)) { throw e; }
      deps.log?.(`the loop item changed while admitting ${runId} (attempt ${attempt}); deciding again`);
    }
  }
  throw new Error(`${ERROR_PREFIX}: the loop item kept changing; could not admit ${runId} after ${MAX_LOCK_ATTEMPTS} attempts`);
}

async function admit(state: RunState, deps: ControlDeps): Promise<RunState> {
  const { skipReason: early, ...trigger } = normalizeTrigger(state.event, deps.config);
  let next: RunState = { ...state, trigger };
  await writeAudit(deps, next, 'trigger', trigger.reason);
  let skipReason = early;
  if (skipReason === undefined) {
    const owner = await claimDedupe(trigger.dedupeKey, state.runId, deps);
    skipReason = owner !== undefined ? `duplicate of run ${owner}` : await admitToLoop(state.runId, deps);
  }
  next = { ...next, admitted: skipReason === undefined, skipReason };
  if (skipReason !== undefined) {
    await writeAudit(deps, next, 'skip', skipReason);
  }
  return next;
}

// ---------------------------------------------------------------------------------------------------------
// Pipeline

/** PipelineExecutionDisplayName for a run: the execution name, [a-zA-Z0-9-], at most 82 characters. */
export function displayNameFor(runId: string): string {
  const run = runId.split(':').pop() ?? runId;
  const cleaned = `ct-${run}`.replace(/[^a-zA-Z0-9-]/g, '-').replace(/^-+/, '').slice(0, 82).replace(/-+$/, '');
  return cleaned || 'ct-run';
}

/** ClientRequestToken for a run: sha256(runId) in hex (64 characters), the same on every retry. */
export function clientRequestTokenFor(runId: string): string {
  return createHash('sha256').update(runId, 'utf8').digest('hex');
}

async function start(state: RunState, deps: ControlDeps): Promise<RunState> {
  const { config } = deps;
  if (state.admitted !== true || !state.trigger) {
    throw new Error(`${ERROR_PREFIX}: start: run ${state.runId} was not admitted`);
  }
  const codeVersion = state.trigger.codeVersion ?? config.codeVersion;
  const parameters = [
    { Name: 'CodeVersion', Value: codeVersion },
    ...(state.trigger.dataVersion ? [{ Name: 'InputDataUri', Value: state.trigger.dataVersion }] : []),
  ];
  const res = await withRetry(`StartPipelineExecution(${config.pipelineName})`, () => deps.sagemaker.send(new StartPipelineExecutionCommand({
    PipelineName: config.pipelineName,
    PipelineExecutionDisplayName: displayNameFor(state.runId),
    PipelineExecutionDescription: truncate(`${config.loopName}: ${state.trigger!.reason}`, 3072),
    ClientRequestToken: clientRequestTokenFor(state.runId),
    PipelineParameters: parameters,
  })), deps);
  if (!res.PipelineExecutionArn) {
    throw new Error(`${ERROR_PREFIX}: StartPipelineExecution(${config.pipelineName}) returned no PipelineExecutionArn`);
  }
  const next: RunState = { ...state, pipelineExecutionArn: res.PipelineExecutionArn };
  await writeAudit(deps, next, 'start', `started pipeline ${config.pipelineName} (CodeVersion ${codeVersion}, ` +
    `InputDataUri ${state.trigger.dataVersion ?? 'pipeline default'}): ${res.PipelineExecutionArn}`);
  return next;
}

function requireExecution(state: RunState, task: string): string {
  if (!state.pipelineExecutionArn) {
    throw new Error(`${ERROR_PREFIX}: ${task}: run ${state.runId} has no pipelineExecutionArn (did start run?)`);
  }
  return state.pipelineExecutionArn;
}

async function pipelineStatus(state: RunState, deps: ControlDeps): Promise<RunState> {
  const arn = requireExecution(state, 'pipelineStatus');
  const res = await withRetry(`DescribePipelineExecution(${arn})`,
    () => deps.sagemaker.send(new DescribePipelineExecutionCommand({ PipelineExecutionArn: arn })), deps);
  return { ...state, pipelineStatus: res.PipelineExecutionStatus, pipelineFailureReason: res.FailureReason || undefined };
}

// ---------------------------------------------------------------------------------------------------------
// evaluate

/** Every model package of the group (optionally one approval status), newest first, stopping after `limit`. */
async function listPackages(deps: ControlDeps, status: ModelApprovalStatus | undefined, limit: number): Promise<ModelPackageSummary[]> {
  const group = deps.config.modelPackageGroup;
  const found: ModelPackageSummary[] = [];
  const seen = new Set<string>();
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const page: ListModelPackagesCommandOutput = await withRetry(`ListModelPackages(${group})`,
      () => deps.sagemaker.send(new ListModelPackagesCommand({
        ModelPackageGroupName: group,
        ModelApprovalStatus: status,
        SortBy: 'CreationTime',
        SortOrder: 'Descending',
        MaxResults: Math.min(100, limit),
        NextToken: token,
      })), deps);
    found.push(...(page.ModelPackageSummaryList ?? []));
    nextToken = page.NextToken || undefined;
    if (nextToken && seen.has(nextToken)) {
      throw new Error(`${ERROR_PREFIX}: ListModelPackages(${group}) returned the same NextToken twice`);
    }
    if (nextToken) { seen.add(nextToken); }
  } while (nextToken && found.length < limit);
  const name = group.startsWith('arn:') ? group.split('/').pop() : group;
  const time = (s: ModelPackageSummary) => (s.CreationTime ? new Date(s.CreationTime).getTime() : 0) || 0;
  // Sorted and filtered here too, in case the service ignored the order or a filter.
  return found
    .filter(s => s.ModelPackageArn && (s.ModelPackageGroupName === undefined || s.ModelPackageGroupName === name)
      && (status === undefined || s.ModelApprovalStatus === status))
    .sort((a, b) => time(b) - time(a) || (b.ModelPackageVersion ?? 0) - (a.ModelPackageVersion ?? 0));
}

const describePackage = (arn: string, deps: ControlDeps) => withRetry(`DescribeModelPackage(${arn})`,
  () => deps.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn })), deps);

/** The package registered by this run's pipeline execution, searching the newest {@link MAX_CHALLENGER_SEARCH}. */
async function findChallenger(executionArn: string, deps: ControlDeps): Promise<DescribeModelPackageCommandOutput | undefined> {
  const candidates = (await listPackages(deps, undefined, MAX_CHALLENGER_SEARCH)).slice(0, MAX_CHALLENGER_SEARCH);
  for (const summary of candidates) {
    const pkg = await describePackage(summary.ModelPackageArn!, deps);
    if (pkg.CustomerMetadataProperties?.pipeline_execution_arn === executionArn) { return pkg; }
  }
  return undefined;
}

/** A package's objective value, from ModelMetrics.ModelQuality.Statistics; `uri` is the metrics file. */
async function packageMetric(pkg: DescribeModelPackageCommandOutput, deps: ControlDeps): Promise<MetricReading & { uri?: string }> {
  const metric = deps.config.objectiveMetric;
  const uri = pkg.ModelMetrics?.ModelQuality?.Statistics?.S3Uri;
  if (!uri) { return { kind: 'unusable', display: 'missing', why: 'has no ModelMetrics.ModelQuality.Statistics' }; }
  const location = parseS3Uri(uri);
  if (!location) { return { kind: 'unusable', display: 'missing', why: `has a metrics file that is not an s3://bucket/key URI (${uri})`, uri }; }
  let text: string;
  try {
    const got = await withRetry(`GetObject(${uri})`,
      () => deps.s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key })), deps);
    text = got.Body ? await got.Body.transformToString('utf-8') : '';
  } catch (e) {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (err?.name === 'NoSuchKey' || err?.name === 'NoSuchBucket' || err?.$metadata?.httpStatusCode === 404) {
      return { kind: 'unusable', display: 'missing', why: `has a metrics file ${uri} that does not exist`, uri };
    }
    throw e;
  }
  let doc: unknown;
  try {
    doc = parseEvaluationJson(text);
  } catch {
    return { kind: 'unusable', display: 'missing', why: `has a metrics file ${uri} that is not valid JSON`, uri };
  }
  const reading = readMetric(doc, metric);
  return reading.kind === 'finite' ? { ...reading, uri } : { ...reading, why: `${reading.why} in ${uri}`, uri };
}

/** Number as text for humans: 12 significant digits, so 0.8 + 0.05 shows as 0.85. */
const show = (n: number) => String(Number(n.toPrecision(12)));

/** Sets the approval status unless the package has it already; returns whether it called UpdateModelPackage. */
async function setApproval(pkg: DescribeModelPackageCommandOutput, status: ModelApprovalStatus, reason: string, deps: ControlDeps): Promise<boolean> {
  if (pkg.ModelApprovalStatus === status) { return false; }
  const arn = pkg.ModelPackageArn!;
  await withRetry(`UpdateModelPackage(${arn}, ${status})`, () => deps.sagemaker.send(new UpdateModelPackageCommand({
    ModelPackageArn: arn, ModelApprovalStatus: status, ApprovalDescription: truncate(reason, 1024),
  })), deps);
  return true;
}

async function evaluate(state: RunState, deps: ControlDeps): Promise<RunState> {
  const { config } = deps;
  const executionArn = requireExecution(state, 'evaluate');
  let current = state;
  if (!current.pipelineStatus) { current = await pipelineStatus(current, deps); }
  const status = current.pipelineStatus;

  if (status === 'Failed' || status === 'Stopped') {
    const failure = current.pipelineFailureReason;
    const reason = failure || `the pipeline execution ${executionArn} ended ${status} without a failure reason`;
    // Both are decisions of the pipeline, not failures: the champion stays.
    if (failure?.includes(KEEP_CHAMPION_FAILURE) || failure?.includes(TRAINING_DATA_REJECTED)) {
      const next: RunState = { ...current, decision: 'keep', reason };
      await writeAudit(deps, next, 'keep', reason);
      return next;
    }
    const next: RunState = { ...current, decision: 'failed', reason: `pipeline ${status}: ${reason}` };
    await writeAudit(deps, next, 'pipeline-failed', next.reason!);
    return next;
  }
  if (status !== 'Succeeded') {
    throw new Error(`${ERROR_PREFIX}: evaluate: the pipeline execution ${executionArn} is ${status ?? 'in an unknown state'}, not finished`);
  }

  const group = config.modelPackageGroup;
  const challenger = await findChallenger(executionArn, deps);
  if (!challenger?.ModelPackageArn) {
    const reason = `no model package among the newest ${MAX_CHALLENGER_SEARCH} of ${group} has CustomerMetadataProperties.pipeline_execution_arn = ` +
      `${executionArn}; the pipeline must register the challenger with that property`;
    const next: RunState = { ...current, decision: 'failed', reason };
    await writeAudit(deps, next, 'failed', reason);
    return next;
  }
  const challengerArn = challenger.ModelPackageArn;
  const championSummary = (await listPackages(deps, 'Approved', Number.MAX_SAFE_INTEGER)).find(s => s.ModelPackageArn !== challengerArn);
  const championArn = championSummary?.ModelPackageArn;

  const metric = config.objectiveMetric;
  const direction = config.objectiveDirection;
  const challengerReading = await packageMetric(challenger, deps);
  const championReading = championArn ? await packageMetric(await describePackage(championArn, deps), deps) : undefined;
  const challengerValue = challengerReading.kind === 'finite' ? String(challengerReading.value) : 'NaN';
  const championValue = championReading === undefined ? undefined : championReading.kind === 'finite' ? String(championReading.value) : 'NaN';

  let better: boolean;
  let reason: string;
  if (challengerReading.kind !== 'finite') {
    better = false;
    reason = `challenger ${challengerArn} ${challengerReading.why}, so it is not promoted ` +
      `(${championArn ? `champion ${championArn} ${metric} = ${championValue}` : `no approved champion in ${group}`}, ${direction})`;
  } else if (!championArn || !championReading) {
    better = true;
    reason = `no approved champion in ${group}; the first model is approved (challenger ${metric} = ${challengerValue}, ${direction})`;
  } else if (championReading.kind !== 'finite') {
    better = true;
    reason = `champion ${championArn} has no comparable ${metric} (it ${championReading.why}), so the challenger ` +
      `(${metric} = ${challengerValue}) replaces it (${direction})`;
  } else {
    const verdict = beats(challengerReading.value, championReading.value, direction, config.minImprovement);
    better = verdict.better;
    const terms = `(${direction}, min_improvement ${config.minImprovement}: needed ${verdict.needed})`;
    reason = better
      ? `challenger ${metric} = ${show(challengerReading.value)} beats champion ${show(championReading.value)} ${terms}`
      : `challenger ${metric} = ${show(challengerReading.value)} does not beat champion ${show(championReading.value)} ${terms}, so the champion is kept`;
  }

  const evaluated: RunState = {
    ...current, challengerPackageArn: challengerArn, championPackageArn: championArn, challengerValue, championValue,
  };
  await writeAudit(deps, evaluated, 'evaluate', reason, {
    metric, direction, challengerValue, championValue: championValue ?? 'none', better,
  });

  if (config.approval === 'manual') {
    const why = `manual approval: ${challengerArn} awaits a human decision (${better ? 'recommended' : 'not recommended'}: ${reason})`;
    const next: RunState = { ...evaluated, decision: 'await-approval', reason: why };
    await writeAudit(deps, next, 'await-approval', why);
    return next;
  }
  if (better) {
    const updated = await setApproval(challenger, 'Approved', reason, deps);
    const next: RunState = { ...evaluated, decision: config.endpointName ? 'promote' : 'approved', reason };
    await writeAudit(deps, next, 'approve', reason, { registryUpdated: updated });
    return next;
  }
  const updated = await setApproval(challenger, 'Rejected', reason, deps);
  const next: RunState = { ...evaluated, decision: 'keep', reason };
  await writeAudit(deps, next, 'keep', reason, { registryUpdated: updated });
  return next;
}

// ---------------------------------------------------------------------------------------------------------
// finish

/** Releases the loop lock if `runId` holds it; returns whether it did. */
async function releaseLock(runId: string, deps: ControlDeps): Promise<boolean> {
  const { table } = deps.config;
  try {
    await withRetry(`UpdateItem(${table}, ${LOOP_PK})`, () => deps.dynamodb.send(new UpdateItemCommand({
      TableName: table,
      Key: { pk: { S: LOOP_PK } },
      UpdateExpression: 'REMOVE runningRunId, lockExpiresAt SET #v = #v + :one, updatedAt = :at',
      ConditionExpression: 'runningRunId = :run',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':run': { S: runId }, ':one': { N: '1' }, ':at': { S: nowOf(deps).toISOString() } },
    })), deps);
    return true;
  } catch (e) {
    if (isConditionFailed(e)) { return false; } // released already, never taken, or another run's lock
    throw e;
  }
}

async function finish(state: RunState, deps: ControlDeps): Promise<RunState> {
  const released = await releaseLock(state.runId, deps);
  if (state.error) {
    const what = [state.error.Error, state.error.Cause].filter(x => x !== undefined && x !== '').join(': ') || 'unknown error';
    await writeAudit(deps, state, 'failed', truncate(what, 2000), { error: state.error });
  }
  const outcome = state.admitted === false
    ? `skipped: ${state.skipReason ?? 'not admitted'}`
    : `decision ${state.decision ?? 'none'}${state.reason ? `: ${state.reason}` : ''}`;
  const summary = `${outcome}; deployment ${state.deploymentStatus ?? 'none'}; rolled back ${state.rolledBack ? 'yes' : 'no'}` +
    `${state.error ? `; failed with ${state.error.Error ?? 'an error'}` : ''}; lock ${released ? 'released' : 'not held'}`;
  await writeAudit(deps, state, 'finish', summary, {
    outcome: state.decision, skipReason: state.skipReason, deploymentStatus: state.deploymentStatus, rolledBack: state.rolledBack,
  });
  return state;
}

// ---------------------------------------------------------------------------------------------------------
// Entry points

/** Runs one task and returns the updated state. Throws on an unknown task or a malformed event. */
export async function runTask(event: ControlEvent, deps: ControlDeps): Promise<RunState> {
  const task = (event as Partial<ControlEvent> | undefined)?.task;
  const state = (event as Partial<ControlEvent> | undefined)?.state;
  if (typeof state?.runId !== 'string' || state.runId === '' || typeof state.startedAt !== 'string') {
    throw new Error(`${ERROR_PREFIX}: the event must be { task, state: { runId, startedAt, ... } }, got ${describeValue(event)}`);
  }
  switch (task) {
    case 'admit': return admit(state, deps);
    case 'start': return start(state, deps);
    case 'pipelineStatus': return pipelineStatus(state, deps);
    case 'evaluate': return evaluate(state, deps);
    case 'finish': return finish(state, deps);
    default:
      throw new Error(`${ERROR_PREFIX}: unknown task ${describeValue(task)}; expected one of ${CONTROL_TASKS.join(', ')}`);
  }
}

let clients: Pick<ControlDeps, 'sagemaker' | 's3' | 'dynamodb' | 'events'> | undefined;

/** Lambda entry point: one task of the continuous-training state machine. */
export async function handler(event: ControlEvent): Promise<RunState> {
  const config = loopConfigFromEnv();
  clients ??= { sagemaker: new SageMakerClient({}), s3: new S3Client({}), dynamodb: new DynamoDBClient({}), events: new EventBridgeClient({}) };
  const state = await runTask(event, { config, ...clients, log: message => console.log(message) });
  console.log(JSON.stringify({
    task: event.task,
    runId: state.runId,
    admitted: state.admitted,
    skipReason: state.skipReason,
    pipelineExecutionArn: state.pipelineExecutionArn,
    pipelineStatus: state.pipelineStatus,
    decision: state.decision,
    reason: state.reason,
  }));
  return state;
}
