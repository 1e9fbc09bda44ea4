import { ApiObject, Chart, Duration, Names, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ValidationErrors, isResolved, mlError } from '../core/errors';
import { GpuResources } from '../k8s/gpu-resources';
import { GpuPoolPlacement, NodeTaint, nodeAffinityFor, tolerationsFor } from '../k8s/gpu-scheduling';
import {
  PyTorchJob,
  PyTorchJobSpecElasticPolicy,
  PyTorchJobSpecPytorchReplicaSpecs,
  PyTorchJobSpecPytorchReplicaSpecsTemplateSpecAffinity as PodAffinity,
  PyTorchJobSpecPytorchReplicaSpecsTemplateSpecContainers as PodContainer,
  PyTorchJobSpecPytorchReplicaSpecsTemplateSpecContainersResourcesLimits as ResourceLimit,
  PyTorchJobSpecPytorchReplicaSpecsTemplateSpecContainersResourcesRequests as ResourceRequest,
  PyTorchJobSpecPytorchReplicaSpecsTemplateSpecTolerations as PodToleration,
  PyTorchJobSpecPytorchReplicaSpecsTemplateSpecVolumesEmptyDirSizeLimit as EmptyDirSizeLimit,
} from '../k8s/imports/kubeflow.org';

/** The container name the Kubeflow training operator requires in every PyTorchJob replica. */
const PYTORCH_CONTAINER = 'pytorch';
/** Name of the shared-memory volume mounted at `/dev/shm`. */
const SHM_VOLUME = 'dshm';
/** Kubernetes DNS-1035 label: the operator names Services after the job, so the name must start with a letter. */
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** Kubernetes DNS-1123 label (namespaces). */
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Longest Kubernetes label / Service name. */
const MAX_LABEL_LENGTH = 63;
/** Environment variable names as `kubectl` and most shells accept them. */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** What the training operator does with a job's pods once the job has finished. */
export enum CleanPodPolicy {
  /** Keep every pod (and its logs) until the job is deleted. */
  NONE = 'None',
  /** Delete pods that are still running (e.g. workers waiting on a failed peer) and keep finished ones for their logs. */
  RUNNING = 'Running',
  /** Delete every pod of the job. */
  ALL = 'All',
}

/** Operator of a {@link TrainingJobToleration}. */
export enum TolerationOperator {
  /** The taint's value must equal the toleration's value. */
  EQUAL = 'Equal',
  /** Any value of the taint key is tolerated (an empty key tolerates every taint). */
  EXISTS = 'Exists',
}

/** A Kubernetes toleration for the pods of a {@link KubeflowTrainingJob}. */
export interface TrainingJobToleration {
  /**
   * Taint key to tolerate.
   *
   * @default - every key (only with `TolerationOperator.EXISTS`)
   */
  readonly key?: string;
  /**
   * How `value` is compared with the taint's value.
   *
   * @default TolerationOperator.EQUAL
   */
  readonly operator?: TolerationOperator;
  /**
   * Taint value to tolerate, for `TolerationOperator.EQUAL`.
   *
   * @default ''
   */
  readonly value?: string;
  /**
   * Taint effect to tolerate: `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
   *
   * @default - every effect
   */
  readonly effect?: string;
}

/**
 * Elastic training: workers join and leave a c10d rendezvous (`torchrun --nnodes=min:max`) and the job keeps running
 * while at least `minReplicas` are up.
 */
export interface TrainingJobElasticPolicy {
  /** Fewest workers the job runs with. At least 1. */
  readonly minReplicas: number;
  /** Most workers the job scales to; the GPU capacity check assumes this many. */
  readonly maxReplicas: number;
  /**
   * How often torchrun restarts the worker group after a failure before the job fails.
   *
   * @default 3
   */
  readonly maxRestarts?: number;
}

/** Properties for a {@link KubeflowTrainingJob}. */
export interface KubeflowTrainingJobProps {
  /** The GPU node pool the job runs on: its pods tolerate the pool's taints and require its node labels. */
  readonly placement: GpuPoolPlacement;

  /** Training container image, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-train:1.4.2`. */
  readonly image: string;

  /**
   * Name of the PyTorchJob. A DNS-1035 label: the operator names pods and Services `<name>-worker-<i>` after it.
   *
   * @default - generated from the construct path, unique within the chart
   */
  readonly jobName?: string;

  /**
   * Namespace of the PyTorchJob.
   *
   * @default - the chart's namespace
   */
  readonly namespace?: string;

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
   * @default - none besides those the operator injects (MASTER_ADDR, WORLD_SIZE, RANK, PET_*)
   */
  readonly env?: { [name: string]: string };

  /**
   * Number of Worker replicas, besides the single Master. With `elasticPolicy`, the initial number of workers.
   *
   * @default 1
   */
  readonly workerReplicas?: number;

  /**
   * NVIDIA GPUs per replica (Master and each Worker), also the number of processes torchrun starts per pod.
   *
   * @default 1
   */
  readonly gpusPerWorker?: number;

  /**
   * Run as an elastic job: Worker replicas only (no Master), c10d rendezvous between `minReplicas` and `maxReplicas`.
   *
   * @default - a fixed-size job with one Master and `workerReplicas` Workers
   */
  readonly elasticPolicy?: TrainingJobElasticPolicy;

  /**
   * How long a finished job (and its pods) stays in the cluster before the operator deletes it.
   *
   * @default Duration.days(1)
   */
  readonly ttlAfterFinished?: Duration;

  /**
   * How often a failed job is retried before it is marked failed.
   *
   * @default 3
   */
  readonly backoffLimit?: number;

  /**
   * Longest time the job may run before the operator terminates it.
   *
   * @default - no deadline
   */
  readonly activeDeadline?: Duration;

  /**
   * What happens to pods after the job finishes.
   *
   * @default CleanPodPolicy.RUNNING - frees the GPUs of workers still waiting on a failed peer
   */
  readonly cleanPodPolicy?: CleanPodPolicy;

  /**
   * Kubernetes service account of the pods (e.g. one bound to an IAM role for S3 access).
   *
   * @default - the namespace's `default` service account
   */
  readonly serviceAccountName?: string;

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
   * Memory limit of the training container; `/dev/shm` counts against it.
   *
   * @default - no memory limit
   */
  readonly memoryLimit?: Size;

  /**
   * Size limit of the in-memory `/dev/shm` volume NCCL and DataLoader workers use.
   *
   * @default - no size limit of its own (bounded by the container's memory limit)
   */
  readonly sharedMemorySize?: Size;

  /**
   * Tolerations of the pods, replacing the derived ones. Every taint of the placement must still be tolerated.
   *
   * @default - tolerates exactly the placement's taints
   */
  readonly tolerations?: TrainingJobToleration[];

  /**
   * User ID the training container runs as (non-root).
   *
   * @default 1000
   */
  readonly runAsUser?: number;

  /**
   * Mount the container's root filesystem read-only.
   *
   * @default false - PyTorch, Triton kernels and Hugging Face caches write under the home directory and /tmp
   */
  readonly readOnlyRootFilesystem?: boolean;
}

/**
 * A distributed PyTorch training job on a GPU node pool, as a Kubeflow `PyTorchJob` (kubeflow.org/v1).
 *
 * Defined in a cdk8s chart: one Master and `workerReplicas` Workers (or Workers only, when elastic), each with
 * `gpusPerWorker` NVIDIA GPUs, tolerating the pool's taints and required onto its nodes. The job is checked against the
 * pool's capacity at synth: a replica must fit on one node and the whole job within the pool's GPU limit.
 *
 * @example
 * const chart = new Chart(app, 'Training');
 * new KubeflowTrainingJob(chart, 'Fraud', {
 *   placement: pool.placement,
 *   image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-train:1.4.2',
 *   command: ['torchrun', 'train.py'],
 *   workerReplicas: 3,
 *   gpusPerWorker: 4,
 * });
 * cluster.addCdk8sChart('Training', chart);
 */
export class KubeflowTrainingJob extends Construct {
  /** The PyTorchJob API object; use it for JSON-patch escape hatches. */
  public readonly apiObject: ApiObject;
  /** Name of the PyTorchJob. */
  public readonly jobName: string;
  /** GPUs per replica (Master and each Worker). */
  public readonly gpusPerWorker: number;
  /** The most GPUs the job holds at once: all replicas at their maximum count. */
  public readonly maxGpus: number;

  constructor(scope: Construct, id: string, props: KubeflowTrainingJobProps) {
    super(scope, id);
    if (!Chart.isChart(scope) && !hasChart(scope)) {
      throw mlError(this, 'KubeflowTrainingJob', {
        code: 'NotInChart',
        what: 'the job must be defined inside a cdk8s Chart',
        got: scope.node.path,
        fix: "create it in a cdk8s Chart, e.g. new KubeflowTrainingJob(new cdk8s.Chart(app, 'Training'), 'Job', { ... })",
      });
    }

    this.gpusPerWorker = props.gpusPerWorker ?? 1;
    const workers = props.workerReplicas ?? 1;
    const elastic = props.elasticPolicy;
    const masters = elastic ? 0 : 1;
    const maxWorkers = elastic ? elastic.maxReplicas : workers;
    this.maxGpus = (masters + maxWorkers) * this.gpusPerWorker;
    this.jobName = props.jobName ?? Names.toDnsLabel(this, { maxLen: 40 });
    const tolerations: TrainingJobToleration[] = props.tolerations
      ?? tolerationsFor(props.placement).map(t => ({ key: t.key, operator: TolerationOperator.EQUAL, value: t.value, effect: t.effect }));

    this.validateProps(props, { workers, masters, maxWorkers, tolerations });

    const template = this.podTemplate(props, tolerations);
    const replica = (replicas: number): PyTorchJobSpecPytorchReplicaSpecs => ({ replicas, restartPolicy: 'OnFailure', template });
    const replicaSpecs: { [type: string]: PyTorchJobSpecPytorchReplicaSpecs } = elastic
      ? { Worker: replica(workers) }
      : { Master: replica(1), Worker: replica(workers) };
    const elasticPolicy: PyTorchJobSpecElasticPolicy | undefined = elastic && {
      minReplicas: elastic.minReplicas,
      maxReplicas: elastic.maxReplicas,
      maxRestarts: elastic.maxRestarts ?? 3,
      rdzvBackend: 'c10d',
    };

    this.apiObject = new PyTorchJob(this, 'Resource', {
      metadata: { name: this.jobName, namespace: props.namespace },
      spec: {
        nprocPerNode: String(this.gpusPerWorker),
        elasticPolicy,
        pytorchReplicaSpecs: replicaSpecs,
        runPolicy: {
          ttlSecondsAfterFinished: (props.ttlAfterFinished ?? Duration.days(1)).toSeconds(),
          backoffLimit: props.backoffLimit ?? 3,
          activeDeadlineSeconds: props.activeDeadline?.toSeconds(),
          cleanPodPolicy: props.cleanPodPolicy ?? CleanPodPolicy.RUNNING,
        },
      },
    });

    for (const type of Object.keys(replicaSpecs)) {
      GpuResources.addToContainer(this.apiObject, `/spec/pytorchReplicaSpecs/${type}/template/spec/containers/0`, this.gpusPerWorker);
    }
  }

  private podTemplate(props: KubeflowTrainingJobProps, tolerations: TrainingJobToleration[]) {
    const uid = props.runAsUser ?? 1000;
    const limits: { [name: string]: ResourceLimit } = {};
    const requests: { [name: string]: ResourceRequest } = {};
    if (props.cpuRequest) { requests.cpu = ResourceRequest.fromString(props.cpuRequest.amount); }
    if (props.memoryRequest) { requests.memory = ResourceRequest.fromString(`${props.memoryRequest.toMebibytes()}Mi`); }
    if (props.memoryLimit) { limits.memory = ResourceLimit.fromString(`${props.memoryLimit.toMebibytes()}Mi`); }
    const container: PodContainer = {
      name: PYTORCH_CONTAINER,
      image: props.image,
      command: props.command,
      args: props.args,
      env: props.env && Object.entries(props.env).map(([name, value]) => ({ name, value })),
      resources: { limits, requests },
      volumeMounts: [{ name: SHM_VOLUME, mountPath: '/dev/shm' }],
      securityContext: {
        runAsNonRoot: true,
        runAsUser: uid,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: props.readOnlyRootFilesystem ?? false,
        capabilities: { drop: ['ALL'] },
      },
    };
    return {
      spec: {
        serviceAccountName: props.serviceAccountName,
        securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [container],
        volumes: [{
          name: SHM_VOLUME,
          emptyDir: {
            medium: 'Memory',
            sizeLimit: props.sharedMemorySize && EmptyDirSizeLimit.fromString(`${props.sharedMemorySize.toMebibytes()}Mi`),
          },
        }],
        tolerations: tolerations.map((t): PodToleration => ({
          key: t.key,
          operator: t.operator ?? TolerationOperator.EQUAL,
          value: t.value,
          effect: t.effect,
        })),
        affinity: nodeAffinityFor(props.placement) as PodAffinity,
      },
    };
  }

  private validateProps(props: KubeflowTrainingJobProps, derived: {
    workers: number; masters: number; maxWorkers: number; tolerations: TrainingJobToleration[];
  }): void {
    const errors = new ValidationErrors(this, 'KubeflowTrainingJob');
    const { placement } = props;
    const gpus = this.gpusPerWorker;

    // names
    if (isResolved(this.jobName)) {
      const suffix = `-worker-${Math.max(derived.maxWorkers - 1, 0)}`.length;
      errors.check(DNS_1035_LABEL.test(this.jobName) && this.jobName.length + suffix <= MAX_LABEL_LENGTH, {
        code: 'InvalidName',
        what: 'jobName must be a DNS-1035 label (lowercase letters, digits and -, starting with a letter) '
          + `that stays within ${MAX_LABEL_LENGTH} characters with the operator's '-worker-<i>' suffix`,
        got: this.jobName,
        fix: `use at most ${MAX_LABEL_LENGTH - suffix} characters matching ${DNS_1035_LABEL.source}`,
      });
    }
    if (props.namespace !== undefined && isResolved(props.namespace)) {
      errors.check(DNS_1123_LABEL.test(props.namespace) && props.namespace.length <= MAX_LABEL_LENGTH, {
        code: 'InvalidNamespace',
        what: 'namespace must be a DNS-1123 label',
        got: props.namespace,
        fix: `use at most ${MAX_LABEL_LENGTH} lowercase letters, digits and -, starting and ending alphanumeric`,
      });
    }
    if (isResolved(props.image)) {
      errors.check(props.image.trim().length > 0 && !/\s/.test(props.image), {
        code: 'InvalidImage',
        what: 'image must be a non-empty image reference without spaces',
        got: props.image,
        fix: "pass a reference such as '<account>.dkr.ecr.<region>.amazonaws.com/train:1.0'",
      });
    }
    for (const name of Object.keys(props.env ?? {})) {
      errors.check(ENV_NAME.test(name), {
        code: 'InvalidEnvName',
        what: 'environment variable names must start with a letter, _, - or . and contain no =',
        got: name,
        fix: 'rename the variable, e.g. to UPPER_SNAKE_CASE',
      });
    }
    if (props.serviceAccountName !== undefined && isResolved(props.serviceAccountName)) {
      errors.check(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(props.serviceAccountName) && props.serviceAccountName.length <= 253, {
        code: 'InvalidServiceAccountName',
        what: 'serviceAccountName must be a DNS-1123 subdomain',
        got: props.serviceAccountName,
        fix: 'use lowercase letters, digits, - and ., starting and ending alphanumeric',
      });
    }

    // counts
    const workersOk = !isResolved(derived.workers) || errors.check(Number.isInteger(derived.workers) && derived.workers >= 1, {
      code: 'InvalidReplicas',
      what: 'workerReplicas must be a whole number of at least 1',
      got: derived.workers,
      fix: 'run at least one worker; for a single-pod job use workerReplicas: 1',
    });
    const gpusOk = !isResolved(gpus) || errors.check(Number.isInteger(gpus) && gpus >= 1, {
      code: 'InvalidGpuCount',
      what: 'gpusPerWorker must be a whole number of at least 1',
      got: gpus,
      fix: 'request 1 or more whole GPUs per replica; CPU-only jobs do not belong on a GPU pool',
    });
    let elasticOk = true;
    if (props.elasticPolicy) {
      const { minReplicas: min, maxReplicas: max, maxRestarts } = props.elasticPolicy;
      elasticOk = errors.check(Number.isInteger(min) && min >= 1 && Number.isInteger(max) && max >= 1, {
        code: 'InvalidElasticPolicy',
        what: 'elasticPolicy minReplicas and maxReplicas must be whole numbers of at least 1',
        got: { min, max },
        fix: 'set minReplicas >= 1 and maxReplicas >= minReplicas',
      });
      elasticOk = elasticOk && errors.check(min <= max, {
        code: 'ElasticMinGreaterThanMax',
        what: 'elasticPolicy minReplicas is greater than maxReplicas',
        got: { min, max },
        fix: 'set minReplicas <= maxReplicas',
      });
      if (elasticOk && workersOk) {
        errors.check(derived.workers >= min && derived.workers <= max, {
          code: 'WorkersOutsideElasticRange',
          what: 'workerReplicas must lie between elasticPolicy minReplicas and maxReplicas',
          got: derived.workers,
          fix: `start with between ${min} and ${max} workers`,
        });
      }
      if (maxRestarts !== undefined) {
        errors.check(Number.isInteger(maxRestarts) && maxRestarts >= 0, {
          code: 'InvalidElasticPolicy',
          what: 'elasticPolicy maxRestarts must be a whole number of at least 0',
          got: maxRestarts,
          fix: 'set maxRestarts to 0 or more',
        });
      }
    }
    const backoff = props.backoffLimit;
    if (backoff !== undefined) {
      errors.check(Number.isInteger(backoff) && backoff >= 0, {
        code: 'InvalidBackoffLimit', what: 'backoffLimit must be a whole number of at least 0', got: backoff, fix: 'set 0 (no retries) or more',
      });
    }
    for (const [prop, value] of [['ttlAfterFinished', props.ttlAfterFinished], ['activeDeadline', props.activeDeadline]] as const) {
      if (value === undefined) { continue; }
      const seconds = value.toSeconds({ integral: false });
      errors.check(Number.isInteger(seconds) && seconds >= (prop === 'activeDeadline' ? 1 : 0), {
        code: 'InvalidDuration',
        what: `${prop} must be a whole number of seconds${prop === 'activeDeadline' ? ', at least 1' : ''}`,
        got: value.toHumanString(),
        fix: 'use Duration.seconds/minutes/hours with a whole, positive amount',
      });
    }

    // capacity against the placement
    const fitsPlacement = errors.check(placement.instanceTypes.length > 0
      && placement.instanceTypes.length === placement.gpusPerInstanceType.length && Object.keys(placement.nodeLabels).length > 0, {
      code: 'InvalidPlacement',
      what: 'the placement must have node labels and list GPUs for each of its instance types',
      got: { nodeLabels: placement.nodeLabels, instanceTypes: placement.instanceTypes, gpusPerInstanceType: placement.gpusPerInstanceType },
      fix: 'use the placement of a GpuNodePool rather than building one by hand',
    });
    if (gpusOk && fitsPlacement && isResolved(gpus)) {
      const largest = Math.max(...placement.gpusPerInstanceType);
      errors.check(gpus <= largest, {
        code: 'GpusPerWorkerExceedNode',
        what: `gpusPerWorker exceeds the GPUs of every instance type in pool '${placement.poolName}' `
          + `(${placement.instanceTypes.map((t, i) => `${t}: ${placement.gpusPerInstanceType[i]}`).join(', ')})`,
        got: gpus,
        fix: `request at most ${largest} GPUs per worker and add workers instead, or add a larger instance type to the pool`,
      });
      if (workersOk && elasticOk && isResolved(derived.maxWorkers)) {
        const replicas = derived.masters + derived.maxWorkers;
        errors.check(this.maxGpus <= placement.maxGpus, {
          code: 'ExceedsPoolCapacity',
          what: `the job needs ${replicas} replicas × ${gpus} GPUs = ${this.maxGpus} GPUs, more than pool '${placement.poolName}' can hold`,
          got: this.maxGpus,
          fix: `stay within the pool's ${placement.maxGpus} GPUs (fewer workers or GPUs per worker) or raise the pool's limit`,
        });
      }
    }
    for (const taint of placement.taints) {
      errors.check(derived.tolerations.some(t => tolerates(t, taint)), {
        code: 'TaintNotTolerated',
        what: `the tolerations do not tolerate taint ${taint.key}=${taint.value}:${taint.effect} of pool '${placement.poolName}', so no pod would schedule`,
        got: derived.tolerations,
        fix: 'leave tolerations unset to derive them from the placement, or add a toleration for this taint',
      });
    }
    errors.throwIfAny();
  }
}

/** Whether `scope` sits (directly or indirectly) inside a cdk8s Chart. */
function hasChart(scope: Construct): boolean {
  return scope.node.scopes.some(c => Chart.isChart(c));
}

/** Whether `toleration` tolerates `taint`, by the Kubernetes rules (`ToleratesTaint` in k8s.io/api/core/v1). */
function tolerates(toleration: TrainingJobToleration, taint: NodeTaint): boolean {
  if (toleration.effect !== undefined && toleration.effect !== '' && toleration.effect !== taint.effect) { return false; }
  const key = toleration.key ?? '';
  if (key !== '' && key !== taint.key) { return false; }
  if ((toleration.operator ?? TolerationOperator.EQUAL) === TolerationOperator.EXISTS) { return true; }
  return key !== '' && (toleration.value ?? '') === taint.value;
}
