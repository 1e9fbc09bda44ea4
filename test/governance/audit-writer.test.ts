import {
  CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, PutObjectCommand, PutObjectLockConfigurationCommand,
  S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { AUDIT_EVENT_DETAIL_TYPE, AUDIT_EVENT_SOURCE } from '../../src/automation/loop-state';
import { ThrottledError } from '../../src/core/aws-retry';
import { AuditTrail } from '../../src/governance/audit-trail';
import {
  AuditWriterConfig, KnownEventKind, MalformedAuditEventError, auditKey, configFromEnv, slug, writeAuditEvent,
} from '../../src/governance/audit-writer.lambda';
import { MotoServer, motoClientConfig, startMoto } from '../support/moto';

/**
 * The writer runs against moto_server (5.2.1) through the real S3 client. moto enforces what matters here:
 * a bucket with an Object Lock default retention refuses a PutObject without Content-MD5 or an SDK checksum
 * (MissingUploadObjectWithObjectLockHeaders), applies the default retention to each new object, and answers a
 * conditional PutObject (If-None-Match: *) on an existing key with 412 PreconditionFailed. moto cannot throttle,
 * so throttling comes from aws-sdk-client-mock layered on the same client, passing other calls through to moto.
 */
let moto: MotoServer;
let bucketCounter = 0;
/** The kinds the construct routes to the writer, read from the synthesized function's environment. */
let known: KnownEventKind[];

beforeAll(async () => {
  moto = await startMoto();
  const stack = new Stack();
  new AuditTrail(stack, 'Audit');
  const fn = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0];
  known = configFromEnv({ AUDIT_BUCKET: 'x', AUDIT_KNOWN_EVENTS: fn.Properties.Environment.Variables.AUDIT_KNOWN_EVENTS }).known;
});
afterAll(async () => { await moto?.stop(); });

function s3Client(): S3Client {
  return new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true });
}

/** A fresh bucket with Object Lock and a 1-day GOVERNANCE default retention, like the construct's. */
async function lockedBucket(client: S3Client): Promise<string> {
  const bucket = `audit-${++bucketCounter}-${Date.now()}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  await client.send(new PutObjectLockConfigurationCommand({
    Bucket: bucket,
    ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } },
  }));
  return bucket;
}

function event(source: string, detailType: string, id: string, time = '2026-11-30T12:34:56Z', detail: unknown = { n: 1 }) {
  return {
    'version': '0',
    id,
    'detail-type': detailType,
    source,
    'account': '123456789012',
    time,
    'region': 'us-east-1',
    'resources': ['arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn'],
    detail,
  };
}

async function body(client: S3Client, bucket: string, key: string): Promise<unknown> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await out.Body!.transformToString());
}

async function versions(client: S3Client, bucket: string): Promise<string[]> {
  const out = await client.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  return (out.Versions ?? []).map(v => v.Key!).sort();
}

const noSleep = async () => undefined;

describe('writeAuditEvent against moto', () => {
  let client: S3Client;
  let bucket: string;
  let config: AuditWriterConfig;
  let logs: string[];
  const deps = (extra = {}) => ({ s3: client, sleep: noSleep, log: (m: string) => { logs.push(m); }, ...extra });

  beforeEach(async () => {
    client = s3Client();
    bucket = await lockedBucket(client);
    config = { bucket, known };
    logs = [];
  });

  test('the construct routes exactly the SageMaker state changes and the loop decisions', () => {
    expect(known).toEqual([
      { source: 'aws.sagemaker', detailType: 'SageMaker Model Package State Change' },
      { source: 'aws.sagemaker', detailType: 'SageMaker Model Building Pipeline Execution Status Change' },
      { source: 'aws.sagemaker', detailType: 'SageMaker Model Building Pipeline Execution Step Status Change' },
      { source: 'aws.sagemaker', detailType: 'SageMaker Endpoint State Change' },
      { source: 'aws.sagemaker', detailType: 'SageMaker Endpoint Deployment State Change' },
      { source: AUDIT_EVENT_SOURCE, detailType: AUDIT_EVENT_DETAIL_TYPE },
    ]);
  });

  test('files each kind as one locked JSON object under events/<date>/<source>/<type>/<time>-<id>.json', async () => {
    const expected: Record<string, string> = {
      'SageMaker Model Package State Change': 'sagemaker-model-package-state-change',
      'SageMaker Model Building Pipeline Execution Status Change': 'sagemaker-model-building-pipeline-execution-status-change',
      'SageMaker Model Building Pipeline Execution Step Status Change': 'sagemaker-model-building-pipeline-execution-step-status-change',
      'SageMaker Endpoint State Change': 'sagemaker-endpoint-state-change',
      'SageMaker Endpoint Deployment State Change': 'sagemaker-endpoint-deployment-state-change',
    };
    const keys: string[] = [];
    for (const [i, [detailType, typeSlug]] of Object.entries(expected).entries()) {
      const e = event('aws.sagemaker', detailType, `0bd4a141-0a02-9d8a-f977-00000000000${i}`);
      const result = await writeAuditEvent(e, config, deps());
      expect(result).toEqual({
        status: 'written',
        key: `events/2026/11/30/aws.sagemaker/${typeSlug}/20261130T123456Z-0bd4a141-0a02-9d8a-f977-00000000000${i}.json`,
      });
      expect(await body(client, bucket, result.key)).toEqual(e);
      keys.push(result.key);
    }
    const decision = event(AUDIT_EVENT_SOURCE, AUDIT_EVENT_DETAIL_TYPE, 'd-1', '2026-12-01T00:00:01.250Z',
      { decision: 'promote', loop: 'Platform/Loop', runId: 'r-1', modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3' });
    const result = await writeAuditEvent(decision, config, deps());
    expect(result.key).toBe('events/2026/12/01/cdk-ml-platform.continuous-training/continuous-training-decision/20261201T000001Z-d-1.json');
    expect(await body(client, bucket, result.key)).toEqual(decision);
    keys.push(result.key);

    expect(await versions(client, bucket)).toEqual([...keys].sort());
    // Object Lock's default retention applied, and the SDK's CRC32 is what satisfied Object Lock's checksum rule.
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: result.key, ChecksumMode: 'ENABLED' }));
    expect(head.ObjectLockMode).toBe('GOVERNANCE');
    expect(head.ObjectLockRetainUntilDate!.getTime()).toBeGreaterThan(Date.now());
    expect(head.ChecksumCRC32).toMatch(/^[A-Za-z0-9+/]{6}==$/);
    expect(head.ContentType).toBe('application/json');
  });

  test('a redelivery of the same event writes once and reports a duplicate', async () => {
    const e = event('aws.sagemaker', 'SageMaker Endpoint State Change', 'dup-1');
    const first = await writeAuditEvent(e, config, deps());
    const second = await writeAuditEvent(e, config, deps());
    expect(first.status).toBe('written');
    expect(second).toEqual({ key: first.key, status: 'duplicate' });
    // Even a changed body under the same id never replaces the first record.
    const third = await writeAuditEvent({ ...e, detail: { tampered: true } }, config, deps());
    expect(third.status).toBe('duplicate');
    expect(await versions(client, bucket)).toEqual([first.key]);
    expect(await body(client, bucket, first.key)).toEqual(e);
    expect(logs).toContainEqual(expect.stringMatching(/duplicate delivery of event dup-1/));
  });

  test('without the SDK\'s default checksum, Object Lock would reject the write (so the CRC32 is what satisfies it)', async () => {
    const bare = new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
    await expect(writeAuditEvent(event('aws.sagemaker', 'SageMaker Endpoint State Change', 'nochk'), config, { s3: bare, sleep: noSleep }))
      .rejects.toThrow(/Content-MD5 or x-amz-sdk-checksum-algorithm header required/);
  });

  test('events of other kinds are kept under other/, never dropped', async () => {
    const training = await writeAuditEvent(event('aws.sagemaker', 'SageMaker Training Job State Change', 'o-1'), config, deps());
    expect(training.key).toBe('other/2026/11/30/aws.sagemaker/sagemaker-training-job-state-change/20261130T123456Z-o-1.json');
    // The rule's pattern is source x detail-type, so a custom source with a SageMaker type can match it.
    const spoofed = await writeAuditEvent(event(AUDIT_EVENT_SOURCE, 'SageMaker Endpoint State Change', 'o-2'), config, deps());
    expect(spoofed.key).toBe('other/2026/11/30/cdk-ml-platform.continuous-training/sagemaker-endpoint-state-change/20261130T123456Z-o-2.json');
    expect(await versions(client, bucket)).toEqual([spoofed.key, training.key].sort());
  });

  test('throttling is retried with backoff, then the event is written', async () => {
    const realSend = client.send.bind(client) as (c: unknown) => Promise<any>;
    const mock = mockClient(client);
    let calls = 0;
    mock.on(PutObjectCommand).callsFake(async input => {
      if (++calls <= 2) {
        throw new S3ServiceException({ name: 'SlowDown', $fault: 'server', $metadata: { httpStatusCode: 503 }, message: 'Please reduce your request rate.' });
      }
      return realSend(new PutObjectCommand(input));
    });
    const sleeps: number[] = [];
    const result = await writeAuditEvent(event('aws.sagemaker', 'SageMaker Model Package State Change', 't-1'), config,
      deps({ sleep: async (ms: number) => { sleeps.push(ms); } }));
    mock.restore();
    expect(result.status).toBe('written');
    expect(calls).toBe(3);
    expect(sleeps).toHaveLength(2);
    expect(logs.filter(l => /throttled \(attempt \d\)/.test(l))).toHaveLength(2);
    expect(await versions(client, bucket)).toEqual([result.key]);
  });

  test('a write racing a concurrent delivery of the same event (409) is retried and ends as a duplicate', async () => {
    const e = event('aws.sagemaker', 'SageMaker Endpoint Deployment State Change', 'race-1');
    const realSend = client.send.bind(client) as (c: unknown) => Promise<any>;
    const mock = mockClient(client);
    let calls = 0;
    mock.on(PutObjectCommand).callsFake(async input => {
      if (++calls === 1) {
        // The other delivery wins while this one is in flight.
        await realSend(new PutObjectCommand(input));
        throw new S3ServiceException({
          name: 'ConditionalRequestConflict',
          $fault: 'client',
          $metadata: { httpStatusCode: 409 },
          message: 'A conflicting conditional operation is currently in progress against this resource.',
        });
      }
      return realSend(new PutObjectCommand(input));
    });
    const result = await writeAuditEvent(e, config, deps());
    mock.restore();
    expect(result.status).toBe('duplicate');
    expect(calls).toBe(2);
    expect(await versions(client, bucket)).toEqual([result.key]);
  });

  test('throttling that outlasts every attempt fails as ThrottledError; other AWS errors are not retried; a lasting 409 fails after 3 attempts', async () => {
    const mock = mockClient(client);
    mock.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'SlowDown', $fault: 'server', $metadata: { httpStatusCode: 503 }, message: 'slow down' }));
    const e = event('aws.sagemaker', 'SageMaker Model Package State Change', 't-2');
    await expect(writeAuditEvent(e, config, deps({ maxAttempts: 3 }))).rejects.toThrow(ThrottledError);
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(3);

    mock.reset();
    mock.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied' }));
    await expect(writeAuditEvent(e, config, deps())).rejects.toThrow(/Access Denied/);
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(1);

    mock.reset();
    mock.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'ConditionalRequestConflict', $fault: 'client', $metadata: { httpStatusCode: 409 }, message: 'conflict' }));
    await expect(writeAuditEvent(e, config, deps())).rejects.toThrow(/conflict/);
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(3);
    mock.restore();
  });

  test.each([
    ['not an object', 'hello', /must be an EventBridge event object, got "hello"/],
    ['null', null, /must be an EventBridge event object, got null/],
    ['no id', { ...event('aws.sagemaker', 'SageMaker Endpoint State Change', 'x'), id: undefined }, /id must be 1-128 letters/],
    ['an id that escapes its key segment', event('aws.sagemaker', 'SageMaker Endpoint State Change', '../../x'), /id must be/],
    ['no source', { ...event('aws.sagemaker', 'SageMaker Endpoint State Change', 'x'), source: '' }, /source must be a non-empty string/],
    ['a detail-type of punctuation only', event('aws.sagemaker', '///', 'x'), /detail-type must be a non-empty string with at least one letter or digit/],
    ['a local time', event('aws.sagemaker', 'SageMaker Endpoint State Change', 'x', '2026-11-30T12:34:56+02:00'), /time must be an RFC 3339 UTC timestamp/],
    ['an impossible date', event('aws.sagemaker', 'SageMaker Endpoint State Change', 'x', '2026-13-45T12:34:56Z'), /time must be/],
    ['a date that does not exist', event('aws.sagemaker', 'SageMaker Endpoint State Change', 'x', '2026-02-30T12:34:56Z'), /time must be/],
  ])('a malformed event (%s) fails loudly and writes nothing', async (_, bad, message) => {
    const attempt = writeAuditEvent(bad, config, deps());
    await expect(attempt).rejects.toThrow(MalformedAuditEventError);
    await expect(writeAuditEvent(bad, config, deps())).rejects.toThrow(message);
    expect(await versions(client, bucket)).toEqual([]);
  });

  test('every problem of a malformed event is named at once', async () => {
    await expect(writeAuditEvent({ 'detail-type': 'x' }, config, deps()))
      .rejects.toThrow(/malformed audit event: id must be .*; source must be .*; time must be/);
  });
});

describe('pure helpers', () => {
  test('slug keeps letters, digits and dots, lowercases, and joins the rest with dashes', () => {
    expect(slug('SageMaker Endpoint State Change')).toBe('sagemaker-endpoint-state-change');
    expect(slug('cdk-ml-platform.continuous-training')).toBe('cdk-ml-platform.continuous-training');
    expect(slug('  ../Weird / Type__ ')).toBe('weird-type');
  });

  test('auditKey depends only on the event, so retries and redeliveries share one key', () => {
    const e = event('aws.sagemaker', 'SageMaker Endpoint State Change', 'same');
    expect(auditKey(e, known)).toBe(auditKey(JSON.parse(JSON.stringify(e)), known));
  });

  test('configFromEnv reads the bucket and the known kinds, and names what is missing', () => {
    expect(configFromEnv({ AUDIT_BUCKET: 'b', AUDIT_KNOWN_EVENTS: '[{"source":"s","detailType":"d"}]' }))
      .toEqual({ bucket: 'b', known: [{ source: 's', detailType: 'd' }] });
    expect(() => configFromEnv({})).toThrow(/AUDIT_BUCKET is not set/);
    expect(() => configFromEnv({ AUDIT_BUCKET: 'b', AUDIT_KNOWN_EVENTS: '{' })).toThrow(/AUDIT_KNOWN_EVENTS is not JSON/);
    expect(() => configFromEnv({ AUDIT_BUCKET: 'b', AUDIT_KNOWN_EVENTS: '[{"source":1}]' })).toThrow(/JSON array of/);
  });
});
