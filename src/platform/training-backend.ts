import * as ec2 from 'aws-cdk-lib/aws-ec2';

/** Options of the SageMaker training backend. */
export interface SageMakerBackendOptions {
  /**
   * VPC for training and evaluation jobs (and endpoints' models), in its private subnets.
   * @default - no VPC: jobs run network-isolated in SageMaker's own network
   */
  readonly vpc?: ec2.IVpc;
}

/**
 * Where a platform trains its models.
 *
 * - `TrainingBackend.sagemaker()`: SageMaker Pipelines run GPU training jobs (managed spot, checkpoints, network
 *   isolation); the continuous-training loop starts the pipeline.
 */
export class TrainingBackend {
  /** Train with SageMaker Pipelines and SageMaker training jobs. */
  public static sagemaker(options: SageMakerBackendOptions = {}): TrainingBackend {
    return new TrainingBackend('sagemaker', options.vpc);
  }

  /** `sagemaker`. */
  public readonly kind: string;
  /** The VPC jobs run in, if any. */
  public readonly vpc?: ec2.IVpc;

  private constructor(kind: string, vpc?: ec2.IVpc) {
    this.kind = kind;
    this.vpc = vpc;
  }
}
