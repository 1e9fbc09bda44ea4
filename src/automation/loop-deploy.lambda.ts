// Continuous-training loop, DEPLOY handler: promotes an approved challenger model package to the loop's
// SageMaker endpoint, follows the deployment, watches the rollback alarms during a bake period and rolls back.
// The Step Functions state machine invokes it with `{ task, state }` and gets the whole RunState back, updated
// (loop-state.ts). Every task needs LOOP_ENDPOINT_NAME (config.endpointName); without it the task fails.
//
// Tasks:
//   promote           (needs challengerPackageArn, already Approved by the control handler)
//                     DescribeEndpoint; its EndpointConfigName is the previous config (an already-set
//                     state.previousEndpointConfig is kept). DescribeEndpointConfig of it, DescribeModel (+ ListTags)
//                     of the model its production variants serve. Then, each step skipped when already done:
//                     CreateModel { Containers: [{ ModelPackageName: challenger }], ExecutionRoleArn, VpcConfig and
//                     EnableNetworkIsolation copied, lineage tags copied + cdk-ml-platform:model-package };
//                     CreateEndpointConfig copying the current one (every production variant with its model
//                     replaced, data capture, KMS key, async and explainer config; shadow variants dropped), tagged
//                     with the previous config's name; UpdateEndpoint { RetainAllVariantProperties, DeploymentConfig:
//                     the endpoint's LastDeploymentConfig } so the blue/green canary/linear rollout and its
//                     auto-rollback alarms that CloudFormation configured apply to the loop's deployments too.
//                     An endpoint that is not InService (someone else is updating it) -> EndpointBusyError
//                     (retryable: the state machine retries later); Failed / UpdateRollbackFailed / OutOfService /
//                     Deleting -> a plain error (waiting will not help). Audit 'promote'.
//                     -> newEndpointConfig, previousEndpointConfig, deploymentStatus 'deploying'
//   deploymentStatus  DescribeEndpoint:
//                       InService on newEndpointConfig                   -> 'in-service', bakeUntil = now + bakeSeconds
//                                                                            (kept on repeats), audit 'deployed'
//                       InService on previousEndpointConfig, none pending -> SageMaker's deployment guardrails rolled
//                                                                            the update back: 'rolled-back', rolledBack,
//                                                                            challenger Rejected, audit 'rollback'
//                       InService with the new config pending            -> 'deploying'
//                       InService on / pending a third config            -> 'failed' (superseded), audit 'failed'
//                       Failed / UpdateRollbackFailed / OutOfService /
//                       Deleting                                         -> 'failed', challenger Rejected (it must not
//                                                                            stay the newest approved), audit 'failed'
//                       Creating / Updating / SystemUpdating / RollingBack
//                       / unknown                                        -> 'deploying'
//   checkAlarms       DescribeAlarms (config.rollbackAlarms, 100 names per call, metric and composite alarms): the
//                     first one in ALARM (in configured order) -> `alarm`; otherwise bakeDone = now >= bakeUntil.
//   rollback          UpdateEndpoint back to previousEndpointConfig (no DeploymentConfig: restore fast), skipped when
//                     the endpoint already serves or deploys it, and never over a third config somebody else
//                     deployed; the challenger is Rejected (skipped when it already is), so the previous approved
//                     package is again the group's newest Approved one (what ModelSource.fromLatestApproved picks on
//                     the next CloudFormation deployment). -> rolledBack, deploymentStatus 'rolled-back'; audit 'rollback'.
//   anything else     -> error.
//
// Naming and idempotency. Step Functions retries a failed task with its ORIGINAL input, so a task may run again
// after it did part or all of its work. Model and endpoint config are named deterministically from the run:
// `<endpoint name, truncated>-<first 12 hex digits of sha256(runId + challengerPackageArn)>` (at most 63
// characters, SageMaker's ^[a-zA-Z0-9](-*[a-zA-Z0-9])* pattern), so a retry finds what the first attempt created
// (checked with Describe* first, and "Cannot create already existing ..." is accepted for races) and never
// creates a second model, config or deployment. UpdateEndpoint is skipped when DescribeEndpoint already shows the
// new config as current or as PendingDeploymentSummary's config. The previous config's name is also a tag of the
// new endpoint config (PREVIOUS_CONFIG_TAG): a retry whose input lacks previousEndpointConfig, after the first
// attempt's deployment already finished, still knows where to roll back to. Audit records have one S3 key per
// run and decision (auditKey), so a repeated task overwrites its own record.
//
// Every AWS call is retried on throttling (capped exponential backoff with full jitter, DeployDeps.maxAttempts
// attempts); throttling that outlasts them fails the task with a ThrottledError the state machine can retry.
//
// Permissions the function needs: sagemaker:DescribeEndpoint, DescribeEndpointConfig, DescribeModel, ListTags,
// CreateModel, CreateEndpointConfig, AddTags (tags on create), UpdateEndpoint, DescribeModelPackage,
// UpdateModelPackage; iam:PassRole on the model's execution role; cloudwatch:DescribeAlarms; s3:PutObject on the
// audit prefix (plus the bucket key's kms:GenerateDataKey); events:PutEvents on the loop's bus.
//
// The SDK clients are devDependencies bundled into the handler by esbuild; projen's lambda component adds
// `*.lambda.ts` entry points to the eslint devDependencies allowlist on the next synth.
/* eslint-disable import/no-extraneous-dependencies */
import { createHash } from 'crypto';
import { CloudWatchClient, DescribeAlarmsCommand, DescribeAlarmsCommandOutput } from '@aws-sdk/client-cloudwatch';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointConfigCommand, CreateEndpointConfigCommandInput, CreateModelCommand, DescribeEndpointCommand, DescribeEndpointCommandOutput,
  DescribeEndpointConfigCommand, DescribeEndpointConfigCommandOutput, DescribeModelCommand, DescribeModelCommandOutput,
  DescribeModelPackageCommand, ListTagsCommand, ListTagsCommandOutput, SageMakerClient, Tag, UpdateEndpointCommand,
  UpdateModelPackageCommand, VpcConfig,
} from '@aws-sdk/client-sagemaker';
/* eslint-enable import/no-extraneous-dependencies */
import { AUDIT_EVENT_DETAIL_TYPE, AUDIT_EVENT_SOURCE, AuditDecision, AuditRecord, LoopConfig, RunState, auditKey, auditRecord, loopConfigFromEnv } from './loop-state';
import { defaultSleep, fullJitterBackoff, retryThrottled } from '../core/aws-retry';
import { CODE_VERSION_TAG, COMPONENT_TAG, DATA_VERSION_TAG, IMAGE_TAG, MODEL_PACKAGE_TAG as PACKAGE_LINEAGE_TAG, PackageLineage, lineageOf } from '../core/lineage-keys';
import { sanitizeTagValue } from '../core/tag-value';

/** Clients, configuration and seams for tests. */
export interface DeployDeps {
  readonly config: LoopConfig;
  readonly sagemaker: SageMakerClient;
  readonly s3: S3Client;
  readonly cloudwatch: CloudWatchClient;
  readonly events: EventBridgeClient;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly log?: (message: string) => void;
  /** Attempts of a throttled AWS call, including the first. Default {@link DEFAULT_MAX_ATTEMPTS}. */
  readonly maxAttempts?: number;
}

/** The tasks of this handler. */
export type DeployTask = 'promote' | 'deploymentStatus' | 'checkAlarms' | 'rollback';

/** The Lambda event: the task to run and the run's state. */
export interface DeployEvent {
  readonly task: string;
  readonly state: RunState;
}

/**
 * The endpoint is being updated by someone else (not InService, nothing of ours pending): retryable, the state
 * machine retries the task later (Retry on ErrorEquals ["EndpointBusyError"]).
 */
export class EndpointBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EndpointBusyError';
  }
}

/** An AWS call was still throttled after every attempt: retryable at the state machine level. */
export class ThrottledError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ThrottledError';
  }
}

/** Attempts of a throttled AWS call, including the first. */
export const DEFAULT_MAX_ATTEMPTS = 8;
/** SageMaker's limit on model and endpoint config names. */
export const MAX_NAME_LENGTH = 63;
/** Hex digits of the run hash in generated names. */
const HASH_LENGTH = 12;
/** DescribeAlarms takes at most 100 alarm names per call. */
export const ALARM_NAMES_PER_CALL = 100;
/** Tag of the loop's models and endpoint configs: the model package they serve. */
export const MODEL_PACKAGE_TAG = 'cdk-ml-platform:model-package';
/** Tag of the loop's endpoint configs: the config the endpoint served before (where a rollback goes back to). */
export const PREVIOUS_CONFIG_TAG = 'cdk-ml-platform:previous-endpoint-config';
/**
 * Lineage tags copied from the current model to the new one: the component and the code version (of the
 * platform that deployed it). Image, data version and model package describe the new package and are set from it.
 */
export const LINEAGE_TAG_KEYS: readonly string[] = [COMPONENT_TAG, CODE_VERSION_TAG];
/** SageMaker's limit on ApprovalDescription. */
const MAX_APPROVAL_DESCRIPTION = 1024;

/** Statuses that never reach InService by themselves. */
const TERMINAL = new Set(['Failed', 'UpdateRollbackFailed', 'OutOfService', 'Deleting']);

/**
 * The name of the model and of the endpoint config a run creates for a package:
 * `<endpoint name>-<first 12 hex of sha256(runId + packageArn)>`, the endpoint name truncated so the whole is at
 * most 63 characters and matches `^[a-zA-Z0-9](-*[a-zA-Z0-9])*`. Deterministic: a retried task gets the same name.
 */
export function deployedResourceName(endpointName: string, runId: string, packageArn: string): string {
  const hash = createHash('sha256').update(runId + packageArn).digest('hex').slice(0, HASH_LENGTH);
  const base = endpointName.replace(/[^a-zA-Z0-9-]/g, '-').replace(/^-+/, '').slice(0, MAX_NAME_LENGTH - HASH_LENGTH - 1).replace(/-+$/, '');
  return base === '' ? `model-${hash}` : `${base}-${hash}`;
}

/**
 * The tags of a promoted model and its endpoint config: the lineage tags of the current model's `tags` (see
 * {@link LINEAGE_TAG_KEYS}), the loop's model package tag, and the new package's own lineage (image, data version
 * and package ARN under the keys every model of the library carries, see core/lineage-keys.ts).
 */
export function modelTags(currentTags: Tag[], packageArn: string, lineage?: PackageLineage): Tag[] {
  const kept = currentTags.filter(t => t.Key !== undefined && LINEAGE_TAG_KEYS.includes(t.Key) && t.Value !== undefined);
  return [
    ...kept.map(t => ({ Key: t.Key, Value: t.Value })),
    { Key: MODEL_PACKAGE_TAG, Value: packageArn },
    ...lineage ? [
      { Key: IMAGE_TAG, Value: lineage.Image },
      { Key: DATA_VERSION_TAG, Value: lineage.DataVersion },
      { Key: PACKAGE_LINEAGE_TAG, Value: sanitizeTagValue(packageArn) },
    ] : [],
  ];
}

/** A VpcConfig worth copying: DescribeModel may answer `{}` (or empty lists) for a model without VPC. */
function presentVpc(vpc: VpcConfig | undefined): VpcConfig | undefined {
  return vpc && (vpc.Subnets?.length ?? 0) > 0 && (vpc.SecurityGroupIds?.length ?? 0) > 0
    ? { SecurityGroupIds: vpc.SecurityGroupIds, Subnets: vpc.Subnets } : undefined;
}

/**
 * CreateEndpointConfig input copying `current` under `name`: every production variant with all its fields, its
 * ModelName (when it served one) replaced by `modelName`; data capture, KMS key, async inference, explainer and
 * the config-level role/VPC/isolation copied when present; shadow variants dropped (they would shadow-test the
 * old model against the new one, not what a promotion means).
 */
export function endpointConfigInput(
  current: DescribeEndpointConfigCommandOutput, name: string, modelName: string, tags: Tag[],
): CreateEndpointConfigCommandInput {
  const variants = (current.ProductionVariants ?? []).map(v => (v.ModelName ? { ...v, ModelName: modelName } : { ...v }));
  const input: CreateEndpointConfigCommandInput = {
    EndpointConfigName: name,
    ProductionVariants: variants,
    DataCaptureConfig: current.DataCaptureConfig,
    KmsKeyId: current.KmsKeyId,
    AsyncInferenceConfig: current.AsyncInferenceConfig,
    ExplainerConfig: current.ExplainerConfig,
    ExecutionRoleArn: current.ExecutionRoleArn,
    VpcConfig: presentVpc(current.VpcConfig),
    EnableNetworkIsolation: current.EnableNetworkIsolation,
    Tags: tags,
  };
  // Drop absent fields: the request stays minimal and readable in CloudTrail.
  for (const key of Object.keys(input) as (keyof CreateEndpointConfigCommandInput)[]) {
    if (input[key] === undefined) { delete input[key]; }
  }
  return input;
}

/** Retries `call` on throttling (full-jitter backoff); persistent throttling becomes a {@link ThrottledError}. */
function aws<T>(what: string, call: () => Promise<T>, deps: Pick<DeployDeps, 'sleep' | 'log' | 'maxAttempts'>): Promise<T> {
  return retryThrottled(what, call, {
    maxAttempts: deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    backoff: fullJitterBackoff,
    sleep: deps.sleep ?? defaultSleep,
    log: deps.log,
    exhausted: (message, cause) => new ThrottledError(message, { cause }),
  });
}

/** What {@link writeAudit} needs. */
export type AuditDeps = Pick<DeployDeps, 'config' | 's3' | 'events' | 'now' | 'sleep' | 'log' | 'maxAttempts'>;

/**
 * Writes one audit record as JSON to `s3://<auditBucket>/<auditKey(auditPrefix, runId, startedAt, decision)>`
 * (deterministic: a retry overwrites it) and puts it as the detail of an EventBridge event (source
 * AUDIT_EVENT_SOURCE, detail-type AUDIT_EVENT_DETAIL_TYPE) on the loop's bus. Same signature and contract as the
 * control handler's writeAudit (to be merged). An entry EventBridge rejects fails the task; a throttled entry is
 * retried like a throttled call. Returns the record.
 */
export async function writeAudit(
  deps: AuditDeps, state: RunState, decision: AuditDecision, reason: string, extra: Partial<AuditRecord> = {},
): Promise<AuditRecord> {
  const { config } = deps;
  const record = auditRecord(config, state, decision, reason, (deps.now ?? (() => new Date()))(), extra);
  const body = JSON.stringify(record);
  const key = auditKey(config.auditPrefix, state.runId, state.startedAt, decision);
  await aws(`PutObject(s3://${config.auditBucket}/${key})`, () => deps.s3.send(new PutObjectCommand({
    Bucket: config.auditBucket, Key: key, Body: body, ContentType: 'application/json',
  })), deps);
  await aws(`PutEvents(${config.eventBus})`, async () => {
    const put = await deps.events.send(new PutEventsCommand({
      Entries: [{ EventBusName: config.eventBus, Source: AUDIT_EVENT_SOURCE, DetailType: AUDIT_EVENT_DETAIL_TYPE, Detail: body }],
    }));
    if ((put.FailedEntryCount ?? 0) > 0) {
      const entry = put.Entries?.find(e => e.ErrorCode) ?? put.Entries?.[0];
      const error = new Error(`PutEvents of the '${decision}' audit event to bus ${config.eventBus} failed: ` +
        `${entry?.ErrorCode ?? 'unknown error'} ${entry?.ErrorMessage ?? ''}`.trim());
      error.name = entry?.ErrorCode === 'ThrottlingException' ? 'ThrottlingException' : 'PutEventsFailed';
      throw error;
    }
    return put;
  }, deps);
  deps.log?.(`Audit ${decision}: ${reason} (s3://${config.auditBucket}/${key})`);
  return record;
}

const errorName = (e: unknown) => (e as { name?: string } | undefined)?.name;
const errorMessage = (e: unknown) => (e as { message?: string } | undefined)?.message ?? '';

/** SageMaker's answer to creating a model or endpoint config whose name is taken. */
export function isAlreadyExists(error: unknown): boolean {
  return errorName(error) === 'ValidationException' && /Cannot create already existing/i.test(errorMessage(error));
}

/** SageMaker's answer to describing a model, endpoint config or endpoint that does not exist. */
function isNotFound(error: unknown): boolean {
  return errorName(error) === 'ValidationException' && /Could not find\b/i.test(errorMessage(error));
}

/** The endpoint name, or a clear error when the loop has no endpoint. */
function endpointOf(config: LoopConfig, task: string): string {
  if (!config.endpointName) {
    throw new Error(`Task ${task} needs the endpoint to promote to, but LOOP_ENDPOINT_NAME is not set ` +
      '(the loop only approves packages when it has no endpoint; the state machine must not run the deploy tasks)');
  }
  return config.endpointName;
}

function need<K extends keyof RunState>(state: RunState, key: K, task: string): NonNullable<RunState[K]> {
  const value = state[key];
  if (value === undefined || value === null || value === '') {
    throw new Error(`Task ${task} needs state.${String(key)}, which is not set (run ${state.runId})`);
  }
  return value as NonNullable<RunState[K]>;
}

async function describeEndpoint(name: string, deps: DeployDeps): Promise<DescribeEndpointCommandOutput> {
  try {
    return await aws(`DescribeEndpoint(${name})`, () => deps.sagemaker.send(new DescribeEndpointCommand({ EndpointName: name })), deps);
  } catch (e) {
    if (isNotFound(e)) {
      throw new Error(`SageMaker endpoint ${name} does not exist (${errorMessage(e)}); check LOOP_ENDPOINT_NAME`, { cause: e });
    }
    throw e;
  }
}

/** Describe* that answers undefined for a resource that does not exist. */
async function describeIfExists<T>(what: string, call: () => Promise<T>, deps: DeployDeps): Promise<T | undefined> {
  try {
    return await aws(what, call, deps);
  } catch (e) {
    if (isNotFound(e)) { return undefined; }
    throw e;
  }
}

async function listTags(arn: string, deps: DeployDeps): Promise<Tag[]> {
  const tags: Tag[] = [];
  let token: string | undefined;
  do {
    const page: ListTagsCommandOutput = await aws(`ListTags(${arn})`,
      () => deps.sagemaker.send(new ListTagsCommand({ ResourceArn: arn, NextToken: token, MaxResults: 100 })), deps);
    tags.push(...page.Tags ?? []);
    token = page.NextToken || undefined;
  } while (token);
  return tags;
}

/** The config the endpoint is deploying, if any. */
const pendingOf = (endpoint: DescribeEndpointCommandOutput) => endpoint.PendingDeploymentSummary?.EndpointConfigName;

/** Rejects the challenger unless it already is Rejected. */
async function rejectChallenger(packageArn: string, description: string, deps: DeployDeps): Promise<void> {
  const pkg = await aws(`DescribeModelPackage(${packageArn})`,
    () => deps.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: packageArn })), deps);
  if (pkg.ModelApprovalStatus === 'Rejected') {
    deps.log?.(`Model package ${packageArn} is already Rejected`);
    return;
  }
  await aws(`UpdateModelPackage(${packageArn})`, () => deps.sagemaker.send(new UpdateModelPackageCommand({
    ModelPackageArn: packageArn, ModelApprovalStatus: 'Rejected', ApprovalDescription: description.slice(0, MAX_APPROVAL_DESCRIPTION),
  })), deps);
  deps.log?.(`Model package ${packageArn} Rejected: ${description}`);
}

/** UpdateEndpoint; SageMaker's "in-progress" refusal becomes an {@link EndpointBusyError}. */
async function updateEndpoint(input: UpdateEndpointCommand['input'], deps: DeployDeps): Promise<void> {
  try {
    await aws(`UpdateEndpoint(${input.EndpointName} -> ${input.EndpointConfigName})`, () => deps.sagemaker.send(new UpdateEndpointCommand(input)), deps);
  } catch (e) {
    if (errorName(e) === 'ValidationException' && /in-progress|in progress|cannot update .*updating/i.test(errorMessage(e))) {
      throw new EndpointBusyError(`SageMaker endpoint ${input.EndpointName} is being updated by someone else (${errorMessage(e)}); retry later`);
    }
    throw e;
  }
}

async function promote(state: RunState, deps: DeployDeps): Promise<RunState> {
  const endpointName = endpointOf(deps.config, 'promote');
  const packageArn = need(state, 'challengerPackageArn', 'promote');
  const name = deployedResourceName(endpointName, state.runId, packageArn);
  const endpoint = await describeEndpoint(endpointName, deps);
  const current = endpoint.EndpointConfigName;
  const pending = pendingOf(endpoint);

  if (current === name || pending === name) {
    // A retry after UpdateEndpoint went through: nothing to create or update.
    const previous = state.previousEndpointConfig ?? (current !== name ? current : await previousFromTags(name, deps));
    deps.log?.(`Endpoint ${endpointName} already ${current === name ? 'serves' : 'deploys'} ${name}; not updating it again`);
    const reason = `promoted model package ${packageArn} to endpoint ${endpointName}: endpoint config ${name} ` +
      `replaces ${previous ?? 'an unknown previous config'} (deployment already started)`;
    await writeAudit(deps, state, 'promote', reason, { endpointConfig: name });
    return { ...state, previousEndpointConfig: previous, newEndpointConfig: name, deploymentStatus: 'deploying' };
  }
  if (TERMINAL.has(endpoint.EndpointStatus ?? '')) {
    // Not a wait-and-retry case: the endpoint needs a human (or CloudFormation) first.
    throw new Error(`SageMaker endpoint ${endpointName} is ${endpoint.EndpointStatus} on ${current ?? 'no config'} ` +
      `(${endpoint.FailureReason ? `FailureReason: ${endpoint.FailureReason}` : 'no FailureReason given'}); cannot promote to it`);
  }
  if (endpoint.EndpointStatus !== 'InService' || pending) {
    throw new EndpointBusyError(`SageMaker endpoint ${endpointName} is ${endpoint.EndpointStatus}` +
      `${pending ? ` deploying endpoint config ${pending}` : ''} (on ${current ?? 'no config'}): it cannot be updated now; retry later`);
  }
  if (!current) {
    throw new Error(`SageMaker endpoint ${endpointName} reports no EndpointConfigName; cannot copy its configuration`);
  }
  const previous = state.previousEndpointConfig ?? current;

  const currentConfig = await aws(`DescribeEndpointConfig(${current})`,
    () => deps.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: current })), deps);
  const models = [...new Set((currentConfig.ProductionVariants ?? []).map(v => v.ModelName).filter((m): m is string => !!m))];
  if (models.length === 0) {
    throw new Error(`Endpoint config ${current} of endpoint ${endpointName} has no production variant serving a model; nothing to replace`);
  }
  if (models.length > 1) {
    deps.log?.(`Endpoint config ${current} serves ${models.length} models (${models.join(', ')}); all variants get the new model, ` +
      `copying role, VPC and isolation from ${models[0]}`);
  }
  const currentModel: DescribeModelCommandOutput = await aws(`DescribeModel(${models[0]})`,
    () => deps.sagemaker.send(new DescribeModelCommand({ ModelName: models[0] })), deps);
  const challenger = await aws(`DescribeModelPackage(${packageArn})`,
    () => deps.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: packageArn })), deps);
  const tags = modelTags(currentModel.ModelArn ? await listTags(currentModel.ModelArn, deps) : [], packageArn, lineageOf(packageArn, challenger));

  // Model: skipped when a former attempt created it.
  const existingModel = await describeIfExists(`DescribeModel(${name})`, () => deps.sagemaker.send(new DescribeModelCommand({ ModelName: name })), deps);
  if (existingModel) {
    deps.log?.(`Model ${name} exists already (an earlier attempt of this run)`);
  } else {
    try {
      await aws(`CreateModel(${name})`, () => deps.sagemaker.send(new CreateModelCommand({
        ModelName: name,
        ExecutionRoleArn: currentModel.ExecutionRoleArn,
        Containers: [{ ModelPackageName: packageArn }],
        VpcConfig: presentVpc(currentModel.VpcConfig),
        EnableNetworkIsolation: currentModel.EnableNetworkIsolation,
        Tags: tags,
      })), deps);
      deps.log?.(`Created model ${name} from ${packageArn}`);
    } catch (e) {
      if (!isAlreadyExists(e)) { throw e; }
      deps.log?.(`Model ${name} exists already (${errorMessage(e)})`);
    }
  }

  // Endpoint config: likewise.
  const existingConfig = await describeIfExists(`DescribeEndpointConfig(${name})`,
    () => deps.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name })), deps);
  if (existingConfig) {
    deps.log?.(`Endpoint config ${name} exists already (an earlier attempt of this run)`);
  } else {
    const input = endpointConfigInput(currentConfig, name, name, [...tags, { Key: PREVIOUS_CONFIG_TAG, Value: previous }]);
    try {
      await aws(`CreateEndpointConfig(${name})`, () => deps.sagemaker.send(new CreateEndpointConfigCommand(input)), deps);
      deps.log?.(`Created endpoint config ${name} (copy of ${current} serving model ${name})`);
    } catch (e) {
      if (!isAlreadyExists(e)) { throw e; }
      deps.log?.(`Endpoint config ${name} exists already (${errorMessage(e)})`);
    }
  }

  await updateEndpoint({
    EndpointName: endpointName,
    EndpointConfigName: name,
    RetainAllVariantProperties: true,
    DeploymentConfig: endpoint.LastDeploymentConfig,
  }, deps);
  deps.log?.(`UpdateEndpoint ${endpointName}: ${current} -> ${name}` +
    `${endpoint.LastDeploymentConfig ? ' with its last deployment config (guardrails and auto-rollback alarms)' : ''}`);

  await writeAudit(deps, state, 'promote', `promoted model package ${packageArn} to endpoint ${endpointName}: ` +
    `endpoint config ${name} replaces ${previous}`, { endpointConfig: name });
  return { ...state, previousEndpointConfig: previous, newEndpointConfig: name, deploymentStatus: 'deploying' };
}

/** The previous config recorded on a config this handler created (see {@link PREVIOUS_CONFIG_TAG}). */
async function previousFromTags(configName: string, deps: DeployDeps): Promise<string | undefined> {
  const config = await describeIfExists(`DescribeEndpointConfig(${configName})`,
    () => deps.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: configName })), deps);
  if (!config?.EndpointConfigArn) { return undefined; }
  return (await listTags(config.EndpointConfigArn, deps)).find(t => t.Key === PREVIOUS_CONFIG_TAG)?.Value;
}

async function deploymentStatus(state: RunState, deps: DeployDeps): Promise<RunState> {
  const endpointName = endpointOf(deps.config, 'deploymentStatus');
  const desired = need(state, 'newEndpointConfig', 'deploymentStatus');
  const previous = state.previousEndpointConfig;
  const endpoint = await describeEndpoint(endpointName, deps);
  const status = endpoint.EndpointStatus ?? 'unknown';
  const current = endpoint.EndpointConfigName;
  const pending = pendingOf(endpoint);
  const failure = endpoint.FailureReason ? `FailureReason: ${endpoint.FailureReason}` : 'no FailureReason given';
  const now = (deps.now ?? (() => new Date()))();

  const failed = async (reason: string): Promise<RunState> => {
    await writeAudit(deps, state, 'failed', reason, { endpointConfig: current });
    return { ...state, deploymentStatus: 'failed' };
  };

  if (status === 'InService') {
    if (current === desired) {
      const bakeUntil = state.bakeUntil ?? new Date(now.getTime() + deps.config.bakeSeconds * 1000).toISOString();
      await writeAudit(deps, state, 'deployed', `endpoint ${endpointName} is InService on endpoint config ${desired} ` +
        `serving model package ${state.challengerPackageArn}; baking until ${bakeUntil}`, { endpointConfig: desired });
      return { ...state, deploymentStatus: 'in-service', bakeUntil };
    }
    if (pending === desired) {
      deps.log?.(`Endpoint ${endpointName} is InService on ${current} and still deploying ${desired}`);
      return { ...state, deploymentStatus: 'deploying' };
    }
    if (!pending && current !== undefined && current === previous) {
      const reason = `rolled back by SageMaker deployment guardrails: endpoint ${endpointName} is InService on the previous ` +
        `endpoint config ${previous}, not ${desired} (${failure})`;
      if (state.challengerPackageArn) {
        await rejectChallenger(state.challengerPackageArn, `rolled back by SageMaker deployment guardrails on endpoint ${endpointName}: ${failure}`, deps);
      }
      await writeAudit(deps, state, 'rollback', reason, { endpointConfig: previous });
      return { ...state, deploymentStatus: 'rolled-back', rolledBack: true };
    }
    return failed(`endpoint ${endpointName} is InService on endpoint config ${current}` +
      `${pending ? ` deploying ${pending}` : ''}, neither ${desired} nor the previous ${previous ?? '(unknown)'}: another deployment superseded this one`);
  }
  if (TERMINAL.has(status)) {
    // The challenger's deployment broke the endpoint: it must not stay the newest approved version, or the next
    // `cdk deploy` (ModelSource.fromLatestApproved) would deploy it again.
    if (state.challengerPackageArn) {
      await rejectChallenger(state.challengerPackageArn, `its deployment left endpoint ${endpointName} ${status}: ${failure}`, deps);
    }
    return failed(`endpoint ${endpointName} is ${status} on endpoint config ${current ?? 'none'} (desired ${desired}): ${failure}`);
  }
  deps.log?.(`Endpoint ${endpointName} is ${status} (on ${current ?? 'no config'}${pending ? `, deploying ${pending}` : ''}, desired ${desired}); waiting`);
  return { ...state, deploymentStatus: 'deploying' };
}

/** The first of `names` in ALARM (in the given order), or undefined; logs names that do not exist. */
export async function firstAlarmInAlarm(names: readonly string[], deps: DeployDeps): Promise<string | undefined> {
  const states = new Map<string, string | undefined>();
  for (let i = 0; i < names.length; i += ALARM_NAMES_PER_CALL) {
    const chunk = names.slice(i, i + ALARM_NAMES_PER_CALL);
    let token: string | undefined;
    do {
      const page: DescribeAlarmsCommandOutput = await aws(`DescribeAlarms(${chunk.length} alarms)`, () => deps.cloudwatch.send(new DescribeAlarmsCommand({
        AlarmNames: chunk, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: 100, NextToken: token,
      })), deps);
      for (const a of [...page.MetricAlarms ?? [], ...page.CompositeAlarms ?? []]) {
        if (a.AlarmName) { states.set(a.AlarmName, a.StateValue); }
      }
      token = page.NextToken || undefined;
    } while (token);
  }
  const missing = names.filter(n => !states.has(n));
  if (missing.length > 0) {
    deps.log?.(`Rollback alarm(s) not found, not watched: ${missing.join(', ')}`);
  }
  return names.find(n => states.get(n) === 'ALARM');
}

async function checkAlarms(state: RunState, deps: DeployDeps): Promise<RunState> {
  endpointOf(deps.config, 'checkAlarms');
  const bakeUntil = need(state, 'bakeUntil', 'checkAlarms');
  const until = Date.parse(bakeUntil);
  if (Number.isNaN(until)) {
    throw new Error(`Task checkAlarms: state.bakeUntil is not a date: ${JSON.stringify(bakeUntil)}`);
  }
  const alarm = deps.config.rollbackAlarms.length > 0 ? await firstAlarmInAlarm(deps.config.rollbackAlarms, deps) : undefined;
  if (alarm) {
    deps.log?.(`Rollback alarm ${alarm} is in ALARM during the bake period`);
    return { ...state, alarm, bakeDone: false };
  }
  const now = (deps.now ?? (() => new Date()))();
  const bakeDone = now.getTime() >= until;
  deps.log?.(bakeDone ? `Bake period over (${bakeUntil}) without an alarm` : `Baking until ${bakeUntil}; no rollback alarm in ALARM`);
  return { ...state, bakeDone };
}

async function rollback(state: RunState, deps: DeployDeps): Promise<RunState> {
  const endpointName = endpointOf(deps.config, 'rollback');
  const previous = need(state, 'previousEndpointConfig', 'rollback');
  const packageArn = need(state, 'challengerPackageArn', 'rollback');
  const why = state.alarm ? `alarm ${state.alarm} in ALARM during the bake period` : 'requested by the state machine';
  const endpoint = await describeEndpoint(endpointName, deps);
  const current = endpoint.EndpointConfigName;
  const pending = pendingOf(endpoint);
  const ours = new Set<string | undefined>([state.newEndpointConfig, previous].filter(c => c !== undefined));
  let note: string;

  if (pending === previous || (current === previous && !pending)) {
    note = `endpoint ${endpointName} already ${pending === previous ? 'deploys' : 'serves'} ${previous}`;
    deps.log?.(`${note}; not updating it again`);
  } else if (!ours.has(current) || (pending !== undefined && !ours.has(pending))) {
    // Somebody else deployed a third config since: going back would undo their deployment.
    note = `endpoint ${endpointName} serves ${current}${pending ? ` deploying ${pending}` : ''}, not this run's config; left as it is`;
    deps.log?.(note);
  } else if (endpoint.EndpointStatus !== 'InService') {
    throw new EndpointBusyError(`SageMaker endpoint ${endpointName} is ${endpoint.EndpointStatus} (on ${current}` +
      `${pending ? `, deploying ${pending}` : ''}): cannot roll back to ${previous} now; retry later`);
  } else {
    await updateEndpoint({ EndpointName: endpointName, EndpointConfigName: previous, RetainAllVariantProperties: true }, deps);
    note = `UpdateEndpoint ${endpointName}: ${current} -> ${previous}`;
    deps.log?.(note);
  }
  await rejectChallenger(packageArn, `rolled back: ${why}`, deps);
  await writeAudit(deps, state, 'rollback', `rolled back model package ${packageArn} on endpoint ${endpointName} to endpoint config ` +
    `${previous}: ${why} (${note})`, { endpointConfig: previous });
  return { ...state, rolledBack: true, deploymentStatus: 'rolled-back' };
}

const TASKS: Record<DeployTask, (state: RunState, deps: DeployDeps) => Promise<RunState>> = {
  promote, deploymentStatus, checkAlarms, rollback,
};

/** Runs one task on the state and returns the updated state. */
export async function runTask(event: DeployEvent, deps: DeployDeps): Promise<RunState> {
  const task = event?.task;
  if (!Object.prototype.hasOwnProperty.call(TASKS, task)) {
    throw new Error(`Unknown deploy task ${JSON.stringify(task)}; expected one of ${Object.keys(TASKS).join(', ')}`);
  }
  if (!event.state?.runId) {
    throw new Error(`Task ${task} needs state.runId (the execution ARN)`);
  }
  return TASKS[task as DeployTask](event.state, deps);
}

let clients: Pick<DeployDeps, 'sagemaker' | 's3' | 'cloudwatch' | 'events'> | undefined;

/** Lambda entry point: `{ task, state }` from the state machine, configuration from LOOP_* variables. */
export async function handler(event: DeployEvent): Promise<RunState> {
  const config = loopConfigFromEnv();
  clients ??= { sagemaker: new SageMakerClient({}), s3: new S3Client({}), cloudwatch: new CloudWatchClient({}), events: new EventBridgeClient({}) };
  return runTask(event, { config, ...clients, log: message => console.log(message) });
}
