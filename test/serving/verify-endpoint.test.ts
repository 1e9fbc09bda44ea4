import {
  CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, DescribeEndpointCommand, DescribeEndpointCommandOutput,
  SageMakerClient, SageMakerServiceException,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DESCRIBE_ATTEMPTS, VerifyEndpointProps, handler, isComplete, isThrottling, onEvent, verifyEndpoint,
} from '../../src/serving/verify-endpoint.lambda';
import { MotoServer, motoClientConfig, startMoto } from '../support/moto';

/**
 * The handlers run against moto_server through the real SageMaker client. moto 5.2.1 implements CreateModel,
 * CreateEndpointConfig, CreateEndpoint and DescribeEndpoint; CreateEndpoint puts the endpoint InService at
 * once (never Creating), and DescribeEndpoint returns EndpointName, EndpointArn, EndpointConfigName,
 * ProductionVariants, EndpointStatus, CreationTime and LastModifiedTime — never FailureReason,
 * PendingDeploymentSummary or LastDeploymentConfig. A missing endpoint is a ValidationException
 * "Could not find endpoint '<arn>'.". moto has no UpdateEndpoint, so an endpoint cannot change config there.
 * Statuses and fields moto cannot produce (rollbacks, failures, pending deployments, throttling) come from
 * aws-sdk-client-mock layered on the same client, returning modified copies of moto's real answer.
 */
let moto: MotoServer;
let counter = 0;

beforeAll(async () => { moto = await startMoto(); });
afterAll(async () => { await moto?.stop(); });

const ROLE = 'arn:aws:iam::123456789012:role/sagemaker-execution';
const IMAGE = '763104351884.dkr.ecr.us-east-1.amazonaws.com/xgboost-inference:1.7-1';

async function createConfig(client: SageMakerClient, label: string): Promise<string> {
  const n = ++counter;
  const model = `model-${label}-${n}`;
  await client.send(new CreateModelCommand({
    ModelName: model,
    ExecutionRoleArn: ROLE,
    PrimaryContainer: { Image: IMAGE, ModelDataUrl: `s3://models/${model}/model.tar.gz` },
  }));
  const config = `config-${label}-${n}`;
  await client.send(new CreateEndpointConfigCommand({
    EndpointConfigName: config,
    ProductionVariants: [{
      VariantName: 'AllTraffic', ModelName: model, InitialInstanceCount: 1, InstanceType: 'ml.m5.large', InitialVariantWeight: 1,
    }],
  }));
  return config;
}

/** An endpoint on a fresh config (the "old" one), plus a second config it should move to (the "new" one). */
async function createEndpoint(client: SageMakerClient): Promise<{ name: string; oldConfig: string; newConfig: string }> {
  const oldConfig = await createConfig(client, 'old');
  const newConfig = await createConfig(client, 'new');
  const name = `churn-${++counter}`;
  await client.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: oldConfig }));
  return { name, oldConfig, newConfig };
}

type Overlay = (real: DescribeEndpointCommandOutput, call: number) => DescribeEndpointCommandOutput | Promise<never>;

/** Serves DescribeEndpoint from moto, passed through `overlay` (which may also throw). */
function overlayDescribe(client: SageMakerClient, overlay: Overlay) {
  const realSend = client.send.bind(client) as (c: unknown) => Promise<any>;
  const mock = mockClient(client);
  let calls = 0;
  mock.on(DescribeEndpointCommand).callsFake(async input => {
    const real: DescribeEndpointCommandOutput = await realSend(new DescribeEndpointCommand(input));
    return overlay(real, ++calls);
  });
  return mock;
}

function throttle(): Error {
  return new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });
}

const noSleep = async () => undefined;

describe('verifyEndpoint', () => {
  let client: SageMakerClient;
  let logs: string[];
  const opts = (extra = {}) => ({ client, sleep: noSleep, log: (m: string) => { logs.push(m); }, ...extra });
  beforeEach(() => {
    client = new SageMakerClient(motoClientConfig(moto.endpoint));
    logs = [];
  });
  afterEach(() => { client.destroy(); });

  test('moto only: a new endpoint is InService on its config at once, so the check completes', async () => {
    const { name, oldConfig } = await createEndpoint(client);
    const raw = await client.send(new DescribeEndpointCommand({ EndpointName: name }));
    // What moto does: no Creating phase, none of the deployment fields.
    expect(raw).toMatchObject({ EndpointName: name, EndpointConfigName: oldConfig, EndpointStatus: 'InService' });
    expect(raw.FailureReason).toBeUndefined();
    expect(raw.PendingDeploymentSummary).toBeUndefined();
    expect(raw.LastDeploymentConfig).toBeUndefined();

    const result = await verifyEndpoint({ EndpointName: name, EndpointConfigName: oldConfig }, opts());
    expect(result).toEqual({ complete: true, configName: oldConfig, status: 'InService' });
  });

  test('moto only: a missing endpoint fails with a clear message', async () => {
    await expect(verifyEndpoint({ EndpointName: 'no-such-endpoint', EndpointConfigName: 'c' }, opts()))
      .rejects.toThrow(/^SageMaker endpoint no-such-endpoint does not exist \(Could not find endpoint .*no-such-endpoint/);
  });

  test('an update silently rolled back (InService on the old config, nothing pending) fails with configs and alarms', async () => {
    const { name, oldConfig, newConfig } = await createEndpoint(client);
    overlayDescribe(client, real => ({
      ...real,
      LastDeploymentConfig: {
        BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 } },
        AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'churn-5xx-errors' }, { AlarmName: 'churn-model-latency' }] },
      },
    }));
    const failure = verifyEndpoint({ EndpointName: name, EndpointConfigName: newConfig }, opts());
    await expect(failure).rejects.toThrow(
      `SageMaker endpoint ${name} is InService on endpoint config ${oldConfig}, not the desired ${newConfig}: ` +
      'the update was rolled back (no FailureReason given); auto-rollback alarms that could have triggered it: ' +
      `churn-5xx-errors, churn-model-latency. CloudFormation reported success, but the endpoint serves the old model (${oldConfig}).`);
  });

  test('a rollback with a FailureReason and no alarms names the reason', async () => {
    const { name, oldConfig, newConfig } = await createEndpoint(client);
    overlayDescribe(client, real => ({ ...real, FailureReason: 'Health check failed for variant AllTraffic' }));
    const failure = verifyEndpoint({ EndpointName: name, EndpointConfigName: newConfig }, opts());
    await expect(failure).rejects.toThrow(
      `SageMaker endpoint ${name} is InService on endpoint config ${oldConfig}, not the desired ${newConfig}: ` +
      'the update was rolled back (FailureReason: Health check failed for variant AllTraffic). CloudFormation reported success');
    await expect(failure).rejects.not.toThrow('alarms');
  });

  test('Failed with a FailureReason fails with the reason', async () => {
    const { name, oldConfig, newConfig } = await createEndpoint(client);
    overlayDescribe(client, real => ({ ...real, EndpointStatus: 'Failed', FailureReason: 'Image cannot be pulled: access denied' }));
    await expect(verifyEndpoint({ EndpointName: name, EndpointConfigName: newConfig }, opts())).rejects.toThrow(
      `SageMaker endpoint ${name} is Failed on endpoint config ${oldConfig} (desired ${newConfig}): ` +
      'FailureReason: Image cannot be pulled: access denied');
  });

  test.each(['UpdateRollbackFailed', 'OutOfService'] as const)('%s fails with the reason', async status => {
    const { name, newConfig } = await createEndpoint(client);
    overlayDescribe(client, real => ({ ...real, EndpointStatus: status, FailureReason: 'Rollback could not restore capacity' }));
    await expect(verifyEndpoint({ EndpointName: name, EndpointConfigName: newConfig }, opts()))
      .rejects.toThrow(new RegExp(`^SageMaker endpoint ${name} is ${status} .*: FailureReason: Rollback could not restore capacity$`));
  });

  test('InService on the old config with a pending deployment of the desired config is not complete yet', async () => {
    const { name, oldConfig, newConfig } = await createEndpoint(client);
    overlayDescribe(client, real => ({ ...real, PendingDeploymentSummary: { EndpointConfigName: newConfig, StartTime: new Date() } }));
    const result = await verifyEndpoint({ EndpointName: name, EndpointConfigName: newConfig }, opts());
    expect(result).toEqual({ complete: false, configName: oldConfig, status: 'InService' });
    expect(logs).toEqual([`Endpoint ${name} is InService on ${oldConfig} and still deploying ${newConfig}`]);
  });

  test('a pending deployment of a third config fails: the desired one will never be served', async () => {
    const { name, newConfig } = await createEndpoint(client);
    overlayDescribe(client, real => ({ ...real, PendingDeploymentSummary: { EndpointConfigName: 'config-someone-else' } }));
    await expect(verifyEndpoint({ EndpointName: name, EndpointConfigName: newConfig }, opts()))
      .rejects.toThrow(`SageMaker endpoint ${name} is deploying endpoint config config-someone-else, not the desired ${newConfig}`);
  });

  test.each(['Creating', 'Updating', 'SystemUpdating', 'RollingBack'] as const)('%s is not complete and is logged', async status => {
    const { name, oldConfig, newConfig } = await createEndpoint(client);
    overlayDescribe(client, real => ({ ...real, EndpointStatus: status }));
    const result = await verifyEndpoint({ EndpointName: name, EndpointConfigName: newConfig }, opts());
    expect(result).toEqual({ complete: false, configName: oldConfig, status });
    expect(logs).toEqual([`Endpoint ${name} is ${status} (on ${oldConfig}, desired ${newConfig}); waiting`]);
  });

  test('Updating, then InService on the desired config: the second look completes', async () => {
    const { name, oldConfig, newConfig } = await createEndpoint(client);
    overlayDescribe(client, (real, call) => call === 1
      ? { ...real, EndpointStatus: 'Updating', PendingDeploymentSummary: { EndpointConfigName: newConfig } }
      : { ...real, EndpointConfigName: newConfig });
    const props = { EndpointName: name, EndpointConfigName: newConfig };
    expect(await verifyEndpoint(props, opts())).toEqual({ complete: false, configName: oldConfig, status: 'Updating' });
    expect(await verifyEndpoint(props, opts())).toEqual({ complete: true, configName: newConfig, status: 'InService' });
  });

  test('a status this handler does not know keeps waiting, and is logged', async () => {
    const { name, oldConfig, newConfig } = await createEndpoint(client);
    overlayDescribe(client, real => ({ ...real, EndpointStatus: 'Hibernating' as DescribeEndpointCommandOutput['EndpointStatus'] }));
    const result = await verifyEndpoint({ EndpointName: name, EndpointConfigName: newConfig }, opts());
    expect(result).toEqual({ complete: false, configName: oldConfig, status: 'Hibernating' });
    expect(logs).toEqual([`Endpoint ${name} has status Hibernating, unknown to this handler (on ${oldConfig}, desired ${newConfig}); waiting`]);
  });

  test('Deleting fails', async () => {
    const { name, newConfig } = await createEndpoint(client);
    overlayDescribe(client, real => ({ ...real, EndpointStatus: 'Deleting' }));
    await expect(verifyEndpoint({ EndpointName: name, EndpointConfigName: newConfig }, opts()))
      .rejects.toThrow(`SageMaker endpoint ${name} is being deleted; it will never serve ${newConfig}`);
  });

  test('throttling once, then success: retried within the invocation and complete', async () => {
    const { name, oldConfig } = await createEndpoint(client);
    const mock = overlayDescribe(client, (real, call) => (call === 1 ? Promise.reject(throttle()) : real));
    const sleeps: number[] = [];
    const result = await verifyEndpoint({ EndpointName: name, EndpointConfigName: oldConfig },
      opts({ sleep: async (ms: number) => { sleeps.push(ms); } }));
    expect(result).toEqual({ complete: true, configName: oldConfig, status: 'InService' });
    expect(mock.commandCalls(DescribeEndpointCommand)).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeLessThanOrEqual(500);
    expect(logs[0]).toMatch(new RegExp(`^DescribeEndpoint\\(${name}\\) throttled \\(attempt 1\\), retrying in \\d+ ms$`));
  });

  test('throttling that persists: not complete (no throw) after a bounded number of attempts, and logged', async () => {
    const { name, oldConfig } = await createEndpoint(client);
    const mock = overlayDescribe(client, () => Promise.reject(throttle()));
    const sleeps: number[] = [];
    const result = await verifyEndpoint({ EndpointName: name, EndpointConfigName: oldConfig },
      opts({ sleep: async (ms: number) => { sleeps.push(ms); } }));
    expect(result).toEqual({ complete: false });
    expect(mock.commandCalls(DescribeEndpointCommand)).toHaveLength(DESCRIBE_ATTEMPTS);
    expect(sleeps).toHaveLength(DESCRIBE_ATTEMPTS - 1);
    // Capped exponential backoff: the whole invocation stays well under a minute.
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThan(10_000);
    expect(logs[logs.length - 1]).toBe(`DescribeEndpoint(${name}) still throttled after ${DESCRIBE_ATTEMPTS} attempts (Rate exceeded); will ask again later`);
  });

  test('throttling stops being retried when the time budget runs out', async () => {
    const { name, oldConfig } = await createEndpoint(client);
    const mock = overlayDescribe(client, () => Promise.reject(throttle()));
    let t = 0;
    const result = await verifyEndpoint({ EndpointName: name, EndpointConfigName: oldConfig },
      opts({ maxAttempts: 100, budgetMs: 20_000, now: () => (t += 8_000) }));
    expect(result).toEqual({ complete: false });
    expect(mock.commandCalls(DescribeEndpointCommand).length).toBeLessThanOrEqual(3);
  });

  test('other errors propagate unchanged', async () => {
    const { name, oldConfig } = await createEndpoint(client);
    const denied = new SageMakerServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'not authorized' });
    const mock = overlayDescribe(client, () => Promise.reject(denied));
    await expect(verifyEndpoint({ EndpointName: name, EndpointConfigName: oldConfig }, opts())).rejects.toBe(denied);
    expect(mock.commandCalls(DescribeEndpointCommand)).toHaveLength(1);
  });

  test('isThrottling recognises throttling errors by name, status and SDK flag', () => {
    expect(isThrottling(throttle())).toBe(true);
    expect(isThrottling({ $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isThrottling({ $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(isThrottling({ $retryable: { throttling: true } })).toBe(true);
    expect(isThrottling(new Error('ValidationException'))).toBe(false);
    expect(isThrottling(undefined)).toBe(false);
  });
});

describe('Provider framework handlers', () => {
  const saved = { ...process.env };
  let client: SageMakerClient;
  beforeAll(() => {
    // The module-level client is created from the environment on first use: point it at moto.
    process.env.AWS_ENDPOINT_URL_SAGEMAKER = moto.endpoint;
    process.env.AWS_REGION = 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  });
  afterAll(() => {
    for (const key of ['AWS_ENDPOINT_URL_SAGEMAKER', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'VERIFY_PHASE']) {
      if (saved[key] === undefined) { delete process.env[key]; } else { process.env[key] = saved[key]; }
    }
  });
  beforeEach(() => {
    client = new SageMakerClient(motoClientConfig(moto.endpoint));
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => {
    client.destroy();
    classMock?.restore();
    classMock = undefined;
    jest.restoreAllMocks();
  });
  /** Mocks every SageMakerClient, including the handlers' module-level one; restored after each test. */
  let classMock: ReturnType<typeof mockClient> | undefined;
  const mockAll = () => (classMock = mockClient(SageMakerClient));

  const event = (RequestType: 'Create' | 'Update' | 'Delete', props: VerifyEndpointProps, PhysicalResourceId?: string) =>
    ({ RequestType, PhysicalResourceId, ResourceProperties: props });

  test('Create then isComplete against moto: physical id is the endpoint, then complete with Data', async () => {
    const { name, oldConfig } = await createEndpoint(client);
    const props = { EndpointName: name, EndpointConfigName: oldConfig, Nonce: '1' };
    expect(await onEvent(event('Create', props))).toEqual({ PhysicalResourceId: name, Data: { StartedAt: expect.any(String) } });
    expect(await isComplete(event('Create', props, name))).toEqual({
      IsComplete: true, Data: { EndpointConfigName: oldConfig, EndpointStatus: 'InService' },
    });
  });

  test('isComplete fails with the endpoint state shortly before the framework timeout', async () => {
    const { name, oldConfig } = await createEndpoint(client);
    const realSend = SageMakerClient.prototype.send;
    const mock = mockAll();
    mock.on(DescribeEndpointCommand).callsFake(async function (this: unknown, input) {
      const fresh = new SageMakerClient(motoClientConfig(moto.endpoint));
      const real = await realSend.call(fresh, new DescribeEndpointCommand(input)) as DescribeEndpointCommandOutput;
      return { ...real, EndpointStatus: 'Updating' };
    });
    const started = new Date(Date.now() - 59 * 60_000).toISOString();
    const props = { EndpointName: name, EndpointConfigName: oldConfig, TimeoutSeconds: '3600' } as VerifyEndpointProps;
    const timedOut = { ...event('Update', props, name), Data: { StartedAt: started } };
    await expect(isComplete(timedOut)).rejects.toThrow(`Endpoint ${name} did not settle on ${oldConfig} within 60 minutes (last status Updating`);
    const early = { ...timedOut, Data: { StartedAt: new Date().toISOString() } };
    await expect(isComplete(early)).resolves.toEqual({ IsComplete: false });
  });

  test('Update on a missing endpoint fails fast in onEvent with a clear message', async () => {
    await expect(onEvent(event('Update', { EndpointName: 'gone-endpoint', EndpointConfigName: 'config-x' }, 'gone-endpoint')))
      .rejects.toThrow(/^SageMaker endpoint gone-endpoint does not exist \(Could not find endpoint/);
  });

  test('isComplete when moto serves another config than the desired one (module client, moto only) throws', async () => {
    const { name, oldConfig, newConfig } = await createEndpoint(client);
    await expect(isComplete(event('Update', { EndpointName: name, EndpointConfigName: newConfig }, name)))
      .rejects.toThrow(`is InService on endpoint config ${oldConfig}, not the desired ${newConfig}: the update was rolled back`);
  });

  test('isComplete while still deploying returns IsComplete false', async () => {
    const { name, newConfig } = await createEndpoint(client);
    const realSend = client.send.bind(client) as (c: unknown) => Promise<any>;
    mockAll().on(DescribeEndpointCommand).callsFake(async input => ({
      ...(await realSend(new DescribeEndpointCommand(input))), EndpointStatus: 'Updating',
    }));
    expect(await isComplete(event('Update', { EndpointName: name, EndpointConfigName: newConfig }, name))).toEqual({ IsComplete: false });
  });

  test('onEvent under persistent throttling still returns the physical id (isComplete looks again)', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0); // zero backoff: no real sleeping
    const mock = mockAll();
    mock.on(DescribeEndpointCommand).rejects(throttle());
    expect(await onEvent(event('Create', { EndpointName: 'busy', EndpointConfigName: 'config-busy' }))).toEqual({ PhysicalResourceId: 'busy', Data: { StartedAt: expect.any(String) } });
    expect(mock.commandCalls(DescribeEndpointCommand)).toHaveLength(DESCRIBE_ATTEMPTS);
  });

  test('Delete: onEvent and isComplete make no AWS call', async () => {
    const mock = mockAll();
    const props = { EndpointName: 'churn', EndpointConfigName: 'config-1' };
    expect(await onEvent(event('Delete', props, 'churn'))).toEqual({ PhysicalResourceId: 'churn' });
    expect(await isComplete(event('Delete', props, 'churn'))).toEqual({ IsComplete: true });
    expect(mock.calls()).toHaveLength(0);
  });

  test('handler dispatches on VERIFY_PHASE (one bundle, two functions)', async () => {
    const { name, oldConfig } = await createEndpoint(client);
    const props = { EndpointName: name, EndpointConfigName: oldConfig };
    process.env.VERIFY_PHASE = 'onEvent';
    expect(await handler(event('Create', props))).toEqual({ PhysicalResourceId: name, Data: { StartedAt: expect.any(String) } });
    process.env.VERIFY_PHASE = 'isComplete';
    expect(await handler(event('Create', props, name))).toEqual({ IsComplete: true, Data: { EndpointConfigName: oldConfig, EndpointStatus: 'InService' } });
    delete process.env.VERIFY_PHASE;
    await expect(handler(event('Create', props))).rejects.toThrow('VERIFY_PHASE must be onEvent or isComplete, got nothing');
    process.env.VERIFY_PHASE = 'poll';
    await expect(handler(event('Create', props))).rejects.toThrow("VERIFY_PHASE must be onEvent or isComplete, got 'poll'");
  });

  test('missing properties fail before any call', async () => {
    const mock = mockAll();
    await expect(onEvent(event('Create', { EndpointName: 'churn' } as VerifyEndpointProps)))
      .rejects.toThrow('Endpoint verification needs the resource properties EndpointConfigName');
    expect(mock.calls()).toHaveLength(0);
  });
});
