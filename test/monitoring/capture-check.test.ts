import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand, CreateModelPackageGroupCommand, DescribeModelPackageCommand, ListModelPackagesCommand, SageMakerClient,
  UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { BaselineBuilder } from '../../src/core/baseline';
import {
  AnalysisResult, CaptureAnalyzer, CaptureCheckConfig, CaptureCheckDeps, captureTime, configFromEnv, driftAnalyzer, handler, runCaptureCheck,
  runConfiguredCheck,
} from '../../src/monitoring/capture-check.lambda';
import { DecodedCapture } from '../../src/monitoring/drift/capture';
import { MotoServer, motoClientConfig, startMoto } from '../support/moto';

/**
 * The drift check runs against moto_server through the real S3 client. aws-sdk-client-mock is only layered on
 * top to inject failures, passing every other call through to moto.
 */
let moto: MotoServer;
let bucketCounter = 0;

beforeAll(async () => { moto = await startMoto(); });
afterAll(async () => { await moto?.stop(); });

/** A stand-in analyzer: collects the input records and scores each feature by how often it was seen. */
class FakeAnalyzer implements CaptureAnalyzer {
  public readonly records: Record<string, unknown>[] = [];
  public malformed = 0;
  public add(capture: DecodedCapture): void { this.records.push(...capture.input ?? []); }
  public addMalformed(): void { this.malformed++; }
  public result(): AnalysisResult {
    const featureMetrics: Record<string, Record<string, { value: number; unit: string }>> = {};
    for (const r of this.records) {
      for (const k of Object.keys(r)) { featureMetrics[k] = { PSI: { value: (featureMetrics[k]?.PSI.value ?? 0) + 0.1, unit: 'None' } }; }
    }
    return { metrics: { DriftScore: { value: this.records.length / 100, unit: 'None' } }, featureMetrics, detail: { analyzed: this.records.length } };
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
const VARIANT = `${PREFIX}AllTraffic/`;
const KEY_10 = `${PREFIX}AllTraffic/2026/11/30/10/00-01-000-aaaa.jsonl`;
const KEY_10B = `${PREFIX}AllTraffic/2026/11/30/10/30-00-000-bbbb.jsonl`;
const KEY_11 = `${PREFIX}AllTraffic/2026/11/30/11/05-00-000-cccc.jsonl`;
const KEY_12 = `${PREFIX}AllTraffic/2026/11/30/12/05-00-000-dddd.jsonl`;

const FILE_10 = [captureLine({ age: 1, plan: 'pro' }), captureLine([{ age: 2, plan: 'basic' }, { age: 3, plan: 'pro' }])].join('\n') + '\n';
const FILE_10B = `${captureLine({ instances: [{ age: 4, plan: 'pro' }] })}\r\n`;
const FILE_11 = [csvLine('5,pro\n6,basic'), '', captureLine({ age: 7, plan: 'pro' })].join('\n'); // no final newline

interface Setup {
  readonly bucket: string;
  readonly config: CaptureCheckConfig;
}

async function setup(client: S3Client, files: Record<string, string | Buffer>, extra: Partial<CaptureCheckConfig> = {}): Promise<Setup> {
  const bucket = `capture-${++bucketCounter}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  await put(client, bucket, files);
  return {
    bucket,
    config: {
      kind: 'drift',
      namespace: 'MlPlatform/Drift',
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

type TestDeps = CaptureCheckDeps & { lines: string[]; logs: string[]; analyzer: FakeAnalyzer };

function deps(client: S3Client, now: Date, extra: Partial<CaptureCheckDeps> = {}): TestDeps {
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

describe('runCaptureCheck', () => {
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
    const summary = await runCaptureCheck(s.config, d);

    // THEN every record was analyzed, oldest file first
    const reportKey = 'drift/churn-ep/reports/2026-11-30T12:00:00.000Z.json';
    expect(summary).toEqual({
      objects: 3, records: 5, malformed: 0, poisoned: 0, reportKey, watermark: { version: 2, variants: { [VARIANT]: KEY_11 } },
    });
    expect(d.analyzer.records.map(r => Number(r.age))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(d.analyzer.records[4]).toEqual({ age: '5', plan: 'pro' }); // CSV values stay strings

    const report = await readJson(client, s.bucket, reportKey);
    expect(report).toEqual({
      format: 'cdk-ml-platform/capture-check-report',
      version: 2,
      kind: 'drift',
      createdAt: T1.toISOString(),
      endpointName: 'churn-ep',
      window: { [VARIANT]: { afterKey: null, firstKey: KEY_10, lastKey: KEY_11, objects: 3 } },
      recordsAnalyzed: 5,
      malformedRecords: 0,
      poisonedObjects: [],
      metrics: { DriftScore: 0.07 },
      result: { analyzed: 7 },
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
      RecordsAnalyzed: 5,
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
    expect(state).toEqual({ version: 2, variants: { [VARIANT]: KEY_11 } });

    // AND a second run finds nothing new: no report, RecordsAnalyzed 0, watermark unchanged
    const again = deps(client, T2);
    expect(await runCaptureCheck(s.config, again)).toEqual({ objects: 0, records: 0, malformed: 0, poisoned: 0, watermark: state });
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
    await runCaptureCheck(s.config, deps(client, T1));
    await put(client, s.bucket, { [KEY_12]: captureLine({ age: 8, plan: 'pro' }) });

    const d = deps(client, T2);
    const summary = await runCaptureCheck(s.config, d);

    expect(summary).toMatchObject({ objects: 1, records: 1, reportKey: 'drift/churn-ep/reports/2026-11-30T13:00:00.000Z.json', watermark: { variants: { [VARIANT]: KEY_12 } } });
    expect(d.analyzer.records).toEqual([{ age: 8, plan: 'pro' }]);
    const report = await readJson(client, s.bucket, summary.reportKey!);
    expect(report.window).toEqual({ [VARIANT]: { afterKey: KEY_11, firstKey: KEY_12, lastKey: KEY_12, objects: 1 } });
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

    // file names without a time: due once their hour ended + the grace period
    const first = deps(client, new Date('2026-11-30T16:00:00Z'));
    expect(await runCaptureCheck(s.config, first)).toMatchObject({ objects: 3, records: 3, watermark: { variants: { [VARIANT]: `${VARIANT}2026/11/30/12/f.jsonl` } } });
    const second = deps(client, new Date('2026-11-30T17:00:00Z'));
    expect(await runCaptureCheck(s.config, second)).toMatchObject({ objects: 2, records: 2, watermark: { variants: { [VARIANT]: `${VARIANT}2026/11/30/14/f.jsonl` } } });
    expect([...first.analyzer.records, ...second.analyzer.records].map(r => r.age)).toEqual([0, 1, 2, 3, 4]);
    expect(mock.commandCalls(ListObjectsV2Command).length).toBeGreaterThan(2);
    mock.restore();
  });

  test('the drift analyzer reads common lines without decoding them, with the same report, counts and logs as by decoding', async () => {
    // GIVEN files mixing common lines, other shapes (array, instances, CSV) and malformed lines
    const builder = new BaselineBuilder({ now: () => T1 });
    for (let i = 0; i < 200; i++) { builder.add({ age: i % 50, plan: i % 3 === 0 ? 'pro' : 'basic' }); }
    const baseline = builder.build();
    const common = Array.from({ length: 40 }, (_, i) => captureLine({ age: i, plan: i % 4 === 0 ? 'pro' : 'NaN', extra: i % 5 === 0 ? null : 'x' }));
    const s = await setup(client, {
      [KEY_10]: [...common.slice(0, 20), '{"captureData": ', csvLine('1,2,3'), captureLine({ age: 1, plan: 'a', age2: 'dup' })].join('\n'),
      [KEY_10B]: [FILE_10B, ...common.slice(20), FILE_10, captureLine({ age: { nested: 1 } })].join('\n'),
      [KEY_11]: FILE_11,
    });
    const run = async (analyzer: CaptureAnalyzer) => {
      const d = deps(client, T1, { analyzer });
      await client.send(new PutObjectCommand({ Bucket: s.bucket, Key: s.config.stateKey, Body: '{"version":2,"variants":{}}' }));
      const summary = await runCaptureCheck(s.config, d);
      const report = (await readJson(client, s.bucket, summary.reportKey!)).result;
      return { summary: { ...summary, reportKey: undefined }, report, lines: d.lines, logs: d.logs };
    };

    // WHEN the same files go through the drift analyzer with its fast path and without it
    const fast = driftAnalyzer(baseline);
    const lineCalls: boolean[] = [];
    const withFastPath = await run({ ...fast, addLine: line => { const taken = fast.addLine!(line); lineCalls.push(taken); return taken; } });
    const withoutFastPath = await run({ ...driftAnalyzer(baseline), addLine: undefined });

    // THEN the common lines took the fast path, and nothing else differs
    expect(lineCalls.filter(Boolean).length).toBeGreaterThanOrEqual(41);
    expect(lineCalls.filter(taken => !taken).length).toBeGreaterThanOrEqual(4);
    expect(withFastPath).toEqual(withoutFastPath);
    expect(withFastPath.summary).toMatchObject({ objects: 3, records: 47, malformed: 2 }); // lines; FILE_10 and the CSV line hold 2 records each
    expect(withFastPath.report.recordCount).toBe(49);
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
    const summary = await runCaptureCheck(s.config, d);
    expect(summary).toMatchObject({ objects: 1, records: 2, malformed: 3, poisoned: 0 });
    expect(d.analyzer.malformed).toBe(3);
    expect(JSON.parse(d.lines[0])).toMatchObject({ RecordsAnalyzed: 2, MalformedRecords: 3 });
    expect(d.logs.some(l => l.includes('Malformed capture line: not JSON'))).toBe(true);
  });

  test('a file that is not UTF-8 is poisoned: skipped and counted, the others are processed', async () => {
    const bad = Buffer.concat([Buffer.from(`${captureLine({ age: 99, plan: 'z' })}\n`), Buffer.from([0xff, 0xfe, 0x0a])]);
    const s = await setup(client, { [KEY_10]: FILE_10, [KEY_10B]: bad, [KEY_11]: FILE_11 });
    const d = deps(client, T1);
    const summary = await runCaptureCheck(s.config, d);
    expect(summary).toMatchObject({ objects: 3, records: 4, poisoned: 1, watermark: { variants: { [VARIANT]: KEY_11 } } });
    expect(d.analyzer.records.map(r => Number(r.age))).toEqual([1, 2, 3, 5, 6, 7]); // nothing of the poisoned file
    expect(JSON.parse(d.lines[0])).toMatchObject({ PoisonedObjects: 1, RecordsAnalyzed: 4 });
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
    const summary = await runCaptureCheck(s.config, d);
    mock.restore();
    expect(summary).toMatchObject({ objects: 3, records: 3, poisoned: 1, watermark: { variants: { [VARIANT]: KEY_11 } } });
    expect(d.logs).toContain(`Skipping poisoned capture file s3://${s.bucket}/${KEY_10}: AccessDenied: KMS key disabled`);
    expect((await readJson(client, s.bucket, 'drift/churn-ep/state.json')).variants[VARIANT]).toBe(KEY_11);
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
    const summary = await runCaptureCheck(s.config, d);
    expect(summary).toMatchObject({ objects: 1, records: 2 });
    expect(mock.commandCalls(ListObjectsV2Command)).toHaveLength(4); // variants + one variant, after 2 throttled
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
    await expect(runCaptureCheck(s.config, deps(client, T1, { maxAttempts: 2 }))).rejects.toThrow(
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
    await expect(runCaptureCheck(s.config, d)).rejects.toThrow('denied');
    mock.restore();
    expect(d.lines).toEqual([]);
    expect(await runCaptureCheck(s.config, deps(client, T2))).toMatchObject({ objects: 1, records: 2 });
  });

  test('a watermark that is not valid JSON fails clearly', async () => {
    const s = await setup(client, { [KEY_10]: FILE_10, 'drift/churn-ep/state.json': 'oops' });
    await expect(runCaptureCheck(s.config, deps(client, T1))).rejects.toThrow(
      `The capture-check watermark s3://${s.bucket}/drift/churn-ep/state.json is not {"version": 2, "variants": {prefix: key}}: "oops"`);
  });
});


describe('which capture files are due', () => {
  let client: S3Client;
  beforeEach(() => { client = new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true }); });
  afterEach(() => { client.destroy(); });

  test('captureTime reads the hour from the path and mm-ss-mmm from the file name', () => {
    expect(new Date(captureTime(KEY_11)!).toISOString()).toBe('2026-11-30T11:05:00.000Z');
    expect(new Date(captureTime(`${VARIANT}2026/11/30/11/59-58-123-x.jsonl`)!).toISOString()).toBe('2026-11-30T11:59:58.123Z');
    // no time in the name: the end of the hour (conservative)
    expect(new Date(captureTime(`${VARIANT}2026/11/30/11/f.jsonl`)!).toISOString()).toBe('2026-11-30T11:59:59.999Z');
    // not a capture key: its LastModified
    expect(captureTime('capture/ep/odd.jsonl', new Date('2026-11-30T01:00:00Z'))).toBe(Date.parse('2026-11-30T01:00:00Z'));
  });

  test('a file inside the grace period waits for the next run; one delivered late with a smaller key is not lost', async () => {
    // GIVEN at 11:20 a file started 11:05 (due: 15 minutes old) and one started 11:10 (not yet due)
    const early = `${VARIANT}2026/11/30/11/05-00-000-a.jsonl`;
    const late = `${VARIANT}2026/11/30/11/08-00-000-b.jsonl`; // an instance started buffering at 11:08, delivers at 11:21
    const next = `${VARIANT}2026/11/30/11/10-00-000-c.jsonl`;
    const s = await setup(client, { [early]: captureLine({ age: 1, plan: 'a' }), [next]: captureLine({ age: 3, plan: 'c' }) });
    const first = deps(client, new Date('2026-11-30T11:20:00Z'));
    expect(await runCaptureCheck(s.config, first)).toMatchObject({ objects: 1, watermark: { variants: { [VARIANT]: early } } });

    // WHEN the late file arrives after the run, the next run takes it and the 11:10 file, in capture-time order
    await put(client, s.bucket, { [late]: captureLine({ age: 2, plan: 'b' }) });
    const second = deps(client, new Date('2026-11-30T11:40:00Z'));
    expect(await runCaptureCheck(s.config, second)).toMatchObject({ objects: 2, watermark: { variants: { [VARIANT]: next } } });
    expect([...first.analyzer.records, ...second.analyzer.records].map(r => r.age)).toEqual([1, 2, 3]);
  });

  test('the watermark is kept per variant: a variant whose keys sort lower is never skipped', async () => {
    const a = (h: string) => `${PREFIX}Canary/2026/11/30/${h}/00-00-000-x.jsonl`;
    const b = (h: string) => `${PREFIX}Primary/2026/11/30/${h}/00-00-000-x.jsonl`;
    const s = await setup(client, { [a('10')]: captureLine({ age: 1, plan: 'a' }), [b('10')]: captureLine({ age: 2, plan: 'b' }) });
    const first = deps(client, T1);
    expect(await runCaptureCheck(s.config, first)).toMatchObject({
      objects: 2, watermark: { version: 2, variants: { [`${PREFIX}Canary/`]: a('10'), [`${PREFIX}Primary/`]: b('10') } },
    });
    // a new Canary file sorts below the Primary watermark; a single-key watermark would skip it
    await put(client, s.bucket, { [a('11')]: captureLine({ age: 3, plan: 'a' }) });
    const second = deps(client, T2);
    expect(await runCaptureCheck(s.config, second)).toMatchObject({ objects: 1, records: 1 });
    expect(second.analyzer.records).toEqual([{ age: 3, plan: 'a' }]);
  });

  test('a version-1 watermark (one lastKey) is migrated to its variant', async () => {
    const s = await setup(client, {
      [KEY_10]: FILE_10,
      [KEY_11]: FILE_11,
      'drift/churn-ep/state.json': JSON.stringify({ lastKey: KEY_10, lastModified: '2026-11-30T10:10:00Z' }),
    });
    const d = deps(client, T1);
    expect(await runCaptureCheck(s.config, d)).toMatchObject({ objects: 1, watermark: { version: 2, variants: { [VARIANT]: KEY_11 } } });
  });

  test('invalid maxObjects and graceSeconds are refused', async () => {
    const s = await setup(client, {});
    await expect(runCaptureCheck({ ...s.config, maxObjects: 0 }, deps(client, T1))).rejects.toThrow('maxObjects must be a positive whole number, got 0');
    await expect(runCaptureCheck({ ...s.config, graceSeconds: -1 }, deps(client, T1))).rejects.toThrow('graceSeconds must be a non-negative number, got -1');
  });
});

describe('the configured checks (drift engine, prediction health) and the Lambda entry point', () => {
  let client: S3Client;
  let sagemaker: SageMakerClient;
  const saved = { ...process.env };
  beforeAll(() => {
    client = new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true });
    sagemaker = new SageMakerClient(motoClientConfig(moto.endpoint));
  });
  afterAll(() => {
    client.destroy();
    sagemaker.destroy();
    process.env = saved;
  });

  /** A baseline of `age` ~ 0..99 uniform and `plan` mostly 'basic', written to S3. */
  async function baselineUri(bucket: string): Promise<string> {
    const b = new BaselineBuilder();
    for (let i = 0; i < 1000; i++) { b.add({ age: i % 100, plan: i % 10 === 0 ? 'pro' : 'basic' }); }
    await put(client, bucket, { 'baselines/b.json': JSON.stringify(b.build()) });
    return `s3://${bucket}/baselines/b.json`;
  }

  function hourOf(records: Record<string, unknown>[], score: (i: number) => unknown): string {
    return records.map((r, i) => captureLine(r, { predictions: [score(i)] })).join('\n');
  }

  const envOf = (bucket: string, extra: Record<string, string>) => ({
    CHECK_BUCKET: bucket, CHECK_CAPTURE_PREFIX: PREFIX, CHECK_ENDPOINT_NAME: 'churn-ep', CHECK_STATE_KEY: 'state.json', CHECK_REPORT_PREFIX: 'reports/', ...extra,
  });

  test('drift: shifted inputs give a PSI above 0.2 per feature and a DriftScore; identical ones stay near 0', async () => {
    const s = await setup(client, {});
    const uri = await baselineUri(s.bucket);
    const same = Array.from({ length: 1000 }, (_, i) => ({ age: i % 100, plan: i % 10 === 0 ? 'pro' : 'basic' }));
    const shifted = Array.from({ length: 1000 }, (_, i) => ({ age: 50 + (i % 100), plan: i % 2 === 0 ? 'pro' : 'basic' }));
    await put(client, s.bucket, { [KEY_10]: hourOf(same, () => 0.1), [KEY_12]: hourOf(shifted, () => 0.9) });
    const config = configFromEnv(envOf(s.bucket, { DRIFT_BASELINE_URI: uri }));

    const lines: string[] = [];
    const first = await runConfiguredCheck(config, { s3: client }, { emit: l => lines.push(l), now: () => T1 });
    expect(first).toMatchObject({ objects: 1, records: 1000 });
    const doc = (feature?: string) => lines.map(l => JSON.parse(l)).find(d => d.Feature === feature);
    expect(doc().DriftScore).toBeLessThan(0.01);
    expect(doc()._aws.CloudWatchMetrics[0].Namespace).toBe('MlPlatform/Drift');

    lines.length = 0;
    const second = await runConfiguredCheck(config, { s3: client }, { emit: l => lines.push(l), now: () => new Date('2026-11-30T13:00:00Z') });
    expect(second).toMatchObject({ objects: 1, records: 1000 });
    expect(doc().DriftScore).toBeGreaterThan(0.2);
    expect(doc().DriftedFeatures).toBe(2);
    expect(doc('age').PSI).toBeGreaterThan(0.2);
    expect(doc('plan').PSI).toBeGreaterThan(0.2);
    expect(doc('age')._aws.CloudWatchMetrics[0].Dimensions).toEqual([['EndpointName', 'Feature']]);
    const report = await readJson(client, s.bucket, second.reportKey!);
    expect(report).toMatchObject({ kind: 'drift', baseline: { uri, modelPackageArn: null }, result: { format: 'cdk-ml-platform/drift-report', driftedFeatures: ['age', 'plan'] } });
  });

  test("drift against the champion: the newest Approved package's baseline_uri; no champion yet skips the run", async () => {
    const s = await setup(client, { [KEY_10]: hourOf([{ age: 1, plan: 'pro' }], () => 0.5) });
    const group = `drift-group-${bucketCounter}`;
    await sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: group }));
    const config = configFromEnv(envOf(s.bucket, { DRIFT_MODEL_PACKAGE_GROUP: group }));
    const logs: string[] = [];
    expect(await runConfiguredCheck(config, { s3: client, sagemaker }, { emit: () => undefined, log: m => logs.push(m), now: () => T1 })).toEqual({
      objects: 0, records: 0, malformed: 0, poisoned: 0, skipped: `no Approved model package in group ${group} yet`,
    });

    const uri = await baselineUri(s.bucket);
    const { ModelPackageArn } = await sagemaker.send(new CreateModelPackageCommand({
      ModelPackageGroupName: group,
      InferenceSpecification: { Containers: [{ Image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1' }], SupportedContentTypes: ['application/json'], SupportedResponseMIMETypes: ['application/json'] },
      ModelApprovalStatus: 'PendingManualApproval',
      CustomerMetadataProperties: { baseline_uri: uri },
    }));
    await sagemaker.send(new UpdateModelPackageCommand({ ModelPackageArn, ModelApprovalStatus: 'Approved' }));
    // moto drops CustomerMetadataProperties on UpdateModelPackage when the request omits them (SageMaker keeps them):
    // add them back on DescribeModelPackage, pass everything else through
    const realSend = sagemaker.send.bind(sagemaker) as (command: unknown) => Promise<any>;
    const mock = mockClient(sagemaker);
    mock.on(ListModelPackagesCommand).callsFake(input => realSend(new ListModelPackagesCommand(input)));
    mock.on(DescribeModelPackageCommand).callsFake(async input => {
      const real = await realSend(new DescribeModelPackageCommand(input));
      expect(real.CustomerMetadataProperties?.baseline_uri).toBeUndefined(); // fails once moto keeps them: then drop this mock
      return { ...real, CustomerMetadataProperties: { baseline_uri: uri } };
    });
    logs.length = 0;
    const summary = await runConfiguredCheck(config, { s3: client, sagemaker }, { emit: () => undefined, log: m => logs.push(m), now: () => T1 });
    expect(logs.some(l => l.includes('skipped'))).toBe(false);
    expect(summary).toMatchObject({ objects: 1, records: 1 });
    mock.restore();
    expect((await readJson(client, s.bucket, summary.reportKey!)).baseline).toEqual({ uri, modelPackageArn: ModelPackageArn });
  });

  test('drift: a baseline that is not a baseline fails the run with its URI', async () => {
    const s = await setup(client, { 'baselines/b.json': '{"format": "something else"}' });
    const config = configFromEnv(envOf(s.bucket, { DRIFT_BASELINE_URI: `s3://${s.bucket}/baselines/b.json` }));
    await expect(runConfiguredCheck(config, { s3: client }, { emit: () => undefined })).rejects.toThrow(
      `The drift baseline s3://${s.bucket}/baselines/b.json cannot be used`);
  });

  test('prediction health: NaN, out-of-range and constant outputs are published in MlPlatform/PredictionHealth', async () => {
    const records = Array.from({ length: 200 }, (_, i) => ({ age: i, plan: 'pro' }));
    const s = await setup(client, {
      [KEY_10]: hourOf(records, i => (i < 20 ? 'NaN' : i < 30 ? 1.5 : i % 2 === 0 ? 0.7 : 0.2)),
      [KEY_12]: hourOf(records, () => 0.42),
    });
    const config = configFromEnv(envOf(s.bucket, { CHECK_KIND: 'prediction-health', HEALTH_MIN_SCORE: '0', HEALTH_MAX_SCORE: '1' }));
    const lines: string[] = [];
    await runConfiguredCheck(config, { s3: client }, { emit: l => lines.push(l), now: () => T1 });
    expect(JSON.parse(lines[0])).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'MlPlatform/PredictionHealth', Dimensions: [['EndpointName']] }] },
      Predictions: 200,
      NonFiniteRate: 0.1,
      OutOfRangeRate: 10 / 180,
      ConstantPredictions: 0,
      ClassCollapse: 0,
    });
    lines.length = 0;
    await runConfiguredCheck(config, { s3: client }, { emit: l => lines.push(l), now: () => new Date('2026-11-30T13:00:00Z') });
    expect(JSON.parse(lines[0])).toMatchObject({ Predictions: 200, NonFiniteRate: 0, ConstantPredictions: 1, ClassCollapse: 1, TopClassShare: 1 });
  });

  test('configFromEnv lists every problem at once', () => {
    expect(() => configFromEnv({ CHECK_KIND: 'latency', CHECK_MAX_OBJECTS: 'many' })).toThrow(
      'The capture check is misconfigured: CHECK_KIND must be drift or prediction-health, got "latency"; missing CHECK_BUCKET, CHECK_CAPTURE_PREFIX, ' +
      'CHECK_ENDPOINT_NAME, CHECK_STATE_KEY, CHECK_REPORT_PREFIX; CHECK_MAX_OBJECTS must be a number, got "many"');
    expect(() => configFromEnv(envOf('b', {}))).toThrow('a drift check needs DRIFT_BASELINE_URI or DRIFT_MODEL_PACKAGE_GROUP');
    expect(configFromEnv(envOf('b', { CHECK_FEATURE_NAMES: 'age, plan,,', CHECK_GRACE_SECONDS: '60', DRIFT_BASELINE_URI: 's3://b/k' })).check).toMatchObject({
      featureNames: ['age', 'plan'], graceSeconds: 60, namespace: 'MlPlatform/Drift',
    });
  });

  test('the handler runs from the environment and prints the EMF lines and a summary', async () => {
    // the handler runs at the real time: yesterday's file is due
    const s = await setup(client, { [`${VARIANT}2026/11/29/10/00-00-000-y.jsonl`]: hourOf([{ age: 1, plan: 'pro' }], () => 0.5) });
    Object.assign(process.env, envOf(s.bucket, { CHECK_KIND: 'prediction-health' }), {
      AWS_ENDPOINT_URL_S3: moto.endpoint,
      AWS_ENDPOINT_URL_SAGEMAKER: moto.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_S3_FORCE_PATH_STYLE: 'true',
    });
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await handler({})).toMatchObject({ objects: 1, records: 1 });
      expect(log.mock.calls.map(c => String(c[0])).some(l => l.startsWith('{"_aws":') && JSON.parse(l).Predictions === 1)).toBe(true);
    } finally {
      log.mockRestore();
    }
  });
});
