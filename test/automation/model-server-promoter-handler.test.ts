import * as https from 'https';
import { AddressInfo } from 'net';
import { EKSClient } from '@aws-sdk/client-eks';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand, CreateModelPackageGroupCommand, ListModelPackagesCommand, SageMakerClient, UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import {
  ANNOTATION_PACKAGE, ANNOTATION_PROMOTED_AT, MODEL_FILE, Promoter, PromoterConfig, PromoterDeps, configFromEnv, parseS3Uri,
} from '../../src/automation/model-server-promoter.lambda';
import { selfSigned } from '../support/kube-tls';
import { MotoServer, motoClientConfig, startMoto } from '../support/moto';

/**
 * The promoter against moto_server (SageMaker model packages, S3) through the real SDK clients, and a fake Kubernetes
 * API server over TLS (self-signed CA, the only one the client trusts) that serves one Deployment and applies JSON
 * merge patches to it.
 */

interface Recorded { method: string; path: string; contentType: string; body?: any }

class FakeDeploymentApi {
  public readonly requests: Recorded[] = [];
  public deployment: any;
  public forced: number[] = [];
  public endpoint = '';
  private server!: https.Server;

  constructor(private readonly key: string, private readonly cert: string) {}

  async start(): Promise<void> {
    this.server = https.createServer({ key: this.key, cert: this.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', c => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const rec: Recorded = { method: req.method!, path: req.url!, contentType: String(req.headers['content-type'] ?? ''), body: text ? JSON.parse(text) : undefined };
        this.requests.push(rec);
        const send = (status: number, body: unknown) => { res.writeHead(status, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(body)); };
        if (!/^Bearer k8s-aws-v1\.[A-Za-z0-9_-]+$/.test(String(req.headers.authorization ?? ''))) { send(401, { reason: 'Unauthorized' }); return; }
        const forced = this.forced.shift();
        if (forced) { send(forced, { code: forced, message: 'forced' }); return; }
        if (rec.path !== '/apis/apps/v1/namespaces/serving/deployments/fraud-scoring' || !this.deployment) { send(404, { reason: 'NotFound' }); return; }
        if (rec.method === 'GET') { send(200, this.deployment); return; }
        if (rec.method === 'PATCH') {
          if (rec.contentType !== 'application/merge-patch+json') { send(415, { reason: 'UnsupportedMediaType' }); return; }
          this.deployment = mergePatch(this.deployment, rec.body);
          send(200, this.deployment);
          return;
        }
        send(405, {});
      });
    });
    await new Promise<void>(resolve => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.endpoint = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> { return new Promise(resolve => this.server.close(() => resolve())); }
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: any, patch: any): any {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) { return patch; }
  const out = target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) { delete out[k]; } else { out[k] = mergePatch(out[k], v); }
  }
  return out;
}

let moto: MotoServer;
let api: FakeDeploymentApi;
let cert: string;
let sagemaker: SageMakerClient;
let s3: S3Client;
let group = '';
let groupSeq = 0;
let logs: string[];
const NOW = new Date(Date.UTC(2026, 10, 30, 12, 0, 0));

beforeAll(async () => {
  moto = await startMoto();
  const pair = selfSigned();
  cert = pair.cert;
  api = new FakeDeploymentApi(pair.key, pair.cert);
  await api.start();
  sagemaker = new SageMakerClient(motoClientConfig(moto.endpoint));
  s3 = new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: 'models-zone' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'elsewhere' }));
});
afterAll(async () => { await api?.stop(); await moto?.stop(); });

beforeEach(async () => {
  group = `fraud-scoring-${++groupSeq}`;
  await sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: group }));
  api.requests.length = 0;
  api.forced = [];
  api.deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'fraud-scoring', namespace: 'serving' }, spec: { replicas: 2, template: { metadata: { labels: { app: 'fraud' } } } } };
  logs = [];
});

function config(overrides: Partial<PromoterConfig> = {}): PromoterConfig {
  return {
    clusterName: 'gpu',
    region: 'us-east-1',
    namespace: 'serving',
    deployment: 'fraud-scoring',
    modelPackageGroup: group,
    targetBucket: 'models-zone',
    targetPrefix: 'serving/fraud-scoring/',
    sourceBucket: 'models-zone',
    sourcePrefix: 'pipelines/',
    clusterEndpoint: api.endpoint,
    clusterCa: Buffer.from(cert).toString('base64'),
    ...overrides,
  };
}

function promoter(overrides: Partial<PromoterConfig> = {}, deps: Partial<PromoterDeps> = {}): Promoter {
  return new Promoter({
    config: config(overrides),
    sagemaker,
    s3,
    eks: new EKSClient(motoClientConfig(moto.endpoint)),
    credentials: async () => ({ accessKeyId: 'testing', secretAccessKey: 'testing' }),
    now: () => NOW,
    sleep: async () => {},
    log: m => logs.push(m),
    ...deps,
  });
}

/** Registers a version whose model.tar.gz holds `content`; returns its ARN. */
async function register(content: string, status: 'Approved' | 'PendingManualApproval' | 'Rejected', bucket = 'models-zone',
  prefix = 'pipelines/', body: string | Buffer = content): Promise<string> {
  const key = `${prefix}${group}/artifacts/${content}/model.tar.gz`;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  const out = await sagemaker.send(new CreateModelPackageCommand({
    ModelPackageGroupName: group,
    ModelApprovalStatus: status,
    InferenceSpecification: {
      Containers: [{ Image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1', ModelDataUrl: `s3://${bucket}/${key}` }],
      SupportedContentTypes: ['application/json'],
      SupportedResponseMIMETypes: ['application/json'],
    },
  }));
  // moto orders by creation time: keep versions apart.
  await new Promise(r => setTimeout(r, 20));
  return out.ModelPackageArn!;
}

async function served(): Promise<string> {
  const obj = await s3.send(new GetObjectCommand({ Bucket: 'models-zone', Key: `serving/fraud-scoring/${MODEL_FILE}` }));
  return obj.Body!.transformToString();
}

describe('model server promoter', () => {
  test('nothing approved: no copy, no patch; the server keeps what it serves', async () => {
    await register('v1', 'PendingManualApproval');
    expect(await promoter().reconcile()).toBe('nothing-approved');
    expect(api.requests).toEqual([]);
  });

  test('promotes the newest approved version: copies its model under the server key, then patches the pod template', async () => {
    await register('v1', 'Approved');
    const v2 = await register('v2', 'Approved');
    await register('v3', 'PendingManualApproval');
    expect(await promoter().reconcile()).toBe('promoted');
    expect(await served()).toBe('v2');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'models-zone', Key: `serving/fraud-scoring/${MODEL_FILE}` }));
    expect(head.Metadata).toEqual({ 'model-package': v2 });
    expect(api.requests.map(r => r.method)).toEqual(['GET', 'PATCH']);
    expect(api.requests[1].contentType).toBe('application/merge-patch+json');
    expect(api.deployment.spec.template.metadata.annotations).toEqual({ [ANNOTATION_PACKAGE]: v2, [ANNOTATION_PROMOTED_AT]: NOW.toISOString() });
    // The rest of the Deployment is untouched by the merge patch.
    expect(api.deployment.spec.template.metadata.labels).toEqual({ app: 'fraud' });
    expect(api.deployment.spec.replicas).toBe(2);
  });

  test('idempotent: a second event for the served version changes nothing (no copy, no rollout)', async () => {
    await register('v1', 'Approved');
    expect(await promoter().reconcile()).toBe('promoted');
    api.requests.length = 0;
    expect(await promoter().reconcile()).toBe('unchanged');
    expect(api.requests.map(r => r.method)).toEqual(['GET']);
  });

  test('rejecting the served version rolls back to the newest remaining approved one', async () => {
    await register('v1', 'Approved');
    const v2 = await register('v2', 'Approved');
    expect(await promoter().reconcile()).toBe('promoted');
    expect(await served()).toBe('v2');
    await sagemaker.send(new UpdateModelPackageCommand({ ModelPackageArn: v2, ModelApprovalStatus: 'Rejected' }));
    expect(await promoter().reconcile()).toBe('promoted');
    expect(await served()).toBe('v1');
    expect(logs.some(l => l.includes(`(was ${v2})`))).toBe(true);
  });

  test('refuses model data outside the models zone or its pipelines prefix (and changes nothing)', async () => {
    await register('v1', 'Approved', 'elsewhere');
    await expect(promoter().reconcile()).rejects.toThrow(/outside s3:\/\/models-zone\/pipelines\//);
    await register('v2', 'Approved', 'models-zone', 'uploads/');
    await expect(promoter().reconcile()).rejects.toThrow(/uploads\/.*outside s3:\/\/models-zone\/pipelines\//);
    expect(api.requests.map(r => r.method)).toEqual(['GET', 'GET']);
    expect(api.deployment.spec.template.metadata.annotations).toBeUndefined();
  });

  test('a copy whose patch failed is repaired once the newest changes back: the object and the pods follow the registry', async () => {
    const v1 = await register('v1', 'Approved');
    expect(await promoter().reconcile()).toBe('promoted');
    // v2 is approved and copied, but its patch fails (503 on the only attempt): the pods still say v1, the object holds v2.
    const v2 = await register('v2', 'Approved');
    api.forced = [0, 503]; // 0: the GET passes through; the PATCH gets 503
    await expect(promoter({}, { maxAttempts: 1 }).reconcile()).rejects.toThrow(/PATCH .* still failing after 1 attempts: HTTP 503/);
    const stale = await s3.send(new HeadObjectCommand({ Bucket: 'models-zone', Key: `serving/fraud-scoring/${MODEL_FILE}` }));
    expect(stale.Metadata).toEqual({ 'model-package': v2 });
    // v2 is rejected before any retry: the newest approved is v1 again, which the annotation names; the object must follow.
    await sagemaker.send(new UpdateModelPackageCommand({ ModelPackageArn: v2, ModelApprovalStatus: 'Rejected' }));
    const later = new Date(NOW.getTime() + 60_000);
    expect(await promoter({}, { now: () => later }).reconcile()).toBe('promoted');
    expect(await served()).toBe('v1');
    // ...and the pods that may have started with v2 in the meantime are replaced (a new rollout).
    expect(api.deployment.spec.template.metadata.annotations).toEqual({ [ANNOTATION_PACKAGE]: v1, [ANNOTATION_PROMOTED_AT]: later.toISOString() });
  });

  test('objects above the single-copy limit are copied in parts (UploadPartCopy), byte for byte', async () => {
    const big = Buffer.alloc(11 * 1024 * 1024, 7);
    big.write('head', 0);
    big.write('tail', big.length - 4);
    const arn = await register('big', 'Approved', 'models-zone', 'pipelines/', big);
    expect(await promoter({}, { singleCopyLimit: 1024, partSize: 5 * 1024 * 1024 }).reconcile()).toBe('promoted');
    expect(logs.some(l => /copied 11534336 bytes in 3 parts/.test(l))).toBe(true);
    const obj = await s3.send(new GetObjectCommand({ Bucket: 'models-zone', Key: `serving/fraud-scoring/${MODEL_FILE}` }));
    const copied = Buffer.from(await obj.Body!.transformToByteArray());
    expect(copied.equals(big)).toBe(true);
    expect(obj.Metadata).toEqual({ 'model-package': arn });
  });

  test('Kubernetes API throttling and 5xx are retried; a missing Deployment fails the event (retried, then the DLQ)', async () => {
    await register('v1', 'Approved');
    api.forced = [429, 503];
    expect(await promoter().reconcile()).toBe('promoted');
    expect(logs.filter(l => /retrying/.test(l))).toHaveLength(2);
    api.deployment = undefined;
    await expect(promoter().reconcile()).rejects.toThrow(/reading Deployment serving\/fraud-scoring failed with HTTP 404/);
  });

  test('SageMaker throttling is retried (aws-sdk-client-mock: moto does not throttle)', async () => {
    const mocked = new SageMakerClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const mock = mockClient(mocked);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    mock.on(ListModelPackagesCommand).rejectsOnce(throttled).resolves({ ModelPackageSummaryList: [] });
    expect(await promoter({}, { sagemaker: mocked }).reconcile()).toBe('nothing-approved');
    expect(mock.commandCalls(ListModelPackagesCommand)).toHaveLength(2);
  });

  test('environment and URI parsing', () => {
    expect(() => configFromEnv({})).toThrow(/CLUSTER_NAME/);
    expect(configFromEnv({
      CLUSTER_NAME: 'c',
      AWS_REGION: 'eu-west-1',
      SERVER_NAMESPACE: 'n',
      SERVER_DEPLOYMENT: 'd',
      MODEL_PACKAGE_GROUP: 'g',
      TARGET_BUCKET: 'b',
      TARGET_PREFIX: 'serving/x/',
      SOURCE_BUCKET: 'b',
      SOURCE_PREFIX: 'pipelines/',
    })).toEqual(expect.objectContaining({
      region: 'eu-west-1', deployment: 'd', targetPrefix: 'serving/x/', sourcePrefix: 'pipelines/', clusterEndpoint: undefined,
    }));
    expect(parseS3Uri('s3://models-zone/a/b/model.tar.gz')).toEqual({ bucket: 'models-zone', key: 'a/b/model.tar.gz' });
    expect(() => parseS3Uri('https://example.com/model.tar.gz')).toThrow(/not an s3:\/\/bucket\/key/);
  });
});
