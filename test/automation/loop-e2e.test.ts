import {
  CloudWatchClient, DescribeAlarmsCommand, GetMetricStatisticsCommand, MetricAlarm, PutMetricAlarmCommand, PutMetricDataCommand, SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, CreateModelPackageCommand, CreateModelPackageGroupCommand,
  CreatePipelineCommand,
  DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeModelCommand, DescribeModelPackageCommand, ListModelPackagesCommand,
  ListPipelineExecutionsCommand, ListPipelineParametersForExecutionCommand, SageMakerClient, StartPipelineExecutionCommand, UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { ContinuousTrainingStates as S } from '../../src/automation/continuous-training';
import { runTask as runControlTask } from '../../src/automation/loop-control.lambda';
import { runTask as runDeployTask } from '../../src/automation/loop-deploy.lambda';
import { AuditDecision, LoopConfig, RunState, auditKey, loopConfigFromEnv } from '../../src/automation/loop-state';
import { BaselineBuilder, parseBaseline } from '../../src/core/baseline';
import { mulberry32 } from '../../src/core/random';
import { configFromEnv, loadBaseline, runConfiguredCheck } from '../../src/monitoring/capture-check.lambda';
import { MotoServer, motoClientConfig, startMoto } from '../support/moto';
import { RecordedCall, SageMakerGaps, recordCalls, stopThrottling, throttleNext, throttledCalls } from '../support/sagemaker-gaps';

/**
 * END-TO-END simulation of the continuous-training loop against one moto_server, through the real SDK clients:
 * synthetic baseline + drifted capture files in S3 -> the drift check publishes DriftScore -> the DriftMonitor alarm
 * (DriftScore >= 0.2) goes to ALARM -> runs of the state machine admit, start the pipeline, evaluate the challenger the
 * pipeline registered, promote it to the endpoint, bake, roll back, finish; every decision audited in S3.
 *
 * The state machine is played by `execute` below: a small interpreter of ContinuousTraining's definition
 * (continuous-training.ts, buildDefinition: Init -> Admit -> StartPipeline -> WaitForPipeline/PipelineStatus loop ->
 * Evaluate -> Promote -> WaitForDeployment/DeploymentStatus loop -> Bake/CheckAlarms loop -> Rollback -> Finish; the
 * Retry on ThrottledError and EndpointBusyError; any error caught into FinishAfterError -> RunFailed). It only moves
 * the JSON state between the handlers' runTask functions; every decision is the handlers'.
 *
 * What moto cannot do is layered from test/support/sagemaker-gaps.ts (StartPipelineExecution idempotency,
 * DescribePipelineExecution outcomes, UpdateModelPackage keeping CustomerMetadataProperties, UpdateEndpoint and
 * DescribeEndpoint's deployment state, throttling). The SageMaker pipeline itself is played by `TrainingPipeline`
 * while the state machine waits: it reads the execution's parameters from moto and registers the challenger
 * (CreateModelPackage in moto) as the pipeline's RegisterChallenger step would.
 *
 * The tests are one story and run in order: each step starts from the world the previous one left.
 */

const ACCOUNT = '123456789012';
const LAKE = 'churn-lake';
const AUDIT_BUCKET = 'churn-audit';
const GROUP = 'churn-models';
const PIPELINE = 'churn-training';
const ENDPOINT = 'churn-prod';
const TABLE = 'churn-loop-state';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/churn-sagemaker`;
const IMAGE = '763104351884.dkr.ecr.us-east-1.amazonaws.com/xgboost-inference:1.7-1';
const AUC = 'validation:auc';
const DRIFT_ALARM = `${ENDPOINT}-drift`;
const ROLLBACK_ALARMS = [`${ENDPOINT}-5xx`, `${ENDPOINT}-p99-latency`];
const RULE = `arn:aws:events:us-east-1:${ACCOUNT}:rule/churn-weekly-retrain`;
const CAPTURE_PREFIX = `capture/${ENDPOINT}/`;
const T0 = Date.parse('2030-03-04T10:00:00.000Z');
const HOUR = 3600_000;
/** The state machine's waits (buildDefinition: pipelinePollInterval default 5 min, deployment and bake 1 min). */
const POLL_SECONDS = 300;
const DEPLOY_WAIT_SECONDS = 60;
const BAKE_WAIT_SECONDS = 60;
/** Bake period of the loop (LOOP_BAKE_SECONDS): three CheckAlarms one minute apart. */
const BAKE_SECONDS = 180;

let moto: MotoServer;
let sagemaker: SageMakerClient; // the handlers' client, with the moto gaps layered on
let admin: SageMakerClient; // plain moto: set-up and registry assertions
let s3: S3Client;
let dynamodb: DynamoDBClient;
let cloudwatch: CloudWatchClient;
let events: EventBridgeClient;
let gaps: SageMakerGaps;
let auditEvents: RecordedCall[];
let config: LoopConfig;
let pipeline: TrainingPipeline;
const clock = { t: T0 };
const sleeps: number[] = [];
const logs: string[] = [];

// ---------------------------------------------------------------------------------------------------------
// Synthetic data

/** Approximately standard normal (Irwin-Hall of 12 uniforms), from a seeded PRNG. */
const normal = (random: () => number) => Array.from({ length: 12 }, random).reduce((a, b) => a + b, 0) - 6;

function pick(random: () => number, weights: [string, number][]): string {
  let u = random();
  for (const [value, w] of weights) {
    if (u < w) { return value; }
    u -= w;
  }
  return weights[weights.length - 1][0];
}

interface Shift {
  readonly tenure: number;
  readonly plans: [string, number][];
}
const TRAINING: Shift = { tenure: 0, plans: [['basic', 0.6], ['pro', 0.3], ['enterprise', 0.1]] };
const DRIFTED: Shift = { tenure: 18, plans: [['basic', 0.2], ['pro', 0.3], ['enterprise', 0.5]] };

/** Churn features: tenure and monthly charges (numeric), plan (categorical). Drift moves tenure and plan, not charges. */
function records(n: number, seed: number, shift: Shift): Record<string, unknown>[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, () => ({
    tenure_months: Math.max(0, Math.round(24 + shift.tenure + 10 * normal(random))),
    monthly_charges: Math.round((55 + 15 * normal(random)) * 100) / 100,
    plan: pick(random, shift.plans),
  }));
}

/** A baseline of seeded synthetic training records, written to the lake; returns its URI. */
async function writeBaseline(version: string, seed: number): Promise<string> {
  const builder = new BaselineBuilder({ seed, now: () => new Date(clock.t) });
  records(2000, seed, TRAINING).forEach(r => builder.add(r));
  const key = `baselines/${version}/baseline.json`;
  await s3.send(new PutObjectCommand({ Bucket: LAKE, Key: key, Body: JSON.stringify(builder.build({ manifestUri: `s3://${LAKE}/curated/${version}/manifest.json` })) }));
  return `s3://${LAKE}/${key}`;
}

/** One SageMaker data capture line (JSON input of several records, JSON output). */
function captureLine(input: Record<string, unknown>[], id: string, at: string): string {
  return JSON.stringify({
    captureData: {
      endpointInput: { observedContentType: 'application/json', mode: 'INPUT', data: JSON.stringify(input), encoding: 'JSON' },
      endpointOutput: { observedContentType: 'application/json', mode: 'OUTPUT', data: JSON.stringify({ predictions: input.map(() => 0.3) }), encoding: 'JSON' },
    },
    eventMetadata: { eventId: id, inferenceTime: at },
    eventVersion: '0',
  });
}

// ---------------------------------------------------------------------------------------------------------
// The pipeline and the state machine

/** The SageMaker pipeline's effect: training takes one poll, then RegisterChallenger registers the package. */
class TrainingPipeline {
  /** What the next execution's challenger scores: a number, or raw evaluation.json text. */
  public next: { auc: number } | { evaluation: string } = { auc: 0.5 };
  public readonly challengers = new Map<string, string>();
  private readonly polls = new Map<string, number>();

  /** Called while the state machine waits for the pipeline. */
  public async tick(executionArn: string): Promise<void> {
    const polls = (this.polls.get(executionArn) ?? 0) + 1;
    this.polls.set(executionArn, polls);
    if (polls === 1) {
      gaps.pipelineOutcomes.set(executionArn, { status: 'Executing' });
      return;
    }
    if (polls === 2) {
      this.challengers.set(executionArn, await this.registerChallenger(executionArn));
      gaps.pipelineOutcomes.delete(executionArn); // moto's answer: Succeeded
    }
  }

  /** RegisterChallenger: evaluation.json, the new model's baseline, and the package with the execution's approval status. */
  private async registerChallenger(executionArn: string): Promise<string> {
    const params = await admin.send(new ListPipelineParametersForExecutionCommand({ PipelineExecutionArn: executionArn }));
    const param = (name: string) => params.PipelineParameters?.find(p => p.Name === name)?.Value;
    const id = executionArn.split('/').pop()!;
    const evaluationKey = `pipelines/${id}/evaluation/evaluation.json`;
    const body = 'evaluation' in this.next ? this.next.evaluation : JSON.stringify({ metrics: { [AUC]: { value: this.next.auc } } });
    await s3.send(new PutObjectCommand({ Bucket: LAKE, Key: evaluationKey, Body: body }));
    const baselineUri = await writeBaseline(`challenger-${id}`, 7);
    const { ModelPackageArn } = await admin.send(new CreateModelPackageCommand({
      ModelPackageGroupName: GROUP,
      // As GpuTrainingPipeline registers: a literal of its definition, never a run parameter.
      ModelApprovalStatus: 'PendingManualApproval',
      InferenceSpecification: {
        Containers: [{ Image: IMAGE, ModelDataUrl: `s3://${LAKE}/pipelines/${id}/model/model.tar.gz` }],
        SupportedContentTypes: ['application/json'],
        SupportedResponseMIMETypes: ['application/json'],
      },
      ModelMetrics: { ModelQuality: { Statistics: { S3Uri: `s3://${LAKE}/${evaluationKey}`, ContentType: 'application/json' } } },
      CustomerMetadataProperties: { pipeline_execution_arn: executionArn, baseline_uri: baselineUri, code_version: param('CodeVersion') ?? 'none' },
    }));
    await new Promise(r => setTimeout(r, 5)); // CreationTime has millisecond resolution
    return ModelPackageArn!;
  }
}

/** An execution of the state machine as the driver saw it. */
interface Execution {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly state: RunState;
  /** The states entered, in order. */
  readonly path: string[];
  readonly error?: { Error: string; Cause: string };
}

/** A task error as Step Functions reports a Lambda error. */
class TaskFailed extends Error {
  constructor(public readonly error: { Error: string; Cause: string }, public readonly input: RunState) {
    super(`${error.Error}: ${error.Cause}`);
  }
}

interface Retrier {
  readonly errors: string[];
  readonly intervalSeconds: number;
  readonly maxAttempts: number;
  readonly backoffRate: number;
}
/** buildDefinition's Retry: every task retries ThrottledError and timeouts; Promote also EndpointBusyError. */
const TASK_RETRY: Retrier = { errors: ['ThrottledError', 'States.Timeout'], intervalSeconds: 30, maxAttempts: 4, backoffRate: 2 };
const PROMOTE_RETRY: Retrier = { errors: ['EndpointBusyError'], intervalSeconds: 300, maxAttempts: 12, backoffRate: 1 };

const CONTROL_TASKS = new Set(['admit', 'start', 'pipelineStatus', 'evaluate', 'finish']);
const json = <T>(value: T): T => JSON.parse(JSON.stringify(value));
const executionArn = (name: string) => `arn:aws:states:us-east-1:${ACCOUNT}:execution:ChurnContinuousTraining:${name}`;

/**
 * Runs one execution of the loop's state machine on `event`. `onWait` is called in each Wait state after the clock
 * moved on: the world (pipeline, endpoint deployment, alarms) changes there.
 */
type OnWait = (wait: string, state: RunState) => Promise<void>;

async function execute(name: string, event: unknown, onWait: OnWait = async () => undefined): Promise<Execution> {
  const path: string[] = [S.INIT];
  let state: RunState = { runId: executionArn(name), startedAt: new Date(clock.t).toISOString(), event };

  const invoke = async (stateName: string, task: string, retriers: Retrier[] = [TASK_RETRY]): Promise<RunState> => {
    const attempts = new Map<Retrier, number>();
    for (;;) {
      path.push(stateName);
      if (path.length > 100) { throw new Error(`execution ${name} does not end: ${path.join(' > ')}`); }
      const input = json({ task, state });
      const deps = {
        config, s3, sagemaker, now: () => new Date(clock.t), sleep: async (ms: number) => { sleeps.push(ms); }, log: (m: string) => { logs.push(m); },
      };
      try {
        return json(CONTROL_TASKS.has(task)
          ? await runControlTask(input, { ...deps, dynamodb, events })
          : await runDeployTask(input, { ...deps, cloudwatch, events }));
      } catch (e) {
        const err = e as Error;
        const retrier = retriers.find(r => r.errors.includes(err.name));
        const done = retrier ? attempts.get(retrier) ?? 0 : 0;
        if (retrier && done < retrier.maxAttempts) {
          attempts.set(retrier, done + 1);
          clock.t += retrier.intervalSeconds * retrier.backoffRate ** done * 1000;
          continue;
        }
        throw new TaskFailed({ Error: err.name, Cause: JSON.stringify({ errorType: err.name, errorMessage: err.message }) }, state);
      }
    }
  };
  const wait = async (stateName: string, seconds: number) => {
    path.push(stateName);
    clock.t += seconds * 1000;
    await onWait(stateName, state);
  };

  try {
    state = await invoke(S.ADMIT, 'admit');
    if (state.admitted === true) {
      state = await invoke(S.START_PIPELINE, 'start');
      do {
        await wait(S.WAIT_PIPELINE, POLL_SECONDS);
        state = await invoke(S.PIPELINE_STATUS, 'pipelineStatus');
      } while (state.pipelineStatus === 'Executing' || state.pipelineStatus === 'Stopping');
      state = await invoke(S.EVALUATE, 'evaluate');
      if (state.decision === 'promote') {
        state = await invoke(S.PROMOTE, 'promote', [TASK_RETRY, PROMOTE_RETRY]);
        do {
          await wait(S.WAIT_DEPLOYMENT, DEPLOY_WAIT_SECONDS);
          state = await invoke(S.DEPLOYMENT_STATUS, 'deploymentStatus');
        } while (state.deploymentStatus === 'deploying');
        if (state.deploymentStatus === 'in-service') {
          for (;;) {
            await wait(S.WAIT_BAKE, BAKE_WAIT_SECONDS);
            state = await invoke(S.CHECK_ALARMS, 'checkAlarms');
            if (state.alarm !== undefined) {
              state = await invoke(S.ROLLBACK, 'rollback');
              break;
            }
            if (state.bakeDone === true) { break; }
          }
        }
      }
    }
    state = await invoke(S.FINISH, 'finish');
    path.push(S.DONE);
    return { status: 'SUCCEEDED', state, path };
  } catch (e) {
    if (!(e instanceof TaskFailed)) { throw e; }
    // Catch [States.ALL] with ResultPath $.error: the failed task's input plus the error.
    state = { ...e.input, error: e.error };
    state = await invoke(S.FINISH_AFTER_ERROR, 'finish', [TASK_RETRY]);
    path.push(S.FAILED);
    return { status: 'FAILED', state, path, error: e.error };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

const scheduleEvent = (at: number) => ({
  'version': '0',
  'id': `schedule-${at}`,
  'source': 'aws.events',
  'detail-type': 'Scheduled Event',
  'account': ACCOUNT,
  'time': new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  'region': 'us-east-1',
  'resources': [RULE],
  'detail': {},
});

async function newestApproved(): Promise<string | undefined> {
  const res = await admin.send(new ListModelPackagesCommand({
    ModelPackageGroupName: GROUP, ModelApprovalStatus: 'Approved', SortBy: 'CreationTime', SortOrder: 'Descending',
  }));
  return res.ModelPackageSummaryList?.[0]?.ModelPackageArn;
}

const approvalOf = async (arn: string) => (await admin.send(new DescribeModelPackageCommand({ ModelPackageName: arn }))).ModelApprovalStatus;
const servedConfig = async () => (await sagemaker.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT }))).EndpointConfigName;
const executions = async () => (await admin.send(new ListPipelineExecutionsCommand({ PipelineName: PIPELINE }))).PipelineExecutionSummaries ?? [];

async function loopItem() {
  return (await dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'loop' } }, ConsistentRead: true }))).Item;
}

async function readJson(bucket: string, key: string): Promise<any> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await got.Body!.transformToString('utf-8'));
}

const readAudit = (state: RunState, decision: AuditDecision): Promise<Record<string, any>> =>
  readJson(AUDIT_BUCKET, auditKey(config.auditPrefix, state.runId, state.startedAt, decision));

/** The audit decisions of a run in the order they were sent to EventBridge. */
const decisionsOf = (runId: string): Record<string, any>[] =>
  auditEvents.filter(c => c.command === 'PutEventsCommand').map(c => JSON.parse(c.input.Entries[0].Detail)).filter(d => d.runId === runId);

/** What CloudWatch Logs does with an EMF line: PutMetricData of its metrics under its dimensions. */
async function publishEmf(line: string): Promise<void> {
  const doc = JSON.parse(line);
  const directive = doc._aws.CloudWatchMetrics[0];
  const dimensions = (directive.Dimensions[0] as string[]).map(Name => ({ Name, Value: String(doc[Name]) }));
  await cloudwatch.send(new PutMetricDataCommand({
    Namespace: directive.Namespace,
    MetricData: directive.Metrics.map((m: { Name: string; Unit: string }) => ({
      MetricName: m.Name, Unit: m.Unit, Value: doc[m.Name], Dimensions: dimensions, Timestamp: new Date(doc._aws.Timestamp),
    })),
  }));
}

const OPERATORS: Record<string, (value: number, threshold: number) => boolean> = {
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  GreaterThanThreshold: (v, t) => v > t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

/**
 * CloudWatch's evaluation of a one-period metric alarm at `at` (moto stores alarms and metrics but never evaluates):
 * the alarm's statistic over its last period from moto, compared with its own threshold and operator. Returns the
 * datapoint and whether it breaches.
 */
async function evaluateAlarm(alarm: MetricAlarm, at: number): Promise<{ value: number; breaching: boolean }> {
  const period = alarm.Period!;
  const stats = await cloudwatch.send(new GetMetricStatisticsCommand({
    Namespace: alarm.Namespace,
    MetricName: alarm.MetricName,
    Dimensions: alarm.Dimensions,
    StartTime: new Date(at - period * 1000),
    EndTime: new Date(at),
    Period: period,
    Statistics: [alarm.Statistic!],
  }));
  const values = (stats.Datapoints ?? []).map(d => (d as Record<string, any>)[alarm.Statistic!] as number);
  expect(values).toHaveLength(1);
  return { value: values[0], breaching: OPERATORS[alarm.ComparisonOperator!](values[0], alarm.Threshold!) };
}

const describeAlarm = async (name: string) => (await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [name] }))).MetricAlarms![0];
const cwTime = (d: Date) => d.toISOString().replace('Z', '+0000');

/** The "CloudWatch Alarm State Change" event EventBridge delivers for the alarm's current state. */
function alarmStateChangeEvent(alarm: MetricAlarm, previous: string): Record<string, unknown> {
  const timestamp = cwTime(alarm.StateUpdatedTimestamp!);
  return {
    'version': '0',
    'id': `alarm-state-change-${alarm.AlarmName}-${alarm.StateUpdatedTimestamp!.getTime()}`,
    'detail-type': 'CloudWatch Alarm State Change',
    'source': 'aws.cloudwatch',
    'account': ACCOUNT,
    'time': alarm.StateUpdatedTimestamp!.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'region': 'us-east-1',
    'resources': [alarm.AlarmArn],
    'detail': {
      alarmName: alarm.AlarmName,
      state: { value: alarm.StateValue, reason: alarm.StateReason, reasonData: alarm.StateReasonData, timestamp },
      previousState: { value: previous },
      configuration: {
        description: alarm.AlarmDescription,
        metrics: [{
          id: 'm1',
          metricStat: {
            metric: {
              namespace: alarm.Namespace, name: alarm.MetricName, dimensions: Object.fromEntries(alarm.Dimensions!.map(d => [d.Name, d.Value])),
            },
            period: alarm.Period,
            stat: alarm.Statistic,
          },
          returnData: true,
        }],
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// The world

let champion: string;
let championConfig: string;

beforeAll(async () => {
  moto = await startMoto();
  const cfg = motoClientConfig(moto.endpoint);
  sagemaker = new SageMakerClient(cfg);
  admin = new SageMakerClient(cfg);
  s3 = new S3Client({ ...cfg, forcePathStyle: true });
  dynamodb = new DynamoDBClient(cfg);
  cloudwatch = new CloudWatchClient(cfg);
  events = new EventBridgeClient(cfg);
  gaps = new SageMakerGaps(sagemaker, { now: () => new Date(clock.t) });
  auditEvents = recordCalls(events);
  pipeline = new TrainingPipeline();

  config = loopConfigFromEnv({
    LOOP_NAME: 'ChurnStack/ContinuousTraining',
    LOOP_TABLE: TABLE,
    LOOP_AUDIT_BUCKET: AUDIT_BUCKET,
    LOOP_AUDIT_PREFIX: 'audit/',
    LOOP_PIPELINE_NAME: PIPELINE,
    LOOP_MODEL_PACKAGE_GROUP: GROUP,
    LOOP_OBJECTIVE_METRIC: AUC,
    LOOP_OBJECTIVE_DIRECTION: 'Maximize',
    LOOP_MIN_INTERVAL_SECONDS: String(6 * 3600),
    LOOP_MAX_RUNS_PER_PERIOD: '8',
    LOOP_BUDGET_PERIOD_SECONDS: String(7 * 86400),
    LOOP_LOCK_TTL_SECONDS: String(2 * 86400),
    LOOP_APPROVAL: 'automatic',
    LOOP_CODE_VERSION: 'git-1a2b3c4',
    LOOP_ENDPOINT_NAME: ENDPOINT,
    LOOP_ROLLBACK_ALARMS: ROLLBACK_ALARMS.join(','),
    LOOP_BAKE_SECONDS: String(BAKE_SECONDS),
  });

  // Lake and audit buckets, the loop's table.
  await s3.send(new CreateBucketCommand({ Bucket: LAKE }));
  await s3.send(new CreateBucketCommand({ Bucket: AUDIT_BUCKET }));
  await dynamodb.send(new CreateTableCommand({
    TableName: TABLE,
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));

  // The champion: approved, evaluation.json with auc 0.80, the baseline of its training data.
  await admin.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: GROUP }));
  const baselineUri = await writeBaseline('champion-v1', 42);
  await s3.send(new PutObjectCommand({ Bucket: LAKE, Key: 'models/v1/evaluation.json', Body: JSON.stringify({ metrics: { [AUC]: { value: 0.80 } } }) }));
  champion = (await admin.send(new CreateModelPackageCommand({
    ModelPackageGroupName: GROUP,
    ModelApprovalStatus: 'Approved',
    InferenceSpecification: {
      Containers: [{ Image: IMAGE, ModelDataUrl: `s3://${LAKE}/models/v1/model.tar.gz` }],
      SupportedContentTypes: ['application/json'],
      SupportedResponseMIMETypes: ['application/json'],
    },
    ModelMetrics: { ModelQuality: { Statistics: { S3Uri: `s3://${LAKE}/models/v1/evaluation.json`, ContentType: 'application/json' } } },
    CustomerMetadataProperties: { baseline_uri: baselineUri },
  }))).ModelPackageArn!;
  await new Promise(r => setTimeout(r, 5));

  // The training pipeline.
  await admin.send(new CreatePipelineCommand({
    PipelineName: PIPELINE,
    PipelineDefinition: JSON.stringify({
      Version: '2020-12-01',
      Parameters: [
        { Name: 'CodeVersion', Type: 'String', DefaultValue: 'unversioned' },
        { Name: 'InputDataUri', Type: 'String', DefaultValue: `s3://${LAKE}/curated/latest/` },
      ],
      Steps: [],
    }),
    RoleArn: ROLE,
    ClientRequestToken: 'create-churn-training-000000000000000000',
  }));

  // The endpoint serving the champion, capturing its inputs to the lake.
  await admin.send(new CreateModelCommand({
    ModelName: 'churn-model-v1',
    ExecutionRoleArn: ROLE,
    PrimaryContainer: { ModelPackageName: champion },
    Tags: [{ Key: 'ml-platform:component', Value: 'model-endpoint' }, { Key: 'ml-platform:code-version', Value: 'git-0f0f0f0' }],
  }));
  championConfig = 'churn-prod-config-v1';
  await admin.send(new CreateEndpointConfigCommand({
    EndpointConfigName: championConfig,
    ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'churn-model-v1', InstanceType: 'ml.m5.large', InitialInstanceCount: 2 }],
    DataCaptureConfig: {
      EnableCapture: true,
      InitialSamplingPercentage: 100,
      DestinationS3Uri: `s3://${LAKE}/capture`,
      CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
    },
  }));
  await admin.send(new CreateEndpointCommand({ EndpointName: ENDPOINT, EndpointConfigName: championConfig }));

  // The DriftMonitor's alarm (drift-monitor.ts: DriftScore Maximum >= psiAlarm 0.2, one period) and the rollback alarms.
  await cloudwatch.send(new PutMetricAlarmCommand({
    AlarmName: DRIFT_ALARM,
    AlarmDescription: `Input drift on ${ENDPOINT}: the largest feature PSI reached 0.2`,
    Namespace: 'MlPlatform/Drift',
    MetricName: 'DriftScore',
    Dimensions: [{ Name: 'EndpointName', Value: ENDPOINT }],
    Statistic: 'Maximum',
    Period: 3600,
    EvaluationPeriods: 1,
    Threshold: 0.2,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
  }));
  for (const [alarm, metric] of [[ROLLBACK_ALARMS[0], 'Invocation5XXErrors'], [ROLLBACK_ALARMS[1], 'ModelLatency']]) {
    await cloudwatch.send(new PutMetricAlarmCommand({
      AlarmName: alarm,
      Namespace: 'AWS/SageMaker',
      MetricName: metric,
      Dimensions: [{ Name: 'EndpointName', Value: ENDPOINT }],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: metric === 'ModelLatency' ? 1_000_000 : 0,
      ComparisonOperator: 'GreaterThanThreshold',
    }));
  }
  for (const alarm of [DRIFT_ALARM, ...ROLLBACK_ALARMS]) {
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: alarm, StateValue: 'OK', StateReason: 'no data yet' }));
  }
  gaps.resetHistory();
});

afterAll(async () => {
  gaps?.restore();
  for (const client of [sagemaker, admin, s3, dynamodb, cloudwatch, events]) { client?.destroy(); }
  await moto?.stop();
});

// ---------------------------------------------------------------------------------------------------------

describe('continuous-training loop, end to end on moto_server', () => {
  let driftEvent: Record<string, unknown>;
  let runA: Execution;
  let runB: Execution;
  let winner: Execution;
  let challenger1: string;
  let deployedConfig: string;
  const runs: Record<string, Execution> = {};

  test('1. set-up: the champion (auc 0.80, with a baseline) serves the endpoint; the loop is idle', async () => {
    expect(await newestApproved()).toBe(champion);
    expect(await servedConfig()).toBe(championConfig);
    const described = await admin.send(new DescribeModelPackageCommand({ ModelPackageName: champion }));
    const baseline = parseBaseline(await readJson(LAKE, described.CustomerMetadataProperties!.baseline_uri.replace(`s3://${LAKE}/`, '')));
    expect(Object.keys(baseline.features)).toEqual(['monthly_charges', 'plan', 'tenure_months']);
    expect(baseline.features.plan).toMatchObject({ kind: 'categorical', count: 2000 });
    expect(baseline.features.tenure_months).toMatchObject({ kind: 'numeric', count: 2000 });
    expect(await loopItem()).toBeUndefined();
    expect(await executions()).toHaveLength(0);
  });

  test('2. drifted capture files: the drift check publishes DriftScore > 0.2 and the DriftMonitor alarm goes to ALARM', async () => {
    // Two hours of traffic whose tenure moved up and whose plan mix moved to enterprise; charges unchanged; one bad line.
    const variant = `${CAPTURE_PREFIX}AllTraffic/`;
    const files: Record<string, string[]> = {
      [`${variant}2030/03/04/08/05-00-000-6f1c.jsonl`]: [],
      [`${variant}2030/03/04/08/40-10-250-9a2e.jsonl`]: ['{"captureData": {"endpointInput": '],
      [`${variant}2030/03/04/09/20-00-000-c3d4.jsonl`]: [],
    };
    let seed = 1000;
    for (const [key, lines] of Object.entries(files)) {
      for (let i = 0; i < 10; i++) { lines.push(captureLine(records(30, ++seed, DRIFTED), `e-${seed}`, '2030-03-04T09:00:00Z')); }
      await s3.send(new PutObjectCommand({ Bucket: LAKE, Key: key, Body: `${lines.join('\n')}\n` }));
    }

    // The DriftMonitor's check function, configured as the construct configures it, against the champion's baseline.
    const check = configFromEnv({
      CHECK_KIND: 'drift',
      CHECK_BUCKET: LAKE,
      CHECK_CAPTURE_PREFIX: CAPTURE_PREFIX,
      CHECK_ENDPOINT_NAME: ENDPOINT,
      CHECK_STATE_KEY: `drift/${ENDPOINT}/state.json`,
      CHECK_REPORT_PREFIX: `drift/${ENDPOINT}/reports/`,
      CHECK_GRACE_SECONDS: '900',
      DRIFT_MODEL_PACKAGE_GROUP: GROUP,
      DRIFT_PSI_ALARM: '0.2',
    });
    const emf: string[] = [];
    const summary = await runConfiguredCheck(check, { s3, sagemaker }, {
      emit: l => emf.push(l), now: () => new Date(clock.t), log: m => logs.push(m),
    });
    expect(summary).toMatchObject({ objects: 3, records: 30, malformed: 1, poisoned: 0 }); // capture lines;
    const doc = (feature?: string) => emf.map(l => JSON.parse(l)).find(d => d.Feature === feature);
    expect(doc()._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'MlPlatform/Drift', Dimensions: [['EndpointName']] });
    expect(doc().DriftScore).toBeGreaterThan(0.2);
    expect(doc()).toMatchObject({ EndpointName: ENDPOINT, DriftedFeatures: 2, MalformedRecords: 1, RecordsAnalyzed: 30, InputRecords: 900 });
    expect(doc('tenure_months').PSI).toBeGreaterThan(0.2);
    expect(doc('plan').PSI).toBeGreaterThan(0.2);
    expect(doc('monthly_charges').PSI).toBeLessThan(0.1);
    const report = await readJson(LAKE, summary.reportKey!);
    expect(report).toMatchObject({
      kind: 'drift', baseline: { modelPackageArn: champion }, malformedRecords: 1, result: { driftedFeatures: ['plan', 'tenure_months'] },
    });

    // CloudWatch: the EMF lines become metrics; the alarm's own definition decides whether the score crosses it.
    for (const line of emf) { await publishEmf(line); }
    const alarm = await describeAlarm(DRIFT_ALARM);
    expect(alarm.StateValue).toBe('OK');
    clock.t += 60_000; // CloudWatch evaluates the alarm's last period a minute later
    const { value, breaching } = await evaluateAlarm(alarm, clock.t);
    expect(value).toBe(doc().DriftScore);
    expect(breaching).toBe(true);
    const when = new Date(clock.t).toISOString();
    await cloudwatch.send(new SetAlarmStateCommand({
      AlarmName: DRIFT_ALARM,
      StateValue: 'ALARM',
      StateReason: `Threshold Crossed: 1 datapoint [${value}] was greater than or equal to the threshold (${alarm.Threshold}).`,
      StateReasonData: JSON.stringify({ version: '1.0', queryDate: when, statistic: alarm.Statistic, period: alarm.Period, recentDatapoints: [value], threshold: alarm.Threshold }),
    }));
    driftEvent = alarmStateChangeEvent(await describeAlarm(DRIFT_ALARM), 'OK');
    expect(driftEvent).toMatchObject({ source: 'aws.cloudwatch', detail: { alarmName: DRIFT_ALARM, state: { value: 'ALARM' } } });
  });

  test('3. the alarm event delivered twice (two runs, same event): one run is admitted and starts ONE pipeline execution', async () => {
    clock.t += 60_000;
    pipeline.next = { auc: 0.86 };
    let deployWaits = 0;
    const onWait = async (wait: string, state: RunState) => {
      if (wait === S.WAIT_PIPELINE) { await pipeline.tick(state.pipelineExecutionArn!); }
      // SageMaker finishes the blue/green rollout during the second minute.
      if (wait === S.WAIT_DEPLOYMENT && ++deployWaits === 2) { gaps.finishDeployment(ENDPOINT); }
    };
    // EventBridge delivered the same event to two executions at once.
    [runA, runB] = await Promise.all(['drift-a', 'drift-b'].map(name => execute(name, driftEvent, onWait)));
    const admitted = [runA, runB].filter(r => r.state.admitted);
    expect(admitted).toHaveLength(1);
    winner = admitted[0];
    const loser = winner === runA ? runB : runA;
    expect(loser).toMatchObject({ status: 'SUCCEEDED', state: { admitted: false, skipReason: `duplicate of run ${winner.state.runId}` } });
    expect(loser.path).toEqual([S.INIT, S.ADMIT, S.FINISH, S.DONE]);
    expect(await readAudit(loser.state, 'skip')).toMatchObject({ decision: 'skip', reason: `duplicate of run ${winner.state.runId}` });

    expect(gaps.inputs(StartPipelineExecutionCommand)).toHaveLength(1);
    expect(gaps.inputs(StartPipelineExecutionCommand)[0]).toMatchObject({
      PipelineName: PIPELINE,
      // No ModelApprovalStatus: the pipeline registers PendingManualApproval by itself and the loop approves.
      PipelineParameters: [{ Name: 'CodeVersion', Value: 'git-1a2b3c4' }],
    });
    const started = await executions();
    expect(started.map(e => e.PipelineExecutionArn)).toEqual([winner.state.pipelineExecutionArn]);
    expect(winner.state.trigger).toMatchObject({ kind: 'drift', dedupeKey: `alarm:${DRIFT_ALARM}:${(driftEvent.detail as any).state.timestamp}` });
  });

  test('4. a better challenger (auc 0.86) is approved, deployed and baked: the endpoint serves it, it is the champion', async () => {
    challenger1 = pipeline.challengers.get(winner.state.pipelineExecutionArn!)!;
    expect(winner.status).toBe('SUCCEEDED');
    expect(winner.path).toEqual([
      S.INIT, S.ADMIT, S.START_PIPELINE,
      S.WAIT_PIPELINE, S.PIPELINE_STATUS, S.WAIT_PIPELINE, S.PIPELINE_STATUS, // Executing, then Succeeded
      S.EVALUATE, S.PROMOTE,
      S.WAIT_DEPLOYMENT, S.DEPLOYMENT_STATUS, S.WAIT_DEPLOYMENT, S.DEPLOYMENT_STATUS, // deploying, then in-service
      S.WAIT_BAKE, S.CHECK_ALARMS, S.WAIT_BAKE, S.CHECK_ALARMS, S.WAIT_BAKE, S.CHECK_ALARMS, // bake period of 3 minutes
      S.FINISH, S.DONE,
    ]);
    expect(winner.state).toMatchObject({
      decision: 'promote',
      challengerPackageArn: challenger1,
      championPackageArn: champion,
      challengerValue: '0.86',
      championValue: '0.8',
      previousEndpointConfig: championConfig,
      deploymentStatus: 'in-service',
      bakeDone: true,
    });
    expect(winner.state.alarm).toBeUndefined();
    deployedConfig = winner.state.newEndpointConfig!;

    // Registry: the challenger is approved and is the newest approved package; the old champion stays approved.
    expect(await approvalOf(challenger1)).toBe('Approved');
    expect(await approvalOf(champion)).toBe('Approved');
    expect(await newestApproved()).toBe(challenger1);
    // Endpoint: one UpdateEndpoint to a config that copies the old one with a model of the challenger.
    expect(gaps.updates).toEqual([{ EndpointName: ENDPOINT, EndpointConfigName: deployedConfig, RetainAllVariantProperties: true }]);
    expect(await servedConfig()).toBe(deployedConfig);
    const endpointConfig = await admin.send(new DescribeEndpointConfigCommand({ EndpointConfigName: deployedConfig }));
    expect(endpointConfig.ProductionVariants).toEqual([expect.objectContaining({ VariantName: 'AllTraffic', ModelName: deployedConfig, InitialInstanceCount: 2 })]);
    expect(endpointConfig.DataCaptureConfig).toMatchObject({ EnableCapture: true, DestinationS3Uri: `s3://${LAKE}/capture` });
    const model = await admin.send(new DescribeModelCommand({ ModelName: deployedConfig }));
    expect(model.Containers?.[0]?.ModelPackageName ?? model.PrimaryContainer?.ModelPackageName).toBe(challenger1);
    // The next drift check measures against the new champion's baseline.
    const next = await loadBaseline({ modelPackageGroup: GROUP }, { s3, sagemaker });
    expect(next).toMatchObject({ modelPackageArn: challenger1, uri: expect.stringContaining('baselines/challenger-') });
    expect((await loopItem())?.runningRunId).toBeUndefined();
  });

  test('5. a worse challenger (auc 0.70, a later run) is rejected: champion and endpoint unchanged', async () => {
    clock.t = T0 + 7 * HOUR;
    pipeline.next = { auc: 0.70 };
    gaps.resetHistory();
    const run = runs.worse = await execute('schedule-worse', scheduleEvent(clock.t), async (wait, state) => {
      if (wait === S.WAIT_PIPELINE) { await pipeline.tick(state.pipelineExecutionArn!); }
    });
    const challenger = pipeline.challengers.get(run.state.pipelineExecutionArn!)!;
    expect(run.status).toBe('SUCCEEDED');
    expect(run.path).toEqual([
      S.INIT, S.ADMIT, S.START_PIPELINE, S.WAIT_PIPELINE, S.PIPELINE_STATUS, S.WAIT_PIPELINE, S.PIPELINE_STATUS, S.EVALUATE, S.FINISH, S.DONE,
    ]);
    expect(run.state).toMatchObject({ decision: 'keep', challengerPackageArn: challenger, championPackageArn: challenger1, challengerValue: '0.7' });
    expect(await approvalOf(challenger)).toBe('Rejected');
    expect(await newestApproved()).toBe(challenger1);
    expect(gaps.inputs(UpdateEndpointCommand)).toHaveLength(0);
    expect(await servedConfig()).toBe(deployedConfig);
  });

  test('6. a NaN challenger metric (Python json.dump) is never promoted', async () => {
    clock.t = T0 + 14 * HOUR;
    pipeline.next = { evaluation: '{"metrics": {"validation:auc": {"value": NaN, "standard_deviation": NaN}}}' };
    gaps.resetHistory();
    // A manual request pinning data and code versions.
    const request = {
      'version': '0',
      'id': 'manual-evt-1',
      'source': 'cdk-ml-platform.continuous-training',
      'detail-type': 'Retrain requested',
      'time': new Date(clock.t).toISOString(),
      'detail': {
        loop: config.loopName,
        requestId: 'req-nan',
        reason: 'retrain on the March snapshot',
        dataVersion: `s3://${LAKE}/curated/2030-03-04/`,
        codeVersion: 'git-5e6f7a8',
      },
    };
    const run = runs.nan = await execute('manual-nan', request, async (wait, state) => {
      if (wait === S.WAIT_PIPELINE) { await pipeline.tick(state.pipelineExecutionArn!); }
    });
    const challenger = pipeline.challengers.get(run.state.pipelineExecutionArn!)!;
    expect(run.state).toMatchObject({ decision: 'keep', challengerPackageArn: challenger, challengerValue: 'NaN', championValue: '0.86' });
    expect(run.state.reason).toMatch(/is not a finite number|NaN/);
    expect(await approvalOf(challenger)).toBe('Rejected');
    expect(await newestApproved()).toBe(challenger1);
    expect(gaps.inputs(UpdateEndpointCommand)).toHaveLength(0);
    expect(gaps.inputs(StartPipelineExecutionCommand)[0].PipelineParameters).toEqual(expect.arrayContaining([
      { Name: 'CodeVersion', Value: 'git-5e6f7a8' }, { Name: 'InputDataUri', Value: `s3://${LAKE}/curated/2030-03-04/` },
    ]));
  });

  test('7. a better challenger whose rollback alarm fires during the bake is rolled back; the previous champion is back', async () => {
    clock.t = T0 + 21 * HOUR;
    pipeline.next = { auc: 0.90 };
    gaps.resetHistory();
    let bakes = 0;
    const run = runs.rollback = await execute('schedule-rollback', scheduleEvent(clock.t), async (wait, state) => {
      if (wait === S.WAIT_PIPELINE) { await pipeline.tick(state.pipelineExecutionArn!); }
      if (wait === S.WAIT_DEPLOYMENT) { gaps.finishDeployment(ENDPOINT); }
      // The new model answers 5xx on the second minute of the bake.
      if (wait === S.WAIT_BAKE && ++bakes === 2) {
        await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: ROLLBACK_ALARMS[0], StateValue: 'ALARM', StateReason: 'Threshold Crossed: 12 5xx errors' }));
      }
    });
    const challenger = pipeline.challengers.get(run.state.pipelineExecutionArn!)!;
    expect(run.status).toBe('SUCCEEDED');
    expect(run.path.slice(-9)).toEqual([
      S.WAIT_DEPLOYMENT, S.DEPLOYMENT_STATUS, S.WAIT_BAKE, S.CHECK_ALARMS, S.WAIT_BAKE, S.CHECK_ALARMS, S.ROLLBACK, S.FINISH, S.DONE,
    ]);
    expect(run.state).toMatchObject({
      decision: 'promote',
      challengerPackageArn: challenger,
      championPackageArn: challenger1,
      previousEndpointConfig: deployedConfig,
      alarm: ROLLBACK_ALARMS[0],
      rolledBack: true,
      deploymentStatus: 'rolled-back',
    });
    // Promoted, then restored to the previous config (fast: no deployment config).
    expect(gaps.updates.slice(-2)).toEqual([
      { EndpointName: ENDPOINT, EndpointConfigName: run.state.newEndpointConfig, RetainAllVariantProperties: true },
      { EndpointName: ENDPOINT, EndpointConfigName: deployedConfig, RetainAllVariantProperties: true },
    ]);
    gaps.finishDeployment(ENDPOINT);
    expect(await servedConfig()).toBe(deployedConfig);
    expect(await approvalOf(challenger)).toBe('Rejected');
    expect(await newestApproved()).toBe(challenger1);
    // The drift check measures against the baseline of the model the endpoint serves again.
    expect(await loadBaseline({ modelPackageGroup: GROUP }, { s3, sagemaker })).toMatchObject({ modelPackageArn: challenger1 });
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: ROLLBACK_ALARMS[0], StateValue: 'OK', StateReason: 'recovered' }));
  });

  test('8. throttling: retried within a run; persistent throttling fails the task, FinishAfterError releases the lock', async () => {
    clock.t = T0 + 28 * HOUR;
    pipeline.next = { auc: 0.85 };
    gaps.resetHistory();
    const onWait = async (wait: string, state: RunState) => {
      if (wait === S.WAIT_PIPELINE) { await pipeline.tick(state.pipelineExecutionArn!); }
    };
    throttleNext(sagemaker, StartPipelineExecutionCommand, 2);
    throttleNext(dynamodb, PutItemCommand, 1, 'ProvisionedThroughputExceededException');
    throttleNext(s3, PutObjectCommand, 1, 'SlowDown');
    sleeps.length = 0;
    const before = (await executions()).length;
    const throttled = runs.throttled = await execute('schedule-throttled', scheduleEvent(clock.t), onWait);
    expect(throttled.status).toBe('SUCCEEDED');
    expect(throttled.state).toMatchObject({ decision: 'keep', challengerValue: '0.85' });
    expect(throttledCalls(sagemaker, StartPipelineExecutionCommand)).toBe(2);
    expect(throttledCalls(dynamodb, PutItemCommand)).toBe(1);
    expect(throttledCalls(s3, PutObjectCommand)).toBe(1);
    expect(sleeps).toHaveLength(4); // each throttled call backed off once inside the handler
    expect(throttled.path.filter(p => p === S.START_PIPELINE)).toHaveLength(1); // no Step Functions retry needed
    expect(gaps.inputs(StartPipelineExecutionCommand)).toHaveLength(3);
    expect(await executions()).toHaveLength(before + 1);

    // Throttled for good: 8 attempts per invocation, 1 + 4 Step Functions retries, then the catch.
    clock.t = T0 + 35 * HOUR;
    gaps.resetHistory();
    throttleNext(sagemaker, StartPipelineExecutionCommand, Infinity);
    const failed = runs.failed = await execute('schedule-throttled-for-good', scheduleEvent(clock.t), onWait);
    stopThrottling(sagemaker);
    expect(failed.status).toBe('FAILED');
    expect(failed.error?.Error).toBe('ThrottledError');
    expect(JSON.parse(failed.error!.Cause).errorMessage).toMatch(/^StartPipelineExecution\(.*\) was still throttled after 8 attempts: Rate exceeded$/);
    expect(failed.path).toEqual([S.INIT, S.ADMIT, ...Array(5).fill(S.START_PIPELINE), S.FINISH_AFTER_ERROR, S.FAILED]);
    expect(gaps.inputs(StartPipelineExecutionCommand)).toHaveLength(40);
    expect(await executions()).toHaveLength(before + 1);
    expect((await loopItem())?.runningRunId).toBeUndefined();
    expect(await readAudit(failed.state, 'failed')).toMatchObject({ decision: 'failed', error: { Error: 'ThrottledError' } });
    expect((await readAudit(failed.state, 'finish')).reason).toMatch(/failed with ThrottledError; lock released$/);

    // The lock is free: the next run (after the minimum interval) is admitted and completes.
    clock.t = T0 + 42 * HOUR;
    pipeline.next = { auc: 0.5 };
    const following = runs.following = await execute('schedule-following', scheduleEvent(clock.t), onWait);
    expect(following).toMatchObject({ status: 'SUCCEEDED', state: { admitted: true, decision: 'keep' } });
    expect(await newestApproved()).toBe(challenger1);
  });

  test('9. every run left its audit trail in S3, decisions in order, with lineage', async () => {
    runs.a = runA;
    runs.b = runB;
    const expected: Record<string, AuditDecision[]> = {
      worse: ['trigger', 'start', 'evaluate', 'keep', 'finish'],
      nan: ['trigger', 'start', 'evaluate', 'keep', 'finish'],
      rollback: ['trigger', 'start', 'evaluate', 'approve', 'promote', 'deployed', 'rollback', 'finish'],
      throttled: ['trigger', 'start', 'evaluate', 'keep', 'finish'],
      failed: ['trigger', 'failed', 'finish'],
      following: ['trigger', 'start', 'evaluate', 'keep', 'finish'],
    };
    expected[winner === runA ? 'a' : 'b'] = ['trigger', 'start', 'evaluate', 'approve', 'promote', 'deployed', 'finish'];
    expected[winner === runA ? 'b' : 'a'] = ['trigger', 'skip', 'finish'];
    for (const [name, decisions] of Object.entries(expected)) {
      const run = runs[name];
      const sent = decisionsOf(run.state.runId);
      expect({ name, decisions: sent.map(d => d.decision) }).toEqual({ name, decisions });
      for (const record of sent) {
        // S3 holds the same record as the event, at the run's deterministic key.
        expect(await readAudit(run.state, record.decision)).toEqual(record);
        expect(record).toMatchObject({ format: 'cdk-ml-platform/audit', version: 1, loop: config.loopName, runId: run.state.runId, endpointName: ENDPOINT });
      }
      const after = (decision: AuditDecision) => sent.find(d => d.decision === decision)!;
      if (run.state.pipelineExecutionArn) {
        expect(after('start').pipelineExecutionArn).toBe(run.state.pipelineExecutionArn);
      }
      if (run.state.challengerPackageArn) {
        expect(after('evaluate')).toMatchObject({
          pipelineExecutionArn: run.state.pipelineExecutionArn,
          challengerPackageArn: run.state.challengerPackageArn,
          championPackageArn: run.state.championPackageArn,
          codeVersion: run.state.trigger?.codeVersion ?? 'git-1a2b3c4',
        });
      }
    }
    expect(decisionsOf(winner.state.runId).find(d => d.decision === 'approve')).toMatchObject({
      trigger: { kind: 'drift' }, challengerPackageArn: challenger1, championPackageArn: champion, codeVersion: 'git-1a2b3c4',
    });
    expect(decisionsOf(winner.state.runId).find(d => d.decision === 'deployed')).toMatchObject({ endpointConfig: deployedConfig });
    expect(decisionsOf(runs.nan.state.runId).find(d => d.decision === 'keep')).toMatchObject({
      trigger: { kind: 'manual', dedupeKey: 'manual:req-nan' }, dataVersion: `s3://${LAKE}/curated/2030-03-04/`, codeVersion: 'git-5e6f7a8',
    });
    expect(decisionsOf(runs.rollback.state.runId).find(d => d.decision === 'rollback')).toMatchObject({ endpointConfig: deployedConfig });
  });
});
