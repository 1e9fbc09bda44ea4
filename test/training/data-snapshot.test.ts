import { createHash } from 'crypto';
import {
  CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutBucketVersioningCommand, PutObjectCommand, S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand, CreateModelPackageGroupCommand, DescribeModelPackageCommand, ListModelPackagesCommand, SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { Baseline, CategoricalFeatureBaseline, NumericFeatureBaseline } from '../../src/core/baseline';
import {
  DatasetManifest, formatOf, GateReport, handler, isThrottling, MAX_GATE_REASON_CHARS, MAX_RECORD_CHARS, parseCsvRecord, parseS3Uri, shorten,
  snapshotDataset, SnapshotEvent, SnapshotOptions,
} from '../../src/training/data-snapshot.lambda';
import { MotoServer, motoClientConfig, startMoto } from '../support/moto';

/**
 * The handler runs against moto_server through the real S3 client (versioned bucket, real streaming bodies).
 * aws-sdk-client-mock is only layered on top to inject throttling, passing every other call through to moto.
 */
let moto: MotoServer;
let bucketCounter = 0;

beforeAll(async () => { moto = await startMoto(); });
afterAll(async () => { await moto?.stop(); });

const NOW = new Date('2024-06-01T08:30:00.000Z');
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

const CSV = [
  'customer_id,plan,monthly_spend,note',
  '1,basic,10.5,plain',
  '2,pro,20,"has, a comma"',
  '3,pro,30,"says ""hi"""',
  '', // blank lines are skipped
  '4,basic,,"spans',
  'two lines"',
].join('\r\n') + '\r\n';
const JSONL = [
  '{"customer_id": 5, "plan": "enterprise", "monthly_spend": 100.25, "churned": true}',
  '',
  '{"customer_id": 6, "plan": "pro", "monthly_spend": 40, "churned": false}',
].join('\n');
const PARQUET = Buffer.from([0x50, 0x41, 0x52, 0x31, 0x00, 0xff, 0x10, 0x50, 0x41, 0x52, 0x31]);

interface Dataset {
  readonly bucket: string;
  readonly event: SnapshotEvent;
  readonly versions: Record<string, string | undefined>;
}

async function createBucket(client: S3Client, versioned = true): Promise<string> {
  const bucket = `ml-data-${++bucketCounter}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  if (versioned) {
    await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  }
  return bucket;
}

async function upload(client: S3Client, bucket: string, files: Record<string, string | Buffer>): Promise<Record<string, string | undefined>> {
  const versions: Record<string, string | undefined> = {};
  for (const [key, body] of Object.entries(files)) {
    const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    versions[key] = put.VersionId;
  }
  return versions;
}

async function dataset(client: S3Client, files: Record<string, string | Buffer>, extra: Partial<SnapshotEvent> = {}): Promise<Dataset> {
  const bucket = await createBucket(client);
  const versions = await upload(client, bucket, files);
  return {
    bucket,
    versions,
    event: { input_uri: `s3://${bucket}/datasets/churn/`, output_uri: `s3://${bucket}/snapshots/`, execution_id: 'exec-1', code_version: 'abc1234', ...extra },
  };
}

async function read(client: S3Client, uri: string): Promise<{ text: string; contentType?: string }> {
  const { bucket, key } = parseS3Uri(uri);
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { text: await got.Body!.transformToString('utf-8'), contentType: got.ContentType };
}

/** Everything but the S3 client: a fixed clock, no real sleeping, logs collected. */
function options(client: S3Client, extra: Partial<SnapshotOptions> = {}): SnapshotOptions & { logs: string[] } {
  const logs: string[] = [];
  return { s3: client, now: () => NOW, sleep: async () => undefined, log: m => logs.push(m), logs, ...extra };
}

const FILES = {
  'datasets/churn/part-1.csv': CSV,
  'datasets/churn/part-2.jsonl': JSONL,
  'datasets/churn/extra/part-3.parquet': PARQUET,
  'datasets/churn/extra/': Buffer.alloc(0), // a folder marker, not data
  'datasets/churn-old/ignored.csv': 'a\n1\n', // same string prefix, other folder
};

describe('data snapshot step', () => {
  let client: S3Client;
  beforeEach(() => { client = new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true }); });
  afterEach(() => { client.destroy(); });

  test('writes a manifest of every object with version and sha256, and the baseline of all records', async () => {
    // GIVEN a versioned bucket with a CSV, a JSON Lines file, a parquet file and a folder marker
    const ds = await dataset(client, FILES);

    // WHEN
    const result = await snapshotDataset(ds.event, options(client));

    // THEN the step outputs are JSON scalars pointing at the written documents
    expect(result).toEqual({
      manifest_uri: `s3://${ds.bucket}/snapshots/exec-1/manifest.json`,
      manifest_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      baseline_uri: `s3://${ds.bucket}/snapshots/exec-1/baseline.json`,
      dataset_uri: `s3://${ds.bucket}/datasets/churn/`,
      record_count: 6,
      malformed_records: 0,
      unparsed_objects: 1,
    });
    expect(Object.values(result).every(v => typeof v === 'string' || typeof v === 'number')).toBe(true);

    const manifestFile = await read(client, result.manifest_uri);
    expect(manifestFile.contentType).toBe('application/json');
    expect(sha256(manifestFile.text)).toBe(result.manifest_sha256);
    const manifest: DatasetManifest = JSON.parse(manifestFile.text);
    expect(manifest).toEqual({
      format: 'cdk-ml-platform/dataset-manifest',
      version: 1,
      createdAt: '2024-06-01T08:30:00.000Z',
      inputUri: `s3://${ds.bucket}/datasets/churn/`,
      codeVersion: 'abc1234',
      executionId: 'exec-1',
      objects: [
        { key: 'datasets/churn/extra/part-3.parquet', versionId: ds.versions['datasets/churn/extra/part-3.parquet'], size: PARQUET.length, sha256: sha256(PARQUET) },
        { key: 'datasets/churn/part-1.csv', versionId: ds.versions['datasets/churn/part-1.csv'], size: Buffer.byteLength(CSV), sha256: sha256(CSV) },
        { key: 'datasets/churn/part-2.jsonl', versionId: ds.versions['datasets/churn/part-2.jsonl'], size: Buffer.byteLength(JSONL), sha256: sha256(JSONL) },
      ],
      totalBytes: PARQUET.length + Buffer.byteLength(CSV) + Buffer.byteLength(JSONL),
      recordCount: 6,
      malformedRecords: 0,
      unparsedObjects: 1,
    });
    expect(manifest.objects.every(o => typeof o.versionId === 'string' && o.versionId.length > 0)).toBe(true);

    const baselineFile = await read(client, result.baseline_uri);
    expect(baselineFile.contentType).toBe('application/json');
    const baseline: Baseline = JSON.parse(baselineFile.text);
    expect(baseline).toMatchObject({
      format: 'cdk-ml-platform/baseline',
      version: 1,
      createdAt: '2024-06-01T08:30:00.000Z',
      recordCount: 6,
      dataset: { manifestUri: result.manifest_uri, manifestSha256: result.manifest_sha256 },
      sampling: { sampled: false },
    });
    expect(Object.keys(baseline.features)).toEqual(['churned', 'customer_id', 'monthly_spend', 'note', 'plan']);
    expect(baseline.features.customer_id).toMatchObject({ kind: 'numeric', count: 6, missing: 0, min: 1, max: 6, mean: 3.5 });
    const spend = baseline.features.monthly_spend as NumericFeatureBaseline;
    expect(spend).toMatchObject({ kind: 'numeric', count: 5, missing: 1, min: 10.5, max: 100.25 });
    expect(spend.mean).toBeCloseTo((10.5 + 20 + 30 + 100.25 + 40) / 5, 12);
    expect(spend.histogram.counts.reduce((a, c) => a + c, 0)).toBe(5);
    expect(baseline.features.plan).toEqual({
      kind: 'categorical', count: 6, missing: 0, categories: { pro: 3, basic: 2, enterprise: 1 }, otherCount: 0, distinct: 3,
    });
    expect((baseline.features.note as CategoricalFeatureBaseline).categories).toEqual({
      'plain': 1, 'has, a comma': 1, 'says "hi"': 1, 'spans\r\ntwo lines': 1,
    });
    expect(baseline.features.churned).toMatchObject({ kind: 'categorical', count: 2, missing: 4, categories: { true: 1, false: 1 } });
  });

  test('an unversioned bucket records null versions; output_uri without a trailing slash', async () => {
    const bucket = await createBucket(client, false);
    await upload(client, bucket, { 'data/a.json': '{"x": 1}\n{"x": 2}\n' });
    const result = await snapshotDataset({
      input_uri: `s3://${bucket}/data`, output_uri: `s3://${bucket}/out`, execution_id: 'e2', code_version: 'v1',
    }, options(client));
    expect(result.manifest_uri).toBe(`s3://${bucket}/out/e2/manifest.json`);
    expect(result.dataset_uri).toBe(`s3://${bucket}/data/`);
    const manifest: DatasetManifest = JSON.parse((await read(client, result.manifest_uri)).text);
    expect(manifest.objects).toEqual([{ key: 'data/a.json', versionId: null, size: 18, sha256: sha256('{"x": 1}\n{"x": 2}\n') }]);
    expect(result.record_count).toBe(2);
  });

  test('malformed lines are counted and skipped', async () => {
    const ds = await dataset(client, {
      'datasets/churn/bad.jsonl': '{"x": 1}\n{"x": \n[1, 2]\nnull\n{"x": 3}\n',
      'datasets/churn/bad.csv': 'x,y\n1,2\n1,2,3\n4\n"a"b,5\n7,8\n"never closed,9\n',
    });
    const result = await snapshotDataset(ds.event, options(client));
    // JSONL: truncated object, an array and null; CSV: too many fields, too few, text after a closing quote,
    // and a quote never closed at the end of the file
    expect(result).toMatchObject({ record_count: 4, malformed_records: 7, unparsed_objects: 0 });
    const baseline: Baseline = JSON.parse((await read(client, result.baseline_uri)).text);
    expect(baseline.features.x).toMatchObject({ kind: 'numeric', count: 4, min: 1, max: 7 });
  });

  test('a line longer than MAX_RECORD_CHARS is malformed and skipped without holding it in memory', async () => {
    const huge = `{"x": "${'a'.repeat(MAX_RECORD_CHARS + 100_000)}"}`;
    const ds = await dataset(client, { 'datasets/churn/big.jsonl': `{"x": 1}\n${huge}\n{"x": 2}\n` });
    const result = await snapshotDataset(ds.event, options(client));
    expect(result).toMatchObject({ record_count: 2, malformed_records: 1 });
  });

  test('a UTF-8 BOM is not part of the first column name; multi-byte characters survive chunking', async () => {
    const ds = await dataset(client, { 'datasets/churn/bom.csv': `\uFEFFcity,n\n${'Zürich,1\n'.repeat(20_000)}` });
    const result = await snapshotDataset(ds.event, options(client));
    const baseline: Baseline = JSON.parse((await read(client, result.baseline_uri)).text);
    expect(baseline.features.city).toEqual({ kind: 'categorical', count: 20_000, missing: 0, categories: { Zürich: 20_000 }, otherCount: 0, distinct: 1 });
  });

  test('an empty prefix (only a folder marker) fails with a clear error', async () => {
    const ds = await dataset(client, { 'datasets/churn/': Buffer.alloc(0), 'datasets/other/a.csv': 'a\n1\n' });
    await expect(snapshotDataset(ds.event, options(client))).rejects.toThrow(
      `No objects under s3://${ds.bucket}/datasets/churn/: the dataset is empty or input_uri is wrong`);
  });

  test('a dataset larger than max_bytes fails with its size and the limit', async () => {
    const ds = await dataset(client, FILES, { max_bytes: 100 });
    await expect(snapshotDataset(ds.event, options(client))).rejects.toThrow(
      new RegExp(`^The dataset under s3://${ds.bucket}/datasets/churn/ holds at least \\d+ bytes \\(\\d objects so far\\), ` +
        'more than max_bytes \\(100\\); raise max_bytes or snapshot a smaller prefix$'));
  });

  test('a CSV whose header repeats a column fails clearly', async () => {
    const ds = await dataset(client, { 'datasets/churn/dup.csv': 'a,b,a\n1,2,3\n' });
    await expect(snapshotDataset(ds.event, options(client))).rejects.toThrow(
      `The CSV header of s3://${ds.bucket}/datasets/churn/dup.csv repeats the column(s) a; column names must be unique`);
  });

  test('throttled GetObject (SlowDown) is retried with backoff; other calls pass through to moto', async () => {
    const ds = await dataset(client, FILES);
    const realSend = client.send.bind(client) as (command: unknown) => Promise<any>;
    const mock = mockClient(client);
    let throttled = 0;
    mock.on(ListObjectsV2Command).callsFake(input => realSend(new ListObjectsV2Command(input)));
    mock.on(PutObjectCommand).callsFake(input => realSend(new PutObjectCommand(input)));
    mock.on(GetObjectCommand).callsFake(async input => {
      if (throttled++ < 2) {
        throw new S3ServiceException({ name: 'SlowDown', $fault: 'server', $metadata: { httpStatusCode: 503 }, message: 'Please reduce your request rate.' });
      }
      return realSend(new GetObjectCommand(input));
    });
    const sleeps: number[] = [];
    const opts = options(client, { sleep: async ms => { sleeps.push(ms); } });

    const result = await snapshotDataset(ds.event, opts);

    expect(result.record_count).toBe(6);
    expect(mock.commandCalls(GetObjectCommand)).toHaveLength(5); // 2 throttled + 3 objects
    expect(sleeps).toHaveLength(2);
    expect(sleeps.every(ms => ms >= 0 && ms <= 20_000)).toBe(true);
    expect(opts.logs.filter(l => l.includes('throttled'))).toHaveLength(2);
    mock.restore();
    const manifest: DatasetManifest = JSON.parse((await read(client, result.manifest_uri)).text);
    expect(manifest.objects.map(o => o.sha256)).toEqual([sha256(PARQUET), sha256(CSV), sha256(JSONL)]);
  });

  test('throttling that never ends fails after maxAttempts with the call named', async () => {
    const ds = await dataset(client, FILES);
    const realSend = client.send.bind(client) as (command: unknown) => Promise<any>;
    const mock = mockClient(client);
    mock.on(ListObjectsV2Command).callsFake(input => realSend(new ListObjectsV2Command(input)));
    mock.on(GetObjectCommand).rejects(new S3ServiceException({ name: 'SlowDown', $fault: 'server', $metadata: { httpStatusCode: 503 }, message: 'Slow down' }));
    await expect(snapshotDataset(ds.event, options(client, { maxAttempts: 3 }))).rejects.toThrow(
      `GetObject(s3://${ds.bucket}/datasets/churn/extra/part-3.parquet) was still throttled after 3 attempts: Slow down`);
    expect(mock.commandCalls(GetObjectCommand)).toHaveLength(3);
    mock.restore();
  });

  test('an object overwritten between listing and reading fails clearly (IfMatch on the listed ETag)', async () => {
    const ds = await dataset(client, { 'datasets/churn/a.csv': 'x\n1\n' });
    const realSend = client.send.bind(client) as (command: unknown) => Promise<any>;
    const mock = mockClient(client);
    mock.on(ListObjectsV2Command).callsFake(async input => {
      const listing = await realSend(new ListObjectsV2Command(input));
      await realSend(new PutObjectCommand({ Bucket: ds.bucket, Key: 'datasets/churn/a.csv', Body: 'x\n2\n3\n' }));
      return listing;
    });
    mock.on(GetObjectCommand).callsFake(input => realSend(new GetObjectCommand(input)));
    await expect(snapshotDataset(ds.event, options(client))).rejects.toThrow(
      `s3://${ds.bucket}/datasets/churn/a.csv was overwritten while the dataset was being snapshotted; run the step again once writers are done`);
    mock.restore();
  });

  test('invalid arguments are all reported at once', async () => {
    await expect(snapshotDataset({
      input_uri: 'https://bucket/data', output_uri: 's3://Bad_Bucket/x', execution_id: '', code_version: '', max_bytes: -1,
    }, options(client))).rejects.toThrow(
      "Invalid data snapshot arguments: input_uri 'https://bucket/data' is not an s3:// URI; expected s3://<bucket>/<prefix>, e.g. s3://ml-data/datasets/churn/; " +
      "output_uri 's3://Bad_Bucket/x' has an invalid bucket name 'Bad_Bucket' (3-63 lowercase letters, digits, dots and hyphens); " +
      'expected s3://<bucket>/<prefix>, e.g. s3://ml-data/datasets/churn/; ' +
      "execution_id must be a non-empty string without '/', got \"\"; pass ExecutionVariables.PIPELINE_EXECUTION_ID; " +
      'code_version must be a non-empty string (a git SHA or release tag), got ""; ' +
      'max_bytes must be a positive whole number of bytes, got -1');
  });

  test('an output inside the input folder is refused', async () => {
    await expect(snapshotDataset({
      input_uri: 's3://lake/datasets/', output_uri: 's3://lake/datasets/snapshots', execution_id: 'e', code_version: 'v',
    }, options(client))).rejects.toThrow(
      "output_uri 's3://lake/datasets/snapshots' is inside input_uri 's3://lake/datasets/'; the manifest and baseline would become part of the next snapshot");
  });
});

describe('helpers', () => {
  test('parseS3Uri', () => {
    expect(parseS3Uri('s3://bucket/a/b/')).toEqual({ bucket: 'bucket', key: 'a/b/' });
    expect(parseS3Uri('s3://bucket')).toEqual({ bucket: 'bucket', key: '' });
    expect(() => parseS3Uri('s3:///key', 'input_uri')).toThrow("input_uri 's3:///key' has an invalid bucket name ''");
    expect(() => parseS3Uri(42, 'input_uri')).toThrow('input_uri must be a string, got 42');
    expect(() => parseS3Uri(undefined, 'input_uri')).toThrow('input_uri must be a string, got nothing');
  });

  test('parseCsvRecord', () => {
    expect(parseCsvRecord('a,b,c')).toEqual(['a', 'b', 'c']);
    expect(parseCsvRecord('a,,')).toEqual(['a', '', '']);
    expect(parseCsvRecord('"a,b","c""d",""')).toEqual(['a,b', 'c"d', '']);
    expect(parseCsvRecord('"a"x,b')).toBeUndefined();
    expect(parseCsvRecord('a"b,c')).toEqual(['a"b', 'c']); // a quote inside an unquoted field is literal, as in pandas
    expect(parseCsvRecord('"open')).toBeUndefined();
  });

  test('isThrottling', () => {
    expect(isThrottling({ name: 'SlowDown' })).toBe(true);
    expect(isThrottling({ name: 'ThrottlingException' })).toBe(true);
    expect(isThrottling({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(isThrottling({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } })).toBe(false);
    expect(isThrottling(undefined)).toBe(false);
  });
});

describe('data snapshot Lambda entry point', () => {
  const saved = { ...process.env };
  beforeAll(() => {
    process.env.AWS_ENDPOINT_URL_S3 = moto.endpoint;
    process.env.AWS_REGION = 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  });
  afterAll(() => { process.env = saved; });

  test('with the gate, looks the champion up with a SageMaker client of its own', async () => {
    process.env.AWS_ENDPOINT_URL_SAGEMAKER = moto.endpoint;
    const client = new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true });
    const sagemaker = new SageMakerClient(motoClientConfig(moto.endpoint));
    await sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: 'entry-point-group' }));
    const ds = await dataset(client, { 'datasets/churn/a.csv': 'x\n1\n2\n' }, {
      gate_mode: 'stop', model_package_group: 'entry-point-group', max_drift_score: 0.25, max_missing_rate_increase: 0.1,
    });
    client.destroy();
    sagemaker.destroy();
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const result = await handler(ds.event);
      expect(result).toMatchObject({ gate_passed: true, gate_reason: 'no champion baseline: no Approved model package in entry-point-group' });
    } finally {
      log.mockRestore();
    }
  });

  test('snapshots with a client of its own and returns the output parameters', async () => {
    const client = new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true });
    const ds = await dataset(client, { 'datasets/churn/a.csv': 'x\n1\n2\n' });
    client.destroy();
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const result = await handler(ds.event);
      expect(result).toMatchObject({ record_count: 2, malformed_records: 0, unparsed_objects: 0, dataset_uri: `s3://${ds.bucket}/datasets/churn/` });
    } finally {
      log.mockRestore();
    }
  });
});

describe('formatOf', () => {
  it('reads CSV and JSON Lines, never table metadata or markers', () => {
    expect(formatOf('datasets/train/part-0.csv')).toBe('csv');
    expect(formatOf('datasets/train/part-0.JSONL')).toBe('jsonl');
    expect(formatOf('feature-groups/fg/data/year=2026/part.parquet')).toBeUndefined();
    expect(formatOf('feature-groups/fg/metadata/00001-abc.metadata.json')).toBeUndefined();
    expect(formatOf('datasets/train/_SUCCESS')).toBeUndefined();
  });
});

/**
 * The training-data gate against moto_server: real S3 and SageMaker clients, champions registered as model packages
 * whose CustomerMetadataProperties.baseline_uri points at a baseline an earlier snapshot wrote.
 */
describe('training-data gate (moto)', () => {
  let client: S3Client;
  let sagemaker: SageMakerClient;
  let groupCounter = 0;
  beforeEach(() => {
    client = new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true });
    sagemaker = new SageMakerClient(motoClientConfig(moto.endpoint));
  });
  afterEach(() => { client.destroy(); sagemaker.destroy(); });

  const N = 400;
  const PLANS = ['basic', 'pro', 'pro', 'enterprise'];
  /** A churn dataset: amount spread over 0..99, a plan, a country; `shift` moves amount, `plan`/`country` override. */
  function churnCsv(o: { shift?: number; plan?: string; country?: (i: number) => string; extra?: string } = {}): string {
    const rows = ['customer_id,amount,plan,country'];
    for (let i = 0; i < N; i++) {
      const country = o.country ? o.country(i) : ['DE', 'FR', 'US'][i % 3];
      rows.push(`${i},${(i * 37) % 100 + (o.shift ?? 0)},${o.plan ?? PLANS[i % 4]},${country}`);
    }
    return rows.join('\n') + '\n';
  }

  const gateOptions = (extra: Partial<SnapshotOptions> = {}) => options(client, { sagemaker, ...extra });

  async function newGroup(): Promise<string> {
    const name = `churn-gate-${++groupCounter}`;
    await sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: name }));
    return name;
  }

  /** Registers an Approved package whose baseline_uri is `baselineUri` (none when undefined). */
  async function approvedChampion(group: string, baselineUri: string | undefined): Promise<string> {
    const { ModelPackageArn } = await sagemaker.send(new CreateModelPackageCommand({
      ModelPackageGroupName: group,
      InferenceSpecification: {
        Containers: [{ Image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1', ModelDataUrl: 's3://models/model.tar.gz' }],
        SupportedContentTypes: ['text/csv'],
        SupportedResponseMIMETypes: ['text/csv'],
      },
      // Registered Approved directly: moto's UpdateModelPackage drops CustomerMetadataProperties it is not given.
      ModelApprovalStatus: 'Approved',
      CustomerMetadataProperties: baselineUri ? { baseline_uri: baselineUri, code_version: 'v1' } : { code_version: 'v1' },
    }));
    await new Promise(r => setTimeout(r, 5)); // CreationTime resolution: keep champions apart
    return ModelPackageArn!;
  }

  /** A champion trained on `csv`: its baseline is the one a snapshot of `csv` writes. */
  async function championTrainedOn(group: string, csv: string): Promise<{ arn: string; baselineUri: string }> {
    const ds = await dataset(client, { 'datasets/churn/part-1.csv': csv }, { execution_id: 'champion-exec' });
    const snap = await snapshotDataset(ds.event, options(client));
    return { arn: await approvedChampion(group, snap.baseline_uri), baselineUri: snap.baseline_uri };
  }

  const gateEvent = (group: string, extra: Partial<SnapshotEvent> = {}): Partial<SnapshotEvent> => ({
    execution_id: 'exec-7', gate_mode: 'stop', model_package_group: group, max_drift_score: 0.25, max_missing_rate_increase: 0.1, ...extra,
  });

  async function gateReport(uri: string): Promise<GateReport> {
    const file = await read(client, uri);
    expect(file.contentType).toBe('application/json');
    return JSON.parse(file.text);
  }

  test('identical data passes; gate.json records thresholds, champion, scores and the decision', async () => {
    const group = await newGroup();
    const champion = await championTrainedOn(group, churnCsv());
    const ds = await dataset(client, { 'datasets/churn/part-1.csv': churnCsv() }, gateEvent(group));

    const result = await snapshotDataset(ds.event, gateOptions());

    expect(result).toMatchObject({
      record_count: N,
      gate_passed: true,
      gate_reason: "training data within the champion's baseline: drift score 0 <= 0.25, largest missing-rate increase 0 <= 0.1",
      gate_report_uri: `s3://${ds.bucket}/snapshots/exec-7/gate.json`,
    });
    expect(result.model_approval_status).toBeUndefined();
    const report = await gateReport(result.gate_report_uri!);
    expect(report).toEqual({
      format: 'cdk-ml-platform/training-data-gate',
      version: 1,
      createdAt: NOW.toISOString(),
      executionId: 'exec-7',
      mode: 'stop',
      thresholds: { maxDriftScore: 0.25, maxMissingRateIncrease: 0.1 },
      modelPackageGroup: group,
      championPackageArn: champion.arn,
      championBaselineUri: champion.baselineUri,
      datasetUri: `s3://${ds.bucket}/datasets/churn/`,
      manifestUri: result.manifest_uri,
      baselineUri: result.baseline_uri,
      recordCount: N,
      championRecordCount: N,
      overallDriftScore: 0,
      features: {
        amount: { kind: 'numeric', psi: 0, missingRate: 0, championMissingRate: 0, missingRateIncrease: 0 },
        country: { kind: 'categorical', psi: 0, missingRate: 0, championMissingRate: 0, missingRateIncrease: 0 },
        customer_id: { kind: 'numeric', psi: 0, missingRate: 0, championMissingRate: 0, missingRateIncrease: 0 },
        plan: { kind: 'categorical', psi: 0, missingRate: 0, championMissingRate: 0, missingRateIncrease: 0 },
      },
      driftedFeatures: [],
      missingRateFeatures: [],
      unknownFeatures: {},
      decision: 'pass',
      passed: true,
      reason: result.gate_reason,
    });
  });

  test('shifted and emptied columns fail, the reason naming the features and their numbers', async () => {
    const group = await newGroup();
    await championTrainedOn(group, churnCsv());
    const poisoned = churnCsv({ shift: 1000, plan: 'enterprise', country: i => (i % 2 === 0 ? '' : 'DE') });
    const ds = await dataset(client, { 'datasets/churn/part-1.csv': poisoned }, gateEvent(group));

    const result = await snapshotDataset(ds.event, gateOptions());

    expect(result.gate_passed).toBe(false);
    // Largest PSI first; country drifts too (half its values are now missing, the rest all 'DE').
    expect(result.gate_reason).toMatch(/^training data drifted from the champion's baseline: PSI above 0\.25 on amount \([\d.]+\), plan \([\d.]+\), country \([\d.]+\); missing rate up by more than 0\.1 on country \(\+0\.5\)$/);
    const report = await gateReport(result.gate_report_uri!);
    expect(report).toMatchObject({ decision: 'fail', passed: false, reason: result.gate_reason, missingRateFeatures: ['country'] });
    expect(report.driftedFeatures).toEqual(['amount', 'plan', 'country']);
    expect(report.driftedFeatures).not.toContain('customer_id');
    expect(report.overallDriftScore).toBeGreaterThan(1);
    expect(report.overallDriftScore).toBe(Math.max(...Object.values(report.features).map(f => f.psi ?? 0)));
    expect(report.features.country).toMatchObject({ missingRate: 0.5, championMissingRate: 0, missingRateIncrease: 0.5 });
  });

  test('thresholds are "above": a missing-rate rise equal to the limit passes (string thresholds are read too)', async () => {
    const group = await newGroup();
    await championTrainedOn(group, churnCsv());
    const halfEmpty = churnCsv({ country: i => (i % 2 === 0 ? '' : ['DE', 'FR', 'US'][i % 3]) });
    const strict = await snapshotDataset((await dataset(client, { 'datasets/churn/a.csv': halfEmpty }, gateEvent(group))).event, gateOptions());
    expect(strict.gate_passed).toBe(false);
    expect(strict.gate_reason).toMatch(/^training data drifted from the champion's baseline: missing rate up by more than 0\.1 on country \(\+0\.5\)$/);
    const loose = await snapshotDataset((await dataset(client, { 'datasets/churn/a.csv': halfEmpty },
      gateEvent(group, { max_missing_rate_increase: '0.5' }))).event, gateOptions());
    expect(loose.gate_passed).toBe(true);
    expect(loose.gate_reason).toContain('largest missing-rate increase 0.5 <= 0.5');
  });

  test('no champion: passes with "no champion baseline"', async () => {
    const group = await newGroup();
    const ds = await dataset(client, { 'datasets/churn/part-1.csv': churnCsv({ shift: 1000 }) }, gateEvent(group));
    const result = await snapshotDataset(ds.event, gateOptions());
    expect(result).toMatchObject({ gate_passed: true, gate_reason: `no champion baseline: no Approved model package in ${group}` });
    expect(await gateReport(result.gate_report_uri!)).toMatchObject({
      championPackageArn: null, championBaselineUri: null, championRecordCount: null, overallDriftScore: null, features: {}, decision: 'pass',
    });
  });

  test('a champion registered without baseline_uri: passes with "no champion baseline"', async () => {
    const group = await newGroup();
    const arn = await approvedChampion(group, undefined);
    const ds = await dataset(client, { 'datasets/churn/part-1.csv': churnCsv() }, gateEvent(group));
    const result = await snapshotDataset(ds.event, gateOptions());
    expect(result).toMatchObject({ gate_passed: true, gate_reason: `no champion baseline: champion ${arn} has no baseline_uri` });
    expect(await gateReport(result.gate_report_uri!)).toMatchObject({ championPackageArn: arn, championBaselineUri: null });
  });

  test('the newest Approved package is the champion (an older one with other data does not count)', async () => {
    const group = await newGroup();
    await championTrainedOn(group, churnCsv({ shift: 1000 }));
    const newest = await championTrainedOn(group, churnCsv());
    const ds = await dataset(client, { 'datasets/churn/part-1.csv': churnCsv() }, gateEvent(group));
    const result = await snapshotDataset(ds.event, gateOptions());
    expect(result.gate_passed).toBe(true);
    expect((await gateReport(result.gate_report_uri!)).championPackageArn).toBe(newest.arn);
  });

  test('a champion baseline that does not exist fails closed, naming it and the error', async () => {
    const group = await newGroup();
    const bucket = await createBucket(client);
    const missing = `s3://${bucket}/pipelines/p/snapshots/gone/baseline.json`;
    await approvedChampion(group, missing);
    const ds = await dataset(client, { 'datasets/churn/part-1.csv': churnCsv() }, gateEvent(group));
    const result = await snapshotDataset(ds.event, gateOptions());
    expect(result.gate_passed).toBe(false);
    expect(result.gate_reason).toMatch(new RegExp(`^champion baseline ${missing} cannot be used, failing closed: NoSuchKey: `));
    expect(await gateReport(result.gate_report_uri!)).toMatchObject({ championBaselineUri: missing, decision: 'fail', overallDriftScore: null });
  });

  test.each([
    ['not JSON', '{"format": "cdk-ml-platform/baseline", "version": 1, "fea', /Baseline is not valid JSON/],
    ['another format', '{"format": "something-else"}', /Not a baseline: format is "something-else"/],
    ['a tampered baseline', JSON.stringify({ format: 'cdk-ml-platform/baseline', version: 1, createdAt: 'x' }), /Invalid baseline: createdAt/],
  ])('a champion baseline that is %s fails closed', async (_what, body, why) => {
    const group = await newGroup();
    const bucket = await createBucket(client);
    await upload(client, bucket, { 'snapshots/old/baseline.json': body });
    await approvedChampion(group, `s3://${bucket}/snapshots/old/baseline.json`);
    const ds = await dataset(client, { 'datasets/churn/part-1.csv': churnCsv() }, gateEvent(group));
    const result = await snapshotDataset(ds.event, gateOptions());
    expect(result.gate_passed).toBe(false);
    expect(result.gate_reason).toMatch(/^champion baseline s3:\/\/.+ cannot be used, failing closed: /);
    expect((await gateReport(result.gate_report_uri!)).reason).toMatch(why);
  });

  test('a baseline_uri that is not an s3:// URI fails closed', async () => {
    const group = await newGroup();
    await approvedChampion(group, 'https://example.com/baseline.json');
    const ds = await dataset(client, { 'datasets/churn/part-1.csv': churnCsv() }, gateEvent(group));
    const result = await snapshotDataset(ds.event, gateOptions());
    expect(result).toMatchObject({ gate_passed: false });
    expect(result.gate_reason).toContain("failing closed: baseline_uri 'https://example.com/baseline.json' is not an s3:// URI");
  });

  test('nothing to compare (no CSV / JSON Lines records, e.g. Parquet) passes and says so', async () => {
    const group = await newGroup();
    await championTrainedOn(group, churnCsv());
    const ds = await dataset(client, { 'datasets/churn/part-1.parquet': PARQUET }, gateEvent(group));
    const result = await snapshotDataset(ds.event, gateOptions());
    expect(result).toMatchObject({ gate_passed: true, gate_reason: 'nothing to compare: the new training data has no CSV or JSON Lines records' });
  });

  test('require_approval: a failed gate turns the approval status into PendingManualApproval; a passed one keeps it', async () => {
    const group = await newGroup();
    await championTrainedOn(group, churnCsv());
    const failed = await snapshotDataset((await dataset(client, { 'datasets/churn/a.csv': churnCsv({ shift: 1000 }) },
      gateEvent(group, { gate_mode: 'require_approval', approval_status: 'Approved' }))).event, gateOptions());
    expect(failed).toMatchObject({ gate_passed: false, model_approval_status: 'PendingManualApproval' });
    expect(await gateReport(failed.gate_report_uri!)).toMatchObject({ mode: 'require_approval', modelApprovalStatus: 'PendingManualApproval' });
    const passed = await snapshotDataset((await dataset(client, { 'datasets/churn/a.csv': churnCsv() },
      gateEvent(group, { gate_mode: 'require_approval', approval_status: 'Approved' }))).event, gateOptions());
    expect(passed).toMatchObject({ gate_passed: true, model_approval_status: 'Approved' });
  });

  test('many drifted features: the reason fits a model package metadata value (256 characters); gate.json lists all', async () => {
    const group = await newGroup();
    const wide = (shift: number) => {
      const names = Array.from({ length: 40 }, (_, i) => `feature_with_a_long_name_${i}`);
      return [names.join(','), ...Array.from({ length: 200 }, (_, r) => names.map((_n, i) => (r * (i + 7)) % 100 + shift).join(','))].join('\n');
    };
    await championTrainedOn(group, wide(0));
    const ds = await dataset(client, { 'datasets/churn/a.csv': wide(500) }, gateEvent(group));
    const result = await snapshotDataset(ds.event, gateOptions());
    expect(result.gate_passed).toBe(false);
    expect(result.gate_reason!.length).toBeLessThanOrEqual(MAX_GATE_REASON_CHARS);
    expect(result.gate_reason).toMatch(/, and \d+ more$/);
    expect((await gateReport(result.gate_report_uri!)).driftedFeatures).toHaveLength(40);
  });

  test('gate off (absent or disabled): no gate outputs, no gate.json, no SageMaker call', async () => {
    const ds = await dataset(client, { 'datasets/churn/part-1.csv': churnCsv() }, { gate_mode: 'disabled' });
    const result = await snapshotDataset(ds.event, options(client));
    expect(Object.keys(result).filter(k => k.startsWith('gate_') || k === 'model_approval_status')).toEqual([]);
    const listing = await client.send(new ListObjectsV2Command({ Bucket: ds.bucket, Prefix: 'snapshots/' }));
    expect(listing.Contents!.map(o => o.Key).sort()).toEqual(['snapshots/exec-1/baseline.json', 'snapshots/exec-1/manifest.json']);
  });

  test('a throttled champion lookup is retried; throttling that never ends fails the step (never a decision)', async () => {
    const group = await newGroup();
    await championTrainedOn(group, churnCsv());
    const ds = await dataset(client, { 'datasets/churn/part-1.csv': churnCsv() }, gateEvent(group));
    const realSend = sagemaker.send.bind(sagemaker) as (command: unknown) => Promise<any>;
    const mock = mockClient(sagemaker);
    let calls = 0;
    const throttle = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    mock.on(ListModelPackagesCommand).callsFake(async input => {
      if (calls++ < 1) { throw throttle(); }
      return realSend(new ListModelPackagesCommand(input));
    });
    mock.on(DescribeModelPackageCommand).callsFake(input => realSend(new DescribeModelPackageCommand(input)));
    try {
      const ok = await snapshotDataset(ds.event, gateOptions());
      expect(ok.gate_passed).toBe(true);
      mock.on(ListModelPackagesCommand).rejects(throttle());
      await expect(snapshotDataset(ds.event, gateOptions({ maxAttempts: 2 }))).rejects.toThrow(/ListModelPackages\(.*\).*throttled/);
    } finally {
      mock.restore();
    }
  });

  test('invalid gate arguments are reported with the others', async () => {
    await expect(snapshotDataset({
      input_uri: 's3://lake/data/',
      output_uri: 's3://lake/out',
      execution_id: 'e',
      code_version: 'v',
      gate_mode: 'stop',
      model_package_group: '',
      max_drift_score: -1,
      max_missing_rate_increase: 'lots',
    }, options(client))).rejects.toThrow(
      'Invalid data snapshot arguments: model_package_group must name the registry group whose Approved package is the champion, got ""; ' +
      'max_drift_score must be a number >= 0, got -1; max_missing_rate_increase must be a number from 0 to 1, got "lots"');
    await expect(snapshotDataset({
      input_uri: 's3://lake/data/', output_uri: 's3://lake/out', execution_id: 'e', code_version: 'v', gate_mode: 'warn',
    }, options(client))).rejects.toThrow("gate_mode must be 'stop', 'require_approval' or 'disabled', got \"warn\"");
    await expect(snapshotDataset({
      input_uri: 's3://lake/data/',
      output_uri: 's3://lake/out',
      execution_id: 'e',
      code_version: 'v',
      gate_mode: 'require_approval',
      model_package_group: 'g',
      max_drift_score: 0.2,
      max_missing_rate_increase: 0.1,
    }, options(client))).rejects.toThrow(/approval_status must be the status to register with when the gate passes/);
  });

  test('the gate without a SageMaker client is a programming error', async () => {
    const ds = await dataset(client, { 'datasets/churn/part-1.csv': churnCsv() }, gateEvent('g'));
    await expect(snapshotDataset(ds.event, options(client))).rejects.toThrow('The training-data gate needs a SageMaker client');
  });
});

describe('shorten', () => {
  test('keeps short text, cuts long text with an ellipsis', () => {
    expect(shorten('abc', 5)).toBe('abc');
    expect(shorten('abcdef', 5)).toBe('abcd…');
    expect(shorten('x'.repeat(300))).toHaveLength(MAX_GATE_REASON_CHARS);
  });
});
