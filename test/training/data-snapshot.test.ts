import { createHash } from 'crypto';
import {
  CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutBucketVersioningCommand, PutObjectCommand, S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Baseline, CategoricalFeatureBaseline, NumericFeatureBaseline } from '../../src/core/baseline';
import { DatasetManifest, formatOf, handler, isThrottling, MAX_RECORD_CHARS, parseCsvRecord, parseS3Uri, snapshotDataset, SnapshotEvent, SnapshotOptions } from '../../src/training/data-snapshot.lambda';
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
