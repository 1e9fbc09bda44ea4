// Kubeflow training backend: runs the training of a SageMaker pipeline's Callback step as a Kubeflow PyTorchJob on EKS.
//
// Flow (SQS-triggered, partial batch responses):
//   1. The Callback step sends `{ token, pipelineExecutionArn, arguments: { InputDataUri, OutputUri, CodeVersion }, status }`
//      to the launcher queue. We render the PyTorchJob from JOB_TEMPLATE (the synthesized job; its image is kept) with the
//      run's values: ML_PLATFORM_INPUT_URI / ML_PLATFORM_OUTPUT_URI / ML_PLATFORM_CODE_VERSION on every container, and
//      the labels `ml-platform/callback` (token hash) and `ml-platform/pipeline-execution` (execution id), and POST it to
//      /apis/kubeflow.org/v1/namespaces/<JOB_NAMESPACE>/pytorchjobs. The name is `<JOB_NAME_PREFIX>-<first 10 hex of
//      sha256(token)>`, so a redelivered message hits 409 AlreadyExists, which is success: one job per token.
//   2. While the job's conditions show neither Succeeded nor Failed, a watch message `{ kind: 'watch', ... }` is sent to
//      the same queue (QUEUE_URL) with DelaySeconds = WATCH_INTERVAL_SECONDS and the received message is consumed. A new
//      message per check (instead of ChangeMessageVisibility) keeps ApproximateReceiveCount low, so the queue's DLQ
//      redrive only catches messages that fail, never long trainings.
//   3. Succeeded: SendPipelineExecutionStepSuccess with OutputParameters ModelArtifacts = <OutputUri>/model.tar.gz and
//      JobName. Failed (or the job vanished, or MAX_RUN_SECONDS passed): SendPipelineExecutionStepFailure with the
//      condition's reason and message (SageMaker keeps 256 characters). The training operator deletes the finished job
//      after its runPolicy.ttlSecondsAfterFinished; we delete nothing, except a job we stop for exceeding MAX_RUN_SECONDS.
//   A token SageMaker no longer accepts (expired, already answered, execution stopped) is logged and the message consumed.
//   A message that is not JSON or has no token is a batch item failure (and reaches the DLQ after maxReceiveCount); a
//   message with a token but bad arguments is answered with a step failure at once.
//
// EKS authentication without kubectl: the bearer token is `k8s-aws-v1.` + base64url (no padding) of a presigned STS
// GetCallerIdentity URL (SigV4 query signing, signed header x-k8s-aws-id = cluster name, X-Amz-Expires 60), the format of
// aws-iam-authenticator and `aws eks get-token`. The function's role is mapped to Kubernetes groups by an EKS access entry.
// Endpoint and CA come from CLUSTER_ENDPOINT / CLUSTER_CA (base64 PEM) or from eks:DescribeCluster (cached).
// Kubernetes API calls retry 429, 5xx and connection errors with capped exponential backoff and full jitter; AWS calls
// retry throttling (core/aws-retry.ts).
/* eslint-disable import/no-extraneous-dependencies */
import { createHash } from 'crypto';
import { EKSClient } from '@aws-sdk/client-eks';
import {
  SageMakerClient,
  SendPipelineExecutionStepFailureCommand,
  SendPipelineExecutionStepSuccessCommand,
} from '@aws-sdk/client-sagemaker';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
/* eslint-enable import/no-extraneous-dependencies */
import { Credentials, KubeApiError, KubeClient, KubeResponse, KubeTransport, ClusterConfig, clusterConfigFromEnv, envReader } from './kube-api';
import { defaultSleep, jitterRetry, retryThrottled } from '../core/aws-retry';

// The Kubernetes API client and EKS token live in kube-api.ts (shared with the model server promoter).
export { Credentials, KubeApiError, KubeResponse, KubeTransport, NodeSha256, TOKEN_EXPIRES_SECONDS, TOKEN_PREFIX, eksToken, httpsTransport, stsHost } from './kube-api';

/** The output parameters the Callback step declares. */
export const OUTPUT_MODEL_ARTIFACTS = 'ModelArtifacts';
export const OUTPUT_JOB_NAME = 'JobName';
/** Environment variables set on every container of the job. */
export const ENV_INPUT_URI = 'ML_PLATFORM_INPUT_URI';
export const ENV_OUTPUT_URI = 'ML_PLATFORM_OUTPUT_URI';
export const ENV_CODE_VERSION = 'ML_PLATFORM_CODE_VERSION';
/** Labels of a launched job. */
export const LABEL_CALLBACK = 'ml-platform/callback';
export const LABEL_EXECUTION = 'ml-platform/pipeline-execution';
/** SageMaker's limit on FailureReason. */
const MAX_FAILURE_REASON = 256;

/** Settings from the environment. */
export interface LauncherConfig extends ClusterConfig {
  readonly namespace: string;
  readonly jobNamePrefix: string;
  /** The PyTorchJob template (JSON). */
  readonly jobTemplate: Record<string, any>;
  readonly queueUrl: string;
  readonly watchIntervalSeconds: number;
  readonly maxRunSeconds: number;
  /**
   * The queue's maxReceiveCount: on that delivery a message that fails again goes to the DLQ, so its step is answered
   * with a failure first (else the pipeline would wait for SageMaker's callback timeout). 0: never.
   */
  readonly maxReceiveCount: number;
  /** Output URIs must start with this (e.g. `s3://models-bucket/`); empty allows any s3:// URI. */
  readonly outputPrefix: string;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): LauncherConfig {
  const required = envReader(env);
  return {
    ...clusterConfigFromEnv(env),
    namespace: required('JOB_NAMESPACE'),
    jobNamePrefix: required('JOB_NAME_PREFIX'),
    jobTemplate: JSON.parse(required('JOB_TEMPLATE')),
    queueUrl: required('QUEUE_URL'),
    watchIntervalSeconds: Number(env.WATCH_INTERVAL_SECONDS ?? '300'),
    maxRunSeconds: Number(env.MAX_RUN_SECONDS ?? String(7 * 86400)),
    maxReceiveCount: Number(env.MAX_RECEIVE_COUNT ?? '0'),
    outputPrefix: env.OUTPUT_PREFIX ?? '',
  };
}

// --- messages -------------------------------------------------------------------------------------------------------

/** The run's values, from the Callback step's arguments. */
export interface RunArguments {
  readonly inputDataUri: string;
  readonly outputUri: string;
  readonly codeVersion: string;
}

/** A parsed queue message. */
export interface LaunchMessage {
  readonly kind: 'launch' | 'watch';
  readonly token: string;
  readonly pipelineExecutionArn: string;
  /** Raw Callback-step arguments (re-sent unchanged with watch messages). */
  readonly arguments: Record<string, unknown>;
  /** Epoch ms of the first time we saw this token (watch messages). */
  readonly startedAt?: number;
}

/** A message without a usable token: nobody can be answered, so it goes back to the queue (and to the DLQ). */
export class MalformedMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedMessageError';
  }
}

/** Parses a queue message body; throws {@link MalformedMessageError} when there is no callback token. */
export function parseMessage(body: string): LaunchMessage {
  let o: any;
  try { o = JSON.parse(body); } catch { throw new MalformedMessageError('the message body is not JSON'); }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) { throw new MalformedMessageError('the message body is not a JSON object'); }
  if (typeof o.token !== 'string' || !/^[A-Za-z0-9]{1,128}$/.test(o.token)) {
    throw new MalformedMessageError('the message has no alphanumeric callback token (field token)');
  }
  const args = o.arguments && typeof o.arguments === 'object' && !Array.isArray(o.arguments) ? o.arguments : {};
  return {
    kind: o.kind === 'watch' ? 'watch' : 'launch',
    token: o.token,
    pipelineExecutionArn: typeof o.pipelineExecutionArn === 'string' ? o.pipelineExecutionArn : '',
    arguments: args,
    startedAt: typeof o.startedAt === 'number' ? o.startedAt : undefined,
  };
}

/** Validates the run's arguments; returns the problem as a sentence, or the values. */
export function runArguments(args: Record<string, unknown>, outputPrefix: string): RunArguments | string {
  const str = (k: string) => (typeof args[k] === 'string' ? (args[k] as string).trim() : '');
  const inputDataUri = str('InputDataUri');
  const outputUri = str('OutputUri').replace(/\/+$/, '');
  const codeVersion = str('CodeVersion');
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(inputDataUri)) { return `argument InputDataUri must be an s3:// URI, got '${inputDataUri}'`; }
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(outputUri)) { return `argument OutputUri must be an s3:// URI, got '${outputUri}'`; }
  if (outputPrefix && !`${outputUri}/`.startsWith(outputPrefix)) { return `argument OutputUri must lie under ${outputPrefix}, got '${outputUri}'`; }
  if (!codeVersion) { return 'argument CodeVersion must be a non-empty string'; }
  return { inputDataUri, outputUri, codeVersion };
}

/** `<prefix>-<first 10 hex of sha256(token)>`: the same name for every delivery of the same token. */
export function jobNameFor(prefix: string, token: string): string {
  return `${prefix}-${createHash('sha256').update(token).digest('hex').slice(0, 10)}`;
}

/** A label value (at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends) from any string, or '' when none remains. */
export function labelValue(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '-').slice(-63).replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
}

/** The PyTorchJob for one run: the template with the run's name, namespace, labels and environment. */
export function renderJob(template: Record<string, any>, cfg: { namespace: string; jobName: string },
  msg: LaunchMessage, run: RunArguments): Record<string, any> {
  const job = JSON.parse(JSON.stringify(template));
  const executionId = msg.pipelineExecutionArn.split('/').pop() ?? '';
  job.metadata = {
    ...(job.metadata ?? {}),
    name: cfg.jobName,
    namespace: cfg.namespace,
    labels: {
      ...(job.metadata?.labels ?? {}),
      [LABEL_CALLBACK]: cfg.jobName.slice(-10),
      ...(labelValue(executionId) ? { [LABEL_EXECUTION]: labelValue(executionId) } : {}),
    },
    annotations: {
      ...(job.metadata?.annotations ?? {}),
      ...(msg.pipelineExecutionArn ? { 'ml-platform/pipeline-execution-arn': msg.pipelineExecutionArn } : {}),
    },
  };
  delete job.metadata.resourceVersion;
  delete job.metadata.uid;
  delete job.status;
  const runEnv = [
    { name: ENV_INPUT_URI, value: run.inputDataUri },
    { name: ENV_OUTPUT_URI, value: run.outputUri },
    { name: ENV_CODE_VERSION, value: run.codeVersion },
  ];
  const names = new Set(runEnv.map(e => e.name));
  for (const spec of Object.values<any>(job.spec?.pytorchReplicaSpecs ?? {})) {
    for (const c of spec?.template?.spec?.containers ?? []) {
      c.env = [...(c.env ?? []).filter((e: { name: string }) => !names.has(e.name)), ...runEnv];
    }
    const meta = spec?.template?.metadata ?? {};
    meta.labels = { ...(meta.labels ?? {}), [LABEL_CALLBACK]: cfg.jobName.slice(-10) };
    if (spec?.template) { spec.template.metadata = meta; }
  }
  return job;
}

/** The job's outcome from status.conditions: the newest true Succeeded or Failed condition, else running. */
export function jobOutcome(job: any): { state: 'running' } | { state: 'succeeded' } | { state: 'failed'; reason: string } {
  const conditions: any[] = Array.isArray(job?.status?.conditions) ? job.status.conditions : [];
  const done = conditions.filter(c => c?.status === 'True' && (c.type === 'Succeeded' || c.type === 'Failed'));
  const last = done[done.length - 1];
  if (!last) { return { state: 'running' }; }
  if (last.type === 'Succeeded') { return { state: 'succeeded' }; }
  const reason = [last.reason, last.message].filter(Boolean).join(': ') || 'the PyTorchJob failed';
  return { state: 'failed', reason };
}

// --- handler --------------------------------------------------------------------------------------------------------

/** Clients, configuration and seams for tests. */
export interface LauncherDeps {
  readonly config: LauncherConfig;
  readonly sqs: SQSClient;
  readonly sagemaker: SageMakerClient;
  readonly eks: EKSClient;
  readonly transport?: KubeTransport;
  /** Credentials that sign the EKS token. Default: the SQS client's. */
  readonly credentials?: () => Promise<Credentials>;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly log?: (message: string) => void;
  /** Attempts of a throttled or failing call, including the first. Default 6. */
  readonly maxAttempts?: number;
}

/** The subset of an SQS event we read. */
export interface SqsEvent {
  readonly Records: { readonly messageId: string; readonly body: string; readonly attributes?: { readonly ApproximateReceiveCount?: string } }[];
}

/** Partial batch response. */
export interface SqsBatchResponse {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}

/** What happened to one message (for logs and tests). */
export type Outcome = 'watching' | 'succeeded' | 'failed' | 'rejected' | 'token-gone';

/** Errors with which SageMaker refuses a callback token it no longer accepts. */
function isGoneToken(e: unknown): boolean {
  const err = e as { name?: string; message?: string };
  if (err?.name === 'ResourceNotFound' || err?.name === 'ConflictException') { return true; }
  return err?.name === 'ValidationException' && /token|expired|not.*(executing|running)|status/i.test(err.message ?? '');
}

/** Processes one SQS batch for a launcher. */
export class Launcher {
  private client?: KubeClient;
  private readonly log: (m: string) => void;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => Date;
  private readonly maxAttempts: number;

  constructor(private readonly deps: LauncherDeps) {
    this.log = deps.log ?? (m => console.log(m));
    this.sleep = deps.sleep ?? defaultSleep;
    this.now = deps.now ?? (() => new Date());
    this.maxAttempts = deps.maxAttempts ?? 6;
  }

  public async handle(event: SqsEvent): Promise<SqsBatchResponse> {
    const batchItemFailures: { itemIdentifier: string }[] = [];
    for (const record of event.Records ?? []) {
      try {
        const outcome = await this.process(record.body);
        this.log(`message ${record.messageId}: ${outcome}`);
      } catch (e) {
        this.log(`message ${record.messageId} failed: ${(e as Error).name}: ${(e as Error).message}`);
        if (await this.lastDelivery(record, e as Error)) { continue; }
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  }

  /** Handles one message body; throws to return it to the queue. */
  public async process(body: string): Promise<Outcome> {
    const cfg = this.deps.config;
    const msg = parseMessage(body);
    const jobName = jobNameFor(cfg.jobNamePrefix, msg.token);
    const run = runArguments(msg.arguments, cfg.outputPrefix);
    if (typeof run === 'string') {
      return this.answerFailure(msg.token, `Invalid Kubeflow launch arguments: ${run}`, 'rejected');
    }
    const startedAt = msg.startedAt ?? this.now().getTime();
    const path = `/apis/kubeflow.org/v1/namespaces/${encodeURIComponent(cfg.namespace)}/pytorchjobs`;

    let job: any;
    if (msg.kind === 'launch') {
      const created = await this.kube('POST', path, renderJob(cfg.jobTemplate, { namespace: cfg.namespace, jobName }, msg, run));
      if (created.status === 409) {
        this.log(`PyTorchJob ${cfg.namespace}/${jobName} already exists (message delivered again)`);
        job = (await this.getJob(path, jobName))?.body;
        if (!job) { throw new KubeApiError(`PyTorchJob ${jobName} exists but cannot be read`, 404); }
      } else if (created.status === 200 || created.status === 201) {
        this.log(`created PyTorchJob ${cfg.namespace}/${jobName}`);
        job = created.body;
      } else {
        throw new KubeApiError(`creating PyTorchJob ${jobName} failed with HTTP ${created.status}: ${describe(created.body)}`, created.status);
      }
    } else {
      const got = await this.getJob(path, jobName);
      if (!got) {
        return this.answerFailure(msg.token, `PyTorchJob ${cfg.namespace}/${jobName} no longer exists (deleted before it finished)`, 'failed');
      }
      job = got.body;
    }

    const outcome = jobOutcome(job);
    if (outcome.state === 'succeeded') {
      const params = [
        { Name: OUTPUT_MODEL_ARTIFACTS, Value: `${run.outputUri}/model.tar.gz` },
        { Name: OUTPUT_JOB_NAME, Value: jobName },
      ];
      return this.answer('succeeded', msg.token, () => this.deps.sagemaker.send(new SendPipelineExecutionStepSuccessCommand({
        CallbackToken: msg.token, OutputParameters: params, ClientRequestToken: requestToken(msg.token, 'success'),
      })));
    }
    if (outcome.state === 'failed') {
      return this.answerFailure(msg.token, `PyTorchJob ${jobName} failed: ${outcome.reason}`, 'failed');
    }
    if (this.now().getTime() - startedAt > cfg.maxRunSeconds * 1000) {
      const del = await this.kube('DELETE', `${path}/${encodeURIComponent(jobName)}`);
      if (del.status >= 300 && del.status !== 404) { throw new KubeApiError(`deleting PyTorchJob ${jobName} failed with HTTP ${del.status}`, del.status); }
      return this.answerFailure(msg.token, `PyTorchJob ${jobName} ran longer than ${cfg.maxRunSeconds} s and was deleted`, 'failed');
    }
    await retryThrottled('SQS SendMessage', () => this.deps.sqs.send(new SendMessageCommand({
      QueueUrl: cfg.queueUrl,
      DelaySeconds: Math.min(900, Math.max(0, Math.round(cfg.watchIntervalSeconds))),
      MessageBody: JSON.stringify({
        kind: 'watch', token: msg.token, pipelineExecutionArn: msg.pipelineExecutionArn, arguments: msg.arguments, startedAt, jobName,
      }),
    })), this.retryOptions());
    return 'watching';
  }

  private async getJob(path: string, jobName: string): Promise<KubeResponse | undefined> {
    const res = await this.kube('GET', `${path}/${encodeURIComponent(jobName)}`);
    if (res.status === 404) { return undefined; }
    if (res.status !== 200) { throw new KubeApiError(`reading PyTorchJob ${jobName} failed with HTTP ${res.status}: ${describe(res.body)}`, res.status); }
    return res;
  }

  private answerFailure(token: string, reason: string, outcome: Outcome): Promise<Outcome> {
    const FailureReason = reason.length > MAX_FAILURE_REASON ? `${reason.slice(0, MAX_FAILURE_REASON - 1)}…` : reason;
    return this.answer(outcome, token, () => this.deps.sagemaker.send(new SendPipelineExecutionStepFailureCommand({
      CallbackToken: token, FailureReason, ClientRequestToken: requestToken(token, 'failure'),
    })));
  }

  /**
   * On the delivery after which SQS moves the message to the DLQ, answers its step with the failure (the pipeline must
   * not wait for the callback timeout) and consumes it. False when it is not the last delivery, the message has no
   * token, or the answer itself fails (then the message goes to the DLQ as it is).
   */
  private async lastDelivery(record: SqsEvent['Records'][number], error: Error): Promise<boolean> {
    const max = this.deps.config.maxReceiveCount;
    const count = Number(record.attributes?.ApproximateReceiveCount ?? '0');
    if (!max || count < max) { return false; }
    let token: string;
    try { token = parseMessage(record.body).token; } catch { return false; }
    try {
      const outcome = await this.answerFailure(token, `Kubeflow launcher gave up after ${count} deliveries: ${error.message}`, 'failed');
      this.log(`message ${record.messageId}: ${outcome} after ${count} deliveries`);
      return true;
    } catch (e) {
      this.log(`message ${record.messageId}: could not answer the step (${(e as Error).message}); it goes to the dead-letter queue`);
      return false;
    }
  }

  private async answer(outcome: Outcome, token: string, call: () => Promise<unknown>): Promise<Outcome> {
    try {
      await retryThrottled('SageMaker SendPipelineExecutionStep', call, this.retryOptions());
      return outcome;
    } catch (e) {
      if (!isGoneToken(e)) { throw e; }
      this.log(`SageMaker no longer accepts callback token ${token.slice(0, 3)}… (${(e as Error).name}: ${(e as Error).message}); dropping the message`);
      return 'token-gone';
    }
  }

  private retryOptions() {
    return jitterRetry(this.maxAttempts, this.sleep, this.log);
  }

  private kube(method: string, path: string, body?: unknown): Promise<KubeResponse> {
    this.client ??= new KubeClient({
      cluster: this.deps.config,
      eks: this.deps.eks,
      credentials: this.deps.credentials ?? (async () => (this.deps.sqs.config.credentials as unknown as () => Promise<Credentials>)()),
      transport: this.deps.transport,
      now: this.now,
      sleep: this.sleep,
      log: this.log,
      maxAttempts: this.maxAttempts,
    });
    return this.client.request(method, path, body);
  }
}

/** A ClientRequestToken (32–128 characters) fixed per token and answer, so a retried answer is idempotent. */
function requestToken(token: string, kind: string): string {
  return createHash('sha256').update(`${kind}:${token}`).digest('hex');
}

function describe(body: unknown): string {
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') { return (body as { message: string }).message; }
  return typeof body === 'string' ? body.slice(0, 300) : JSON.stringify(body)?.slice(0, 300) ?? '';
}

let launcher: Launcher | undefined;

/** Lambda entry point (SQS event source with ReportBatchItemFailures). */
export const handler = async (event: SqsEvent): Promise<SqsBatchResponse> => {
  if (!launcher) {
    const config = configFromEnv();
    launcher = new Launcher({ config, sqs: new SQSClient({}), sagemaker: new SageMakerClient({}), eks: new EKSClient({}) });
  }
  return launcher.handle(event);
};
