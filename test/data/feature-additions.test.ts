import {
  CreateFeatureGroupCommand, DescribeFeatureGroupCommand, DescribeFeatureGroupCommandOutput, FeatureDefinition,
  SageMakerClient, SageMakerServiceException, UpdateFeatureGroupCommand, UpdateFeatureGroupCommandInput,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { FeatureAddition, applyFeatureAdditions, handler, isThrottling } from '../../src/data/feature-additions.lambda';
import { MotoServer, motoClientConfig, startMoto } from '../support/moto';

/**
 * The handler runs against moto_server through the real SageMaker client for what moto implements
 * (CreateFeatureGroup, DescribeFeatureGroup). moto has no UpdateFeatureGroup: that call is served by
 * aws-sdk-client-mock, which also overlays the update's effect and status on moto's DescribeFeatureGroup.
 */
let moto: MotoServer;
let groupCounter = 0;

beforeAll(async () => { moto = await startMoto(); });
afterAll(async () => { await moto?.stop(); });

const BASE: FeatureDefinition[] = [
  { FeatureName: 'transaction_id', FeatureType: 'String' },
  { FeatureName: 'event_time', FeatureType: 'String' },
  { FeatureName: 'amount', FeatureType: 'Fractional' },
];

async function createGroup(client: SageMakerClient): Promise<string> {
  const name = `transactions-${++groupCounter}`;
  await client.send(new CreateFeatureGroupCommand({
    FeatureGroupName: name,
    RecordIdentifierFeatureName: 'transaction_id',
    EventTimeFeatureName: 'event_time',
    FeatureDefinitions: BASE,
    OfflineStoreConfig: { S3StorageConfig: { S3Uri: 's3://lake-features/feature-groups' } },
    RoleArn: 'arn:aws:iam::123456789012:role/feature-store',
  }));
  return name;
}

/** Simulated service behaviour for UpdateFeatureGroup on top of moto's state. */
interface UpdateSimulation {
  /** Describe calls that report the update as InProgress before it succeeds. */
  inProgressPolls?: number;
  /** Make the update fail with this reason instead of succeeding. */
  failWith?: string;
  /** Errors thrown by the first UpdateFeatureGroup calls, in order. */
  updateErrors?: Error[];
  /** Describe calls after the update that still show the state from before it (eventual consistency). */
  staleDescribes?: number;
  /** The group's update status before our update (e.g. an old failure). */
  initialStatus?: DescribeFeatureGroupCommandOutput['LastUpdateStatus'];
}

function withUpdateSimulation(client: SageMakerClient, sim: UpdateSimulation = {}) {
  const realSend = client.send.bind(client) as (c: unknown) => Promise<any>;
  const mock = mockClient(client);
  const added: FeatureDefinition[] = [];
  const updates: UpdateFeatureGroupCommandInput[] = [];
  let pendingPolls = 0;
  let stale = 0;
  let lastStatus: DescribeFeatureGroupCommandOutput['LastUpdateStatus'] = sim.initialStatus;
  let previousStatus = lastStatus;
  const errors = [...(sim.updateErrors ?? [])];

  mock.on(DescribeFeatureGroupCommand).callsFake(async input => {
    const real: DescribeFeatureGroupCommandOutput = await realSend(new DescribeFeatureGroupCommand(input));
    const lastBatch = updates.length > 0 ? updates[updates.length - 1].FeatureAdditions!.length : 0;
    if (stale > 0) {
      stale--;
      const before = added.slice(0, added.length - lastBatch);
      return { ...real, FeatureDefinitions: [...real.FeatureDefinitions!, ...before], LastUpdateStatus: previousStatus };
    }
    if (pendingPolls > 0) {
      pendingPolls--;
      return { ...real, FeatureDefinitions: [...real.FeatureDefinitions!, ...added.slice(0, -updates[updates.length - 1].FeatureAdditions!.length)], LastUpdateStatus: { Status: 'InProgress' } };
    }
    return { ...real, FeatureDefinitions: [...real.FeatureDefinitions!, ...added], LastUpdateStatus: lastStatus };
  });
  mock.on(UpdateFeatureGroupCommand).callsFake(async (input: UpdateFeatureGroupCommandInput) => {
    const error = errors.shift();
    if (error) { throw error; }
    updates.push(input);
    previousStatus = lastStatus;
    stale = sim.staleDescribes ?? 0;
    if (sim.failWith) {
      lastStatus = { Status: 'Failed', FailureReason: sim.failWith };
    } else {
      added.push(...input.FeatureAdditions!);
      lastStatus = { Status: 'Successful' };
    }
    pendingPolls = sim.inProgressPolls ?? 1;
    return { FeatureGroupArn: `arn:aws:sagemaker:us-east-1:123456789012:feature-group/${input.FeatureGroupName}` };
  });
  return { mock, updates, added };
}

function throttle(): Error {
  return new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });
}

const noSleep = async () => undefined;
const opts = (client: SageMakerClient, extra = {}) => ({ client, deadline: Date.now() + 60_000, sleep: noSleep, pollIntervalMs: 1, ...extra });
const additions: FeatureAddition[] = [{ name: 'merchant_id', type: 'Integral' }, { name: 'country', type: 'String' }];

describe('feature additions handler', () => {
  let client: SageMakerClient;
  beforeEach(() => { client = new SageMakerClient(motoClientConfig(moto.endpoint)); });
  afterEach(() => { client.destroy(); });

  test('features already present (moto only, no mock): nothing to update', async () => {
    const name = await createGroup(client);
    const result = await applyFeatureAdditions(name, [{ name: 'amount', type: 'Fractional' }], opts(client));
    expect(result).toEqual({ added: [], alreadyPresent: ['amount'] });
  });

  test('adds the missing features, waits for the update, and reports them', async () => {
    const name = await createGroup(client);
    const sim = withUpdateSimulation(client, { inProgressPolls: 2 });
    const result = await applyFeatureAdditions(name, additions, opts(client));
    expect(result).toEqual({ added: ['merchant_id', 'country'], alreadyPresent: [] });
    expect(sim.updates).toEqual([{
      FeatureGroupName: name,
      FeatureAdditions: [{ FeatureName: 'merchant_id', FeatureType: 'Integral' }, { FeatureName: 'country', FeatureType: 'String' }],
    }]);
    // The real DescribeFeatureGroup went to moto: its answer is what the overlay extended.
    expect(sim.mock.commandCalls(DescribeFeatureGroupCommand).length).toBeGreaterThanOrEqual(3);
  });

  test('a repeated (duplicate) invocation adds nothing the second time', async () => {
    const name = await createGroup(client);
    const sim = withUpdateSimulation(client);
    await applyFeatureAdditions(name, additions, opts(client));
    const again = await applyFeatureAdditions(name, additions, opts(client));
    expect(again).toEqual({ added: [], alreadyPresent: ['merchant_id', 'country'] });
    expect(sim.updates).toHaveLength(1);
  });

  test('collection and vector features are sent with their collection settings', async () => {
    const name = await createGroup(client);
    const sim = withUpdateSimulation(client);
    await applyFeatureAdditions(name, [
      { name: 'recent', type: 'String', collectionType: 'List' },
      { name: 'embedding', type: 'Fractional', collectionType: 'Vector', vectorDimension: 64 },
    ], opts(client));
    expect(sim.updates[0].FeatureAdditions).toEqual([
      { FeatureName: 'recent', FeatureType: 'String', CollectionType: 'List' },
      { FeatureName: 'embedding', FeatureType: 'Fractional', CollectionType: 'Vector', CollectionConfig: { VectorConfig: { Dimension: 64 } } },
    ]);
  });

  test('throttling is retried with backoff', async () => {
    const name = await createGroup(client);
    const sim = withUpdateSimulation(client, { updateErrors: [throttle(), throttle()] });
    const sleeps: number[] = [];
    const result = await applyFeatureAdditions(name, additions, opts(client, { sleep: async (ms: number) => { sleeps.push(ms); } }));
    expect(result.added).toEqual(['merchant_id', 'country']);
    expect(sim.mock.commandCalls(UpdateFeatureGroupCommand)).toHaveLength(3);
    expect(sleeps.length).toBeGreaterThanOrEqual(2);
  });

  test('throttling that never ends fails with a clear message', async () => {
    const name = await createGroup(client);
    withUpdateSimulation(client, { updateErrors: Array.from({ length: 10 }, throttle) });
    await expect(applyFeatureAdditions(name, additions, opts(client, { maxAttempts: 4 })))
      .rejects.toThrow(`UpdateFeatureGroup(${name}) was still throttled after 4 attempts: Rate exceeded`);
  });

  test('an update the service reports as failed fails with its reason', async () => {
    const name = await createGroup(client);
    withUpdateSimulation(client, { failWith: 'Glue table update denied' });
    await expect(applyFeatureAdditions(name, additions, opts(client)))
      .rejects.toThrow(`UpdateFeatureGroup failed for ${name}: Glue table update denied`);
  });

  test('a stale Describe after the update neither resends the additions nor reports an old failure', async () => {
    const name = await createGroup(client);
    const sim = withUpdateSimulation(client, {
      staleDescribes: 3, inProgressPolls: 0, initialStatus: { Status: 'Failed', FailureReason: 'old failure from last week' },
    });
    const result = await applyFeatureAdditions(name, additions, opts(client));
    expect(result.added).toEqual(['merchant_id', 'country']);
    expect(sim.updates).toHaveLength(1);
  });

  test('AccessDenied right after deployment (IAM propagation) is retried; later it is not', async () => {
    const name = await createGroup(client);
    const denied = () => new SageMakerServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'not authorized' });
    const sim = withUpdateSimulation(client, { updateErrors: [denied()] });
    const result = await applyFeatureAdditions(name, additions, opts(client));
    expect(result.added).toEqual(['merchant_id', 'country']);
    expect(sim.mock.commandCalls(UpdateFeatureGroupCommand)).toHaveLength(2);

    const later = new SageMakerClient(motoClientConfig(moto.endpoint));
    const name2 = await createGroup(later);
    withUpdateSimulation(later, { updateErrors: [denied()] });
    let t = 0;
    await expect(applyFeatureAdditions(name2, additions, opts(later, { now: () => (t += 61_000), deadline: Number.MAX_SAFE_INTEGER })))
      .rejects.toThrow('not authorized');
    later.destroy();
  });

  test('a feature that exists with another type fails with both types', async () => {
    const name = await createGroup(client);
    await expect(applyFeatureAdditions(name, [{ name: 'amount', type: 'String' }], opts(client)))
      .rejects.toThrow(`Feature group ${name} already has amount as Fractional (wanted String); a feature cannot change its type`);
  });

  test('more than 100 additions go in batches of 100', async () => {
    const name = await createGroup(client);
    const sim = withUpdateSimulation(client);
    const many = Array.from({ length: 150 }, (_, i) => ({ name: `f${i}`, type: 'Integral' }));
    const result = await applyFeatureAdditions(name, many, opts(client));
    expect(sim.updates.map(u => u.FeatureAdditions!.length)).toEqual([100, 50]);
    expect(result.added).toHaveLength(150);
  });

  test('an update already in progress (ResourceInUse) is waited for, then retried', async () => {
    const name = await createGroup(client);
    const inUse = new SageMakerServiceException({ name: 'ResourceInUse', $fault: 'client', $metadata: {}, message: 'update in progress' });
    const sim = withUpdateSimulation(client, { updateErrors: [inUse] });
    const result = await applyFeatureAdditions(name, additions, opts(client));
    expect(result.added).toEqual(['merchant_id', 'country']);
    expect(sim.updates).toHaveLength(1);
  });

  test('an update that never finishes times out with what was done', async () => {
    const name = await createGroup(client);
    withUpdateSimulation(client, { inProgressPolls: 1_000_000 });
    let t = 0;
    await expect(applyFeatureAdditions(name, additions, opts(client, { deadline: 50, now: () => (t += 10) })))
      .rejects.toThrow(new RegExp(`Timed out waiting for feature group ${name} \\(our update\\); added so far: merchant_id, country`));
  });

  test('a group that failed to create cannot take additions', async () => {
    const mock = mockClient(client);
    mock.on(DescribeFeatureGroupCommand).resolves({ FeatureGroupStatus: 'CreateFailed', FailureReason: 'role cannot be assumed' });
    await expect(applyFeatureAdditions('broken', additions, opts(client)))
      .rejects.toThrow('Feature group broken is CreateFailed: role cannot be assumed; features cannot be added');
  });

  test('isThrottling recognises throttling errors by name, status and SDK flag', () => {
    expect(isThrottling(throttle())).toBe(true);
    expect(isThrottling({ $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isThrottling({ $retryable: { throttling: true } })).toBe(true);
    expect(isThrottling(new Error('ValidationException'))).toBe(false);
  });
});

describe('feature additions Lambda entry point', () => {
  const previous = process.env.AWS_ENDPOINT_URL_SAGEMAKER;
  beforeAll(() => {
    process.env.AWS_ENDPOINT_URL_SAGEMAKER = moto.endpoint;
    process.env.AWS_REGION = 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  });
  afterAll(() => {
    if (previous === undefined) { delete process.env.AWS_ENDPOINT_URL_SAGEMAKER; } else { process.env.AWS_ENDPOINT_URL_SAGEMAKER = previous; }
  });
  const context = { getRemainingTimeInMillis: () => 120_000 };

  test('Create: reports the group as physical id (real client against moto, features already present)', async () => {
    const client = new SageMakerClient(motoClientConfig(moto.endpoint));
    const name = await createGroup(client);
    const response = await handler({
      RequestType: 'Create',
      ResourceProperties: { FeatureGroupName: name, FeatureAdditions: JSON.stringify([{ name: 'amount', type: 'Fractional' }]) },
    }, context);
    expect(response).toEqual({ PhysicalResourceId: name, Data: { AddedFeatures: '', FeatureCount: '1' } });
  });

  test('Delete: removes nothing and keeps the physical id', async () => {
    const response = await handler({
      RequestType: 'Delete',
      PhysicalResourceId: 'transactions',
      ResourceProperties: { FeatureGroupName: 'transactions', FeatureAdditions: '[]' },
    }, context);
    expect(response).toEqual({ PhysicalResourceId: 'transactions' });
  });

  test('Update on a missing group fails with the service error', async () => {
    await expect(handler({
      RequestType: 'Update',
      PhysicalResourceId: 'nope',
      ResourceProperties: { FeatureGroupName: 'does-not-exist', FeatureAdditions: JSON.stringify(additions) },
    }, context)).rejects.toThrow();
  });
});
