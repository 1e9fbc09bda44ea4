// Kubernetes API access from Lambda without kubectl: an EKS bearer token (aws-iam-authenticator's format, a presigned
// STS GetCallerIdentity URL), node https with the cluster CA as the only trust anchor, and a client that finds the
// cluster's endpoint and CA (environment or eks:DescribeCluster, cached) and retries 429, 5xx and connection errors
// with capped exponential backoff and full jitter. No CDK imports: bundled into the handlers that use it.
/* eslint-disable import/no-extraneous-dependencies */
import { createHash, createHmac, Hash, Hmac } from 'crypto';
import * as https from 'https';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { SignatureV4 } from '@smithy/signature-v4';
/* eslint-enable import/no-extraneous-dependencies */
import { defaultSleep, fullJitterBackoff, jitterRetry, retryThrottled } from '../core/aws-retry';

/** Prefix of an EKS (aws-iam-authenticator) bearer token. */
export const TOKEN_PREFIX = 'k8s-aws-v1.';
/** Validity of the presigned URL inside the token, in seconds. */
export const TOKEN_EXPIRES_SECONDS = 60;

// --- EKS bearer token ---------------------------------------------------------------------------------------------

/** SHA-256 / HMAC-SHA-256 for @smithy/signature-v4, on node's crypto (no extra dependency). */
export class NodeSha256 {
  private hash: Hash | Hmac;
  private readonly secret?: Uint8Array;
  /** `secret` as the SDK passes it: a string, a byte view or an ArrayBuffer. */
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret = secret === undefined ? undefined : bytes(secret);
    this.hash = this.fresh();
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void { this.hash.update(bytes(data)); }
  async digest(): Promise<Uint8Array> { return new Uint8Array(this.hash.digest()); }
  reset(): void { this.hash = this.fresh(); }
  private fresh(): Hash | Hmac { return this.secret !== undefined ? createHmac('sha256', this.secret) : createHash('sha256'); }
}

/** Bytes of a string (UTF-8), an ArrayBuffer or any view of one. */
function bytes(data: string | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (typeof data === 'string') { return Buffer.from(data, 'utf8'); }
  if (ArrayBuffer.isView(data)) { return new Uint8Array(data.buffer, data.byteOffset, data.byteLength); }
  return new Uint8Array(data);
}

/** AWS credentials as the SDK resolves them. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** The regional STS host (China regions use amazonaws.com.cn). */
export function stsHost(region: string): string {
  return `sts.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

/** RFC 3986 query encoding, as SigV4 canonicalizes it. */
function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The EKS bearer token: `k8s-aws-v1.` + base64url without padding of a presigned `GetCallerIdentity` URL whose signed
 * headers are `host;x-k8s-aws-id` (the cluster name), valid {@link TOKEN_EXPIRES_SECONDS} seconds from `now`.
 */
export async function eksToken(clusterName: string, region: string, credentials: Credentials, now: Date = new Date()): Promise<string> {
  const host = stsHost(region);
  const signer = new SignatureV4({ credentials, region, service: 'sts', sha256: NodeSha256, uriEscapePath: true, applyChecksum: false });
  const presigned = await signer.presign({
    method: 'GET',
    protocol: 'https:',
    hostname: host,
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { 'host': host, 'x-k8s-aws-id': clusterName },
  }, { expiresIn: TOKEN_EXPIRES_SECONDS, signingDate: now });
  const query = Object.entries(presigned.query ?? {})
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map(x => `${rfc3986(k)}=${rfc3986(String(x))}`))
    .sort()
    .join('&');
  const url = `https://${host}/?${query}`;
  return TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
}

// --- Kubernetes API -------------------------------------------------------------------------------------------------

/** One HTTP answer of the Kubernetes API. */
export interface KubeResponse {
  readonly status: number;
  readonly body: any;
}

/** How requests reach the API server (tests may inject another). */
export type KubeTransport = (req: {
  method: string;
  url: string;
  ca: string;
  token: string;
  body?: unknown;
  /** Content type of the body (default application/json; PATCH uses application/merge-patch+json). */
  contentType?: string;
}) => Promise<KubeResponse>;

/** node https with the cluster CA as the only trust anchor. */
export const httpsTransport: KubeTransport = ({ method, url, ca, token, body, contentType }) => new Promise((resolve, reject) => {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
  const req = https.request(url, {
    method,
    ca,
    headers: {
      Authorization: `Bearer ${token}`,
      Accept: 'application/json',
      ...(payload ? { 'Content-Type': contentType ?? 'application/json', 'Content-Length': payload.length } : {}),
    },
    timeout: 30_000,
  }, res => {
    const chunks: Buffer[] = [];
    res.on('data', c => chunks.push(c));
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let parsed: unknown = text;
      try { parsed = text ? JSON.parse(text) : undefined; } catch { /* keep the text */ }
      resolve({ status: res.statusCode ?? 0, body: parsed });
    });
    res.on('error', reject);
  });
  req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
  req.on('error', reject);
  if (payload) { req.write(payload); }
  req.end();
});

/** An API answer we do not expect (after retries). */
export class KubeApiError extends Error {
  constructor(message: string, public readonly status: number) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** Which cluster a handler talks to: part of every such handler's configuration. */
export interface ClusterConfig {
  readonly clusterName: string;
  readonly region: string;
  /** API server URL; default: from eks:DescribeCluster. */
  readonly clusterEndpoint?: string;
  /** Base64 PEM of the cluster CA; default: from eks:DescribeCluster. */
  readonly clusterCa?: string;
}

/** CLUSTER_NAME, AWS_REGION and the optional CLUSTER_ENDPOINT / CLUSTER_CA. */
export function clusterConfigFromEnv(env: NodeJS.ProcessEnv): ClusterConfig {
  const required = envReader(env);
  return {
    clusterName: required('CLUSTER_NAME'),
    region: required('AWS_REGION'),
    clusterEndpoint: env.CLUSTER_ENDPOINT || undefined,
    clusterCa: env.CLUSTER_CA || undefined,
  };
}

/** What a {@link KubeClient} needs. */
export interface KubeClientOptions {
  readonly cluster: ClusterConfig;
  readonly eks: EKSClient;
  /** Credentials that sign the EKS token. */
  readonly credentials: () => Promise<Credentials>;
  readonly transport?: KubeTransport;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly log?: (message: string) => void;
  /** Attempts of a failing call, including the first. Default 6. */
  readonly maxAttempts?: number;
}

/** Kubernetes API calls with a fresh EKS token each; 429, 5xx and connection errors are retried. */
export class KubeClient {
  private cluster?: { endpoint: string; ca: string };
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly log: (m: string) => void;
  private readonly now: () => Date;

  constructor(private readonly options: KubeClientOptions) {
    this.maxAttempts = options.maxAttempts ?? 6;
    this.sleep = options.sleep ?? defaultSleep;
    this.log = options.log ?? (m => console.log(m));
    this.now = options.now ?? (() => new Date());
  }

  /** One call; non-retryable answers (2xx, 4xx but 429) are returned, not thrown. */
  public async request(method: string, path: string, body?: unknown, contentType?: string): Promise<KubeResponse> {
    const { endpoint, ca } = await this.clusterAccess();
    const transport = this.options.transport ?? httpsTransport;
    for (let attempt = 1; ; attempt++) {
      let res: KubeResponse | undefined;
      let error: unknown;
      try {
        const token = await eksToken(this.options.cluster.clusterName, this.options.cluster.region, await this.options.credentials(), this.now());
        res = await transport({ method, url: `${endpoint}${path}`, ca, token, body, contentType });
      } catch (e) {
        error = e;
      }
      const retryable = error !== undefined || res!.status === 429 || res!.status >= 500;
      if (!retryable) { return res!; }
      const what = error ? `${(error as Error).message}` : `HTTP ${res!.status}`;
      if (attempt >= this.maxAttempts) {
        throw new KubeApiError(`${method} ${path} still failing after ${attempt} attempts: ${what}`, res?.status ?? 0);
      }
      const wait = fullJitterBackoff(attempt);
      this.log(`${method} ${path}: ${what} (attempt ${attempt}), retrying in ${Math.round(wait)} ms`);
      await this.sleep(wait);
    }
  }

  private async clusterAccess(): Promise<{ endpoint: string; ca: string }> {
    if (this.cluster) { return this.cluster; }
    const { clusterName, clusterEndpoint, clusterCa } = this.options.cluster;
    let endpoint = clusterEndpoint;
    let caB64 = clusterCa;
    if (!endpoint || !caB64) {
      const out = await retryThrottled('EKS DescribeCluster',
        () => this.options.eks.send(new DescribeClusterCommand({ name: clusterName })),
        jitterRetry(this.maxAttempts, this.sleep, this.log));
      endpoint = endpoint ?? out.cluster?.endpoint;
      caB64 = caB64 ?? out.cluster?.certificateAuthority?.data;
    }
    if (!endpoint || !caB64) { throw new Error(`cluster ${clusterName} has no endpoint or certificate authority yet`); }
    this.cluster = { endpoint: endpoint.replace(/\/+$/, ''), ca: Buffer.from(caB64, 'base64').toString('utf8') };
    return this.cluster;
  }
}

/** `required(name)`: the variable's value, or an error naming the variable (a function misconfigured at deploy). */
export function envReader(env: NodeJS.ProcessEnv): (name: string) => string {
  return name => {
    const v = env[name];
    if (!v) { throw new Error(`environment variable ${name} is not set`); }
    return v;
  };
}
