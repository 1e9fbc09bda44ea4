import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { GpuCluster, GpuClusterProps } from '../compute/gpu-cluster';
import { GpuNodePool, GpuNodePoolOptions } from '../compute/gpu-node-pool';

/** Where a platform's models train. */
export enum TrainingBackendKind {
  /** SageMaker training jobs. */
  SAGEMAKER = 'sagemaker',
  /** Kubeflow PyTorchJobs on EKS. */
  KUBEFLOW = 'kubeflow',
}

/** Options of the SageMaker training backend. */
export interface SageMakerBackendOptions {
  /**
   * VPC for training and evaluation jobs (and endpoints' models), in its private subnets.
   * @default - no VPC: jobs run network-isolated in SageMaker's own network
   */
  readonly vpc?: ec2.IVpc;
}

/** Options of the Kubeflow training backend. */
export interface KubeflowBackendOptions {
  /**
   * The EKS cluster training runs on. It must be in the platform's stack (or an ancestor of it).
   * @default - a new GpuCluster in the platform, with `clusterOptions`
   */
  readonly cluster?: GpuCluster;
  /**
   * Settings of the cluster the platform creates (ignored when `cluster` is given).
   * @default - GpuCluster defaults, with a private-only API endpoint
   */
  readonly clusterOptions?: GpuClusterProps;
  /**
   * The GPU pool the training pods run on.
   * @default - a pool `training` added to the cluster with `trainingPoolOptions`
   */
  readonly trainingPool?: GpuNodePool;
  /**
   * Settings of the training pool the platform creates (ignored when `trainingPool` is given).
   * @default - Karpenter spot g6.xlarge and g6.12xlarge nodes, at most 16 GPUs, consolidated after 5 minutes
   */
  readonly trainingPoolOptions?: GpuNodePoolOptions;
  /**
   * The GPU pool of models served on the cluster (`serving.kubernetes`).
   * @default - a pool `serving` added on first use with `servingPoolOptions`
   */
  readonly servingPool?: GpuNodePool;
  /**
   * Settings of the serving pool the platform creates (ignored when `servingPool` is given).
   * @default - an on-demand managed node group of g5.xlarge, 0 to 4 nodes
   */
  readonly servingPoolOptions?: GpuNodePoolOptions;
  /**
   * Namespace of the training jobs (and their service accounts).
   * @default 'training'
   */
  readonly namespace?: string;
  /**
   * How often a running job's status is checked.
   * @default Duration.minutes(5)
   */
  readonly watchInterval?: Duration;
}

/**
 * Where a platform trains its models.
 *
 * - `TrainingBackend.sagemaker()`: SageMaker Pipelines run GPU training jobs (managed spot, checkpoints, network
 *   isolation); the continuous-training loop starts the pipeline.
 * - `TrainingBackend.kubeflow()`: the same pipeline (snapshot, gate, evaluation, comparison, registration), but its
 *   `Train` step is a Callback step: a `KubeflowJobLauncher` submits a Kubeflow PyTorchJob to an EKS GPU pool through
 *   the Kubernetes API (EKS access entry, RBAC on pytorchjobs only) and answers the step when the job ends. Models are
 *   served by a SageMaker endpoint (default) or on the cluster (`serving.kubernetes`).
 */
export class TrainingBackend {
  /** Train with SageMaker Pipelines and SageMaker training jobs. */
  public static sagemaker(options: SageMakerBackendOptions = {}): TrainingBackend {
    return new TrainingBackend(TrainingBackendKind.SAGEMAKER, options.vpc, undefined);
  }

  /** Train with Kubeflow PyTorchJobs on an EKS GPU pool, orchestrated by the same SageMaker pipeline. */
  public static kubeflow(options: KubeflowBackendOptions = {}): TrainingBackend {
    return new TrainingBackend(TrainingBackendKind.KUBEFLOW, undefined, options);
  }

  /** SageMaker or Kubeflow. */
  public readonly kind: TrainingBackendKind;
  /** The VPC SageMaker jobs run in, if any. */
  public readonly vpc?: ec2.IVpc;
  /** The Kubeflow options (kubeflow backend only). */
  public readonly kubeflowOptions?: KubeflowBackendOptions;

  private constructor(kind: TrainingBackendKind, vpc: ec2.IVpc | undefined, kubeflowOptions: KubeflowBackendOptions | undefined) {
    this.kind = kind;
    this.vpc = vpc;
    this.kubeflowOptions = kubeflowOptions;
  }
}
