import * as crypto from 'crypto';
import { Token, Validations } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cdk8s from 'cdk8s';
import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { GpuCluster } from './gpu-cluster';
import type { GpuNodePool } from './gpu-node-pool';
import { KubeflowTrainingOperator } from './training-operator';
import { MlPlatformError, ValidationErrors } from '../core/errors';
import { acknowledgeWildcardResource } from '../core/nag';
import { DataZone, IDataLake } from '../data/data-lake';
import { ChunkedChartManifest, DEFAULT_MANIFEST_CHUNK_BYTES } from '../k8s/manifest-chunks';
import {
  CleanPodPolicy, KubeflowTrainingJob, KubeflowTrainingJobProps, TrainingJobElasticPolicy, TrainingJobToleration,
} from '../training/kubeflow-training-job';
import { TrainingData } from '../training/training-data';

/** Namespaces that always exist in a cluster: never created, never owned by a training stack. */
const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;

/**
 * The job of a {@link KubeflowTraining}: the props of {@link KubeflowTrainingJob} without what the cluster side
 * decides (placement, namespace, service account). Each field means the same as there; durations and sizes are
 * cdk8s `Duration`/`Size`, as in {@link KubeflowTrainingJobProps}.
 */
export interface ClusterTrainingJobOptions {
  /** Training container image. */
  readonly image: string;
  /**
   * Name of the PyTorchJob (DNS-1035 label).
   *
   * @default - the construct id, lowercased, with a hash of the construct path (at most 40 characters)
   */
  readonly jobName?: string;
  /**
   * Entrypoint of the training container.
   *
   * @default - the image's ENTRYPOINT
   */
  readonly command?: string[];
  /**
   * Arguments of the training container.
   *
   * @default - the image's CMD
   */
  readonly args?: string[];
  /**
   * Environment variables of the training container.
   *
   * @default - none besides those the operator injects
   */
  readonly env?: { [name: string]: string };
  /**
   * Number of Worker replicas besides the Master (initial workers when elastic).
   *
   * @default 1
   */
  readonly workerReplicas?: number;
  /**
   * NVIDIA GPUs per replica.
   *
   * @default 1
   */
  readonly gpusPerWorker?: number;
  /**
   * Elastic training between a minimum and maximum number of workers.
   *
   * @default - a fixed-size job with one Master
   */
  readonly elasticPolicy?: TrainingJobElasticPolicy;
  /**
   * How long a finished job stays in the cluster.
   *
   * @default Duration.days(1)
   */
  readonly ttlAfterFinished?: Duration;
  /**
   * Retries before the job is marked failed.
   *
   * @default 3
   */
  readonly backoffLimit?: number;
  /**
   * Longest run time.
   *
   * @default - no deadline
   */
  readonly activeDeadline?: Duration;
  /**
   * What happens to pods after the job finishes.
   *
   * @default CleanPodPolicy.RUNNING
   */
  readonly cleanPodPolicy?: CleanPodPolicy;
  /**
   * CPU request of the training container.
   *
   * @default - no CPU request
   */
  readonly cpuRequest?: kplus.Cpu;
  /**
   * Memory request of the training container.
   *
   * @default - no memory request
   */
  readonly memoryRequest?: Size;
  /**
   * Memory limit of the training container.
   *
   * @default - no memory limit
   */
  readonly memoryLimit?: Size;
  /**
   * Size limit of `/dev/shm`.
   *
   * @default - bounded by the container's memory limit
   */
  readonly sharedMemorySize?: Size;
  /**
   * Tolerations replacing the derived ones.
   *
   * @default - exactly the pool's taints
   */
  readonly tolerations?: TrainingJobToleration[];
  /**
   * User ID of the training container.
   *
   * @default 1000
   */
  readonly runAsUser?: number;
  /**
   * Read-only root filesystem.
   *
   * @default false
   */
  readonly readOnlyRootFilesystem?: boolean;
}

/** Properties for a {@link KubeflowTraining}. */
export interface KubeflowTrainingProps {
  /** The cluster the job runs in; the training operator is installed into it once. */
  readonly cluster: GpuCluster;
  /** The GPU node pool of `cluster` the job's pods are placed on (and checked against). */
  readonly pool: GpuNodePool;
  /** The data lake: the job reads the curated zone and writes the models zone. */
  readonly dataLake: IDataLake;
  /** The PyTorchJob. */
  readonly job: ClusterTrainingJobOptions;
  /**
   * Namespace of the job and its service account.
   *
   * @default 'training'
   */
  readonly namespace?: string;
  /**
   * Create the namespace (once per cluster, shared by every KubeflowTraining in it). Built-in namespaces
   * (`default`, `kube-system`, ...) and the operator's namespace are never created.
   *
   * @default true
   */
  readonly createNamespace?: boolean;
  /**
   * Kubernetes service account of the job's pods, bound to an IAM role through EKS Pod Identity.
   *
   * @default - `<jobName>-trainer`
   */
  readonly serviceAccountName?: string;
  /**
   * Key prefix in the curated zone the job may read.
   *
   * @default - the whole curated zone
   */
  readonly curatedPrefix?: string;
  /**
   * Key prefix in the models zone the job may write.
   *
   * @default - `<jobName>/`
   */
  readonly modelsPrefix?: string;
  /**
   * What the job reads, instead of the curated zone (under `curatedPrefix`): e.g. the training data of a pipeline the
   * job trains for.
   *
   * @default - the curated zone under `curatedPrefix`
   */
  readonly trainingData?: TrainingData;
  /**
   * Apply the job to the cluster at deploy time. Turn it off when the job is only the template of a
   * `KubeflowJobLauncher`, which submits one copy per pipeline run: the service account, its grants, the namespace
   * and the operator are still created.
   *
   * @default true
   */
  readonly applyJob?: boolean;
  /**
   * Byte budget of each manifest the job chart is applied in.
   *
   * @default 204800 - 200 KiB
   */
  readonly maxManifestBytes?: number;
}

/**
 * A Kubeflow PyTorchJob on a {@link GpuCluster}, with its AWS side: an EKS Pod Identity service account whose role
 * reads the lake's curated zone and writes the models zone (under `modelsPrefix`), the training operator (installed
 * once per cluster), and the job chart applied after both, in manifests that stay below the kubectl payload limit.
 *
 * @example
 * new KubeflowTraining(stack, 'Fraud', {
 *   cluster, pool, dataLake: lake,
 *   job: { image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-train:1.4.2', workerReplicas: 3, gpusPerWorker: 4 },
 * });
 */
export class KubeflowTraining extends Construct implements iam.IGrantable {
  /** The cdk8s chart holding the job. */
  public readonly chart: cdk8s.Chart;
  /** The PyTorchJob. */
  public readonly job: KubeflowTrainingJob;
  /** The pods' service account (EKS Pod Identity). */
  public readonly serviceAccount: eks.ServiceAccount;
  /** The training operator of the cluster. */
  public readonly operator: KubeflowTrainingOperator;
  /** The manifests the job chart is applied in (none when `applyJob` is false). */
  public readonly manifests?: ChunkedChartManifest;
  /** Namespace of the job. */
  public readonly namespace: string;
  /** The models-zone prefix the job writes to. */
  public readonly modelsPrefix: string;
  /** The service account's IAM role. */
  public readonly grantPrincipal: iam.IPrincipal;

  constructor(scope: Construct, id: string, props: KubeflowTrainingProps) {
    super(scope, id);
    this.namespace = props.namespace ?? 'training';
    this.validate(props);

    const cluster = props.cluster.cluster;
    this.operator = KubeflowTrainingOperator.forCluster(props.cluster);

    // --- the job (validated against the pool's capacity by KubeflowTrainingJob) -------------------------------
    this.chart = new cdk8s.Chart(new cdk8s.App(), 'training', { namespace: this.namespace });
    const { job } = props;
    const jobName = job.jobName ?? defaultJobName(this);
    const saName = props.serviceAccountName ?? `${jobName}-trainer`;
    try {
      this.job = new KubeflowTrainingJob(this.chart, this.node.id, {
        ...job,
        jobName,
        placement: props.pool.placement,
        namespace: this.namespace,
        serviceAccountName: saName,
      });
    } catch (e) {
      // The job validates inside its own cdk8s chart ('training/<id>'); name the construct the user wrote instead.
      throw e instanceof MlPlatformError ? e.at(this.node.path) : e;
    }

    // --- namespace (once per cluster) and service account -----------------------------------------------------
    const namespaceManifest = this.ensureNamespace(props);
    this.serviceAccount = new eks.ServiceAccount(this, 'ServiceAccount', {
      cluster, name: saName, namespace: this.namespace, identityType: eks.IdentityType.POD_IDENTITY,
    });
    if (namespaceManifest) { this.serviceAccount.node.addDependency(namespaceManifest); }
    this.grantPrincipal = this.serviceAccount.grantPrincipal;

    this.modelsPrefix = props.modelsPrefix ?? `${this.job.jobName}/`;
    const role = this.serviceAccount.role;
    if (props.trainingData) {
      props.trainingData._grantRead(this.serviceAccount);
      acknowledgeWildcardResource(role, props.trainingData._objectsArn(), `Training reads every object of its dataset (${props.trainingData.description}).`);
    } else {
      props.dataLake.grantRead(DataZone.CURATED, this.serviceAccount, props.curatedPrefix);
      acknowledgeWildcardResource(role, props.dataLake.bucket(DataZone.CURATED).arnForObjects(`${props.curatedPrefix ?? ''}*`),
        'Training reads every object of its dataset prefix in the curated zone.');
    }
    props.dataLake.grantWrite(DataZone.MODELS, this.serviceAccount, this.modelsPrefix);
    acknowledgeWildcardResource(role, props.dataLake.bucket(DataZone.MODELS).arnForObjects(`${this.modelsPrefix}*`),
      'Training writes checkpoints and model artifacts under the job\'s own prefix of the models zone.');
    Validations.of(role).acknowledge({
      id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The policy is attached by CDK to this job\'s pod-identity role only.',
    });

    // --- the job chart, after the operator (CRD + webhook) and the service account -----------------------------
    if (props.applyJob === false) { return; }
    this.manifests = new ChunkedChartManifest(this, 'Manifests', {
      cluster, chart: this.chart, maxChunkBytes: props.maxManifestBytes ?? DEFAULT_MANIFEST_CHUNK_BYTES,
    });
    this.manifests.node.addDependency(this.operator.chart, this.serviceAccount);
    if (namespaceManifest) { this.manifests.node.addDependency(namespaceManifest); }
  }

  /** The namespace manifest shared by every training in `namespace`, or undefined when it is not ours to create. */
  private ensureNamespace(props: KubeflowTrainingProps): eks.KubernetesManifest | undefined {
    if (props.createNamespace === false || BUILTIN_NAMESPACES.includes(this.namespace) || this.namespace === this.operator.namespace) {
      return undefined;
    }
    const id = `TrainingNamespace-${this.namespace}`;
    const existing = props.cluster.node.tryFindChild(id);
    if (existing) { return existing as eks.KubernetesManifest; }
    return new eks.KubernetesManifest(props.cluster, id, {
      cluster: props.cluster.cluster,
      manifest: [{
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: this.namespace,
          labels: {
            'app.kubernetes.io/part-of': 'cdk-ml-platform',
            // the training pods run non-root, without privilege escalation and with all capabilities dropped
            'pod-security.kubernetes.io/enforce': 'baseline',
            'pod-security.kubernetes.io/warn': 'restricted',
          },
        },
      }],
    });
  }

  private validate(props: KubeflowTrainingProps): void {
    const errors = new ValidationErrors(this, 'KubeflowTraining');
    if (!Token.isUnresolved(this.namespace)) {
      errors.check(DNS_1123_LABEL.test(this.namespace) && this.namespace.length <= 63, {
        code: 'InvalidNamespace',
        what: 'namespace must be a DNS-1123 label',
        got: this.namespace,
        fix: 'use at most 63 lowercase letters, digits and -, starting and ending alphanumeric',
      });
    } else {
      errors.add({ code: 'InvalidNamespace', what: 'namespace must be known at synth', got: this.namespace, fix: 'pass a literal namespace' });
    }
    const sa = props.serviceAccountName;
    if (sa !== undefined && !Token.isUnresolved(sa)) {
      errors.check(DNS_1123_SUBDOMAIN.test(sa) && sa.length <= 253, {
        code: 'InvalidServiceAccountName',
        what: 'serviceAccountName must be a DNS-1123 subdomain',
        got: sa,
        fix: 'use lowercase letters, digits, - and ., starting and ending alphanumeric',
      });
    }
    if (props.maxManifestBytes !== undefined) {
      errors.check(Number.isInteger(props.maxManifestBytes) && props.maxManifestBytes >= 1024 && props.maxManifestBytes <= 256 * 1024, {
        code: 'InvalidManifestBudget',
        what: 'maxManifestBytes must be a whole number of bytes from 1024 to 262144',
        got: props.maxManifestBytes,
        fix: `leave it unset for ${DEFAULT_MANIFEST_CHUNK_BYTES} bytes`,
      });
    }
    errors.check(props.trainingData === undefined || props.curatedPrefix === undefined, {
      code: 'DataConflict',
      what: 'both trainingData and curatedPrefix say what the job reads',
      got: 'trainingData and curatedPrefix',
      fix: 'keep one: trainingData for a pipeline\'s dataset, curatedPrefix for a prefix of the curated zone',
    });
    const poolCluster = props.pool.node.scopes.find(s => s instanceof GpuCluster);
    errors.check(poolCluster === undefined || poolCluster === props.cluster, {
      code: 'PoolNotInCluster',
      what: 'the pool does not belong to the cluster',
      got: props.pool.node.path,
      fix: `pass a pool of ${props.cluster.node.path}, e.g. from cluster.addGpuNodePool(...)`,
    });
    errors.throwIfAny();
  }
}

/** `<id>-<hash>`: a DNS-1035 label of at most 40 characters, unique per construct path. */
function defaultJobName(scope: Construct): string {
  const hash = crypto.createHash('sha256').update(scope.node.path).digest('hex').slice(0, 8);
  let base = scope.node.id.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '').replace(/-+$/, '').slice(0, 31);
  base = base.replace(/-+$/, '');
  return `${base || 'train'}-${hash}`;
}
