// Model server promoter: keeps a KubernetesModelServer on the newest Approved model package of its group.
//
// Triggered by the group's "SageMaker Model Package State Change" events (approval, rejection) and by a schedule
// (events can be missed), it reconciles:
//   1. the newest Approved package of the group (ListModelPackages, CreationTime descending) — none: nothing to do;
//   2. what is served: the Deployment's pod template annotation `ml-platform/model-package` AND the `model-package`
//      metadata of the object at the server's model key — both the newest: nothing to do;
//   3. otherwise copies the package's ModelDataUrl object to s3://<models zone>/<modelKey>model.tar.gz (metadata
//      `model-package` = the package ARN; multipart UploadPartCopy above 5 GiB), then
//   4. merge-patches the Deployment's pod template annotations (`ml-platform/model-package`, `ml-platform/promoted-at`),
//      so Kubernetes rolls the pods: each new pod downloads the model at start and only becomes ready when it serves.
// Rejecting the served package (in the registry) makes an older Approved one the newest: that is the rollback. The
// registry is the source of truth: a `kubectl rollout undo` is undone by the next reconciliation. A copy whose patch
// failed is repaired by the next run (the object's metadata no longer matches the annotation). Pods that restart
// between a copy and its patch load the new model early; the patch then replaces every pod.
// AWS calls retry throttling (core/aws-retry.ts); Kubernetes calls go through kube-api.ts (EKS token, retries).
/* eslint-disable import/no-extraneous-dependencies */
import { EKSClient } from '@aws-sdk/client-eks';
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, HeadObjectCommand, S3Client, UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { DescribeModelPackageCommand, ListModelPackagesCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
/* eslint-enable import/no-extraneous-dependencies */
import { Credentials, KubeApiError, KubeClient, KubeTransport, ClusterConfig, clusterConfigFromEnv, envReader } from './kube-api';
import { defaultSleep, jitterRetry, retryThrottled } from '../core/aws-retry';

/** Pod template annotation naming the package the pods serve. */
export const ANNOTATION_PACKAGE = 'ml-platform/model-package';
/** Pod template annotation with the time of the promotion. */
export const ANNOTATION_PROMOTED_AT = 'ml-platform/promoted-at';
/** File name of the model under the server's model key. */
export const MODEL_FILE = 'model.tar.gz';
/** CopyObject's limit; larger objects are copied in parts. */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;
/** Part size of a multipart copy (S3 allows 5 MiB to 5 GiB per part, at most 10,000 parts). */
export const COPY_PART_BYTES = 512 * 1024 ** 2;

/** Settings from the environment. */
export interface PromoterConfig extends ClusterConfig {
  readonly namespace: string;
  readonly deployment: string;
  readonly modelPackageGroup: string;
  /** Bucket of the server's model key (the models zone). */
  readonly targetBucket: string;
  /** The server's model key prefix (ends with `/`). */
  readonly targetPrefix: string;
  /** Only model data in this bucket is promoted (the models zone)... */
  readonly sourceBucket: string;
  /** ...under this key prefix (where pipelines write artifacts). */
  readonly sourcePrefix: string;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): PromoterConfig {
  const required = envReader(env);
  return {
    ...clusterConfigFromEnv(env),
    namespace: required('SERVER_NAMESPACE'),
    deployment: required('SERVER_DEPLOYMENT'),
    modelPackageGroup: required('MODEL_PACKAGE_GROUP'),
    targetBucket: required('TARGET_BUCKET'),
    targetPrefix: required('TARGET_PREFIX'),
    sourceBucket: required('SOURCE_BUCKET'),
    sourcePrefix: env.SOURCE_PREFIX ?? '',
  };
}

export interface PromoterDeps {
  readonly config: PromoterConfig;
  readonly sagemaker: SageMakerClient;
  readonly s3: S3Client;
  readonly eks: EKSClient;
  readonly transport?: KubeTransport;
  /** Credentials that sign the EKS token. Default: the SageMaker client's. */
  readonly credentials?: () => Promise<Credentials>;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly log?: (message: string) => void;
  readonly maxAttempts?: number;
  /** Objects above this size are copied in parts. Default {@link MAX_SINGLE_COPY_BYTES}. */
  readonly singleCopyLimit?: number;
  /** Part size of multipart copies. Default {@link COPY_PART_BYTES}. */
  readonly partSize?: number;
}

/** What a reconciliation did (for logs and tests). */
export type PromotionOutcome = 'nothing-approved' | 'unchanged' | 'promoted';

/** `s3://bucket/key` → parts; anything else is an error. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(uri);
  if (!m) { throw new Error(`ModelDataUrl '${uri}' is not an s3://bucket/key URI`); }
  return { bucket: m[1], key: m[2] };
}

/** Reconciles one model server with its registry. */
export class Promoter {
  private readonly kube: KubeClient;
  private readonly log: (m: string) => void;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => Date;
  private readonly maxAttempts: number;

  constructor(private readonly deps: PromoterDeps) {
    this.log = deps.log ?? (m => console.log(m));
    this.sleep = deps.sleep ?? defaultSleep;
    this.now = deps.now ?? (() => new Date());
    this.maxAttempts = deps.maxAttempts ?? 6;
    this.kube = new KubeClient({
      cluster: deps.config,
      eks: deps.eks,
      credentials: deps.credentials ?? (async () => (deps.sagemaker.config.credentials as unknown as () => Promise<Credentials>)()),
      transport: deps.transport,
      now: this.now,
      sleep: this.sleep,
      log: this.log,
      maxAttempts: this.maxAttempts,
    });
  }

  public async reconcile(): Promise<PromotionOutcome> {
    const cfg = this.deps.config;
    const listed = await this.aws('SageMaker ListModelPackages', () => this.deps.sagemaker.send(new ListModelPackagesCommand({
      ModelPackageGroupName: cfg.modelPackageGroup,
      ModelApprovalStatus: 'Approved',
      SortBy: 'CreationTime',
      SortOrder: 'Descending',
      MaxResults: 1,
    })));
    const newest = listed.ModelPackageSummaryList?.[0]?.ModelPackageArn;
    if (!newest) {
      this.log(`no Approved package in ${cfg.modelPackageGroup}: the server keeps what it serves`);
      return 'nothing-approved';
    }

    const path = `/apis/apps/v1/namespaces/${encodeURIComponent(cfg.namespace)}/deployments/${encodeURIComponent(cfg.deployment)}`;
    const got = await this.kube.request('GET', path);
    if (got.status !== 200) {
      throw new KubeApiError(`reading Deployment ${cfg.namespace}/${cfg.deployment} failed with HTTP ${got.status}`, got.status);
    }
    const served = got.body?.spec?.template?.metadata?.annotations?.[ANNOTATION_PACKAGE];
    const targetKey = `${cfg.targetPrefix}${MODEL_FILE}`;
    const inPlace = await this.targetPackage(targetKey);
    if (served === newest && inPlace === newest) {
      this.log(`${cfg.namespace}/${cfg.deployment} already serves ${newest}`);
      return 'unchanged';
    }

    const described = await this.aws('SageMaker DescribeModelPackage',
      () => this.deps.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: newest })));
    const url = described.InferenceSpecification?.Containers?.[0]?.ModelDataUrl;
    if (!url) { throw new Error(`model package ${newest} has no ModelDataUrl to serve`); }
    const source = parseS3Uri(url);
    if (source.bucket !== cfg.sourceBucket || !source.key.startsWith(cfg.sourcePrefix)) {
      throw new Error(`model package ${newest} has its model at ${url}, outside s3://${cfg.sourceBucket}/${cfg.sourcePrefix} `
        + '(where the platform\'s pipelines write models); refusing to serve it');
    }
    if (inPlace !== newest) {
      await this.copy(source, targetKey, newest);
      this.log(`copied ${url} to s3://${cfg.targetBucket}/${targetKey}`);
    }

    const annotations = { [ANNOTATION_PACKAGE]: newest, [ANNOTATION_PROMOTED_AT]: this.now().toISOString() };
    const patch = { spec: { template: { metadata: { annotations } } } };
    const patched = await this.kube.request('PATCH', path, patch, 'application/merge-patch+json');
    if (patched.status !== 200) {
      throw new KubeApiError(`patching Deployment ${cfg.namespace}/${cfg.deployment} failed with HTTP ${patched.status}`, patched.status);
    }
    this.log(`promoted ${newest} to ${cfg.namespace}/${cfg.deployment} (was ${served ?? 'none'})`);
    return 'promoted';
  }

  /** The package ARN recorded on the object at the server's model key, if there is one. */
  private async targetPackage(key: string): Promise<string | undefined> {
    try {
      const head = await this.aws('S3 HeadObject', () => this.deps.s3.send(new HeadObjectCommand({ Bucket: this.deps.config.targetBucket, Key: key })));
      return head.Metadata?.['model-package'];
    } catch (e) {
      const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata?.httpStatusCode === 404) { return undefined; }
      throw e;
    }
  }

  /** Server-side copy with the package ARN as metadata; in parts above CopyObject's 5 GiB limit. */
  private async copy(source: { bucket: string; key: string }, targetKey: string, packageArn: string): Promise<void> {
    const cfg = this.deps.config;
    const copySource = `${source.bucket}/${source.key.split('/').map(encodeURIComponent).join('/')}`;
    const head = await this.aws('S3 HeadObject', () => this.deps.s3.send(new HeadObjectCommand({ Bucket: source.bucket, Key: source.key })));
    const size = head.ContentLength ?? 0;
    const target = { Bucket: cfg.targetBucket, Key: targetKey };
    const metadata = { 'model-package': packageArn };
    if (size <= (this.deps.singleCopyLimit ?? MAX_SINGLE_COPY_BYTES)) {
      await this.aws('S3 CopyObject', () => this.deps.s3.send(new CopyObjectCommand({
        ...target, CopySource: copySource, MetadataDirective: 'REPLACE', Metadata: metadata, ContentType: 'application/gzip',
      })));
      return;
    }
    const partSize = this.deps.partSize ?? COPY_PART_BYTES;
    const upload = await this.aws('S3 CreateMultipartUpload', () => this.deps.s3.send(new CreateMultipartUploadCommand({
      ...target, Metadata: metadata, ContentType: 'application/gzip',
    })));
    const parts: { ETag: string; PartNumber: number }[] = [];
    for (let start = 0, n = 1; start < size; start += partSize, n++) {
      const end = Math.min(start + partSize, size) - 1;
      const out = await this.aws('S3 UploadPartCopy', () => this.deps.s3.send(new UploadPartCopyCommand({
        ...target, UploadId: upload.UploadId, PartNumber: n, CopySource: copySource, CopySourceRange: `bytes=${start}-${end}`,
      })));
      parts.push({ ETag: out.CopyPartResult!.ETag!, PartNumber: n });
    }
    await this.aws('S3 CompleteMultipartUpload', () => this.deps.s3.send(new CompleteMultipartUploadCommand({
      ...target, UploadId: upload.UploadId, MultipartUpload: { Parts: parts },
    })));
    this.log(`copied ${size} bytes in ${parts.length} parts`);
  }

  private aws<T>(what: string, call: () => Promise<T>): Promise<T> {
    return retryThrottled(what, call, jitterRetry(this.maxAttempts, this.sleep, this.log));
  }
}

let promoter: Promoter | undefined;

/** Lambda entry point: any event (a package state change of the group, or the schedule) reconciles. */
export const handler = async (): Promise<PromotionOutcome> => {
  promoter ??= new Promoter({ config: configFromEnv(), sagemaker: new SageMakerClient({}), s3: new S3Client({}), eks: new EKSClient({}) });
  return promoter.reconcile();
};
