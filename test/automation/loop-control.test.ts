import { CreateTableCommand, DynamoDBClient, DynamoDBServiceException, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand, CreateModelPackageGroupCommand, CreatePipelineCommand, DescribeModelPackageCommand, DescribePipelineExecutionCommand,
  ListModelPackagesCommand, ListPipelineParametersForExecutionCommand, ModelApprovalStatus, SageMakerClient,
  StartPipelineExecutionCommand, UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import {
  ControlDeps, clientRequestTokenFor, displayNameFor, handler, normalizeTrigger, runTask, writeAudit,
} from '../../src/automation/loop-control.lambda';
import {
  AUDIT_EVENT_DETAIL_TYPE, AUDIT_EVENT_SOURCE, AuditDecision, LoopConfig, RETRAIN_REQUEST_DETAIL_TYPE, RunState, auditKey,
} from '../../src/automation/loop-state';
import { MotoServer, motoClientConfig, startMoto } from '../support/moto';
import { SageMakerGaps, stopThrottling, throttleNext } from '../support/sagemaker-gaps';

/**
 * Runs against one moto_server with the real SDK clients: the DynamoDB table (conditional writes, consistent reads),
 * the audit bucket, EventBridge PutEvents on the default bus, SageMaker pipelines, model package groups and packages
 * (ListModelPackages filters and sorts by CreationTime correctly in moto 5.2, so it is served by moto as is).
 *
 * Where moto 5.2 falls short, the shims of test/support/sagemaker-gaps.ts sit on the SageMaker client (every other
 * call goes to moto): StartPipelineExecution idempotency per ClientRequestToken, DescribePipelineExecution outcomes
 * other than Succeeded (`gaps.pipelineOutcomes`), UpdateModelPackage keeping CustomerMetadataProperties (so a retried
 * evaluate still finds the challenger's pipeline_execution_arn), and throttling (`throttleNext`). DynamoDB throttling
 * is injected with a jest spy that wraps the real client's send.
 * The EventBridge client's send is spied (calls go through to moto) to check the audit events.
 */
let moto: MotoServer;
let sagemaker: SageMakerClient;
let s3: S3Client;
let dynamodb: DynamoDBClient;
let events: EventBridgeClient;
let gaps: SageMakerGaps;
let eventsSpy: jest.SpyInstance;

const BUCKET = 'ml-loop';
const AUC = 'validation:auc';
const LOOP = 'MlStack/ChurnLoop';
const T0 = Date.parse('2030-01-07T10:00:00Z');
let counter = 0;

const noSleep = async () => undefined;

beforeAll(async () => {
  moto = await startMoto();
  sagemaker = new SageMakerClient(motoClientConfig(moto.endpoint));
  s3 = new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true });
  dynamodb = new DynamoDBClient(motoClientConfig(moto.endpoint));
  events = new EventBridgeClient(motoClientConfig(moto.endpoint));
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  gaps = new SageMakerGaps(sagemaker);
  eventsSpy = jest.spyOn(events, 'send');
});

afterAll(async () => {
  gaps?.restore();
  eventsSpy?.mockRestore();
  sagemaker?.destroy();
  s3?.destroy();
  dynamodb?.destroy();
  events?.destroy();
  await moto?.stop();
});

beforeEach(() => {
  gaps.resetHistory();
  stopThrottling(sagemaker);
});

// ---------------------------------------------------------------------------------------------------------
// Fixtures

function baseConfig(id: number, overrides: Partial<LoopConfig> = {}): LoopConfig {
  return {
    loopName: LOOP,
    table: `loop-${id}`,
    auditBucket: BUCKET,
    auditPrefix: `audit-${id}/`,
    eventBus: 'default',
    pipelineName: `churn-pipeline-${id}`,
    modelPackageGroup: `churn-${id}`,
    objectiveMetric: AUC,
    objectiveDirection: 'Maximize',
    minImprovement: 0,
    minIntervalSeconds: 0,
    maxRunsPerPeriod: 100,
    budgetPeriodSeconds: 86400,
    lockTtlSeconds: 3600,
    approval: 'automatic',
    codeVersion: 'git-0a1b2c3',
    endpointName: undefined,
    rollbackAlarms: [],
    bakeSeconds: 0,
    ...overrides,
  };
}

/** A fresh loop: its own DynamoDB table, model package group, pipeline and audit prefix. */
async function newLoop(overrides: Partial<LoopConfig> = {}): Promise<LoopConfig> {
  const config = baseConfig(++counter, overrides);
  await dynamodb.send(new CreateTableCommand({
    TableName: config.table,
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  await sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: config.modelPackageGroup }));
  await sagemaker.send(new CreatePipelineCommand({
    PipelineName: config.pipelineName,
    PipelineDefinition: JSON.stringify({ Version: '2020-12-01', Parameters: [], Steps: [] }),
    RoleArn: 'arn:aws:iam::123456789012:role/pipeline',
    ClientRequestToken: `create-${config.pipelineName}-0000000000000000000000`,
  }));
  gaps.resetHistory();
  return config;
}

interface Clock { t: number }

function depsFor(config: LoopConfig, clock: Clock = { t: T0 }, extra: Partial<ControlDeps> = {}): ControlDeps {
  return { config, sagemaker, s3, dynamodb, events, now: () => new Date(clock.t), sleep: noSleep, ...extra };
}

const runIdOf = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:ChurnLoop:${name}`;
const baseState = (name: string, event?: unknown): RunState => ({ runId: runIdOf(name), startedAt: new Date(T0).toISOString(), event });

const alarmEvent = (alarmName: string, timestamp: string, value = 'ALARM') => ({
  'version': '0',
  'id': `alarm-${alarmName}-${timestamp}`,
  'source': 'aws.cloudwatch',
  'detail-type': 'CloudWatch Alarm State Change',
  'time': timestamp,
  'region': 'us-east-1',
  'resources': [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`],
  'detail': { alarmName, state: { value, reason: 'Threshold Crossed: drift 0.31 > 0.2', timestamp }, previousState: { value: 'OK' } },
});
const RULE = 'arn:aws:events:us-east-1:123456789012:rule/churn-weekly-retrain';
const scheduleEvent = (time: string) => ({
  'version': '0', 'id': `schedule-${time}`, 'source': 'aws.events', 'detail-type': 'Scheduled Event', time, 'resources': [RULE], 'detail': {},
});
const manualEvent = (detail: Record<string, unknown>, id = 'b7c1d2e3-manual') => ({
  'version': '0', id, 'source': AUDIT_EVENT_SOURCE, 'detail-type': RETRAIN_REQUEST_DETAIL_TYPE, 'time': '2030-01-07T09:59:00Z', detail,
});

let eventSeq = 0;
/** An alarm event no other run has used. */
const freshEvent = () => alarmEvent('churn-drift', `2030-01-07T09:00:${String(++eventSeq % 60).padStart(2, '0')}.${eventSeq}Z`);

const admit = (deps: ControlDeps, name: string, event: unknown = freshEvent()) =>
  runTask({ task: 'admit', state: baseState(name, event) }, deps);
const finish = (deps: ControlDeps, state: RunState) => runTask({ task: 'finish', state }, deps);

async function loopItem(config: LoopConfig) {
  const got = await dynamodb.send(new GetItemCommand({ TableName: config.table, Key: { pk: { S: 'loop' } }, ConsistentRead: true }));
  return got.Item;
}

async function readAudit(config: LoopConfig, state: RunState, decision: AuditDecision): Promise<Record<string, any>> {
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: auditKey(config.auditPrefix, state.runId, state.startedAt, decision) }));
  return JSON.parse(await got.Body!.transformToString('utf-8'));
}

async function putEvaluation(value: unknown, raw?: string): Promise<string> {
  const key = `evaluations/${++counter}/evaluation.json`;
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: raw ?? JSON.stringify({ metrics: { [AUC]: { value } } }) }));
  return `s3://${BUCKET}/${key}`;
}

async function registerPackage(config: LoopConfig, opts: {
  statisticsUri?: string; status?: ModelApprovalStatus; executionArn?: string;
}): Promise<string> {
  const { ModelPackageArn } = await sagemaker.send(new CreateModelPackageCommand({
    ModelPackageGroupName: config.modelPackageGroup,
    InferenceSpecification: {
      Containers: [{ Image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest', ModelDataUrl: `s3://${BUCKET}/models/${counter}/model.tar.gz` }],
      SupportedContentTypes: ['text/csv'],
      SupportedResponseMIMETypes: ['text/csv'],
    },
    ModelApprovalStatus: 'PendingManualApproval',
    CustomerMetadataProperties: opts.executionArn ? { pipeline_execution_arn: opts.executionArn } : undefined,
    ModelMetrics: opts.statisticsUri ? { ModelQuality: { Statistics: { S3Uri: opts.statisticsUri, ContentType: 'application/json' } } } : undefined,
  }));
  if (opts.status && opts.status !== 'PendingManualApproval') {
    await sagemaker.send(new UpdateModelPackageCommand({ ModelPackageArn, ModelApprovalStatus: opts.status }));
  }
  await new Promise(r => setTimeout(r, 5)); // CreationTime has millisecond resolution
  gaps.resetHistory();
  return ModelPackageArn!;
}

const approvedChampion = async (config: LoopConfig, value: unknown) =>
  registerPackage(config, { statisticsUri: await putEvaluation(value), status: 'Approved' });

const statusOf = (arn: string) => sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));

async function newestApproved(config: LoopConfig): Promise<string | undefined> {
  const res = await sagemaker.send(new ListModelPackagesCommand({
    ModelPackageGroupName: config.modelPackageGroup, ModelApprovalStatus: 'Approved', SortBy: 'CreationTime', SortOrder: 'Descending',
  }));
  return res.ModelPackageSummaryList?.[0]?.ModelPackageArn;
}

/** A state after a successful pipeline run whose challenger has `value` (or the raw evaluation.json text). */
async function succeededRun(config: LoopConfig, name: string, value: unknown, raw?: string) {
  const executionArn = `arn:aws:sagemaker:us-east-1:123456789012:pipeline/${config.pipelineName}/execution/${name}`;
  const challengerArn = await registerPackage(config, { statisticsUri: await putEvaluation(value, raw), executionArn });
  const state: RunState = {
    ...baseState(name),
    trigger: { kind: 'schedule', dedupeKey: `schedule:${RULE}:${name}`, reason: 'schedule churn-weekly-retrain fired' },
    admitted: true,
    pipelineExecutionArn: executionArn,
    pipelineStatus: 'Succeeded',
  };
  return { state, challengerArn, executionArn };
}

// ---------------------------------------------------------------------------------------------------------

describe('normalizeTrigger', () => {
  const config = baseConfig(0);

  test('a CloudWatch alarm in ALARM is a drift trigger keyed by alarm and state timestamp', () => {
    const trigger = normalizeTrigger(alarmEvent('churn-drift', '2030-01-07T09:58:00.000+0000'), config);
    expect(trigger).toEqual({
      kind: 'drift',
      dedupeKey: 'alarm:churn-drift:2030-01-07T09:58:00.000+0000',
      reason: 'alarm churn-drift changed to ALARM at 2030-01-07T09:58:00.000+0000: Threshold Crossed: drift 0.31 > 0.2',
    });
  });

  test('an alarm that is not in ALARM is skipped', () => {
    const trigger = normalizeTrigger(alarmEvent('churn-drift', '2030-01-07T09:58:00Z', 'OK'), config);
    expect(trigger).toMatchObject({ kind: 'drift', skipReason: 'alarm is not in ALARM' });
  });

  test('a scheduled event is keyed by rule ARN and time', () => {
    expect(normalizeTrigger(scheduleEvent('2030-01-07T10:00:00Z'), config)).toEqual({
      kind: 'schedule',
      dedupeKey: `schedule:${RULE}:2030-01-07T10:00:00Z`,
      reason: 'schedule churn-weekly-retrain fired at 2030-01-07T10:00:00Z',
    });
  });

  test('a manual request carries data and code versions and is keyed by requestId, else by event id', () => {
    expect(normalizeTrigger(manualEvent({
      loop: LOOP, reason: 'new labels from the Q4 audit', requestId: 'req-42', dataVersion: 's3://ml-data/churn/2030-01-06/', codeVersion: 'git-9f8e7d6',
    }), config)).toEqual({
      kind: 'manual',
      dedupeKey: 'manual:req-42',
      reason: 'manual request req-42: new labels from the Q4 audit',
      dataVersion: 's3://ml-data/churn/2030-01-06/',
      codeVersion: 'git-9f8e7d6',
    });
    expect(normalizeTrigger(manualEvent({ loop: LOOP }, 'event-7'), config)).toEqual({
      kind: 'manual', dedupeKey: 'manual:event-7', reason: 'manual request event-7: no reason given',
    });
  });

  test('a manual request for another loop is skipped', () => {
    expect(normalizeTrigger(manualEvent({ loop: 'OtherStack/Loop', requestId: 'r1' }), config))
      .toMatchObject({ kind: 'manual', skipReason: 'request is for another loop' });
  });

  test('an invalid dataVersion is rejected', () => {
    expect(() => normalizeTrigger(manualEvent({ loop: LOOP, dataVersion: '/tmp/data.csv' }), config))
      .toThrow('the retrain request\'s detail.dataVersion must be an s3://bucket/key URI, got "/tmp/data.csv"');
    expect(() => normalizeTrigger(manualEvent({ loop: LOOP, dataVersion: 42 }), config)).toThrow('detail.dataVersion must be a non-empty string');
  });

  test('anything else throws, naming what was received', () => {
    expect(() => normalizeTrigger({ 'source': 'aws.s3', 'detail-type': 'Object Created', 'detail': {} }, config))
      .toThrow(/cannot start a run from this event: .*got source "aws.s3", detail-type "Object Created"/);
    expect(() => normalizeTrigger(undefined, config)).toThrow('cannot start a run from this event');
    expect(() => normalizeTrigger('retrain please', config)).toThrow('"retrain please"');
    expect(() => normalizeTrigger({ 'source': 'aws.cloudwatch', 'detail-type': 'CloudWatch Alarm State Change', 'detail': {} }, config))
      .toThrow('detail.alarmName must be a non-empty string');
  });
});

describe('admit (moto DynamoDB)', () => {
  test('admits the first run: claims the dedupe key, takes the lock, counts the run and audits the trigger', async () => {
    const config = await newLoop({ lockTtlSeconds: 7200 });
    const event = alarmEvent('churn-drift', '2030-01-07T09:58:00Z');
    const state = await admit(depsFor(config), 'run-a', event);
    expect(state).toMatchObject({ admitted: true, skipReason: undefined, trigger: { kind: 'drift', dedupeKey: 'alarm:churn-drift:2030-01-07T09:58:00Z' } });
    expect(state.trigger).not.toHaveProperty('skipReason');
    const item = await loopItem(config);
    expect(item).toMatchObject({
      runningRunId: { S: runIdOf('run-a') },
      lockExpiresAt: { N: String(T0 / 1000 + 7200) },
      lastStartedAt: { N: String(T0 / 1000) },
      periodStart: { N: String(Math.floor(T0 / 1000 / 86400) * 86400) },
      runsInPeriod: { N: '1' },
      version: { N: '1' },
    });
    const dedupe = await dynamodb.send(new GetItemCommand({ TableName: config.table, Key: { pk: { S: 'dedupe#alarm:churn-drift:2030-01-07T09:58:00Z' } } }));
    expect(dedupe.Item).toMatchObject({ runId: { S: runIdOf('run-a') }, expiresAt: { N: String(T0 / 1000 + 7 * 86400) } });
    const audit = await readAudit(config, state, 'trigger');
    expect(audit).toMatchObject({
      format: 'cdk-ml-platform/audit',
      version: 1,
      loop: LOOP,
      runId: runIdOf('run-a'),
      decision: 'trigger',
      reason: state.trigger!.reason,
      codeVersion: 'git-0a1b2c3',
      trigger: state.trigger,
    });
  });

  test('a second run for the same event is skipped as a duplicate', async () => {
    const config = await newLoop();
    const deps = depsFor(config);
    const event = scheduleEvent('2030-01-07T10:00:00Z');
    const first = await admit(deps, 'run-a', event);
    await finish(deps, first);
    const second = await admit(deps, 'run-b', event);
    expect(second).toMatchObject({ admitted: false, skipReason: `duplicate of run ${runIdOf('run-a')}` });
    expect(await readAudit(config, second, 'skip')).toMatchObject({ decision: 'skip', reason: `duplicate of run ${runIdOf('run-a')}` });
    expect((await loopItem(config))?.runsInPeriod).toEqual({ N: '1' });
  });

  test('skips while another run holds the lock, admits once the lock has expired', async () => {
    const config = await newLoop({ lockTtlSeconds: 3600 });
    const clock = { t: T0 };
    const deps = depsFor(config, clock);
    expect((await admit(deps, 'run-a')).admitted).toBe(true);
    clock.t += 3600 * 1000; // lockExpiresAt == now: not expired yet
    const blocked = await admit(deps, 'run-b');
    expect(blocked).toMatchObject({ admitted: false, skipReason: `a run is in progress: ${runIdOf('run-a')}` });
    clock.t += 1000;
    expect((await admit(deps, 'run-c')).admitted).toBe(true);
    expect(await loopItem(config)).toMatchObject({ runningRunId: { S: runIdOf('run-c') }, runsInPeriod: { N: '2' } });
    // The stale run's finish does not release the new run's lock.
    await finish(deps, { ...baseState('run-a'), admitted: true });
    expect((await loopItem(config))?.runningRunId).toEqual({ S: runIdOf('run-c') });
  });

  test('enforces the minimum interval between starts', async () => {
    const config = await newLoop({ minIntervalSeconds: 3600 });
    const clock = { t: T0 };
    const deps = depsFor(config, clock);
    await finish(deps, await admit(deps, 'run-a'));
    clock.t = T0 + 600_000;
    expect(await admit(deps, 'run-b')).toMatchObject({
      admitted: false, skipReason: 'minimum interval: last start 2030-01-07T10:00:00.000Z, next allowed 2030-01-07T11:00:00.000Z',
    });
    clock.t = T0 + 3_600_000;
    expect((await admit(deps, 'run-c')).admitted).toBe(true);
  });

  test('enforces the retrain budget per fixed window and resets it in the next window', async () => {
    const config = await newLoop({ maxRunsPerPeriod: 2, budgetPeriodSeconds: 86400 });
    const clock = { t: Date.parse('2030-01-07T01:00:00Z') };
    const deps = depsFor(config, clock);
    await finish(deps, await admit(deps, 'run-a'));
    clock.t += 3_600_000;
    await finish(deps, await admit(deps, 'run-b'));
    clock.t = Date.parse('2030-01-07T23:59:59Z');
    expect(await admit(deps, 'run-c')).toMatchObject({
      admitted: false, skipReason: 'retrain budget spent: 2 of 2 runs in the period starting 2030-01-07T00:00:00.000Z',
    });
    clock.t = Date.parse('2030-01-08T00:00:00Z');
    expect((await admit(deps, 'run-d')).admitted).toBe(true);
    expect(await loopItem(config)).toMatchObject({
      runsInPeriod: { N: '1' }, periodStart: { N: String(Date.parse('2030-01-08T00:00:00Z') / 1000) },
    });
  });

  test('a retried admit of the same run is admitted again without counting twice', async () => {
    const config = await newLoop({ maxRunsPerPeriod: 1, minIntervalSeconds: 3600 });
    const clock = { t: T0 };
    const deps = depsFor(config, clock);
    const event = manualEvent({ loop: LOOP, requestId: 'req-1' });
    expect((await admit(deps, 'run-a', event)).admitted).toBe(true);
    clock.t += 5000;
    const again = await admit(deps, 'run-a', event);
    expect(again).toMatchObject({ admitted: true, skipReason: undefined });
    expect(await loopItem(config)).toMatchObject({ runsInPeriod: { N: '1' }, version: { N: '1' }, lastStartedAt: { N: String(T0 / 1000) } });
  });

  test('concurrent admits of two different events: exactly one is admitted', async () => {
    for (let round = 0; round < 4; round++) {
      const config = await newLoop();
      const deps = depsFor(config);
      const results = await Promise.all([admit(deps, 'run-a'), admit(deps, 'run-b'), admit(deps, 'run-c')]);
      const admitted = results.filter(r => r.admitted);
      expect(admitted).toHaveLength(1);
      for (const loser of results.filter(r => !r.admitted)) {
        expect(loser.skipReason).toBe(`a run is in progress: ${admitted[0].runId}`);
      }
      expect(await loopItem(config)).toMatchObject({ runningRunId: { S: admitted[0].runId }, runsInPeriod: { N: '1' } });
    }
  });

  test('an alarm back to OK or a request for another loop is skipped without touching the table', async () => {
    const config = await newLoop();
    const deps = depsFor(config);
    const ok = await admit(deps, 'run-a', alarmEvent('churn-drift', '2030-01-07T09:58:00Z', 'OK'));
    expect(ok).toMatchObject({ admitted: false, skipReason: 'alarm is not in ALARM' });
    const other = await admit(deps, 'run-b', manualEvent({ loop: 'Other/Loop', requestId: 'x' }));
    expect(other).toMatchObject({ admitted: false, skipReason: 'request is for another loop' });
    expect(await loopItem(config)).toBeUndefined();
    expect(await readAudit(config, ok, 'skip')).toMatchObject({ decision: 'skip', reason: 'alarm is not in ALARM' });
  });

  test('an unknown event fails the task', async () => {
    const config = await newLoop();
    await expect(admit(depsFor(config), 'run-a', { source: 'aws.s3' })).rejects.toThrow('cannot start a run from this event');
    expect(await loopItem(config)).toBeUndefined();
  });
});

describe('start and pipelineStatus', () => {
  test('starts the pipeline with the run\'s parameters; a retry gets the same execution', async () => {
    const config = await newLoop();
    const deps = depsFor(config);
    const admitted = await admit(deps, 'run-a/with odd_chars', manualEvent({
      loop: LOOP, requestId: 'req-7', dataVersion: 's3://ml-data/churn/v7/', codeVersion: 'git-1234abc',
    }));
    const started = await runTask({ task: 'start', state: admitted }, deps);
    const retried = await runTask({ task: 'start', state: admitted }, deps);
    expect(started.pipelineExecutionArn).toMatch(new RegExp(`^arn:aws:sagemaker:us-east-1:123456789012:pipeline/${config.pipelineName}/execution/`));
    expect(retried.pipelineExecutionArn).toBe(started.pipelineExecutionArn);

    const calls = gaps.stub.commandCalls(StartPipelineExecutionCommand).map(c => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(calls[1].ClientRequestToken).toBe(calls[0].ClientRequestToken);
    expect(calls[0].ClientRequestToken).toBe(clientRequestTokenFor(admitted.runId));
    expect(calls[0].ClientRequestToken).toMatch(/^[0-9a-f]{64}$/);
    expect(calls[0].PipelineName).toBe(config.pipelineName);
    expect(calls[0].PipelineExecutionDisplayName).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}$/);
    expect(calls[0].PipelineExecutionDisplayName).toBe('ct-run-a-with-odd-chars');

    const params = await sagemaker.send(new ListPipelineParametersForExecutionCommand({ PipelineExecutionArn: started.pipelineExecutionArn }));
    expect(params.PipelineParameters).toEqual([
      { Name: 'CodeVersion', Value: 'git-1234abc' },
      { Name: 'InputDataUri', Value: 's3://ml-data/churn/v7/' },
    ]);
    expect(await readAudit(config, started, 'start')).toMatchObject({
      decision: 'start', pipelineExecutionArn: started.pipelineExecutionArn, codeVersion: 'git-1234abc', dataVersion: 's3://ml-data/churn/v7/',
    });
  });

  test('without pinned versions: the configured CodeVersion and no InputDataUri', async () => {
    const config = await newLoop();
    const deps = depsFor(config);
    const started = await runTask({ task: 'start', state: await admit(deps, 'run-a') }, deps);
    const params = await sagemaker.send(new ListPipelineParametersForExecutionCommand({ PipelineExecutionArn: started.pipelineExecutionArn }));
    expect(params.PipelineParameters).toEqual([
      { Name: 'CodeVersion', Value: 'git-0a1b2c3' },
    ]);
  });

  test('a run that was not admitted cannot start', async () => {
    const config = await newLoop();
    await expect(runTask({ task: 'start', state: { ...baseState('run-a'), admitted: false } }, depsFor(config))).rejects.toThrow('was not admitted');
  });

  test('display names stay within SageMaker\'s pattern', () => {
    expect(displayNameFor(runIdOf('x'.repeat(120)))).toHaveLength(82);
    expect(displayNameFor('---')).toBe('ct');
    expect(displayNameFor(runIdOf('a__b'))).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}$/);
  });

  test('pipelineStatus reports the execution status and failure reason', async () => {
    const config = await newLoop();
    const deps = depsFor(config);
    const started = await runTask({ task: 'start', state: await admit(deps, 'run-a') }, deps);
    expect(await runTask({ task: 'pipelineStatus', state: started }, deps))
      .toMatchObject({ pipelineStatus: 'Succeeded', pipelineFailureReason: undefined });
    gaps.pipelineOutcomes.set(started.pipelineExecutionArn!, { status: 'Failed', reason: 'Step Train failed: OOM' });
    expect(await runTask({ task: 'pipelineStatus', state: started }, deps))
      .toMatchObject({ pipelineStatus: 'Failed', pipelineFailureReason: 'Step Train failed: OOM' });
  });
});

describe('evaluate (moto model registry)', () => {
  test('a better challenger is approved; the champion is unchanged; a retry does not update again', async () => {
    const config = await newLoop();
    const deps = depsFor(config);
    const champion = await approvedChampion(config, 0.8);
    const { state, challengerArn } = await succeededRun(config, 'run-better', 0.85);
    const result = await runTask({ task: 'evaluate', state }, deps);
    const reason = `challenger ${AUC} = 0.85 beats champion 0.8 (Maximize, min_improvement 0: needed > 0.8)`;
    expect(result).toMatchObject({
      decision: 'approved', reason, challengerPackageArn: challengerArn, championPackageArn: champion, challengerValue: '0.85', championValue: '0.8',
    });
    const pkg = await statusOf(challengerArn);
    expect(pkg).toMatchObject({ ModelApprovalStatus: 'Approved', ApprovalDescription: reason });
    expect((await statusOf(champion)).ModelApprovalStatus).toBe('Approved');
    expect(gaps.stub.commandCalls(UpdateModelPackageCommand)).toHaveLength(1);

    expect(await readAudit(config, result, 'evaluate')).toMatchObject({
      decision: 'evaluate', challengerValue: '0.85', championValue: '0.8', challengerPackageArn: challengerArn, championPackageArn: champion,
    });
    expect(await readAudit(config, result, 'approve')).toMatchObject({ decision: 'approve', reason, pipelineExecutionArn: state.pipelineExecutionArn });

    gaps.resetHistory();
    const retried = await runTask({ task: 'evaluate', state }, deps);
    expect(retried).toMatchObject({ decision: 'approved', championPackageArn: champion, challengerPackageArn: challengerArn });
    expect(gaps.stub.commandCalls(UpdateModelPackageCommand)).toHaveLength(0);
  });

  test('with an endpoint configured, a better challenger is to be promoted', async () => {
    const config = await newLoop({ endpointName: 'churn-prod' });
    await approvedChampion(config, 0.8);
    const { state } = await succeededRun(config, 'run-promote', 0.9);
    const result = await runTask({ task: 'evaluate', state }, depsFor(config));
    expect(result.decision).toBe('promote');
    expect(await readAudit(config, result, 'approve')).toMatchObject({ endpointName: 'churn-prod' });
  });

  test('a worse challenger is rejected and the champion stays the newest Approved package', async () => {
    const config = await newLoop();
    const champion = await approvedChampion(config, 0.8);
    const { state, challengerArn } = await succeededRun(config, 'run-worse', 0.79);
    const result = await runTask({ task: 'evaluate', state }, depsFor(config));
    expect(result).toMatchObject({ decision: 'keep', challengerValue: '0.79', championValue: '0.8' });
    expect(result.reason).toMatch(/does not beat champion 0.8 .*so the champion is kept$/);
    expect((await statusOf(challengerArn)).ModelApprovalStatus).toBe('Rejected');
    expect(await newestApproved(config)).toBe(champion);
    expect(await readAudit(config, result, 'keep')).toMatchObject({ decision: 'keep', challengerPackageArn: challengerArn });
  });

  test('a NaN challenger is never promoted, not even without a champion', async () => {
    const config = await newLoop();
    const { state, challengerArn } = await succeededRun(config, 'run-nan', undefined, `{"metrics": {"${AUC}": {"value": NaN}}}`);
    const result = await runTask({ task: 'evaluate', state }, depsFor(config));
    expect(result).toMatchObject({ decision: 'keep', challengerValue: 'NaN', championValue: undefined });
    expect(result.reason).toContain(`has ${AUC} = NaN`);
    expect((await statusOf(challengerArn)).ModelApprovalStatus).toBe('Rejected');
    expect(await newestApproved(config)).toBeUndefined();
  });

  test('a challenger whose metrics file does not exist is rejected', async () => {
    const config = await newLoop();
    await approvedChampion(config, 0.8);
    const executionArn = `arn:aws:sagemaker:us-east-1:123456789012:pipeline/${config.pipelineName}/execution/no-metrics`;
    const challengerArn = await registerPackage(config, { statisticsUri: `s3://${BUCKET}/evaluations/missing/evaluation.json`, executionArn });
    const result = await runTask({ task: 'evaluate', state: { ...baseState('run-no-metrics'), pipelineExecutionArn: executionArn, pipelineStatus: 'Succeeded' } },
      depsFor(config));
    expect(result).toMatchObject({ decision: 'keep', challengerValue: 'NaN', championValue: '0.8' });
    expect(result.reason).toContain('that does not exist, so it is not promoted');
    expect((await statusOf(challengerArn)).ModelApprovalStatus).toBe('Rejected');
  });

  test('no champion: the first challenger is approved', async () => {
    const config = await newLoop();
    const { state, challengerArn } = await succeededRun(config, 'run-first', 0.6);
    const result = await runTask({ task: 'evaluate', state }, depsFor(config));
    expect(result).toMatchObject({ decision: 'approved', championPackageArn: undefined });
    expect(result.reason).toBe(`no approved champion in ${config.modelPackageGroup}; the first model is approved (challenger ${AUC} = 0.6, Maximize)`);
    expect(await newestApproved(config)).toBe(challengerArn);
  });

  test('a champion without a readable value loses to a finite challenger; Minimize and min improvement are honoured', async () => {
    const config = await newLoop({ objectiveDirection: 'Minimize', minImprovement: 0.05 });
    const broken = await registerPackage(config, { status: 'Approved' });
    const first = await succeededRun(config, 'run-1', 0.4);
    expect(await runTask({ task: 'evaluate', state: first.state }, depsFor(config))).toMatchObject({
      decision: 'approved', championPackageArn: broken, championValue: 'NaN',
    });
    const second = await succeededRun(config, 'run-2', 0.36);
    const kept = await runTask({ task: 'evaluate', state: second.state }, depsFor(config));
    expect(kept).toMatchObject({ decision: 'keep', championPackageArn: first.challengerArn });
    expect(kept.reason).toContain('needed <= 0.35');
  });

  test('manual approval: await-approval, the registry is not touched', async () => {
    const config = await newLoop({ approval: 'manual' });
    await approvedChampion(config, 0.8);
    const { state, challengerArn } = await succeededRun(config, 'run-manual', 0.95);
    const result = await runTask({ task: 'evaluate', state }, depsFor(config));
    expect(result.decision).toBe('await-approval');
    expect(result.reason).toMatch(/awaits a human decision \(recommended: /);
    expect(gaps.stub.commandCalls(UpdateModelPackageCommand)).toHaveLength(0);
    expect((await statusOf(challengerArn)).ModelApprovalStatus).toBe('PendingManualApproval');
    expect(await readAudit(config, result, 'await-approval')).toMatchObject({ decision: 'await-approval', challengerPackageArn: challengerArn });
  });

  test('the KeepChampion and RejectTrainingData Fail steps are a keep; any other failure is failed', async () => {
    const config = await newLoop();
    const deps = depsFor(config);
    const base = { ...baseState('run-fail'), admitted: true, pipelineExecutionArn: 'arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x' };
    const keep = await runTask({
      task: 'evaluate',
      state: {
        ...base, pipelineStatus: 'Failed', pipelineFailureReason: 'Step KeepChampion failed: Challenger not registered: it does not beat the champion',
      },
    }, deps);
    expect(keep).toMatchObject({ decision: 'keep', reason: 'Step KeepChampion failed: Challenger not registered: it does not beat the champion' });
    expect(await readAudit(config, keep, 'keep')).toMatchObject({ decision: 'keep' });

    // the training-data gate's RejectTrainingData Fail step: nothing was trained, the champion stays
    const gateReason = 'Step RejectTrainingData failed: Training data rejected by the training-data gate, nothing was trained: amount PSI 0.61 > 0.25';
    const rejected = await runTask({ task: 'evaluate', state: { ...base, pipelineStatus: 'Failed', pipelineFailureReason: gateReason } }, deps);
    expect(rejected).toMatchObject({ decision: 'keep', reason: gateReason });

    const failed = await runTask({ task: 'evaluate', state: { ...base, pipelineStatus: 'Failed', pipelineFailureReason: 'Step Train failed: OOM' } }, deps);
    expect(failed).toMatchObject({ decision: 'failed', reason: 'pipeline Failed: Step Train failed: OOM' });
    expect(await readAudit(config, failed, 'pipeline-failed')).toMatchObject({ decision: 'pipeline-failed', pipelineExecutionArn: base.pipelineExecutionArn });

    const stopped = await runTask({ task: 'evaluate', state: { ...base, pipelineStatus: 'Stopped' } }, deps);
    expect(stopped.decision).toBe('failed');
    expect(gaps.stub.commandCalls(UpdateModelPackageCommand)).toHaveLength(0);
  });

  test('a challenger that cannot be found is failed; a pipeline still running is an error', async () => {
    const config = await newLoop();
    const deps = depsFor(config);
    await registerPackage(config, { statisticsUri: await putEvaluation(0.9), executionArn: 'arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/other' });
    const { state } = await succeededRun(config, 'run-x', 0.9);
    const missing = await runTask({ task: 'evaluate', state: { ...state, pipelineExecutionArn: `${state.pipelineExecutionArn}-nope` } }, deps);
    expect(missing.decision).toBe('failed');
    expect(missing.reason).toMatch(/has CustomerMetadataProperties.pipeline_execution_arn = .*-nope; the pipeline must register the challenger/);
    await expect(runTask({ task: 'evaluate', state: { ...state, pipelineStatus: 'Executing' } }, deps)).rejects.toThrow('is Executing, not finished');
  });
});

describe('finish', () => {
  test('releases only its own lock, and works for any state', async () => {
    const config = await newLoop();
    const deps = depsFor(config);
    const a = await admit(deps, 'run-a');
    const b = await admit(deps, 'run-b');
    expect(b.admitted).toBe(false);
    await finish(deps, b);
    expect((await loopItem(config))?.runningRunId).toEqual({ S: a.runId });
    await finish(deps, baseState('run-never-admitted'));
    expect((await loopItem(config))?.runningRunId).toEqual({ S: a.runId });
    await finish(deps, { ...a, decision: 'approved', reason: 'better' });
    const item = await loopItem(config);
    expect(item?.runningRunId).toBeUndefined();
    expect(item?.lockExpiresAt).toBeUndefined();
    expect(item?.runsInPeriod).toEqual({ N: '1' });
    await finish(deps, a); // again: nothing to release, no error
    expect((await readAudit(config, a, 'finish')).reason).toMatch(/lock not held$/);
    expect((await readAudit(config, b, 'finish')).reason).toMatch(/^skipped: a run is in progress: /);
    // Finishing a run of a loop whose table has no loop item yet is fine too.
    const empty = await newLoop();
    await finish(depsFor(empty), baseState('run-z'));
    expect(await loopItem(empty)).toBeUndefined();
  });

  test('a caught error is audited as failed, then the finish summary', async () => {
    const config = await newLoop();
    const deps = depsFor(config);
    const a = await admit(deps, 'run-a');
    const state = await finish(deps, { ...a, error: { Error: 'States.TaskFailed', Cause: '{"errorMessage":"boom"}' } });
    expect(state.runId).toBe(a.runId);
    expect(await readAudit(config, a, 'failed')).toMatchObject({
      decision: 'failed', reason: 'States.TaskFailed: {"errorMessage":"boom"}', error: { Error: 'States.TaskFailed' },
    });
    expect((await readAudit(config, a, 'finish')).reason).toBe(
      'decision none; deployment none; rolled back no; failed with States.TaskFailed; lock released');
  });
});

describe('audit trail', () => {
  test('a whole run writes each decision to S3 and EventBridge with its lineage', async () => {
    const config = await newLoop({ endpointName: 'churn-prod' });
    const deps = depsFor(config);
    const champion = await approvedChampion(config, 0.8);
    eventsSpy.mockClear();
    let state = await admit(deps, 'run-full', manualEvent({
      loop: LOOP, requestId: 'req-full', reason: 'quarterly refresh', dataVersion: 's3://ml-data/churn/q1/', codeVersion: 'git-feedbee',
    }));
    state = await runTask({ task: 'start', state }, deps);
    state = await runTask({ task: 'pipelineStatus', state }, deps);
    const challenger = await registerPackage(config, { statisticsUri: await putEvaluation(0.9), executionArn: state.pipelineExecutionArn });
    state = await runTask({ task: 'evaluate', state }, deps);
    state = await finish(deps, { ...state, deploymentStatus: 'in-service', rolledBack: false });
    expect(state.decision).toBe('promote');

    const lineage = {
      loop: LOOP, runId: runIdOf('run-full'), codeVersion: 'git-feedbee', dataVersion: 's3://ml-data/churn/q1/', endpointName: 'churn-prod',
    };
    for (const decision of ['trigger', 'start', 'evaluate', 'approve', 'finish'] as AuditDecision[]) {
      expect(await readAudit(config, state, decision)).toMatchObject({ ...lineage, decision, format: 'cdk-ml-platform/audit', version: 1 });
    }
    expect(await readAudit(config, state, 'approve')).toMatchObject({
      pipelineExecutionArn: state.pipelineExecutionArn,
      challengerPackageArn: challenger,
      championPackageArn: champion,
      trigger: { kind: 'manual', dedupeKey: 'manual:req-full' },
    });
    expect((await readAudit(config, state, 'finish')).reason).toMatch(/^decision promote: .*; deployment in-service; rolled back no; lock released$/);

    const sent = eventsSpy.mock.calls.map(([command]) => command.input.Entries[0]);
    expect(sent.map(e => JSON.parse(e.Detail).decision)).toEqual(['trigger', 'start', 'evaluate', 'approve', 'finish']);
    for (const entry of sent) {
      expect(entry).toMatchObject({ Source: AUDIT_EVENT_SOURCE, DetailType: AUDIT_EVENT_DETAIL_TYPE, EventBusName: 'default' });
    }
    const results = await Promise.all(eventsSpy.mock.results.map(r => r.value));
    expect(results.every(r => r.FailedEntryCount === 0)).toBe(true);
  });

  test('writeAudit retries an event EventBridge throttled per entry', async () => {
    const config = await newLoop();
    const spy = jest.spyOn(events, 'send');
    try {
      spy.mockImplementationOnce(async () => ({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }] }) as any);
      const sleeps: number[] = [];
      await writeAudit(depsFor(config, { t: T0 }, { sleep: async ms => { sleeps.push(ms); } }), baseState('run-a'), 'trigger', 'why');
      expect(sleeps).toHaveLength(1);
      spy.mockImplementationOnce(async () => ({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'oops' }] }) as any);
      await expect(writeAudit(depsFor(config), baseState('run-a'), 'trigger', 'why')).rejects.toThrow('EventBridge rejected the audit event: InternalFailure: oops');
    } finally {
      spy.mockRestore();
      eventsSpy = jest.spyOn(events, 'send');
    }
  });
});

describe('throttling', () => {
  test('a throttled SageMaker call is retried with full-jitter backoff, then served', async () => {
    const config = await newLoop();
    const deps = depsFor(config);
    const started = await runTask({ task: 'start', state: await admit(deps, 'run-a') }, deps);
    throttleNext(sagemaker, DescribePipelineExecutionCommand, 2);
    const sleeps: number[] = [];
    const logs: string[] = [];
    const state = await runTask({ task: 'pipelineStatus', state: started }, { ...deps, sleep: async ms => { sleeps.push(ms); }, log: m => logs.push(m) });
    expect(state.pipelineStatus).toBe('Succeeded');
    expect(gaps.stub.commandCalls(DescribePipelineExecutionCommand)).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeGreaterThanOrEqual(0);
    expect(sleeps[0]).toBeLessThanOrEqual(200);
    expect(sleeps[1]).toBeLessThanOrEqual(400);
    expect(logs[0]).toMatch(/^DescribePipelineExecution\(.*\) throttled \(attempt 1\), retrying in \d+ ms$/);
  });

  test('throttling that never ends fails the task', async () => {
    const config = await newLoop();
    const deps = depsFor(config);
    const started = await runTask({ task: 'start', state: await admit(deps, 'run-a') }, deps);
    throttleNext(sagemaker, DescribePipelineExecutionCommand, Infinity);
    await expect(runTask({ task: 'pipelineStatus', state: started }, { ...deps, maxAttempts: 3 }))
      .rejects.toThrow(/^DescribePipelineExecution\(.*\) was still throttled after 3 attempts: Rate exceeded$/);
    expect(gaps.stub.commandCalls(DescribePipelineExecutionCommand)).toHaveLength(3);
  });

  test('DynamoDB throttling during admit is retried', async () => {
    const config = await newLoop();
    const realSend = dynamodb.send.bind(dynamodb) as (command: unknown) => Promise<any>;
    const spy = jest.spyOn(dynamodb, 'send');
    let throttled = 0;
    spy.mockImplementation((async (command: unknown) => {
      if (throttled < 2) {
        throttled++;
        throw new DynamoDBServiceException({
          name: 'ProvisionedThroughputExceededException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'slow down',
        });
      }
      return realSend(command);
    }) as any);
    try {
      const sleeps: number[] = [];
      const state = await admit(depsFor(config, { t: T0 }, { sleep: async ms => { sleeps.push(ms); } }), 'run-a');
      expect(state.admitted).toBe(true);
      expect(sleeps).toHaveLength(2);
    } finally {
      spy.mockRestore();
    }
    expect((await loopItem(config))?.runsInPeriod).toEqual({ N: '1' });
  });
});

describe('entry points', () => {
  test('an unknown task or a malformed event throws', async () => {
    const config = await newLoop();
    await expect(runTask({ task: 'deploy', state: baseState('run-a') }, depsFor(config))).rejects.toThrow('unknown task "deploy"');
    await expect(runTask({ task: 'admit' } as any, depsFor(config))).rejects.toThrow('the event must be { task, state: { runId, startedAt');
  });

  test('handler reads the configuration from the environment, runs the task and logs a summary', async () => {
    const config = await newLoop();
    const saved = { ...process.env };
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      LOOP_NAME: LOOP,
      LOOP_TABLE: config.table,
      LOOP_AUDIT_BUCKET: BUCKET,
      LOOP_AUDIT_PREFIX: config.auditPrefix,
      LOOP_PIPELINE_NAME: config.pipelineName,
      LOOP_MODEL_PACKAGE_GROUP: config.modelPackageGroup,
      LOOP_OBJECTIVE_METRIC: AUC,
      LOOP_MIN_INTERVAL_SECONDS: '0',
    });
    delete process.env.AWS_PROFILE;
    try {
      const state = await handler({ task: 'admit', state: baseState('run-handler', scheduleEvent('2030-01-07T10:00:00Z')) });
      expect(state).toMatchObject({ admitted: true, trigger: { kind: 'schedule' } });
      const summary = log.mock.calls.map(c => String(c[0])).find(line => line.startsWith('{'));
      expect(JSON.parse(summary!)).toMatchObject({ task: 'admit', runId: runIdOf('run-handler'), admitted: true });
      expect(await readAudit(config, state, 'trigger')).toMatchObject({ decision: 'trigger' });
    } finally {
      log.mockRestore();
      process.env = saved;
    }
  });
});
