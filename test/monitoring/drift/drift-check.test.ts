import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import {
  configFromEnv, createAnalyzer, DriftAnalyzer, DriftCheckConfig, DriftCheckDeps, handler, runDriftCheck, setAnalyzerFactory,
} from '../../../src/monitoring/drift/drift-check.lambda';
import { MotoServer, motoClientConfig, startMoto } from '../../support/moto';

/**
 * The drift check runs against moto_server through the real S3 client. aws-sdk-client-mock is only layered on
 * top to inject failures, passing every other call through to moto.
 */
let moto: MotoServer;
let bucketCounter = 0;

beforeAll(async () => { moto = await startMoto(); });
afterAll(async () => { await moto?.stop(); });

/** A stand-in for the drift engine: counts records and scores each feature by its share of numeric values. */
class FakeAnalyzer implements DriftAnalyzer {
  public readonly records: Record<string, unknown>[] = [];
  public malformed = 0;
  public add(record: Record<string, unknown>): void { this.records.push(record); }
  public addMalformed(): void { this.malformed++; }
  public result() {
    const features: Record<string, { psi?: number }> = {};
    for (const r of this.records) {
      for (const k of Object.keys(r)) { features[k] = { psi: (features[k]?.psi ?? 0) + 0.1 }; }
    }
    return { overallDriftScore: this.records.length / 100, features, analyzed: this.records.length };
  }
}

const T1 = new Date('2026-11-30T12:00:00.000Z');
const T2 = new Date('2026-11-30T13:00:00.000Z');

function captureLine(input: unknown, output: unknown = { predictions: [0.5] }): string {
  return JSON.stringify({
    captureData: {
      endpointInput: { observedContentType: 'application/json', mode: 'INPUT', data: JSON.stringify(input), encoding: 'JSON' },
      endpointOutput: { observedContentType: 'application/json', mode: 'OUTPUT', data: JSON.stringify(output), encoding: 'JSON' },
    },
    eventMetadata: { eventId: 'e', inferenceTime: '2026-11-30T10:00:00Z' },
    eventVersion: '0',
  });
}
function csvLine(csv: string): string {
  return JSON.stringify({
    captureData: { endpointInput: { observedContentType: 'text/csv', mode: 'INPUT', data: csv, encoding: 'CSV' } },
    eventMetadata: { eventId: 'e', inferenceTime: '2026-11-30T11:00:00Z' },
    eventVersion: '0',
  });
}

const PREFIX = 'capture/churn-ep/';
const KEY_10 = `${PREFIX}AllTraffic/2026/11/30/10/00-01-000-aaaa.jsonl`;
const KEY_10B = `${PREFIX}AllTraffic/2026/11/30/10/30-00-000-bbbb.jsonl`;
const KEY_11 = `${PREFIX}AllTraffic/2026/11/30/11/05-00-000-cccc.jsonl`;
const KEY_12 = `${PREFIX}AllTraffic/2026/11/30/12/05-00-000-dddd.jsonl`;

const FILE_10 = [captureLine({ age: 1, plan: 'pro' }), captureLine([{ age: 2, plan: 'basic' }, { age: 3, plan: 'pro' }])].join('\n') + '\n';
const FILE_10B = `${captureLine({ instances: [{ age: 4, plan: 'pro' }] })}\r\n`;
const FILE_11 = [csvLine('5,pro\n6,basic'), '', captureLine({ age: 7, plan: 'pro' })].join('\n'); // no final newline

interface Setup {
  readonly bucket: string;
  readonly config: DriftCheckConfig;
}

async function setup(client: S3Client, files: Record<string, string | Buffer>, extra: Partial<DriftCheckConfig> = {}): Promise<Setup> {
  const bucket = `capture-${++bucketCounter}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  await put(client, bucket, files);
  return {
    bucket,
    config: {
      bucket,
      capturePrefix: PREFIX,
      endpointName: 'churn-ep',
      stateKey: 'drift/churn-ep/state.json',
      reportPrefix: 'drift/churn-ep/reports/',
      featureNames: ['age', 'plan'],
      ...extra,
    },
  };
}

async function put(client: S3Client, bucket: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [key, body] of Object.entries(files)) {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }
}

async function readJson(client: S3Client, bucket: string, key: string): Promise<any> {
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await got.Body!.transformToString('utf-8'));
}

async function keys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map(o => o.Key!);
}

type TestDeps = DriftCheckDeps & { lines: string[]; logs: string[]; analyzer: FakeAnalyzer };

function deps(client: S3Client, now: Date, extra: Partial<DriftCheckDeps> = {}): TestDeps {
  const lines: string[] = [];
  const logs: string[] = [];
  return {
    s3: client,
    analyzer: new FakeAnalyzer(),
    emit: l => lines.push(l),
    now: () => now,
    sleep: async () => undefined,
    log: m => logs.push(m),
    lines,
    logs,
    ...extra,
  } as TestDeps;
}

describe('runDriftCheck', () => {
  let client: S3Client;
  beforeEach(() => { client = new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true }); });
  afterEach(() => { client.destroy(); });

  test('first run reads every capture file, writes the report and metrics, then the watermark; a second run finds nothing', async () => {
    // GIVEN capture files across two hours (and a file of another endpoint with the same string prefix)
    const s = await setup(client, {
      [KEY_11]: FILE_11,
      [KEY_10]: FILE_10,
      [KEY_10B]: FILE_10B,
      'capture/churn-ep-old/AllTraffic/2026/11/30/10/x.jsonl': FILE_10,
    });

    // WHEN
    const d = deps(client, T1);
    const summary = await runDriftCheck(s.config, d);

    // THEN every record was analyzed, oldest file first
    const reportKey = 'drift/churn-ep/reports/2026-11-30T12:00:00.000Z.json';
    expect(summary).toEqual({
      objects: 3, records: 7, malformed: 0, poisoned: 0, reportKey, watermark: { lastKey: KEY_11, lastModified: expect.any(String) },
    });
    expect(d.analyzer.records.map(r => Number(r.age))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(d.analyzer.records[4]).toEqual({ age: '5', plan: 'pro' }); // CSV values stay strings

    const report = await readJson(client, s.bucket, reportKey);
    expect(report).toEqual({
      format: 'cdk-ml-platform/drift-report',
      version: 1,
      createdAt: T1.toISOString(),
      endpointName: 'churn-ep',
      window: { afterKey: null, firstKey: KEY_10, lastKey: KEY_11, objects: 3 },
      recordsAnalyzed: 7,
      malformedRecords: 0,
      poisonedObjects: [],
      result: { overallDriftScore: 0.07, features: { age: { psi: expect.closeTo(0.7) }, plan: { psi: expect.closeTo(0.7) } }, analyzed: 7 },
    });

    // the metrics: one EMF document for the endpoint, one per feature
    const docs = d.lines.map(l => JSON.parse(l));
    expect(docs).toHaveLength(3);
    expect(docs[0]).toEqual({
      _aws: {
        Timestamp: T1.getTime(),
        CloudWatchMetrics: [{
          Namespace: 'MlPlatform/Drift',
          Dimensions: [['EndpointName']],
          Metrics: [
            { Name: 'DriftScore', Unit: 'None' }, { Name: 'RecordsAnalyzed', Unit: 'Count' },
            { Name: 'MalformedRecords', Unit: 'Count' }, { Name: 'PoisonedObjects', Unit: 'Count' },
          ],
        }],
      },
      EndpointName: 'churn-ep',
      DriftScore: 0.07,
      RecordsAnalyzed: 7,
      MalformedRecords: 0,
      PoisonedObjects: 0,
    });
    expect(docs[1]).toEqual({
      _aws: { Timestamp: T1.getTime(), CloudWatchMetrics: [{ Namespace: 'MlPlatform/Drift', Dimensions: [['EndpointName', 'Feature']], Metrics: [{ Name: 'PSI', Unit: 'None' }] }] },
      EndpointName: 'churn-ep',
      Feature: 'age',
      PSI: expect.closeTo(0.7),
    });
    expect(docs[2]).toMatchObject({ Feature: 'plan' });

    const state = await readJson(client, s.bucket, 'drift/churn-ep/state.json');
    expect(state).toEqual({ lastKey: KEY_11, lastModified: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T.*Z$/) });

    // AND a second run finds nothing new: no report, RecordsAnalyzed 0, watermark unchanged
    const again = deps(client, T2);
    expect(await runDriftCheck(s.config, again)).toEqual({ objects: 0, records: 0, malformed: 0, poisoned: 0, watermark: state });
    expect(again.analyzer.records).toEqual([]);
    expect(await keys(client, s.bucket, 'drift/churn-ep/reports/')).toEqual([reportKey]);
    expect(again.lines.map(l => JSON.parse(l))).toEqual([{
      _aws: {
        Timestamp: T2.getTime(),
        CloudWatchMetrics: [{
          Namespace: 'MlPlatform/Drift',
          Dimensions: [['EndpointName']],
          Metrics: [{ Name: 'RecordsAnalyzed', Unit: 'Count' }, { Name: 'MalformedRecords', Unit: 'Count' }, { Name: 'PoisonedObjects', Unit: 'Count' }],
        }],
      },
      EndpointName: 'churn-ep',
      RecordsAnalyzed: 0,
      MalformedRecords: 0,
      PoisonedObjects: 0,
    }]);
    expect(await readJson(client, s.bucket, 'drift/churn-ep/state.json')).toEqual(state);
  });

  test('a new file is the only one processed on the next run', async () => {
    const s = await setup(client, { [KEY_10]: FILE_10, [KEY_11]: FILE_11 });
    await runDriftCheck(s.config, deps(client, T1));
    await put(client, s.bucket, { [KEY_12]: captureLine({ age: 8, plan: 'pro' }) });

    const d = deps(client, T2);
    const summary = await runDriftCheck(s.config, d);

    expect(summary).toMatchObject({ objects: 1, records: 1, reportKey: 'drift/churn-ep/reports/2026-11-30T13:00:00.000Z.json', watermark: { lastKey: KEY_12 } });
    expect(d.analyzer.records).toEqual([{ age: 8, plan: 'pro' }]);
    const report = await readJson(client, s.bucket, summary.reportKey!);
    expect(report.window).toEqual({ afterKey: KEY_11, firstKey: KEY_12, lastKey: KEY_12, objects: 1 });
  });

  test('maxObjects takes the oldest files and leaves the rest for the next run (listing paginates)', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 5; i++) { files[`${PREFIX}AllTraffic/2026/11/30/1${i}/f.jsonl`] = captureLine({ age: i, plan: 'x' }); }
    const s = await setup(client, files, { maxObjects: 3 });
    const realSend = client.send.bind(client) as (command: unknown) => Promise<any>;
    const mock = mockClient(client);
    mock.on(ListObjectsV2Command).callsFake(input => realSend(new ListObjectsV2Command({ ...input, MaxKeys: 2 })));
    mock.on(GetObjectCommand).callsFake(input => realSend(new GetObjectCommand(input)));
    mock.on(PutObjectCommand).callsFake(input => realSend(new PutObjectCommand(input)));

    const first = deps(client, T1);
    expect(await runDriftCheck(s.config, first)).toMatchObject({ objects: 3, records: 3, watermark: { lastKey: `${PREFIX}AllTraffic/2026/11/30/12/f.jsonl` } });
    const second = deps(client, T2);
    expect(await runDriftCheck(s.config, second)).toMatchObject({ objects: 2, records: 2, watermark: { lastKey: `${PREFIX}AllTraffic/2026/11/30/14/f.jsonl` } });
    expect([...first.analyzer.records, ...second.analyzer.records].map(r => r.age)).toEqual([0, 1, 2, 3, 4]);
    expect(mock.commandCalls(ListObjectsV2Command).length).toBeGreaterThan(2);
    mock.restore();
  });

  test('malformed lines are counted, passed to the analyzer and skipped', async () => {
    const s = await setup(client, {
      [KEY_10]: [
        captureLine({ age: 1, plan: 'a' }),
        '{"captureData": ', // truncated
        csvLine('1,2,3'), // 3 columns, 2 feature names
        '{"eventVersion": "0"}', // no captureData
        captureLine({ age: 2, plan: 'b' }),
      ].join('\n'),
    });
    const d = deps(client, T1);
    const summary = await runDriftCheck(s.config, d);
    expect(summary).toMatchObject({ objects: 1, records: 2, malformed: 3, poisoned: 0 });
    expect(d.analyzer.malformed).toBe(3);
    expect(JSON.parse(d.lines[0])).toMatchObject({ RecordsAnalyzed: 2, MalformedRecords: 3 });
    expect(d.logs.some(l => l.includes('Malformed capture line: not JSON'))).toBe(true);
  });

  test('a file that is not UTF-8 is poisoned: skipped and counted, the others are processed', async () => {
    const bad = Buffer.concat([Buffer.from(`${captureLine({ age: 99, plan: 'z' })}\n`), Buffer.from([0xff, 0xfe, 0x0a])]);
    const s = await setup(client, { [KEY_10]: FILE_10, [KEY_10B]: bad, [KEY_11]: FILE_11 });
    const d = deps(client, T1);
    const summary = await runDriftCheck(s.config, d);
    expect(summary).toMatchObject({ objects: 3, records: 6, poisoned: 1, watermark: { lastKey: KEY_11 } });
    expect(d.analyzer.records.map(r => Number(r.age))).toEqual([1, 2, 3, 5, 6, 7]); // nothing of the poisoned file
    expect(JSON.parse(d.lines[0])).toMatchObject({ PoisonedObjects: 1, RecordsAnalyzed: 6 });
    expect((await readJson(client, s.bucket, summary.reportKey!)).poisonedObjects).toEqual([KEY_10B]);
    expect(d.logs.some(l => l.startsWith(`Skipping poisoned capture file s3://${s.bucket}/${KEY_10B}: TypeError`))).toBe(true);
  });

  test('a GetObject error other than throttling poisons that file only', async () => {
    const s = await setup(client, { [KEY_10]: FILE_10, [KEY_10B]: FILE_10B, [KEY_11]: FILE_11 });
    const realSend = client.send.bind(client) as (command: unknown) => Promise<any>;
    const mock = mockClient(client);
    mock.on(ListObjectsV2Command).callsFake(input => realSend(new ListObjectsV2Command(input)));
    mock.on(PutObjectCommand).callsFake(input => realSend(new PutObjectCommand(input)));
    mock.on(GetObjectCommand).callsFake(async input => {
      if (input.Key === KEY_10) {
        throw new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'KMS key disabled' });
      }
      return realSend(new GetObjectCommand(input));
    });
    const d = deps(client, T1);
    const summary = await runDriftCheck(s.config, d);
    mock.restore();
    expect(summary).toMatchObject({ objects: 3, records: 4, poisoned: 1, watermark: { lastKey: KEY_11 } });
    expect(d.logs).toContain(`Skipping poisoned capture file s3://${s.bucket}/${KEY_10}: AccessDenied: KMS key disabled`);
    expect((await readJson(client, s.bucket, 'drift/churn-ep/state.json')).lastKey).toBe(KEY_11);
  });

  test('throttled ListObjectsV2 is retried with backoff', async () => {
    const s = await setup(client, { [KEY_10]: FILE_10 });
    const realSend = client.send.bind(client) as (command: unknown) => Promise<any>;
    const mock = mockClient(client);
    let throttled = 0;
    mock.on(ListObjectsV2Command).callsFake(async input => {
      if (throttled++ < 2) {
        throw new S3ServiceException({ name: 'SlowDown', $fault: 'server', $metadata: { httpStatusCode: 503 }, message: 'Please reduce your request rate.' });
      }
      return realSend(new ListObjectsV2Command(input));
    });
    mock.on(GetObjectCommand).callsFake(input => realSend(new GetObjectCommand(input)));
    mock.on(PutObjectCommand).callsFake(input => realSend(new PutObjectCommand(input)));
    const sleeps: number[] = [];
    const d = deps(client, T1, { sleep: async ms => { sleeps.push(ms); } });
    const summary = await runDriftCheck(s.config, d);
    expect(summary).toMatchObject({ objects: 1, records: 3 });
    expect(mock.commandCalls(ListObjectsV2Command)).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(sleeps.every(ms => ms >= 0 && ms <= 20_000)).toBe(true);
    mock.restore();
  });

  test('GetObject throttled past maxAttempts fails the run without moving the watermark', async () => {
    const s = await setup(client, { [KEY_10]: FILE_10 });
    const realSend = client.send.bind(client) as (command: unknown) => Promise<any>;
    const mock = mockClient(client);
    mock.on(ListObjectsV2Command).callsFake(input => realSend(new ListObjectsV2Command(input)));
    mock.on(GetObjectCommand).callsFake(async input => {
      if (input.Key === KEY_10) { throw new S3ServiceException({ name: 'SlowDown', $fault: 'server', $metadata: { httpStatusCode: 503 }, message: 'Slow down' }); }
      return realSend(new GetObjectCommand(input));
    });
    await expect(runDriftCheck(s.config, deps(client, T1, { maxAttempts: 2 }))).rejects.toThrow(
      `GetObject(s3://${s.bucket}/${KEY_10}) was still throttled after 2 attempts: Slow down`);
    mock.restore();
    expect(await keys(client, s.bucket, 'drift/')).toEqual([]);
  });

  test('the watermark moves only after the report and the metrics: a failed report write re-processes next time', async () => {
    const s = await setup(client, { [KEY_10]: FILE_10 });
    const realSend = client.send.bind(client) as (command: unknown) => Promise<any>;
    const mock = mockClient(client);
    mock.on(ListObjectsV2Command).callsFake(input => realSend(new ListObjectsV2Command(input)));
    mock.on(GetObjectCommand).callsFake(input => realSend(new GetObjectCommand(input)));
    mock.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'denied' }));
    const d = deps(client, T1);
    await expect(runDriftCheck(s.config, d)).rejects.toThrow('denied');
    mock.restore();
    expect(d.lines).toEqual([]);
    expect(await runDriftCheck(s.config, deps(client, T2))).toMatchObject({ objects: 1, records: 3 });
  });

  test('a watermark that is not valid JSON fails clearly', async () => {
    const s = await setup(client, { [KEY_10]: FILE_10, 'drift/churn-ep/state.json': 'oops' });
    await expect(runDriftCheck(s.config, deps(client, T1))).rejects.toThrow(
      `The drift watermark s3://${s.bucket}/drift/churn-ep/state.json is not {"lastKey": string, "lastModified": string}: "oops"`);
  });
});

describe('drift check Lambda entry point', () => {
  const saved = { ...process.env };
  beforeAll(() => {
    process.env.AWS_ENDPOINT_URL_S3 = moto.endpoint;
    process.env.AWS_REGION = 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  });
  afterAll(() => {
    process.env = saved;
    setAnalyzerFactory(undefined);
  });

  test('configFromEnv reads the DRIFT_* variables and lists the missing ones', () => {
    expect(configFromEnv({
      DRIFT_BUCKET: 'b',
      DRIFT_CAPTURE_PREFIX: 'capture/ep/',
      DRIFT_ENDPOINT_NAME: 'ep',
      DRIFT_STATE_KEY: 's.json',
      DRIFT_REPORT_PREFIX: 'r/',
      DRIFT_FEATURE_NAMES: 'age, plan,,',
      DRIFT_MAX_OBJECTS: '20',
    })).toEqual({ bucket: 'b', capturePrefix: 'capture/ep/', endpointName: 'ep', stateKey: 's.json', reportPrefix: 'r/', featureNames: ['age', 'plan'], maxObjects: 20 });
    expect(() => configFromEnv({ DRIFT_BUCKET: 'b', DRIFT_STATE_KEY: ' ' })).toThrow(
      'The drift check needs the environment variable(s) DRIFT_CAPTURE_PREFIX, DRIFT_ENDPOINT_NAME, DRIFT_STATE_KEY, DRIFT_REPORT_PREFIX');
  });

  test('fails until the drift engine is configured, then runs with it', async () => {
    const client = new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true });
    const s = await setup(client, { [KEY_10]: FILE_10 });
    client.destroy();
    Object.assign(process.env, {
      DRIFT_BUCKET: s.bucket, DRIFT_CAPTURE_PREFIX: PREFIX, DRIFT_ENDPOINT_NAME: 'churn-ep', DRIFT_STATE_KEY: 'state.json', DRIFT_REPORT_PREFIX: 'reports/',
    });
    expect(() => createAnalyzer(s.config)).toThrow('drift engine not configured');
    await expect(handler({})).rejects.toThrow('drift engine not configured');

    const analyzer = new FakeAnalyzer();
    setAnalyzerFactory(() => analyzer);
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const summary = await handler({});
      expect(summary).toMatchObject({ objects: 1, records: 3, poisoned: 0 });
      expect(analyzer.records).toHaveLength(3);
      const printed = log.mock.calls.map(c => String(c[0]));
      expect(printed.some(l => l.startsWith('{"_aws":') && JSON.parse(l).DriftScore === 0.03)).toBe(true);
    } finally {
      log.mockRestore();
    }
  });
});
