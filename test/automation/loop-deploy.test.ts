import { CloudWatchClient, DescribeAlarmsCommand, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { CreateEventBusCommand, EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand, CreateEndpointConfigCommand, CreateEndpointConfigCommandInput, CreateModelCommand, CreateModelPackageCommand,
  CreateModelPackageGroupCommand, DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeModelCommand,
  DescribeModelPackageCommand, DeploymentConfig, ListTagsCommand, SageMakerClient, SageMakerServiceException, UpdateEndpointCommand,
  UpdateEndpointCommandInput,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import {
  ALARM_NAMES_PER_CALL, DeployDeps, EndpointBusyError, LINEAGE_TAG_KEYS, MODEL_PACKAGE_TAG, PREVIOUS_CONFIG_TAG, ThrottledError,
  deployedResourceName, endpointConfigInput, handler, isAlreadyExists, modelTags, runTask,
} from '../../src/automation/loop-deploy.lambda';
import { AUDIT_EVENT_DETAIL_TYPE, AUDIT_EVENT_SOURCE, LoopConfig, RunState, auditKey } from '../../src/automation/loop-state';
import { CODE_VERSION_TAG, COMPONENT_TAG } from '../../src/core/lineage';
import { DATA_VERSION_TAG, IMAGE_TAG, MODEL_PACKAGE_TAG as LINEAGE_MODEL_PACKAGE_TAG, lineageOf } from '../../src/core/lineage-keys';
import { latestApproved } from '../../src/serving/latest-approved.lambda';
import { MotoServer, motoClientConfig, startMoto } from '../support/moto';
import {
  CommandClass, EndpointSim, Fake, RecordedCall, SageMakerGaps, recordCalls, throttleNext, throttledCalls, throttlingError,
} from '../support/sagemaker-gaps';

/**
 * The deploy handler runs against moto_server (5.2.1) through the real SDK clients: models, endpoint configs,
 * endpoints, model package groups and packages (create, describe, UpdateModelPackage approval), ListTags,
 * CloudWatch alarms (PutMetricAlarm, SetAlarmState, DescribeAlarms), S3 and EventBridge PutEvents are all moto's.
 * Every call is recorded by an SDK middleware (no mock involved) so tests can count what was created.
 *
 * What moto cannot do is layered on the handler's SageMaker client by test/support/sagemaker-gaps.ts (every other
 * SageMaker command passes through to moto unchanged): UpdateEndpoint (not implemented in moto) moves a simulated
 * deployment (`w.sim`, `w.updates`), overlaid on moto's DescribeEndpoint with PendingDeploymentSummary, FailureReason
 * and LastDeploymentConfig; UpdateModelPackage keeps CustomerMetadataProperties; throttling (`throttleNext`, also on
 * the CloudWatch client). Specific to these tests (`w.fake`):
 *   - DescribeModel of the serving model: moto always answers EnableNetworkIsolation false (it drops the
 *     CreateModel field), so the current model's answer is overlaid with EnableNetworkIsolation true to show
 *     the flag is copied (checked on the recorded CreateModel input, since moto drops it again).
 *   - CreateModel "Cannot create already existing model": moto silently overwrites an existing model, so the
 *     race where a concurrent attempt created it first is a mocked ValidationException.
 *   - A transient or "in-progress" UpdateEndpoint failure: moto never fails transiently.
 *   - EventBridge PutEvents answering FailedEntryCount 1 (aws-sdk-client-mock on the events client): moto accepts
 *     every entry sent to an existing bus.
 */
let moto: MotoServer;
let counter = 0;

beforeAll(async () => { moto = await startMoto(); });
afterAll(async () => { await moto?.stop(); });

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/sagemaker-execution`;
const IMAGE = '763104351884.dkr.ecr.us-east-1.amazonaws.com/xgboost-inference:1.7-1';
const KMS = `arn:aws:kms:us-east-1:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`;
const VPC = { SecurityGroupIds: ['sg-0123456789abcdef0'], Subnets: ['subnet-aaaa1111', 'subnet-bbbb2222'] };
const STARTED = '2026-11-30T10:00:00.000Z';
const NOW = new Date('2026-11-30T12:00:00.000Z');
const BAKE_SECONDS = 1800;
const LAST_DEPLOYMENT: DeploymentConfig = {
  BlueGreenUpdatePolicy: {
    TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 }, WaitIntervalInSeconds: 600 },
    TerminationWaitInSeconds: 600,
    MaximumExecutionTimeoutInSeconds: 3600,
  },
  AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'churn-primary-5xx' }, { AlarmName: 'churn-primary-p99' }] },
};

function validation(message: string): Error {
  return new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message });
}

interface World {
  readonly admin: SageMakerClient;
  readonly sagemaker: SageMakerClient;
  readonly s3: S3Client;
  readonly cloudwatch: CloudWatchClient;
  readonly events: EventBridgeClient;
  readonly gaps: SageMakerGaps;
  readonly sim: EndpointSim;
  readonly calls: RecordedCall[];
  readonly cwCalls: RecordedCall[];
  readonly eventCalls: RecordedCall[];
  readonly updates: UpdateEndpointCommandInput[];
  readonly logs: string[];
  readonly sleeps: number[];
  readonly config: LoopConfig;
  readonly endpointName: string;
  readonly oldConfig: string;
  readonly oldModel: string;
  readonly group: string;
  readonly previousArn: string;
  readonly challengerArn: string;
  readonly bucket: string;
  readonly alarms: string[];
  readonly state: RunState;
  deps(extra?: Partial<DeployDeps>): DeployDeps;
  /** Replaces how the handler's SageMaker client answers `command` (`real` sends it to moto). */
  fake(command: CommandClass, fn: Fake): void;
}

/** An endpoint on two variants of one model (role, VPC, lineage tags), data capture and KMS; two approved packages; alarms; audit bucket and bus. */
async function world(configOverrides: Partial<LoopConfig> = {}, endpointPrefix = 'churn-endpoint'): Promise<World> {
  const n = ++counter;
  const cfg = motoClientConfig(moto.endpoint);
  const admin = new SageMakerClient(cfg);
  const sagemaker = new SageMakerClient(cfg);
  const s3 = new S3Client({ ...cfg, forcePathStyle: true });
  const cloudwatch = new CloudWatchClient(cfg);
  const events = new EventBridgeClient(cfg);

  const group = `churn-models-${n}`;
  await admin.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: group }));
  const pkg = async (version: string) => (await admin.send(new CreateModelPackageCommand({
    ModelPackageGroupName: group,
    ModelApprovalStatus: 'Approved',
    InferenceSpecification: {
      Containers: [{ Image: IMAGE, ModelDataUrl: `s3://models/${group}/${version}/model.tar.gz` }],
      SupportedContentTypes: ['text/csv'],
      SupportedResponseMIMETypes: ['text/csv'],
    },
    // What GpuTrainingPipeline records: the training data's manifest digest (the data version).
    CustomerMetadataProperties: { dataset_manifest_sha256: `manifest-${version}` },
  }))).ModelPackageArn!;
  const previousArn = await pkg('v1');
  const challengerArn = await pkg('v2');

  const oldModel = `churn-model-${n}`;
  await admin.send(new CreateModelCommand({
    ModelName: oldModel,
    ExecutionRoleArn: ROLE,
    PrimaryContainer: { ModelPackageName: previousArn },
    VpcConfig: VPC,
    EnableNetworkIsolation: true,
    Tags: [
      { Key: COMPONENT_TAG, Value: 'model-endpoint' },
      { Key: CODE_VERSION_TAG, Value: 'git-abc1234' },
      { Key: 'owner', Value: 'team-churn' },
    ],
  }));
  const oldConfig = `churn-config-${n}`;
  await admin.send(new CreateEndpointConfigCommand({
    EndpointConfigName: oldConfig,
    ProductionVariants: [
      { VariantName: 'primary', ModelName: oldModel, InstanceType: 'ml.m5.large', InitialInstanceCount: 2, InitialVariantWeight: 0.9 },
      { VariantName: 'variant2', ModelName: oldModel, InstanceType: 'ml.m5.xlarge', InitialInstanceCount: 1, InitialVariantWeight: 0.1 },
    ],
    DataCaptureConfig: {
      EnableCapture: true,
      InitialSamplingPercentage: 50,
      DestinationS3Uri: 's3://monitoring/capture',
      KmsKeyId: KMS,
      CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
      CaptureContentTypeHeader: { JsonContentTypes: ['application/json'], CsvContentTypes: ['text/csv'] },
    },
    KmsKeyId: KMS,
  }));
  const endpointName = `${endpointPrefix}-${n}`;
  await admin.send(new CreateEndpointCommand({ EndpointName: endpointName, EndpointConfigName: oldConfig }));

  const alarms = [`${endpointName}-primary-5xx`, `${endpointName}-primary-p99`];
  for (const alarm of alarms) {
    await cloudwatch.send(new PutMetricAlarmCommand({
      AlarmName: alarm,
      Namespace: 'AWS/SageMaker',
      MetricName: 'Invocation5XXErrors',
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [{ Name: 'EndpointName', Value: endpointName }],
    }));
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: alarm, StateValue: 'OK', StateReason: 'test' }));
  }

  const bucket = `audit-${n}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const bus = `ml-audit-${n}`;
  await events.send(new CreateEventBusCommand({ Name: bus }));

  const config: LoopConfig = {
    loopName: 'ChurnStack/ContinuousTraining',
    table: 'loop-table',
    auditBucket: bucket,
    auditPrefix: 'audit/',
    eventBus: bus,
    pipelineName: 'churn-pipeline',
    modelPackageGroup: group,
    objectiveMetric: 'validation:auc',
    objectiveDirection: 'Maximize',
    minImprovement: 0,
    minIntervalSeconds: 0,
    maxRunsPerPeriod: 4,
    budgetPeriodSeconds: 86400,
    lockTtlSeconds: 86400,
    approval: 'automatic',
    codeVersion: 'git-abc1234',
    endpointName,
    rollbackAlarms: alarms,
    bakeSeconds: BAKE_SECONDS,
    ...configOverrides,
  };

  const calls = recordCalls(sagemaker);
  const cwCalls = recordCalls(cloudwatch);
  const eventCalls = recordCalls(events);
  const gaps = new SageMakerGaps(sagemaker, { now: () => NOW });
  const sim = gaps.endpoint(endpointName);
  const updates = gaps.updates;
  const fake = (command: CommandClass, fn: Fake) => gaps.fake(command, fn);
  fake(DescribeModelCommand, async (input, real) => {
    const answer = await real(input);
    return input.ModelName === oldModel ? { ...answer, EnableNetworkIsolation: true } : answer;
  });

  const logs: string[] = [];
  const sleeps: number[] = [];
  const state: RunState = {
    runId: `arn:aws:states:us-east-1:${ACCOUNT}:execution:churn-loop:run-${n}`,
    startedAt: STARTED,
    trigger: { kind: 'drift', dedupeKey: `drift-${n}`, reason: 'alarm churn-drift in ALARM', dataVersion: 's3://lake/curated/v7', codeVersion: 'git-def5678' },
    admitted: true,
    pipelineExecutionArn: `arn:aws:sagemaker:us-east-1:${ACCOUNT}:pipeline/churn-pipeline/execution/exec-${n}`,
    challengerPackageArn: challengerArn,
    championPackageArn: previousArn,
    challengerValue: '0.91',
    championValue: '0.88',
    decision: 'approved',
    reason: 'challenger beats champion',
  };
  return {
    admin,
    sagemaker,
    s3,
    cloudwatch,
    events,
    gaps,
    sim,
    calls,
    cwCalls,
    eventCalls,
    updates,
    logs,
    sleeps,
    config,
    endpointName,
    oldConfig,
    oldModel,
    group,
    previousArn,
    challengerArn,
    bucket,
    alarms,
    state,
    fake,
    deps: (extra = {}) => ({
      config,
      sagemaker,
      s3,
      cloudwatch,
      events,
      now: () => NOW,
      sleep: async (ms: number) => { sleeps.push(ms); },
      log: (m: string) => { logs.push(m); },
      ...extra,
    }),
  };
}

const count = (calls: RecordedCall[], command: string) => calls.filter(c => c.command === command).length;

async function readJson(s3: S3Client, bucket: string, key: string): Promise<any> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await got.Body!.transformToString('utf-8'));
}

async function tagsOf(client: SageMakerClient, arn: string): Promise<Record<string, string>> {
  const answer = await client.send(new ListTagsCommand({ ResourceArn: arn }));
  return Object.fromEntries((answer.Tags ?? []).map(t => [t.Key!, t.Value!]));
}

/** promote, then the simulated deployment finishes on the new config. */
async function promoted(w: World): Promise<RunState> {
  w.sim.last = LAST_DEPLOYMENT;
  const state = await runTask({ task: 'promote', state: w.state }, w.deps());
  w.sim.config = w.sim.pending;
  w.sim.pending = undefined;
  w.sim.status = 'InService';
  return state;
}

describe('names', () => {
  const run = 'arn:aws:states:us-east-1:123456789012:execution:churn-loop:run-1';
  const pkg = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/7';
  const pattern = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/;

  test('endpoint name plus the first 12 hex digits of sha256(runId + package), deterministic', () => {
    const name = deployedResourceName('churn-endpoint', run, pkg);
    expect(name).toMatch(/^churn-endpoint-[0-9a-f]{12}$/);
    expect(deployedResourceName('churn-endpoint', run, pkg)).toBe(name);
    expect(deployedResourceName('churn-endpoint', `${run}x`, pkg)).not.toBe(name);
    expect(deployedResourceName('churn-endpoint', run, `${pkg}0`)).not.toBe(name);
  });

  test.each([
    ['a 63-character endpoint name', 'e'.repeat(63)],
    ['a name whose truncation ends in hyphens', `${'a'.repeat(49)}--------bbbbbbbb`],
    ['invalid characters', '_churn.endpoint/v2_'],
    ['nothing usable', '---'],
  ])('%s gives at most 63 characters matching the SageMaker pattern', (_label, endpoint) => {
    const name = deployedResourceName(endpoint, run, pkg);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(pattern);
    expect(deployedResourceName(endpoint, run, pkg)).toBe(name);
  });

  test('the lineage tag keys are core/lineage.ts\'s', () => {
    expect(LINEAGE_TAG_KEYS).toEqual([COMPONENT_TAG, CODE_VERSION_TAG]);
    expect(modelTags([{ Key: 'owner', Value: 'x' }, { Key: CODE_VERSION_TAG, Value: 'v1' }], pkg))
      .toEqual([{ Key: CODE_VERSION_TAG, Value: 'v1' }, { Key: MODEL_PACKAGE_TAG, Value: pkg }]);
  });

  test('a promoted model carries the new package\'s own lineage: image, data version and package', () => {
    const lineage = lineageOf(pkg, {
      InferenceSpecification: { Containers: [{ Image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud@sha256:abc' }] },
      CustomerMetadataProperties: { dataset_manifest_sha256: 'f00d' },
    });
    expect(modelTags([{ Key: IMAGE_TAG, Value: 'old-image' }, { Key: CODE_VERSION_TAG, Value: 'v1' }], pkg, lineage)).toEqual([
      { Key: CODE_VERSION_TAG, Value: 'v1' },
      { Key: MODEL_PACKAGE_TAG, Value: pkg },
      { Key: IMAGE_TAG, Value: '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud@sha256:abc' },
      { Key: DATA_VERSION_TAG, Value: 'f00d' },
      { Key: LINEAGE_MODEL_PACKAGE_TAG, Value: pkg },
    ]);
  });

  test('isAlreadyExists recognises SageMaker\'s answer only', () => {
    expect(isAlreadyExists(validation('Cannot create already existing model "arn:aws:sagemaker:us-east-1:1:model/m".'))).toBe(true);
    expect(isAlreadyExists(validation('Could not find model'))).toBe(false);
    expect(isAlreadyExists(throttlingError())).toBe(false);
  });
});

describe('endpointConfigInput', () => {
  test('copies every variant field, async/explainer/capture/KMS, replaces models, drops shadow variants and absent fields', () => {
    const input = endpointConfigInput({
      $metadata: {},
      EndpointConfigName: 'old',
      EndpointConfigArn: 'arn:old',
      CreationTime: NOW,
      ProductionVariants: [
        {
          VariantName: 'a',
          ModelName: 'm-old',
          InstanceType: 'ml.g5.xlarge',
          InitialInstanceCount: 2,
          ContainerStartupHealthCheckTimeoutInSeconds: 600,
          RoutingConfig: { RoutingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
          ManagedInstanceScaling: { Status: 'ENABLED', MinInstanceCount: 1, MaxInstanceCount: 4 },
        },
        { VariantName: 'b', ModelName: 'm-other', ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 } },
      ],
      ShadowProductionVariants: [{ VariantName: 'shadow', ModelName: 'm-old', InstanceType: 'ml.m5.large', InitialInstanceCount: 1 }],
      AsyncInferenceConfig: { OutputConfig: { S3OutputPath: 's3://m/async/output', KmsKeyId: KMS } },
      ExplainerConfig: { ClarifyExplainerConfig: { ShapConfig: { ShapBaselineConfig: { MimeType: 'text/csv', ShapBaseline: '1,2' } } } },
      KmsKeyId: KMS,
      VpcConfig: {} as any,
    }, 'new-name', 'm-new', [{ Key: 'k', Value: 'v' }]);
    expect(input).toEqual({
      EndpointConfigName: 'new-name',
      ProductionVariants: [
        {
          VariantName: 'a',
          ModelName: 'm-new',
          InstanceType: 'ml.g5.xlarge',
          InitialInstanceCount: 2,
          ContainerStartupHealthCheckTimeoutInSeconds: 600,
          RoutingConfig: { RoutingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
          ManagedInstanceScaling: { Status: 'ENABLED', MinInstanceCount: 1, MaxInstanceCount: 4 },
        },
        { VariantName: 'b', ModelName: 'm-new', ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 } },
      ],
      AsyncInferenceConfig: { OutputConfig: { S3OutputPath: 's3://m/async/output', KmsKeyId: KMS } },
      ExplainerConfig: { ClarifyExplainerConfig: { ShapConfig: { ShapBaselineConfig: { MimeType: 'text/csv', ShapBaseline: '1,2' } } } },
      KmsKeyId: KMS,
      Tags: [{ Key: 'k', Value: 'v' }],
    } satisfies CreateEndpointConfigCommandInput);
  });
});

describe('promote', () => {
  test('creates a model from the package and a config copying the current one, and updates the endpoint with its last deployment config', async () => {
    const w = await world();
    w.sim.last = LAST_DEPLOYMENT;
    const state = await runTask({ task: 'promote', state: w.state }, w.deps());
    const name = deployedResourceName(w.endpointName, w.state.runId, w.challengerArn);
    expect(state).toEqual({ ...w.state, previousEndpointConfig: w.oldConfig, newEndpointConfig: name, deploymentStatus: 'deploying' });

    // The model, as moto stored it: from the package, with the copied role and VPC.
    const model = await w.admin.send(new DescribeModelCommand({ ModelName: name }));
    expect(model).toMatchObject({ ModelName: name, ExecutionRoleArn: ROLE, Containers: [{ ModelPackageName: w.challengerArn }], VpcConfig: VPC });
    // moto drops EnableNetworkIsolation: the request shows it was copied.
    const createModel = w.calls.filter(c => c.command === 'CreateModelCommand');
    expect(createModel).toHaveLength(1);
    expect(createModel[0].input).toMatchObject({ EnableNetworkIsolation: true, VpcConfig: VPC, ExecutionRoleArn: ROLE });
    // The platform's tags are kept; image, data version and package are the challenger's own.
    expect(await tagsOf(w.admin, model.ModelArn!)).toEqual({
      [COMPONENT_TAG]: 'model-endpoint',
      [CODE_VERSION_TAG]: 'git-abc1234',
      [MODEL_PACKAGE_TAG]: w.challengerArn,
      [IMAGE_TAG]: IMAGE,
      [DATA_VERSION_TAG]: 'manifest-v2',
      [LINEAGE_MODEL_PACKAGE_TAG]: w.challengerArn,
    });

    // The config: every variant and the capture/KMS settings of the old one, serving the new model.
    const oldConfig = await w.admin.send(new DescribeEndpointConfigCommand({ EndpointConfigName: w.oldConfig }));
    const newConfig = await w.admin.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name }));
    expect(newConfig.ProductionVariants).toEqual(oldConfig.ProductionVariants!.map(v => ({ ...v, ModelName: name })));
    expect(newConfig.ProductionVariants).toHaveLength(2);
    expect(newConfig.DataCaptureConfig).toEqual(oldConfig.DataCaptureConfig);
    expect(newConfig.DataCaptureConfig).toMatchObject({ EnableCapture: true, InitialSamplingPercentage: 50, KmsKeyId: KMS });
    expect(newConfig.KmsKeyId).toBe(KMS);
    expect(await tagsOf(w.admin, newConfig.EndpointConfigArn!)).toMatchObject({
      [PREVIOUS_CONFIG_TAG]: w.oldConfig,
      [MODEL_PACKAGE_TAG]: w.challengerArn,
      [IMAGE_TAG]: IMAGE,
      [DATA_VERSION_TAG]: 'manifest-v2',
    });

    expect(w.updates).toEqual([{
      EndpointName: w.endpointName,
      EndpointConfigName: name,
      RetainAllVariantProperties: true,
      DeploymentConfig: LAST_DEPLOYMENT,
    }]);
    expect(name.length).toBeLessThanOrEqual(63);
  });

  test('the audit record is in S3 with the lineage fields, and on the bus', async () => {
    const w = await world();
    const state = await runTask({ task: 'promote', state: w.state }, w.deps());
    const key = auditKey('audit/', w.state.runId, STARTED, 'promote');
    expect(key).toBe(`audit/2026/11/30/${w.state.runId.split(':').pop()}/promote.json`);
    const record = await readJson(w.s3, w.bucket, key);
    expect(record).toEqual({
      format: 'cdk-ml-platform/audit',
      version: 1,
      loop: 'ChurnStack/ContinuousTraining',
      runId: w.state.runId,
      decision: 'promote',
      reason: `promoted model package ${w.challengerArn} to endpoint ${w.endpointName}: endpoint config ${state.newEndpointConfig} replaces ${w.oldConfig}`,
      at: NOW.toISOString(),
      trigger: w.state.trigger,
      pipelineExecutionArn: w.state.pipelineExecutionArn,
      challengerPackageArn: w.challengerArn,
      championPackageArn: w.previousArn,
      dataVersion: 's3://lake/curated/v7',
      codeVersion: 'git-def5678',
      endpointName: w.endpointName,
      endpointConfig: state.newEndpointConfig,
    });
    const puts = w.eventCalls.filter(c => c.command === 'PutEventsCommand');
    expect(puts).toHaveLength(1);
    expect(puts[0].input.Entries).toEqual([{
      EventBusName: w.config.eventBus,
      Source: AUDIT_EVENT_SOURCE,
      DetailType: AUDIT_EVENT_DETAIL_TYPE,
      Detail: JSON.stringify(record),
    }]);
  });

  test('an audit event EventBridge does not accept fails the task (moto: missing bus; mocked: a failed entry)', async () => {
    const w = await world();
    await expect(runTask({ task: 'promote', state: w.state }, w.deps({ config: { ...w.config, eventBus: 'no-such-bus' } })))
      .rejects.toThrow('Event bus no-such-bus does not exist');
    const events = mockClient(w.events);
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] });
    await expect(runTask({ task: 'promote', state: w.state }, w.deps()))
      .rejects.toThrow(`PutEvents of the 'promote' audit event to bus ${w.config.eventBus} failed: InternalFailure try again`);
    // A throttled entry is retried like a throttled call.
    events.reset();
    events.on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    const sleeps = w.sleeps.length;
    expect((await runTask({ task: 'promote', state: w.state }, w.deps())).deploymentStatus).toBe('deploying');
    expect(w.sleeps.length).toBe(sleeps + 1);
    events.restore();
  });

  test('without a LastDeploymentConfig the update carries no DeploymentConfig', async () => {
    const w = await world();
    await runTask({ task: 'promote', state: w.state }, w.deps());
    expect(w.updates).toHaveLength(1);
    expect(w.updates[0].DeploymentConfig).toBeUndefined();
  });

  test('a retried promote (same input) creates nothing twice and does not update the endpoint again', async () => {
    const w = await world();
    w.sim.last = LAST_DEPLOYMENT;
    const first = await runTask({ task: 'promote', state: w.state }, w.deps());
    // Still deploying: the new config is pending.
    const second = await runTask({ task: 'promote', state: w.state }, w.deps());
    expect(second).toEqual(first);
    // Deployment finished: the new config is current; the input has no previousEndpointConfig, the tag has it.
    w.sim.config = w.sim.pending;
    w.sim.pending = undefined;
    w.sim.status = 'InService';
    const third = await runTask({ task: 'promote', state: w.state }, w.deps());
    expect(third).toEqual(first);
    expect(count(w.calls, 'CreateModelCommand')).toBe(1);
    expect(count(w.calls, 'CreateEndpointConfigCommand')).toBe(1);
    expect(w.updates).toHaveLength(1);
    const keys = await w.s3.send(new ListObjectsV2Command({ Bucket: w.bucket }));
    expect(keys.Contents?.map(o => o.Key)).toEqual([auditKey('audit/', w.state.runId, STARTED, 'promote')]);
  });

  test('a retry after a failed UpdateEndpoint reuses the model and config and updates once more', async () => {
    const w = await world();
    let failures = 0;
    w.fake(UpdateEndpointCommand, async (input: UpdateEndpointCommandInput, next) => {
      if (failures++ === 0) { throw new SageMakerServiceException({ name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: 'boom' }); }
      return next(input);
    });
    await expect(runTask({ task: 'promote', state: w.state }, w.deps())).rejects.toThrow('boom');
    const state = await runTask({ task: 'promote', state: w.state }, w.deps());
    expect(state.deploymentStatus).toBe('deploying');
    expect(count(w.calls, 'CreateModelCommand')).toBe(1);
    expect(count(w.calls, 'CreateEndpointConfigCommand')).toBe(1);
    expect(w.updates).toEqual([expect.objectContaining({ EndpointConfigName: state.newEndpointConfig })]);
    expect(w.logs).toEqual(expect.arrayContaining([`Model ${state.newEndpointConfig} exists already (an earlier attempt of this run)`]));
  });

  test('a model created concurrently ("Cannot create already existing model") is fine', async () => {
    const w = await world();
    w.fake(CreateModelCommand, async (input, real) => {
      await real(input);
      throw validation(`Cannot create already existing model "arn:aws:sagemaker:us-east-1:${ACCOUNT}:model/${input.ModelName}".`);
    });
    const state = await runTask({ task: 'promote', state: w.state }, w.deps());
    expect(state.deploymentStatus).toBe('deploying');
    expect(w.updates).toHaveLength(1);
    expect(w.logs).toEqual(expect.arrayContaining([expect.stringMatching(/^Model .* exists already \(Cannot create already existing model/)]));
  });

  test('variants serving different models all get the new model; the first one\'s settings are copied', async () => {
    const w = await world();
    const other = `${w.oldModel}-other`;
    await w.admin.send(new CreateModelCommand({ ModelName: other, ExecutionRoleArn: 'arn:aws:iam::123456789012:role/other', PrimaryContainer: { Image: IMAGE } }));
    const mixed = `${w.oldConfig}-mixed`;
    await w.admin.send(new CreateEndpointConfigCommand({
      EndpointConfigName: mixed,
      ProductionVariants: [
        { VariantName: 'primary', ModelName: w.oldModel, InstanceType: 'ml.m5.large', InitialInstanceCount: 2 },
        { VariantName: 'challenger', ModelName: other, InstanceType: 'ml.m5.large', InitialInstanceCount: 1 },
      ],
    }));
    w.sim.config = mixed;
    const state = await runTask({ task: 'promote', state: w.state }, w.deps());
    const created = await w.admin.send(new DescribeEndpointConfigCommand({ EndpointConfigName: state.newEndpointConfig }));
    expect(created.ProductionVariants!.map(v => v.ModelName)).toEqual([state.newEndpointConfig, state.newEndpointConfig]);
    expect((await w.admin.send(new DescribeModelCommand({ ModelName: state.newEndpointConfig }))).ExecutionRoleArn).toBe(ROLE);
    expect(w.logs).toContain(`Endpoint config ${mixed} serves 2 models (${w.oldModel}, ${other}); all variants get the new model, ` +
      `copying role, VPC and isolation from ${w.oldModel}`);
  });

  test('keeps an already-set previousEndpointConfig', async () => {
    const w = await world();
    const state = await runTask({ task: 'promote', state: { ...w.state, previousEndpointConfig: 'config-from-first-attempt' } }, w.deps());
    expect(state.previousEndpointConfig).toBe('config-from-first-attempt');
  });

  test.each([
    ['Updating by someone else', { status: 'Updating' as const, pending: 'someone-elses-config' }],
    ['SystemUpdating', { status: 'SystemUpdating' as const }],
    ['InService with another deployment pending', { pending: 'someone-elses-config' }],
  ])('a busy endpoint (%s) fails with EndpointBusyError and creates nothing', async (_label, sim) => {
    const w = await world();
    Object.assign(w.sim, sim);
    const failure = runTask({ task: 'promote', state: w.state }, w.deps());
    await expect(failure).rejects.toBeInstanceOf(EndpointBusyError);
    await expect(failure).rejects.toMatchObject({ name: 'EndpointBusyError', message: expect.stringMatching(new RegExp(`^SageMaker endpoint ${w.endpointName} is `)) });
    expect(count(w.calls, 'CreateModelCommand')).toBe(0);
    expect(w.updates).toHaveLength(0);
  });

  test('an endpoint that will not recover by itself (Failed) fails with a plain error, not EndpointBusyError', async () => {
    const w = await world();
    Object.assign(w.sim, { status: 'Failed', failure: 'Capacity error' });
    const failure = runTask({ task: 'promote', state: w.state }, w.deps());
    await expect(failure).rejects.toThrow(`SageMaker endpoint ${w.endpointName} is Failed on ${w.oldConfig} (FailureReason: Capacity error); cannot promote to it`);
    await expect(failure).rejects.not.toBeInstanceOf(EndpointBusyError);
  });

  test('UpdateEndpoint refused because an update is in progress becomes EndpointBusyError', async () => {
    const w = await world();
    w.fake(UpdateEndpointCommand, async () => { throw validation(`Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:${ACCOUNT}:endpoint/x".`); });
    await expect(runTask({ task: 'promote', state: w.state }, w.deps())).rejects.toThrow(EndpointBusyError);
  });

  test('a missing endpoint, package or endpoint name fails clearly', async () => {
    const w = await world();
    await expect(runTask({ task: 'promote', state: w.state }, w.deps({ config: { ...w.config, endpointName: 'no-such-endpoint' } })))
      .rejects.toThrow(/^SageMaker endpoint no-such-endpoint does not exist \(Could not find endpoint/);
    await expect(runTask({ task: 'promote', state: { ...w.state, challengerPackageArn: undefined } }, w.deps()))
      .rejects.toThrow('Task promote needs state.challengerPackageArn, which is not set');
    for (const task of ['promote', 'deploymentStatus', 'checkAlarms', 'rollback']) {
      await expect(runTask({ task, state: w.state }, w.deps({ config: { ...w.config, endpointName: undefined } })))
        .rejects.toThrow(`Task ${task} needs the endpoint to promote to, but LOOP_ENDPOINT_NAME is not set`);
    }
  });

  test('a long endpoint name still gives a valid name of at most 63 characters', async () => {
    const w = await world({}, `churn-${'x'.repeat(50)}`);
    const state = await runTask({ task: 'promote', state: w.state }, w.deps());
    expect(state.newEndpointConfig!.length).toBeLessThanOrEqual(63);
    expect(state.newEndpointConfig).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/);
    expect(w.updates[0].EndpointConfigName).toBe(state.newEndpointConfig);
  });
});

describe('deploymentStatus', () => {
  test('InService on the new config: in-service, bake period set (kept on repeat), audit deployed', async () => {
    const w = await world();
    const state = await promoted(w);
    const status = await runTask({ task: 'deploymentStatus', state }, w.deps());
    const bakeUntil = new Date(NOW.getTime() + BAKE_SECONDS * 1000).toISOString();
    expect(status).toEqual({ ...state, deploymentStatus: 'in-service', bakeUntil });
    const later = await runTask({ task: 'deploymentStatus', state: status }, w.deps({ now: () => new Date(NOW.getTime() + 60_000) }));
    expect(later.bakeUntil).toBe(bakeUntil);
    const record = await readJson(w.s3, w.bucket, auditKey('audit/', w.state.runId, STARTED, 'deployed'));
    expect(record).toMatchObject({ decision: 'deployed', endpointConfig: state.newEndpointConfig, challengerPackageArn: w.challengerArn });
    expect(record.reason).toContain(`baking until ${bakeUntil}`);
  });

  test('InService with the new config pending: deploying', async () => {
    const w = await world();
    const state = await runTask({ task: 'promote', state: w.state }, w.deps());
    w.sim.status = 'InService';
    expect(await runTask({ task: 'deploymentStatus', state }, w.deps())).toEqual({ ...state, deploymentStatus: 'deploying' });
  });

  test.each(['Creating', 'Updating', 'SystemUpdating', 'RollingBack'] as const)('%s: deploying, no audit', async status => {
    const w = await world();
    const state = await runTask({ task: 'promote', state: w.state }, w.deps());
    w.sim.status = status;
    expect(await runTask({ task: 'deploymentStatus', state }, w.deps())).toEqual({ ...state, deploymentStatus: 'deploying' });
    expect(count(w.eventCalls, 'PutEventsCommand')).toBe(1); // promote's only
  });

  test('SageMaker\'s silent rollback (InService on the previous config, nothing pending): rolled-back, challenger Rejected', async () => {
    const w = await world();
    const state = await runTask({ task: 'promote', state: w.state }, w.deps());
    w.sim.pending = undefined;
    w.sim.status = 'InService';
    w.sim.failure = 'Alarm churn-primary-5xx in ALARM during the canary';
    const status = await runTask({ task: 'deploymentStatus', state }, w.deps());
    expect(status).toEqual({ ...state, deploymentStatus: 'rolled-back', rolledBack: true });
    const pkg = await w.admin.send(new DescribeModelPackageCommand({ ModelPackageName: w.challengerArn }));
    expect(pkg.ModelApprovalStatus).toBe('Rejected');
    expect(pkg.ApprovalDescription).toContain('FailureReason: Alarm churn-primary-5xx in ALARM during the canary');
    // The previous version is again the newest approved one.
    expect(await latestApproved(w.group, w.admin)).toBe(w.previousArn);
    const record = await readJson(w.s3, w.bucket, auditKey('audit/', w.state.runId, STARTED, 'rollback'));
    expect(record.reason).toMatch(/^rolled back by SageMaker deployment guardrails: .*FailureReason: Alarm churn-primary-5xx in ALARM during the canary/);
    expect(record.endpointConfig).toBe(w.oldConfig);
    // Repeated: the package is not updated again.
    await runTask({ task: 'deploymentStatus', state }, w.deps());
    expect(count(w.calls, 'UpdateModelPackageCommand')).toBe(1);
  });

  test.each(['Failed', 'UpdateRollbackFailed', 'OutOfService'] as const)('%s: failed, challenger rejected, audit failed with the reason', async status => {
    const w = await world();
    const state = await runTask({ task: 'promote', state: w.state }, w.deps());
    w.sim.status = status;
    w.sim.failure = 'Image cannot be pulled';
    expect(await runTask({ task: 'deploymentStatus', state }, w.deps())).toEqual({ ...state, deploymentStatus: 'failed' });
    const record = await readJson(w.s3, w.bucket, auditKey('audit/', w.state.runId, STARTED, 'failed'));
    expect(record.reason).toBe(`endpoint ${w.endpointName} is ${status} on endpoint config ${w.oldConfig} (desired ${state.newEndpointConfig}): ` +
      'FailureReason: Image cannot be pulled');
    // a challenger that broke the endpoint must not stay the newest approved version
    expect((await w.admin.send(new DescribeModelPackageCommand({ ModelPackageName: w.challengerArn }))).ModelApprovalStatus).toBe('Rejected');
  });

  test('InService on a third config: failed (superseded)', async () => {
    const w = await world();
    const state = await runTask({ task: 'promote', state: w.state }, w.deps());
    Object.assign(w.sim, { status: 'InService', pending: undefined, config: 'someone-elses-config' });
    expect((await runTask({ task: 'deploymentStatus', state }, w.deps())).deploymentStatus).toBe('failed');
    const record = await readJson(w.s3, w.bucket, auditKey('audit/', w.state.runId, STARTED, 'failed'));
    expect(record.reason).toContain('another deployment superseded this one');
  });
});

describe('checkAlarms', () => {
  const baking = (w: World, bakeUntil: string): RunState => ({
    ...w.state, previousEndpointConfig: w.oldConfig, newEndpointConfig: 'x', deploymentStatus: 'in-service', bakeUntil,
  });
  const later = new Date(NOW.getTime() + 600_000).toISOString();

  test('an alarm in ALARM (SetAlarmState in moto) is reported', async () => {
    const w = await world();
    await w.cloudwatch.send(new SetAlarmStateCommand({ AlarmName: w.alarms[1], StateValue: 'ALARM', StateReason: 'p99 over 1 s' }));
    const state = await runTask({ task: 'checkAlarms', state: baking(w, later) }, w.deps());
    expect(state).toMatchObject({ alarm: w.alarms[1], bakeDone: false });
  });

  test('no alarm, bake period not over: bakeDone false', async () => {
    const w = await world();
    const state = await runTask({ task: 'checkAlarms', state: baking(w, later) }, w.deps());
    expect(state.bakeDone).toBe(false);
    expect(state.alarm).toBeUndefined();
  });

  test('no alarm, bake period over: bakeDone true', async () => {
    const w = await world();
    expect((await runTask({ task: 'checkAlarms', state: baking(w, NOW.toISOString()) }, w.deps())).bakeDone).toBe(true);
  });

  test('no alarms configured: done when the period passed, and DescribeAlarms is not called', async () => {
    const w = await world({ rollbackAlarms: [] });
    expect((await runTask({ task: 'checkAlarms', state: baking(w, later) }, w.deps())).bakeDone).toBe(false);
    expect((await runTask({ task: 'checkAlarms', state: baking(w, NOW.toISOString()) }, w.deps())).bakeDone).toBe(true);
    expect(count(w.cwCalls, 'DescribeAlarmsCommand')).toBe(0);
  });

  test('more than 100 alarm names are asked in chunks of 100; unknown names are logged', async () => {
    const w = await world();
    const names = Array.from({ length: 130 }, (_, i) => `${w.endpointName}-extra-${i}`);
    for (const name of names.slice(0, 125)) {
      await w.cloudwatch.send(new PutMetricAlarmCommand({
        AlarmName: name,
        Namespace: 'AWS/SageMaker',
        MetricName: 'ModelLatency',
        Statistic: 'Average',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanThreshold',
      }));
    }
    await w.cloudwatch.send(new SetAlarmStateCommand({ AlarmName: names[120], StateValue: 'ALARM', StateReason: 'test' }));
    const state = await runTask({ task: 'checkAlarms', state: baking(w, later) }, w.deps({ config: { ...w.config, rollbackAlarms: names } }));
    expect(state.alarm).toBe(names[120]);
    const describes = w.cwCalls.filter(c => c.command === 'DescribeAlarmsCommand');
    expect(describes.map(c => c.input.AlarmNames.length)).toEqual([ALARM_NAMES_PER_CALL, 30]);
    expect(w.logs).toContain(`Rollback alarm(s) not found, not watched: ${names.slice(125).join(', ')}`);
  });

  test('checkAlarms without bakeUntil fails clearly', async () => {
    const w = await world();
    await expect(runTask({ task: 'checkAlarms', state: w.state }, w.deps())).rejects.toThrow('Task checkAlarms needs state.bakeUntil');
  });
});

describe('rollback', () => {
  test('restores the previous config without a deployment config and rejects the challenger; idempotent on retry', async () => {
    const w = await world();
    const deployed = await runTask({ task: 'deploymentStatus', state: await promoted(w) }, w.deps());
    await w.cloudwatch.send(new SetAlarmStateCommand({ AlarmName: w.alarms[0], StateValue: 'ALARM', StateReason: '5xx errors' }));
    const alarmed = await runTask({ task: 'checkAlarms', state: deployed }, w.deps());
    expect(alarmed.alarm).toBe(w.alarms[0]);
    expect(w.updates).toHaveLength(1);

    const state = await runTask({ task: 'rollback', state: alarmed }, w.deps());
    expect(state).toEqual({ ...alarmed, rolledBack: true, deploymentStatus: 'rolled-back' });
    expect(w.updates[1]).toEqual({ EndpointName: w.endpointName, EndpointConfigName: w.oldConfig, RetainAllVariantProperties: true });
    const pkg = await w.admin.send(new DescribeModelPackageCommand({ ModelPackageName: w.challengerArn }));
    expect(pkg).toMatchObject({ ModelApprovalStatus: 'Rejected', ApprovalDescription: `rolled back: alarm ${w.alarms[0]} in ALARM during the bake period` });
    expect(await latestApproved(w.group, w.admin)).toBe(w.previousArn);
    const record = await readJson(w.s3, w.bucket, auditKey('audit/', w.state.runId, STARTED, 'rollback'));
    expect(record).toMatchObject({ decision: 'rollback', endpointConfig: w.oldConfig, challengerPackageArn: w.challengerArn, dataVersion: 's3://lake/curated/v7' });

    // Retried while the rollback is deploying, and again once it is done: no second update, no second rejection.
    expect(await runTask({ task: 'rollback', state: alarmed }, w.deps())).toEqual(state);
    Object.assign(w.sim, { config: w.oldConfig, pending: undefined, status: 'InService' });
    expect(await runTask({ task: 'rollback', state: alarmed }, w.deps())).toEqual(state);
    expect(w.updates).toHaveLength(2);
    expect(count(w.calls, 'UpdateModelPackageCommand')).toBe(1);
  });

  test('a third config deployed by someone else is left alone; the challenger is still rejected', async () => {
    const w = await world();
    const deployed = { ...(await promoted(w)), alarm: w.alarms[0] };
    Object.assign(w.sim, { config: 'someone-elses-config' });
    await runTask({ task: 'rollback', state: deployed }, w.deps());
    expect(w.updates).toHaveLength(1);
    expect((await w.admin.send(new DescribeModelPackageCommand({ ModelPackageName: w.challengerArn }))).ModelApprovalStatus).toBe('Rejected');
  });

  test('an endpoint still updating our config: EndpointBusyError', async () => {
    const w = await world();
    const state = { ...(await runTask({ task: 'promote', state: w.state }, w.deps())), alarm: w.alarms[0] };
    await expect(runTask({ task: 'rollback', state }, w.deps())).rejects.toThrow(EndpointBusyError);
  });
});

describe('throttling and dispatch', () => {
  test('throttled calls are retried with backoff', async () => {
    const w = await world();
    throttleNext(w.sagemaker, CreateModelCommand, 2);
    throttleNext(w.cloudwatch, DescribeAlarmsCommand, 1, 'Throttling');
    const state = await runTask({ task: 'promote', state: w.state }, w.deps());
    expect(state.deploymentStatus).toBe('deploying');
    await runTask({ task: 'checkAlarms', state: { ...state, bakeUntil: NOW.toISOString() } }, w.deps());
    expect(w.sleeps).toHaveLength(3);
    expect(w.logs).toEqual(expect.arrayContaining([expect.stringMatching(/^CreateModel\(.*\) throttled \(attempt 1\), retrying in \d+ ms$/)]));
    expect(throttledCalls(w.cloudwatch, DescribeAlarmsCommand)).toBe(1);
  });

  test('persistent throttling fails with ThrottledError after maxAttempts', async () => {
    const w = await world();
    throttleNext(w.sagemaker, DescribeEndpointCommand, Infinity);
    const failure = runTask({ task: 'promote', state: w.state }, w.deps({ maxAttempts: 3 }));
    await expect(failure).rejects.toBeInstanceOf(ThrottledError);
    await expect(failure).rejects.toThrow(`DescribeEndpoint(${w.endpointName}) was still throttled after 3 attempts: Rate exceeded`);
    expect(w.sleeps).toHaveLength(2);
  });

  test('an unknown task or a state without runId is rejected', async () => {
    const w = await world();
    await expect(runTask({ task: 'deploy', state: w.state }, w.deps()))
      .rejects.toThrow('Unknown deploy task "deploy"; expected one of promote, deploymentStatus, checkAlarms, rollback');
    await expect(runTask({ task: 'toString', state: w.state }, w.deps())).rejects.toThrow('Unknown deploy task');
    await expect(runTask({ task: 'promote', state: {} as RunState }, w.deps())).rejects.toThrow('Task promote needs state.runId');
  });

  test('handler reads the configuration from the environment', async () => {
    const saved = { ...process.env };
    try {
      for (const k of Object.keys(process.env).filter(key => key.startsWith('LOOP_'))) { delete process.env[k]; }
      await expect(handler({ task: 'promote', state: { runId: 'r', startedAt: STARTED } })).rejects.toThrow(/misconfigured: LOOP_NAME is not set/);
      Object.assign(process.env, {
        LOOP_NAME: 'l', LOOP_TABLE: 't', LOOP_AUDIT_BUCKET: 'b', LOOP_PIPELINE_NAME: 'p', LOOP_MODEL_PACKAGE_GROUP: 'g', LOOP_OBJECTIVE_METRIC: 'm',
      });
      await expect(handler({ task: 'nope', state: { runId: 'r', startedAt: STARTED } })).rejects.toThrow('Unknown deploy task "nope"');
      await expect(handler({ task: 'promote', state: { runId: 'r', startedAt: STARTED } })).rejects.toThrow('LOOP_ENDPOINT_NAME is not set');
    } finally {
      process.env = saved;
    }
  });
});
