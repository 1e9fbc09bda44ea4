import { Size } from 'aws-cdk-lib';

/** Options for an instance-based variant. */
export interface InstanceVariantOptions {
  /** SageMaker instance type, GPU or CPU, e.g. `ml.g5.xlarge` or `ml.m5.xlarge`. */
  readonly instanceType: string;
  /**
   * Instances at deployment.
   * @default 2 (one instance has no redundancy; AWS Config flags it)
   */
  readonly initialInstanceCount?: number;
  /**
   * Autoscaling minimum.
   * @default - initialInstanceCount
   */
  readonly minCapacity?: number;
  /**
   * Autoscaling maximum; autoscaling is on when it exceeds minCapacity.
   * @default - twice initialInstanceCount
   */
  readonly maxCapacity?: number;
  /**
   * Target of the target-tracking policy: invocations per instance per minute.
   * @default 1000
   */
  readonly targetInvocationsPerInstance?: number;
  /**
   * Variant name.
   * @default 'primary' for the first variant, 'variant<N>' for others
   */
  readonly variantName?: string;
  /**
   * Relative share of traffic among variants.
   * @default 1
   */
  readonly weight?: number;
}

/** Options for a serverless variant. */
export interface ServerlessVariantOptions {
  /** Memory: 1024 to 6144 MB in steps of 1024. */
  readonly memorySize: Size;
  /** Maximum concurrent invocations, 1 to 200. */
  readonly maxConcurrency: number;
  /**
   * Provisioned concurrency (no cold starts), at most maxConcurrency.
   * @default - none
   */
  readonly provisionedConcurrency?: number;
  /**
   * Variant name.
   * @default 'primary'
   */
  readonly variantName?: string;
}

/** A production variant of a ModelEndpoint (replaces an instance | serverless union). */
export class EndpointVariant {
  /** Instances of a type, with target-tracking autoscaling on invocations per instance. */
  public static instance(options: InstanceVariantOptions): EndpointVariant {
    return new EndpointVariant('instance', options, undefined);
  }

  /** Serverless: pay per request, scale to zero; no GPU, no VPC, no data capture. */
  public static serverless(options: ServerlessVariantOptions): EndpointVariant {
    return new EndpointVariant('serverless', undefined, options);
  }

  /** `instance` or `serverless`. */
  public readonly kind: string;
  /**
   * Instance options.
   * @default - a serverless variant
   */
  public readonly instanceOptions?: InstanceVariantOptions;
  /**
   * Serverless options.
   * @default - an instance variant
   */
  public readonly serverlessOptions?: ServerlessVariantOptions;

  private constructor(kind: string, instanceOptions?: InstanceVariantOptions, serverlessOptions?: ServerlessVariantOptions) {
    this.kind = kind;
    this.instanceOptions = instanceOptions;
    this.serverlessOptions = serverlessOptions;
  }
}
