import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand, CreateModelPackageGroupCommand, DescribeModelPackageCommand, ListModelPackagesCommand,
  ModelApprovalStatus, SageMakerClient, SageMakerServiceException, UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import {
  CompareOptions, backoffMs, beats, compareWithChampion, handler, isThrottling, parseEvaluationJson, validateEvent,
} from '../../src/training/compare-with-champion.lambda';
import { MotoServer, motoClientConfig, startMoto } from '../support/moto';

/**
 * Runs against moto_server through the real SageMaker and S3 clients (model package groups, packages with
 * ModelMetrics, approval, evaluation files in S3). aws-sdk-client-mock only injects throttling (delegating to
 * the real client otherwise) and simulates a service that ignores ListModelPackages' filters and order.
 */
let moto: MotoServer;
let sagemaker: SageMakerClient;
let s3: S3Client;
const BUCKET = 'ml-evaluations';
let counter = 0;

beforeAll(async () => {
  moto = await startMoto();
  sagemaker = new SageMakerClient(motoClientConfig(moto.endpoint));
  s3 = new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(async () => {
  sagemaker?.destroy();
  s3?.destroy();
  await moto?.stop();
});

/** Writes an evaluation.json (an object is serialised; a string is written as is) and returns its s3:// URI. */
async function putEvaluation(body: object | string): Promise<string> {
  const key = `runs/${++counter}/evaluation.json`;
  await s3.send(new PutObjectCommand({
    Bucket: BUCKET, Key: key, Body: typeof body === 'string' ? body : JSON.stringify(body), ContentType: 'application/json',
  }));
  return `s3://${BUCKET}/${key}`;
}

const evaluation = (metric: string, value: unknown) => ({ metrics: { [metric]: { value } } });

async function newGroup(): Promise<string> {
  const name = `churn-${++counter}`;
  await sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: name }));
  return name;
}

/** Registers a model package (optionally with its metrics file) and sets its approval status. */
async function registerPackage(group: string, statisticsUri: string | undefined, status?: ModelApprovalStatus): Promise<string> {
  const { ModelPackageArn } = await sagemaker.send(new CreateModelPackageCommand({
    ModelPackageGroupName: group,
    InferenceSpecification: {
      Containers: [{
        Image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest',
        ModelDataUrl: `s3://${BUCKET}/models/${counter}/model.tar.gz`,
      }],
      SupportedContentTypes: ['text/csv'],
      SupportedResponseMIMETypes: ['text/csv'],
    },
    ModelApprovalStatus: 'PendingManualApproval',
    ModelMetrics: statisticsUri ? { ModelQuality: { Statistics: { S3Uri: statisticsUri, ContentType: 'application/json' } } } : undefined,
  }));
  if (status && status !== 'PendingManualApproval') {
    await sagemaker.send(new UpdateModelPackageCommand({ ModelPackageArn, ModelApprovalStatus: status }));
  }
  // CreationTime has millisecond resolution: keep packages apart so "most recent" is unambiguous.
  await new Promise(r => setTimeout(r, 5));
  return ModelPackageArn!;
}

async function approvedChampion(group: string, metric: string, value: unknown): Promise<string> {
  return registerPackage(group, await putEvaluation(evaluation(metric, value)), 'Approved');
}

const noSleep = async () => undefined;
const options = (extra: Partial<CompareOptions> = {}): CompareOptions => ({ sagemaker, s3, sleep: noSleep, ...extra });
const AUC = 'validation:auc';
const LOGLOSS = 'validation:logloss';

async function compare(group: string, challengerUri: string, extra: Record<string, unknown> = {}, opts?: Partial<CompareOptions>) {
  return compareWithChampion({
    evaluation_uri: challengerUri, metric: AUC, direction: 'Maximize', min_improvement: 0, model_package_group: group, ...extra,
  }, options(opts));
}

describe('compare with champion (moto)', () => {
  test('no approved champion: the first model is registered', async () => {
    const group = await newGroup();
    const result = await compare(group, await putEvaluation(evaluation(AUC, 0.71)));
    expect(result).toEqual({
      is_better: true,
      challenger_value: '0.71',
      champion_value: 'none',
      champion_package_arn: 'none',
      threshold: 'none',
      reason: `no approved champion in ${group}; the first model is registered (challenger ${AUC} = 0.71, Maximize)`,
    });
  });

  test('pending and rejected packages are not champions', async () => {
    const group = await newGroup();
    await registerPackage(group, await putEvaluation(evaluation(AUC, 0.99)), 'Rejected');
    await registerPackage(group, await putEvaluation(evaluation(AUC, 0.98)), 'PendingManualApproval');
    const result = await compare(group, await putEvaluation(evaluation(AUC, 0.5)));
    expect(result.is_better).toBe(true);
    expect(result.champion_package_arn).toBe('none');
    expect(result.reason).toMatch(new RegExp(`^no approved champion in ${group}; the first model is registered`));
  });

  test('a better challenger (Maximize) beats the champion', async () => {
    const group = await newGroup();
    const arn = await approvedChampion(group, AUC, 0.88);
    const result = await compare(group, await putEvaluation(evaluation(AUC, 0.91)));
    expect(result).toEqual({
      is_better: true,
      challenger_value: '0.91',
      champion_value: '0.88',
      champion_package_arn: arn,
      threshold: '0.88',
      reason: `challenger ${AUC} = 0.91 beats champion 0.88 (Maximize, min_improvement 0: needed > 0.88)`,
    });
  });

  test('a worse challenger keeps the champion', async () => {
    const group = await newGroup();
    await approvedChampion(group, AUC, 0.88);
    const result = await compare(group, await putEvaluation(evaluation(AUC, 0.87)));
    expect(result.is_better).toBe(false);
    expect(result.reason).toBe(`challenger ${AUC} = 0.87 does not beat champion 0.88 (Maximize, min_improvement 0: needed > 0.88), ` +
      'so the champion is kept');
  });

  test('equal values with min_improvement 0 keep the champion (no churn)', async () => {
    const group = await newGroup();
    await approvedChampion(group, AUC, 0.88);
    const maximize = await compare(group, await putEvaluation(evaluation(AUC, 0.88)));
    expect(maximize).toMatchObject({ is_better: false, challenger_value: '0.88', champion_value: '0.88', threshold: '0.88' });

    const minGroup = await newGroup();
    await approvedChampion(minGroup, LOGLOSS, 0.3);
    const minimize = await compare(minGroup, await putEvaluation(evaluation(LOGLOSS, 0.3)), { metric: LOGLOSS, direction: 'Minimize' });
    expect(minimize.is_better).toBe(false);
  });

  test('min_improvement blocks a small gain and admits an exact margin (numbers as strings too)', async () => {
    const group = await newGroup();
    await approvedChampion(group, AUC, 0.8);
    const small = await compare(group, await putEvaluation(evaluation(AUC, 0.84)), { min_improvement: '0.05' });
    expect(small).toMatchObject({ is_better: false, threshold: '0.85' });
    expect(small.reason).toContain('(Maximize, min_improvement 0.05: needed >= 0.85), so the champion is kept');

    // 0.8 + 0.05 is 0.8500000000000001 in binary floating point: an exact margin still counts.
    const exact = await compare(group, await putEvaluation(evaluation(AUC, 0.85)), { min_improvement: '0.05' });
    expect(exact).toMatchObject({ is_better: true, threshold: '0.85' });
    const big = await compare(group, await putEvaluation(evaluation(AUC, 0.9)), { min_improvement: 0.05 });
    expect(big.is_better).toBe(true);
  });

  test('Minimize: lower is better, by at least min_improvement', async () => {
    const group = await newGroup();
    const arn = await approvedChampion(group, LOGLOSS, 0.35);
    const args = { metric: LOGLOSS, direction: 'Minimize' };
    const lower = await compare(group, await putEvaluation(evaluation(LOGLOSS, 0.3)), args);
    expect(lower).toEqual({
      is_better: true,
      challenger_value: '0.3',
      champion_value: '0.35',
      champion_package_arn: arn,
      threshold: '0.35',
      reason: `challenger ${LOGLOSS} = 0.3 beats champion 0.35 (Minimize, min_improvement 0: needed < 0.35)`,
    });
    expect((await compare(group, await putEvaluation(evaluation(LOGLOSS, 0.36)), args)).is_better).toBe(false);
    const blocked = await compare(group, await putEvaluation(evaluation(LOGLOSS, 0.33)), { ...args, min_improvement: 0.05 });
    expect(blocked).toMatchObject({ is_better: false, threshold: '0.3' });
    expect(blocked.reason).toContain('needed <= 0.3');
    expect((await compare(group, await putEvaluation(evaluation(LOGLOSS, 0.3)), { ...args, min_improvement: 0.05 })).is_better).toBe(true);
  });

  test('a NaN, infinite, non-numeric or missing challenger metric is never promoted', async () => {
    const group = await newGroup();
    const arn = await approvedChampion(group, AUC, 0.88);
    // What Python's json.dump writes for float('nan'): not valid JSON, read as NaN.
    const nan = await compare(group, await putEvaluation(`{"metrics": {"${AUC}": {"value": NaN}}}`));
    expect(nan).toEqual({
      is_better: false,
      challenger_value: 'NaN',
      champion_value: '0.88',
      champion_package_arn: arn,
      threshold: 'none',
      reason: expect.stringMatching(new RegExp(`has ${AUC} = NaN, so it is not promoted \\(champion ${arn} = 0.88, Maximize\\)$`)),
    });
    const inf = await compare(group, await putEvaluation(`{"metrics": {"${AUC}": {"value": Infinity}}}`));
    expect(inf).toMatchObject({ is_better: false, challenger_value: 'Infinity' });
    const text = await compare(group, await putEvaluation(evaluation(AUC, '0.95')));
    expect(text).toMatchObject({ is_better: false, challenger_value: 'NaN' });
    expect(text.reason).toContain(`has a non-numeric ${AUC} ("0.95")`);
    const missing = await compare(group, await putEvaluation(evaluation('validation:f1', 0.95)));
    expect(missing).toMatchObject({ is_better: false, challenger_value: 'missing' });
    expect(missing.reason).toContain(`has no metrics["${AUC}"].value, so it is not promoted`);
    const noMetrics = await compare(group, await putEvaluation({ auc: 0.95 }));
    expect(noMetrics).toMatchObject({ is_better: false, challenger_value: 'missing' });
    expect(noMetrics.reason).toContain('has no "metrics" object');
  });

  test('a NaN challenger is not registered even when there is no champion', async () => {
    const group = await newGroup();
    const result = await compare(group, await putEvaluation(evaluation(AUC, null)));
    expect(result).toMatchObject({ is_better: false, challenger_value: 'missing', champion_value: 'none', champion_package_arn: 'none' });
    expect(result.reason).toContain(`(no approved champion in ${group}, Maximize)`);
  });

  test('a champion without a comparable metric does not block a finite challenger', async () => {
    const noMetrics = await newGroup();
    const arn = await registerPackage(noMetrics, undefined, 'Approved');
    const result = await compare(noMetrics, await putEvaluation(evaluation(AUC, 0.6)));
    expect(result).toEqual({
      is_better: true,
      challenger_value: '0.6',
      champion_value: 'none',
      champion_package_arn: arn,
      threshold: 'none',
      reason: `champion ${arn} has no comparable ${AUC} (it has no ModelMetrics.ModelQuality.Statistics), ` +
        `so the challenger (${AUC} = 0.6) replaces it (Maximize)`,
    });

    const deletedFile = await newGroup();
    await registerPackage(deletedFile, `s3://${BUCKET}/gone/evaluation.json`, 'Approved');
    const gone = await compare(deletedFile, await putEvaluation(evaluation(AUC, 0.6)));
    expect(gone).toMatchObject({ is_better: true, champion_value: 'none' });
    expect(gone.reason).toContain(`has a metrics file s3://${BUCKET}/gone/evaluation.json that does not exist`);

    const otherMetric = await newGroup();
    await approvedChampion(otherMetric, 'validation:f1', 0.9);
    expect((await compare(otherMetric, await putEvaluation(evaluation(AUC, 0.6)))).is_better).toBe(true);

    const nanChampion = await newGroup();
    await registerPackage(nanChampion, await putEvaluation(`{"metrics": {"${AUC}": {"value": NaN}}}`), 'Approved');
    const overNan = await compare(nanChampion, await putEvaluation(evaluation(AUC, 0.6)));
    expect(overNan).toMatchObject({ is_better: true, champion_value: 'none' });
    expect(overNan.reason).toContain(`(it has ${AUC} = NaN in s3://`);

    const brokenJson = await newGroup();
    await registerPackage(brokenJson, await putEvaluation('{"metrics": '), 'Approved');
    expect((await compare(brokenJson, await putEvaluation(evaluation(AUC, 0.6)))).reason).toContain('that is not valid JSON');

    // ...but a NaN challenger still loses to a broken champion.
    const nan = await compare(noMetrics, await putEvaluation(`{"metrics": {"${AUC}": {"value": NaN}}}`));
    expect(nan).toMatchObject({ is_better: false, champion_package_arn: arn });
  });

  test('only the most recent approved package is the champion; rejected ones are ignored', async () => {
    const group = await newGroup();
    await approvedChampion(group, AUC, 0.95); // older and better
    const newer = await approvedChampion(group, AUC, 0.8); // newer and worse: the champion
    await registerPackage(group, await putEvaluation(evaluation(AUC, 0.99)), 'Rejected');
    await registerPackage(group, await putEvaluation(evaluation(AUC, 0.99)), 'PendingManualApproval');
    const result = await compare(group, await putEvaluation(evaluation(AUC, 0.85)));
    expect(result).toMatchObject({ is_better: true, champion_value: '0.8', champion_package_arn: newer });
  });

  test('the challenger evaluation must exist and be JSON', async () => {
    const group = await newGroup();
    await expect(compare(group, `s3://${BUCKET}/runs/nope/evaluation.json`))
      .rejects.toThrow(`the challenger evaluation s3://${BUCKET}/runs/nope/evaluation.json does not exist; the evaluation step must write it`);
    await expect(compare(group, 's3://no-such-bucket-here/evaluation.json')).rejects.toThrow('does not exist');
    const broken = await putEvaluation('{"metrics": {');
    await expect(compare(group, broken)).rejects.toThrow(`the challenger evaluation ${broken} is not valid JSON`);
  });
});

describe('service behaviour moto does not show', () => {
  let restore: (() => void) | undefined;
  afterEach(() => { restore?.(); restore = undefined; });

  const throttle = () => new SageMakerServiceException({
    name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded',
  });

  test('a throttled ListModelPackages is retried with backoff, then served by moto', async () => {
    const group = await newGroup();
    const arn = await approvedChampion(group, AUC, 0.88);
    const challenger = await putEvaluation(evaluation(AUC, 0.9));
    const realSend = sagemaker.send.bind(sagemaker) as (command: unknown) => Promise<any>;
    const mock = mockClient(sagemaker);
    restore = () => mock.restore();
    let throttled = 0;
    mock.on(ListModelPackagesCommand).callsFake(async input => {
      if (throttled++ === 0) { throw throttle(); }
      return realSend(new ListModelPackagesCommand(input));
    });
    mock.on(DescribeModelPackageCommand).callsFake(input => realSend(new DescribeModelPackageCommand(input)));
    const sleeps: number[] = [];
    const logs: string[] = [];
    const result = await compare(group, challenger, {}, { sleep: async ms => { sleeps.push(ms); }, log: m => logs.push(m) });
    expect(result).toMatchObject({ is_better: true, champion_package_arn: arn, champion_value: '0.88' });
    expect(mock.commandCalls(ListModelPackagesCommand)).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(200);
    expect(sleeps[0]).toBeLessThanOrEqual(400);
    expect(logs[0]).toMatch(new RegExp(`^ListModelPackages\\(${group}\\) throttled \\(attempt 1\\), retrying in \\d+ ms$`));
    expect(mock.commandCalls(ListModelPackagesCommand)[0].args[0].input).toEqual({
      ModelPackageGroupName: group, ModelApprovalStatus: 'Approved', SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: 100,
    });
  });

  test('S3 SlowDown (503) is retried; throttling that never ends fails with a clear message', async () => {
    const group = await newGroup();
    const challenger = await putEvaluation(evaluation(AUC, 0.9));
    const realSend = s3.send.bind(s3) as (command: unknown) => Promise<any>;
    const mock = mockClient(s3);
    restore = () => mock.restore();
    const slowDown = () => new S3ServiceException({ name: 'SlowDown', $fault: 'server', $metadata: { httpStatusCode: 503 }, message: 'Please reduce your request rate.' });
    let calls = 0;
    mock.on(GetObjectCommand).callsFake(async input => {
      if (calls++ < 2) { throw slowDown(); }
      return realSend(new GetObjectCommand(input));
    });
    const sleeps: number[] = [];
    expect((await compare(group, challenger, {}, { sleep: async ms => { sleeps.push(ms); } })).is_better).toBe(true);
    expect(sleeps).toHaveLength(2);

    mock.on(GetObjectCommand).rejects(slowDown());
    await expect(compare(group, challenger, {}, { maxAttempts: 3 }))
      .rejects.toThrow(`GetObject(${challenger}) was still throttled after 3 attempts: Please reduce your request rate.`);
  });

  test('other S3 errors fail the step with the cause', async () => {
    const group = await newGroup();
    const mock = mockClient(s3);
    restore = () => mock.restore();
    mock.on(GetObjectCommand).rejects(new S3ServiceException({
      name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied',
    }));
    await expect(compare(group, `s3://${BUCKET}/runs/x/evaluation.json`)).rejects.toThrow(
      `could not read s3://${BUCKET}/runs/x/evaluation.json: AccessDenied: Access Denied (without s3:ListBucket, a missing object also reads as AccessDenied)`);
  });

  test('a service that ignores the filters and the order, and pages: the newest Approved package still wins', async () => {
    const group = await newGroup();
    const older = await approvedChampion(group, AUC, 0.95);
    const newer = await approvedChampion(group, AUC, 0.8);
    const challenger = await putEvaluation(evaluation(AUC, 0.85));
    const realSend = sagemaker.send.bind(sagemaker) as (command: unknown) => Promise<any>;
    const mock = mockClient(sagemaker);
    restore = () => mock.restore();
    const arn = (n: number) => `arn:aws:sagemaker:us-east-1:123456789012:model-package/${group}/${n}`;
    const t = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms);
    mock.on(ListModelPackagesCommand, { NextToken: undefined }).resolves({
      ModelPackageSummaryList: [
        { ModelPackageArn: older, ModelPackageGroupName: group, ModelApprovalStatus: 'Approved', CreationTime: t(1), ModelPackageStatus: 'Completed' },
        { ModelPackageArn: arn(9), ModelPackageGroupName: group, ModelApprovalStatus: 'Rejected', CreationTime: t(9), ModelPackageStatus: 'Completed' },
      ],
      NextToken: 'page-2',
    });
    mock.on(ListModelPackagesCommand, { NextToken: 'page-2' }).resolves({
      ModelPackageSummaryList: [
        { ModelPackageArn: newer, ModelPackageGroupName: group, ModelApprovalStatus: 'Approved', CreationTime: t(2), ModelPackageStatus: 'Completed' },
        { ModelPackageArn: arn(8), ModelPackageGroupName: `${group}-other`, ModelApprovalStatus: 'Approved', CreationTime: t(8), ModelPackageStatus: 'Completed' },
        { ModelPackageArn: arn(7), ModelPackageGroupName: group, ModelApprovalStatus: 'PendingManualApproval', CreationTime: t(7), ModelPackageStatus: 'Completed' },
      ],
    });
    mock.on(DescribeModelPackageCommand).callsFake(input => realSend(new DescribeModelPackageCommand(input)));
    const result = await compare(group, challenger);
    expect(result).toMatchObject({ is_better: true, champion_package_arn: newer, champion_value: '0.8' });
    expect(mock.commandCalls(ListModelPackagesCommand)).toHaveLength(2);
    expect(mock.commandCalls(DescribeModelPackageCommand).map(c => c.args[0].input)).toEqual([{ ModelPackageName: newer }]);
  });

  test('same CreationTime: the higher version wins', async () => {
    const mock = mockClient(sagemaker);
    restore = () => mock.restore();
    const when = new Date('2026-01-01T00:00:00Z');
    mock.on(ListModelPackagesCommand).resolves({
      ModelPackageSummaryList: [
        { ModelPackageArn: 'arn:a/3', ModelPackageVersion: 3, ModelApprovalStatus: 'Approved', CreationTime: when, ModelPackageStatus: 'Completed' },
        { ModelPackageArn: 'arn:a/4', ModelPackageVersion: 4, ModelApprovalStatus: 'Approved', CreationTime: when, ModelPackageStatus: 'Completed' },
      ],
    });
    mock.on(DescribeModelPackageCommand).resolves({});
    const result = await compare('a', await putEvaluation(evaluation(AUC, 0.5)));
    expect(result).toMatchObject({ is_better: true, champion_package_arn: 'arn:a/4', champion_value: 'none' });
  });
});

describe('event validation', () => {
  const valid = {
    evaluation_uri: `s3://${BUCKET}/runs/1/evaluation.json`, metric: AUC, direction: 'Maximize', min_improvement: 0, model_package_group: 'churn',
  };

  test('a valid event is normalised; numbers may arrive as strings', () => {
    expect(validateEvent({ ...valid, min_improvement: '0.01' })).toEqual({
      evaluationUri: valid.evaluation_uri,
      bucket: BUCKET,
      key: 'runs/1/evaluation.json',
      metric: AUC,
      direction: 'Maximize',
      minImprovement: 0.01,
      modelPackageGroup: 'churn',
    });
    expect(validateEvent({ ...valid, min_improvement: 2 }).minImprovement).toBe(2);
  });

  test.each([
    ['the event has no evaluation_uri', { ...valid, evaluation_uri: undefined }],
    ['the event has no metric', { ...valid, metric: undefined }],
    ['the event has no direction', { ...valid, direction: undefined }],
    ['the event has no min_improvement', { ...valid, min_improvement: undefined }],
    ['the event has no model_package_group', { ...valid, model_package_group: undefined }],
    ['metric must be a non-empty string, got ""', { ...valid, metric: '' }],
    ['model_package_group must be a non-empty string, got 42', { ...valid, model_package_group: 42 }],
    ['direction must be \'Maximize\' or \'Minimize\', got "maximize"', { ...valid, direction: 'maximize' }],
    ['direction must be \'Maximize\' or \'Minimize\', got "Ascending"', { ...valid, direction: 'Ascending' }],
    ['min_improvement must be a number >= 0, got -0.01', { ...valid, min_improvement: -0.01 }],
    ['min_improvement must be a number >= 0, got "-1"', { ...valid, min_improvement: '-1' }],
    ['min_improvement must be a number >= 0, got "a lot"', { ...valid, min_improvement: 'a lot' }],
    ['min_improvement must be a number >= 0, got ""', { ...valid, min_improvement: '' }],
    ['min_improvement must be a number >= 0, got true', { ...valid, min_improvement: true }],
    ['evaluation_uri must be an s3://bucket/key URI, got "https://bucket.s3.amazonaws.com/evaluation.json"', { ...valid, evaluation_uri: 'https://bucket.s3.amazonaws.com/evaluation.json' }],
    ['evaluation_uri must be an s3://bucket/key URI, got "s3://bucket-only"', { ...valid, evaluation_uri: 's3://bucket-only' }],
    ['evaluation_uri must be an s3://bucket/key URI, got "s3://bucket/"', { ...valid, evaluation_uri: 's3://bucket/' }],
    ['evaluation_uri must be an s3://bucket/key URI, got "s3://Bad_Bucket/key.json"', { ...valid, evaluation_uri: 's3://Bad_Bucket/key.json' }],
    ['the event must be an object, got null', null],
    ['the event must be an object, got "{}"', '{}'],
  ])('rejected: %s', (message, event) => {
    expect(() => validateEvent(event)).toThrow(`compare-with-champion: ${message}`);
  });

  test('compareWithChampion validates before any AWS call', async () => {
    const sm = mockClient(sagemaker);
    const store = mockClient(s3);
    try {
      await expect(compareWithChampion({ ...valid, direction: 'Up' }, options())).rejects.toThrow('direction must be');
      expect(sm.calls()).toHaveLength(0);
      expect(store.calls()).toHaveLength(0);
    } finally {
      sm.restore();
      store.restore();
    }
  });
});

describe('helpers', () => {
  test('isThrottling: names, HTTP 429/503 and the SDK flag', () => {
    expect(isThrottling({ name: 'ThrottlingException' })).toBe(true);
    expect(isThrottling({ name: 'SlowDown' })).toBe(true);
    expect(isThrottling({ name: 'X', $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isThrottling({ name: 'X', $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(isThrottling({ $retryable: { throttling: true } })).toBe(true);
    expect(isThrottling({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } })).toBe(false);
    expect(isThrottling(undefined)).toBe(false);
  });

  test('backoff is exponential, jittered and capped', () => {
    expect(backoffMs(1, () => 0)).toBe(200);
    expect(backoffMs(1, () => 1)).toBe(400);
    expect(backoffMs(3, () => 1)).toBe(1600);
    expect(backoffMs(20, () => 1)).toBe(10_000);
    expect(backoffMs(20, () => 0)).toBe(5_000);
  });

  test('parseEvaluationJson reads Python NaN/Infinity tokens, never inside strings', () => {
    expect(parseEvaluationJson('{"a": NaN, "b": -Infinity, "c": Infinity, "d": "NaN and Infinity", "e": "say \\"NaN\\""}'))
      .toEqual({ a: NaN, b: -Infinity, c: Infinity, d: 'NaN and Infinity', e: 'say "NaN"' });
    expect(parseEvaluationJson('\uFEFF{"metrics": {}}')).toEqual({ metrics: {} });
    expect(() => parseEvaluationJson('{"a": nan}')).toThrow(SyntaxError);
    expect(() => parseEvaluationJson('{"a": NaN')).toThrow(SyntaxError);
  });

  test('beats: strict at min_improvement 0, inclusive above, tolerant of float addition', () => {
    expect(beats(0.88, 0.88, 'Maximize', 0).better).toBe(false);
    expect(beats(0.8800001, 0.88, 'Maximize', 0).better).toBe(true);
    expect(beats(0.85, 0.8, 'Maximize', 0.05)).toEqual({ better: true, threshold: 0.8 + 0.05, needed: '>= 0.85' });
    expect(beats(0.8499, 0.8, 'Maximize', 0.05).better).toBe(false);
    expect(beats(0.25, 0.3, 'Minimize', 0.05)).toEqual({ better: true, threshold: 0.3 - 0.05, needed: '<= 0.25' });
    expect(beats(-5, -5, 'Minimize', 0).better).toBe(false);
    expect(beats(-6, -5, 'Minimize', 0).needed).toBe('< -5');
  });
});

describe('Lambda entry point', () => {
  const saved: Record<string, string | undefined> = {};
  const env = {
    AWS_ENDPOINT_URL_SAGEMAKER: () => moto.endpoint,
    AWS_ENDPOINT_URL_S3: () => moto.endpoint,
    AWS_REGION: () => 'us-east-1',
    AWS_ACCESS_KEY_ID: () => 'testing',
    AWS_SECRET_ACCESS_KEY: () => 'testing',
  };
  beforeAll(() => {
    for (const [k, v] of Object.entries(env)) { saved[k] = process.env[k]; process.env[k] = v(); }
  });
  afterAll(() => {
    for (const k of Object.keys(env)) { if (saved[k] === undefined) { delete process.env[k]; } else { process.env[k] = saved[k]; } }
  });

  test('handler compares with the real clients it creates (against moto)', async () => {
    const group = await newGroup();
    const arn = await approvedChampion(group, AUC, 0.88);
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const result = await handler({
        evaluation_uri: await putEvaluation(evaluation(AUC, 0.9)), metric: AUC, direction: 'Maximize', min_improvement: '0.01', model_package_group: group,
      });
      expect(result).toEqual({
        is_better: true,
        challenger_value: '0.9',
        champion_value: '0.88',
        champion_package_arn: arn,
        threshold: '0.89',
        reason: `challenger ${AUC} = 0.9 beats champion 0.88 (Maximize, min_improvement 0.01: needed >= 0.89)`,
      });
      expect(log).toHaveBeenLastCalledWith(JSON.stringify(result));
    } finally {
      log.mockRestore();
    }
  });
});
