import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { CreateClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import {
  SageMakerClient, SendPipelineExecutionStepFailureCommand, SendPipelineExecutionStepSuccessCommand,
} from '@aws-sdk/client-sagemaker';
import { CreateQueueCommand, GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import {
  ENV_CODE_VERSION, ENV_INPUT_URI, ENV_OUTPUT_URI, KubeTransport, LABEL_CALLBACK, Launcher, LauncherConfig, LauncherDeps,
  TOKEN_PREFIX, eksToken, jobNameFor, jobOutcome, parseMessage, renderJob,
} from '../../src/automation/kubeflow-launcher.lambda';
import { selfSigned } from '../support/kube-tls';
import { MotoServer, motoClientConfig, startMoto } from '../support/moto';

/**
 * The handler against a fake Kubernetes API server (node https with a self-signed certificate made by openssl at test
 * time; the client trusts only that CA) and moto_server for SQS and EKS DescribeCluster. moto 5 has no
 * SendPipelineExecutionStepSuccess/Failure, so aws-sdk-client-mock answers those on the real SageMaker client.
 */

const CREDS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const FIXED = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
const TEMPLATE = {
  apiVersion: 'kubeflow.org/v1',
  kind: 'PyTorchJob',
  metadata: { name: 'fraud-train' },
  spec: {
    pytorchReplicaSpecs: {
      Master: { replicas: 1, template: { spec: { containers: [{ name: 'pytorch', image: 'acct.dkr.ecr/fraud:1', env: [{ name: 'KEEP', value: '1' }, { name: ENV_INPUT_URI, value: 'stale' }] }] } } },
      Worker: { replicas: 2, template: { spec: { containers: [{ name: 'pytorch', image: 'acct.dkr.ecr/fraud:1' }] } } },
    },
    runPolicy: { ttlSecondsAfterFinished: 86400 },
  },
};

describe('EKS bearer token', () => {
  test('k8s-aws-v1. + unpadded base64url of a presigned GetCallerIdentity URL signed with x-k8s-aws-id (golden, fixed clock)', async () => {
    const token = await eksToken('my-cluster', 'us-east-1', CREDS, FIXED);
    expect(token.startsWith(TOKEN_PREFIX)).toBe(true);
    const encoded = token.slice(TOKEN_PREFIX.length);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    const url = new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
    expect(url.host).toBe('sts.us-east-1.amazonaws.com');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      'Action': 'GetCallerIdentity',
      'Version': '2011-06-15',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKIDEXAMPLE/20260102/us-east-1/sts/aws4_request',
      'X-Amz-Date': '20260102T030405Z',
      'X-Amz-Expires': '60',
      'X-Amz-SignedHeaders': 'host;x-k8s-aws-id',
      // The same signature botocore's SigV4QueryAuth computes for this request, credentials and clock.
      'X-Amz-Signature': '71a21b852ac3145a16c2f05c5e0336d7c87c40396c070828813b9e1ce1a37879',
    });
    // Deterministic: same inputs, same token; another cluster name, another signature.
    expect(await eksToken('my-cluster', 'us-east-1', CREDS, FIXED)).toBe(token);
    expect(await eksToken('other', 'us-east-1', CREDS, FIXED)).not.toBe(token);
  });

  test('a session token is signed into the URL; China regions use amazonaws.com.cn', async () => {
    const token = await eksToken('c', 'cn-north-1', { ...CREDS, sessionToken: 'SESSION' }, FIXED);
    const url = new URL(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'));
    expect(url.host).toBe('sts.cn-north-1.amazonaws.com.cn');
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('SESSION');
  });
});

describe('pure helpers', () => {
  test('job name: prefix + first 10 hex of sha256(token)', () => {
    expect(jobNameFor('fraud', 'abc123XYZ0')).toBe(`fraud-${createHash('sha256').update('abc123XYZ0').digest('hex').slice(0, 10)}`);
  });
  test('render: name, namespace, labels, run env on every container (replacing stale values), image unchanged', () => {
    const msg = parseMessage(JSON.stringify({ token: 'tok1234567', pipelineExecutionArn: 'arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/abc123', arguments: {} }));
    const job = renderJob(TEMPLATE, { namespace: 'training', jobName: 'fraud-0123456789' }, msg, { inputDataUri: 's3://in/x', outputUri: 's3://out/y', codeVersion: 'v1' });
    expect(job.metadata).toMatchObject({ name: 'fraud-0123456789', namespace: 'training', labels: { [LABEL_CALLBACK]: '0123456789', 'ml-platform/pipeline-execution': 'abc123' } });
    const master = job.spec.pytorchReplicaSpecs.Master.template.spec.containers[0];
    expect(master.image).toBe('acct.dkr.ecr/fraud:1');
    expect(master.env).toEqual([{ name: 'KEEP', value: '1' }, { name: ENV_INPUT_URI, value: 's3://in/x' }, { name: ENV_OUTPUT_URI, value: 's3://out/y' }, { name: ENV_CODE_VERSION, value: 'v1' }]);
    expect(job.spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].env).toHaveLength(3);
    expect(TEMPLATE.spec.pytorchReplicaSpecs.Master.template.spec.containers[0].env).toHaveLength(2);
  });
  test('outcome from conditions', () => {
    expect(jobOutcome({ status: { conditions: [{ type: 'Created', status: 'True' }, { type: 'Running', status: 'True' }] } })).toEqual({ state: 'running' });
    expect(jobOutcome({ status: { conditions: [{ type: 'Running', status: 'False' }, { type: 'Succeeded', status: 'True' }] } })).toEqual({ state: 'succeeded' });
    expect(jobOutcome({ status: { conditions: [{ type: 'Failed', status: 'True', reason: 'PyTorchJobFailed', message: 'worker-1 OOMKilled' }] } }))
      .toEqual({ state: 'failed', reason: 'PyTorchJobFailed: worker-1 OOMKilled' });
  });
});

// --- fake Kubernetes API server ----------------------------------------------------------------------------------

interface Recorded { method: string; path: string; auth: string; body?: any }

class FakeKubeApi {
  public readonly requests: Recorded[] = [];
  public readonly jobs = new Map<string, any>();
  /** Statuses forced on the next requests (e.g. 429, 503), consumed in order. */
  public forced: number[] = [];
  public server!: https.Server;
  public endpoint = '';

  constructor(private readonly key: string, private readonly cert: string) {}

  async start(): Promise<void> {
    this.server = https.createServer({ key: this.key, cert: this.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', c => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const rec: Recorded = { method: req.method!, path: req.url!, auth: String(req.headers.authorization ?? ''), body: text ? JSON.parse(text) : undefined };
        this.requests.push(rec);
        const send = (status: number, body: unknown) => { res.writeHead(status, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(body)); };
        if (!/^Bearer k8s-aws-v1\.[A-Za-z0-9_-]+$/.test(rec.auth)) { send(401, { kind: 'Status', reason: 'Unauthorized' }); return; }
        const forced = this.forced.shift();
        if (forced) { send(forced, { kind: 'Status', code: forced, message: 'forced' }); return; }
        const m = /^\/apis\/kubeflow\.org\/v1\/namespaces\/([^/]+)\/pytorchjobs(?:\/([^/?]+))?$/.exec(rec.path);
        if (!m) { send(404, { kind: 'Status', reason: 'NotFound' }); return; }
        const [, ns, name] = m;
        if (req.method === 'POST' && !name) {
          const key = `${ns}/${rec.body.metadata.name}`;
          if (this.jobs.has(key)) { send(409, { kind: 'Status', reason: 'AlreadyExists', code: 409 }); return; }
          const job = { ...rec.body, status: { conditions: [{ type: 'Created', status: 'True' }] } };
          this.jobs.set(key, job);
          send(201, job);
        } else if (req.method === 'GET' && name) {
          const job = this.jobs.get(`${ns}/${name}`);
          if (job) { send(200, job); } else { send(404, { kind: 'Status', reason: 'NotFound' }); }
        } else if (req.method === 'DELETE' && name) {
          send(this.jobs.delete(`${ns}/${name}`) ? 200 : 404, {});
        } else {
          send(405, {});
        }
      });
    });
    await new Promise<void>(resolve => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.endpoint = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  setCondition(ns: string, name: string, condition: Record<string, string>): void {
    const job = this.jobs.get(`${ns}/${name}`);
    job.status.conditions.push({ status: 'True', ...condition });
  }

  stop(): Promise<void> { return new Promise(resolve => this.server.close(() => resolve())); }
}


let moto: MotoServer;
let api: FakeKubeApi;
let cert: string;
let sqs: SQSClient;
let queueUrl: string;

beforeAll(async () => {
  moto = await startMoto();
  const pair = selfSigned();
  cert = pair.cert;
  api = new FakeKubeApi(pair.key, pair.cert);
  await api.start();
  sqs = new SQSClient(motoClientConfig(moto.endpoint));
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'launcher' }))).QueueUrl!;
});
afterAll(async () => { await api?.stop(); await moto?.stop(); });

const sagemaker = new SageMakerClient({ region: 'us-east-1', credentials: CREDS });
const smMock = mockClient(sagemaker);
let logs: string[];

beforeEach(async () => {
  smMock.reset();
  smMock.on(SendPipelineExecutionStepSuccessCommand).resolves({ PipelineExecutionArn: 'arn:x' });
  smMock.on(SendPipelineExecutionStepFailureCommand).resolves({ PipelineExecutionArn: 'arn:x' });
  api.requests.length = 0;
  api.jobs.clear();
  api.forced = [];
  logs = [];
  await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
});

function config(overrides: Partial<LauncherConfig> = {}): LauncherConfig {
  return {
    clusterName: 'gpu',
    region: 'us-east-1',
    namespace: 'training',
    jobNamePrefix: 'fraud',
    jobTemplate: TEMPLATE,
    queueUrl,
    watchIntervalSeconds: 60,
    maxRunSeconds: 3600,
    maxReceiveCount: 5,
    outputPrefix: 's3://models/',
    clusterEndpoint: api.endpoint,
    clusterCa: Buffer.from(cert).toString('base64'),
    ...overrides,
  };
}

function launcher(overrides: Partial<LauncherConfig> = {}, deps: Partial<LauncherDeps> = {}): Launcher {
  return new Launcher({
    config: config(overrides),
    sqs,
    sagemaker,
    eks: new EKSClient(motoClientConfig(moto.endpoint)),
    credentials: async () => CREDS,
    sleep: async () => undefined,
    log: m => logs.push(m),
    ...deps,
  });
}

const TOKEN = 'Ab3dEf6hIj';
const EXECUTION = 'arn:aws:sagemaker:us-east-1:123456789012:pipeline/fraud/execution/run42';
const ARGS = { InputDataUri: 's3://lake/curated/v7/', OutputUri: 's3://models/runs/run42/', CodeVersion: 'git-abc123' };
const message = (body: unknown, id = 'm1') => ({ Records: [{ messageId: id, body: typeof body === 'string' ? body : JSON.stringify(body) }] });
const callback = { token: TOKEN, pipelineExecutionArn: EXECUTION, arguments: ARGS, status: 'Executing' };
const jobName = jobNameFor('fraud', TOKEN);

async function watchMessages(): Promise<any[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
  return (out.Messages ?? []).map(m => JSON.parse(m.Body!));
}

describe('launcher handler', () => {
  test('submits one PyTorchJob per token even when the message is delivered twice (409 is success)', async () => {
    const l = launcher({ watchIntervalSeconds: 0 });
    expect(await l.handle(message(callback))).toEqual({ batchItemFailures: [] });
    expect(await l.handle(message(callback, 'm1-again'))).toEqual({ batchItemFailures: [] });
    const posts = api.requests.filter(r => r.method === 'POST');
    expect(posts).toHaveLength(2);
    expect(posts[0].path).toBe('/apis/kubeflow.org/v1/namespaces/training/pytorchjobs');
    expect([...api.jobs.keys()]).toEqual([`training/${jobName}`]);
    const job = api.jobs.get(`training/${jobName}`);
    expect(job.spec.pytorchReplicaSpecs.Master.template.spec.containers[0].env).toEqual(expect.arrayContaining([
      { name: ENV_INPUT_URI, value: ARGS.InputDataUri }, { name: ENV_OUTPUT_URI, value: 's3://models/runs/run42' }, { name: ENV_CODE_VERSION, value: 'git-abc123' },
    ]));
    expect(job.metadata.labels['ml-platform/pipeline-execution']).toBe('run42');
    // Every request carried an EKS bearer token for this cluster.
    for (const r of api.requests) {
      const url = new URL(Buffer.from(r.auth.slice('Bearer k8s-aws-v1.'.length), 'base64url').toString('utf8'));
      expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
      expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
    }
    expect(logs.some(m => m.includes('already exists'))).toBe(true);
    expect(smMock.calls()).toHaveLength(0);
  });

  test('a running job is re-queued as a delayed watch message (not answered)', async () => {
    const l = launcher({ watchIntervalSeconds: 0 });
    await l.handle(message(callback));
    const [watch] = await watchMessages();
    expect(watch).toMatchObject({ kind: 'watch', token: TOKEN, jobName, arguments: ARGS, pipelineExecutionArn: EXECUTION });
    expect(typeof watch.startedAt).toBe('number');
    // The watch message finds the job still running: another watch message, no answer.
    await l.handle(message(watch, 'w1'));
    expect(await watchMessages()).toHaveLength(1);
    expect(smMock.calls()).toHaveLength(0);
  });

  test('the watch message is delayed by the watch interval', async () => {
    await launcher({ watchIntervalSeconds: 120 }).handle(message(callback));
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessagesDelayed'] }));
    expect(attrs.Attributes?.ApproximateNumberOfMessagesDelayed).toBe('1');
    expect(await watchMessages()).toHaveLength(0);
  });

  test('Succeeded → step success with the model artifact URI and job name', async () => {
    const l = launcher({ watchIntervalSeconds: 0 });
    await l.handle(message(callback));
    const [watch] = await watchMessages();
    api.setCondition('training', jobName, { type: 'Succeeded', reason: 'PyTorchJobSucceeded' });
    expect(await l.handle(message(watch, 'w1'))).toEqual({ batchItemFailures: [] });
    const calls = smMock.commandCalls(SendPipelineExecutionStepSuccessCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toEqual({
      CallbackToken: TOKEN,
      OutputParameters: [{ Name: 'ModelArtifacts', Value: 's3://models/runs/run42/model.tar.gz' }, { Name: 'JobName', Value: jobName }],
      ClientRequestToken: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(await watchMessages()).toHaveLength(0);
  });

  test('Failed → step failure with the condition reason (at most 256 characters)', async () => {
    const l = launcher({ watchIntervalSeconds: 0 });
    await l.handle(message(callback));
    const [watch] = await watchMessages();
    api.setCondition('training', jobName, { type: 'Failed', reason: 'PyTorchJobFailed', message: `worker-1 OOMKilled ${'x'.repeat(400)}` });
    await l.handle(message(watch, 'w1'));
    const calls = smMock.commandCalls(SendPipelineExecutionStepFailureCommand);
    expect(calls).toHaveLength(1);
    const reason = calls[0].args[0].input.FailureReason!;
    expect(reason).toMatch(new RegExp(`^PyTorchJob ${jobName} failed: PyTorchJobFailed: worker-1 OOMKilled`));
    expect(reason.length).toBeLessThanOrEqual(256);
    expect(smMock.commandCalls(SendPipelineExecutionStepSuccessCommand)).toHaveLength(0);
  });

  test('API throttling (429) and 5xx are retried', async () => {
    api.forced = [429, 503, 500];
    const l = launcher({ watchIntervalSeconds: 0 });
    expect(await l.handle(message(callback))).toEqual({ batchItemFailures: [] });
    expect(api.requests.map(r => r.method)).toEqual(['POST', 'POST', 'POST', 'POST']);
    expect(api.jobs.size).toBe(1);
    expect(logs.filter(m => m.includes('retrying'))).toHaveLength(3);
  });

  test('an API that stays unavailable fails the item (back to the queue), other items go on', async () => {
    api.forced = Array(6).fill(503);
    const l = launcher({ watchIntervalSeconds: 0 });
    const res = await l.handle({ Records: [{ messageId: 'a', body: JSON.stringify(callback) }, { messageId: 'b', body: JSON.stringify({ ...callback, token: 'Zz9yXw8vUt' }) }] });
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'a' }] });
    expect(api.jobs.size).toBe(1);
  });

  test('on the last delivery before the DLQ, a failing message answers its step with the failure and is consumed', async () => {
    api.forced = Array(12).fill(503);
    const l = launcher({ watchIntervalSeconds: 0 });
    const delivery = (count: string) => ({ Records: [{ messageId: 'a', body: JSON.stringify(callback), attributes: { ApproximateReceiveCount: count } }] });
    // Not yet the last delivery: back to the queue, the step is not answered.
    expect(await l.handle(delivery('4'))).toEqual({ batchItemFailures: [{ itemIdentifier: 'a' }] });
    expect(smMock.commandCalls(SendPipelineExecutionStepFailureCommand)).toHaveLength(0);
    // The 5th (maxReceiveCount): answered with the cause, consumed, so the pipeline does not wait for the callback timeout.
    expect(await l.handle(delivery('5'))).toEqual({ batchItemFailures: [] });
    const [call] = smMock.commandCalls(SendPipelineExecutionStepFailureCommand);
    expect(call.args[0].input).toEqual(expect.objectContaining({ CallbackToken: TOKEN }));
    expect(call.args[0].input.FailureReason).toMatch(/^Kubeflow launcher gave up after 5 deliveries: .*503/);
  });

  test('on the last delivery, a message without a token, or an answer SageMaker refuses, still goes to the DLQ', async () => {
    const l = launcher({ watchIntervalSeconds: 0 });
    const last = (body: string) => ({ Records: [{ messageId: 'x', body, attributes: { ApproximateReceiveCount: '5' } }] });
    expect(await l.handle(last('not json'))).toEqual({ batchItemFailures: [{ itemIdentifier: 'x' }] });
    api.forced = Array(6).fill(503);
    smMock.on(SendPipelineExecutionStepFailureCommand).rejects(Object.assign(new Error('internal'), { name: 'InternalFailure', $metadata: { httpStatusCode: 500 } }));
    expect(await l.handle(last(JSON.stringify(callback)))).toEqual({ batchItemFailures: [{ itemIdentifier: 'x' }] });
  });

  test('malformed messages are batch item failures; bad arguments fail the step at once', async () => {
    const l = launcher();
    const res = await l.handle({
      Records: [
        { messageId: 'not-json', body: '{nope' },
        { messageId: 'no-token', body: JSON.stringify({ arguments: ARGS }) },
        { messageId: 'bad-args', body: JSON.stringify({ ...callback, arguments: { ...ARGS, OutputUri: 's3://elsewhere/x' } }) },
      ],
    });
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'not-json' }, { itemIdentifier: 'no-token' }]);
    const failure = smMock.commandCalls(SendPipelineExecutionStepFailureCommand);
    expect(failure).toHaveLength(1);
    expect(failure[0].args[0].input.FailureReason).toContain('OutputUri must lie under s3://models/');
    expect(api.requests).toHaveLength(0);
  });

  test('a callback token SageMaker no longer accepts is logged and the message consumed', async () => {
    smMock.on(SendPipelineExecutionStepSuccessCommand).rejects(Object.assign(new Error('Callback token is expired or invalid'), { name: 'ValidationException' }));
    const l = launcher({ watchIntervalSeconds: 0 });
    await l.handle(message(callback));
    const [watch] = await watchMessages();
    api.setCondition('training', jobName, { type: 'Succeeded' });
    expect(await l.handle(message(watch, 'w1'))).toEqual({ batchItemFailures: [] });
    expect(logs.some(m => m.includes('no longer accepts callback token'))).toBe(true);
    expect(logs.some(m => m.endsWith(': token-gone'))).toBe(true);
  });

  test('other SageMaker errors return the message to the queue', async () => {
    smMock.on(SendPipelineExecutionStepSuccessCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalFailure' }));
    const l = launcher({ watchIntervalSeconds: 0 });
    await l.handle(message(callback));
    const [watch] = await watchMessages();
    api.setCondition('training', jobName, { type: 'Succeeded' });
    expect(await l.handle(message(watch, 'w1'))).toEqual({ batchItemFailures: [{ itemIdentifier: 'w1' }] });
  });

  test('a job that vanished, or ran past maxRunSeconds (deleted), fails the step', async () => {
    const l = launcher({ watchIntervalSeconds: 0 });
    await l.handle(message({ ...callback, kind: 'watch', startedAt: Date.now() }));
    expect(smMock.commandCalls(SendPipelineExecutionStepFailureCommand)[0].args[0].input.FailureReason).toContain('no longer exists');
    smMock.resetHistory();
    await l.handle(message(callback));
    const [watch] = await watchMessages();
    await l.handle(message({ ...watch, startedAt: Date.now() - 7200_000 }, 'w1'));
    expect(smMock.commandCalls(SendPipelineExecutionStepFailureCommand)[0].args[0].input.FailureReason).toContain('ran longer than 3600 s');
    expect(api.jobs.size).toBe(0);
  });

  test('the API server must present a certificate of the cluster CA', async () => {
    const other = selfSigned().cert;
    const res = await launcher({ clusterCa: Buffer.from(other).toString('base64'), watchIntervalSeconds: 0 }, { maxAttempts: 2 }).handle(message(callback));
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(api.requests).toHaveLength(0);
    expect(logs.some(m => /self[- ]signed|certificate/i.test(m))).toBe(true);
  });

  test('endpoint and CA come from EKS DescribeCluster (moto) when not configured', async () => {
    const eks = new EKSClient(motoClientConfig(moto.endpoint));
    await eks.send(new CreateClusterCommand({ name: 'gpu', roleArn: 'arn:aws:iam::123456789012:role/eks', resourcesVpcConfig: { subnetIds: [] } }));
    const seen: { url: string; ca: string }[] = [];
    const transport: KubeTransport = async req => { seen.push({ url: req.url, ca: req.ca }); return { status: 201, body: { status: {} } }; };
    await launcher({ clusterEndpoint: undefined, clusterCa: undefined, watchIntervalSeconds: 0 }, { eks, transport }).handle(message(callback));
    expect(seen).toHaveLength(1);
    expect(seen[0].url).toMatch(/^https:\/\/.+\/apis\/kubeflow\.org\/v1\/namespaces\/training\/pytorchjobs$/);
    expect(seen[0].ca.length).toBeGreaterThan(0);
  });
});
