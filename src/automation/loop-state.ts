// Shared by the continuous-training loop's two handlers (loop-control.lambda.ts: trigger, pipeline, registry;
// loop-deploy.lambda.ts: endpoint promotion, bake, rollback): the run state the Step Functions state machine
// passes from task to task, the configuration read from the environment, and the audit record writer.
// Pure types and small helpers; the AWS clients are passed in.

/** What started a run. */
export type TriggerKind = 'drift' | 'schedule' | 'manual';

/** The trigger, normalised from the EventBridge event by the `admit` task. */
export interface RunTrigger {
  readonly kind: TriggerKind;
  /** Key that identifies the request: duplicates with the same key start at most one run. */
  readonly dedupeKey: string;
  /** One sentence: which alarm, which schedule, who asked and why. */
  readonly reason: string;
  /** `InputDataUri` for the pipeline (manual requests may pin a data version); undefined = pipeline default. */
  readonly dataVersion?: string;
  /** `CodeVersion` for the pipeline; undefined = the loop's configured code version. */
  readonly codeVersion?: string;
}

/** Decisions written to the audit trail. */
export type AuditDecision =
  | 'trigger' | 'skip' | 'start' | 'pipeline-failed' | 'evaluate' | 'approve' | 'keep' | 'await-approval'
  | 'promote' | 'deployed' | 'rollback' | 'failed' | 'finish';

/**
 * The state passed between the state machine's tasks. Every task takes `{ task, state }` and returns the
 * whole state, updated. Fields are added as the run goes on.
 */
export interface RunState {
  /** The Step Functions execution ARN (`$$.Execution.Id`): the run's identity, used for idempotency. */
  readonly runId: string;
  /** When the run started, ISO 8601 (`$$.Execution.StartTime`). */
  readonly startedAt: string;
  /** The raw EventBridge event that started the execution (only read by `admit`). */
  readonly event?: unknown;
  readonly trigger?: RunTrigger;
  /** `admit`: whether the run may go on; when false, `skipReason` says why. */
  readonly admitted?: boolean;
  readonly skipReason?: string;
  readonly pipelineExecutionArn?: string;
  /** DescribePipelineExecution status: Executing, Stopping, Stopped, Failed, Succeeded. */
  readonly pipelineStatus?: string;
  readonly pipelineFailureReason?: string;
  readonly challengerPackageArn?: string;
  readonly championPackageArn?: string;
  /** The challenger's objective value as text ('NaN' when not a finite number). */
  readonly challengerValue?: string;
  readonly championValue?: string;
  /** Outcome of `evaluate`. */
  readonly decision?: 'promote' | 'approved' | 'keep' | 'await-approval' | 'failed';
  /** Why: one sentence for the audit trail. */
  readonly reason?: string;
  readonly previousEndpointConfig?: string;
  readonly newEndpointConfig?: string;
  /** Outcome of `deploymentStatus`. */
  readonly deploymentStatus?: 'deploying' | 'in-service' | 'rolled-back' | 'failed';
  /** End of the bake period after the deployment reached InService, ISO 8601. */
  readonly bakeUntil?: string;
  /** `checkAlarms`: true once the bake period passed without an alarm. */
  readonly bakeDone?: boolean;
  /** `checkAlarms`: the first rollback alarm found in ALARM. */
  readonly alarm?: string;
  readonly rolledBack?: boolean;
  /** The error caught by the state machine (`{ Error, Cause }`), for the `finish` task on the failure path. */
  readonly error?: { readonly Error?: string; readonly Cause?: string };
}

/** One audit record, as JSON in S3 and as the detail of an EventBridge event. */
export interface AuditRecord {
  readonly format: 'cdk-ml-platform/audit';
  readonly version: 1;
  readonly loop: string;
  readonly runId: string;
  readonly decision: AuditDecision;
  readonly reason: string;
  readonly at: string;
  readonly trigger?: RunTrigger;
  readonly pipelineExecutionArn?: string;
  readonly challengerPackageArn?: string;
  readonly championPackageArn?: string;
  readonly dataVersion?: string;
  readonly codeVersion?: string;
  readonly endpointName?: string;
  readonly endpointConfig?: string;
}

/** EventBridge source of audit events. */
export const AUDIT_EVENT_SOURCE = 'cdk-ml-platform.continuous-training';
/** EventBridge detail-type of audit events. */
export const AUDIT_EVENT_DETAIL_TYPE = 'Continuous training decision';
/** EventBridge detail-type of a manual retrain request (source {@link AUDIT_EVENT_SOURCE}). */
export const RETRAIN_REQUEST_DETAIL_TYPE = 'Retrain requested';

/** Configuration of the handlers, from LOOP_* environment variables (set by the ContinuousTraining construct). */
export interface LoopConfig {
  /** LOOP_NAME: the loop's identity in audit records and manual requests (the construct path). */
  readonly loopName: string;
  /** LOOP_TABLE: DynamoDB table of the loop's lock, counters and dedupe keys. */
  readonly table: string;
  /** LOOP_AUDIT_BUCKET / LOOP_AUDIT_PREFIX: audit records go to `s3://bucket/<prefix>...`. */
  readonly auditBucket: string;
  readonly auditPrefix: string;
  /** LOOP_EVENT_BUS: bus of audit events; default 'default'. */
  readonly eventBus: string;
  /** LOOP_PIPELINE_NAME */
  readonly pipelineName: string;
  /** LOOP_MODEL_PACKAGE_GROUP */
  readonly modelPackageGroup: string;
  /** LOOP_OBJECTIVE_METRIC, LOOP_OBJECTIVE_DIRECTION (Maximize | Minimize), LOOP_MIN_IMPROVEMENT (>= 0). */
  readonly objectiveMetric: string;
  readonly objectiveDirection: 'Maximize' | 'Minimize';
  readonly minImprovement: number;
  /** LOOP_MIN_INTERVAL_SECONDS: least time between two pipeline starts. */
  readonly minIntervalSeconds: number;
  /** LOOP_MAX_RUNS_PER_PERIOD and LOOP_BUDGET_PERIOD_SECONDS: the retrain budget (fixed windows). */
  readonly maxRunsPerPeriod: number;
  readonly budgetPeriodSeconds: number;
  /** LOOP_LOCK_TTL_SECONDS: a lock older than this is stale (a run that died without releasing it). */
  readonly lockTtlSeconds: number;
  /** LOOP_APPROVAL: 'automatic' (the loop approves a better challenger) or 'manual' (a human does). */
  readonly approval: 'automatic' | 'manual';
  /** LOOP_CODE_VERSION: default CodeVersion pipeline parameter. */
  readonly codeVersion: string;
  /** LOOP_ENDPOINT_NAME: endpoint to promote to; undefined = approve only. */
  readonly endpointName?: string;
  /** LOOP_ROLLBACK_ALARMS: comma-separated alarm names watched during the bake period. */
  readonly rollbackAlarms: string[];
  /** LOOP_BAKE_SECONDS: bake period after a promotion. */
  readonly bakeSeconds: number;
}

const num = (env: NodeJS.ProcessEnv, name: string, fallback: number, problems: string[]): number => {
  const raw = env[name]?.trim();
  if (!raw) { return fallback; }
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) { problems.push(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`); }
  return value;
};

/** Reads {@link LoopConfig} from the environment; throws one error listing every problem. */
export function loopConfigFromEnv(env: NodeJS.ProcessEnv = process.env): LoopConfig {
  const problems: string[] = [];
  const required = ['LOOP_NAME', 'LOOP_TABLE', 'LOOP_AUDIT_BUCKET', 'LOOP_PIPELINE_NAME', 'LOOP_MODEL_PACKAGE_GROUP', 'LOOP_OBJECTIVE_METRIC'];
  for (const name of required) {
    if (!env[name]?.trim()) { problems.push(`${name} is not set`); }
  }
  const direction = env.LOOP_OBJECTIVE_DIRECTION?.trim() || 'Maximize';
  if (direction !== 'Maximize' && direction !== 'Minimize') { problems.push(`LOOP_OBJECTIVE_DIRECTION must be Maximize or Minimize, got ${JSON.stringify(direction)}`); }
  const approval = env.LOOP_APPROVAL?.trim() || 'automatic';
  if (approval !== 'automatic' && approval !== 'manual') { problems.push(`LOOP_APPROVAL must be automatic or manual, got ${JSON.stringify(approval)}`); }
  const config: LoopConfig = {
    loopName: env.LOOP_NAME?.trim() ?? '',
    table: env.LOOP_TABLE?.trim() ?? '',
    auditBucket: env.LOOP_AUDIT_BUCKET?.trim() ?? '',
    auditPrefix: env.LOOP_AUDIT_PREFIX?.trim() ?? 'audit/',
    eventBus: env.LOOP_EVENT_BUS?.trim() || 'default',
    pipelineName: env.LOOP_PIPELINE_NAME?.trim() ?? '',
    modelPackageGroup: env.LOOP_MODEL_PACKAGE_GROUP?.trim() ?? '',
    objectiveMetric: env.LOOP_OBJECTIVE_METRIC?.trim() ?? '',
    objectiveDirection: direction as 'Maximize' | 'Minimize',
    minImprovement: num(env, 'LOOP_MIN_IMPROVEMENT', 0, problems),
    minIntervalSeconds: num(env, 'LOOP_MIN_INTERVAL_SECONDS', 6 * 3600, problems),
    maxRunsPerPeriod: num(env, 'LOOP_MAX_RUNS_PER_PERIOD', 4, problems),
    budgetPeriodSeconds: num(env, 'LOOP_BUDGET_PERIOD_SECONDS', 7 * 86400, problems),
    lockTtlSeconds: num(env, 'LOOP_LOCK_TTL_SECONDS', 2 * 86400, problems),
    approval: approval as 'automatic' | 'manual',
    codeVersion: env.LOOP_CODE_VERSION?.trim() || 'unversioned',
    endpointName: env.LOOP_ENDPOINT_NAME?.trim() || undefined,
    rollbackAlarms: (env.LOOP_ROLLBACK_ALARMS ?? '').split(',').map(s => s.trim()).filter(s => s !== ''),
    bakeSeconds: num(env, 'LOOP_BAKE_SECONDS', 3600, problems),
  };
  if (config.budgetPeriodSeconds === 0) { problems.push('LOOP_BUDGET_PERIOD_SECONDS must be positive'); }
  if (problems.length > 0) { throw new Error(`The continuous-training handler is misconfigured: ${problems.join('; ')}`); }
  return config;
}

/**
 * The S3 key of an audit record. Deterministic per run and decision, so a retried task overwrites its own
 * record instead of adding a second one: `<prefix><yyyy>/<mm>/<dd>/<run>/<decision>.json`, the date being the
 * run's start (UTC) and `<run>` the execution name (the last segment of the execution ARN).
 */
export function auditKey(prefix: string, runId: string, startedAt: string, decision: AuditDecision): string {
  const started = new Date(startedAt);
  const day = Number.isNaN(started.getTime()) ? 'unknown-date' : started.toISOString().slice(0, 10).replace(/-/g, '/');
  const run = (runId.split(':').pop() ?? runId).replace(/[^A-Za-z0-9._-]/g, '_') || 'run';
  return `${prefix}${day}/${run}/${decision}.json`;
}

/**
 * The audit record of a decision, with the run's lineage fields from the state (both handlers' audit
 * records): trigger, pipeline execution, packages, data and code version, endpoint and (by default) the new endpoint
 * config; `extra` adds or overrides fields.
 */
export function auditRecord(
  config: LoopConfig, state: RunState, decision: AuditDecision, reason: string, at: Date, extra: Record<string, unknown> = {},
): AuditRecord {
  return {
    format: 'cdk-ml-platform/audit',
    version: 1,
    loop: config.loopName,
    runId: state.runId,
    decision,
    reason,
    at: at.toISOString(),
    trigger: state.trigger,
    pipelineExecutionArn: state.pipelineExecutionArn,
    challengerPackageArn: state.challengerPackageArn,
    championPackageArn: state.championPackageArn,
    dataVersion: state.trigger?.dataVersion,
    codeVersion: state.trigger ? state.trigger.codeVersion ?? config.codeVersion : undefined,
    endpointName: config.endpointName,
    endpointConfig: state.newEndpointConfig,
    ...extra,
  } as AuditRecord;
}
