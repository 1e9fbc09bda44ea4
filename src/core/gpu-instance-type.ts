import { Token } from 'aws-cdk-lib';
import { lookupInstanceType } from './gpu-catalog';

/** Who makes an instance type's accelerators. */
export enum AcceleratorManufacturer {
  /** NVIDIA GPUs (CUDA). */
  NVIDIA = 'NVIDIA',
  /** AWS Trainium and Inferentia (Neuron SDK, not CUDA). */
  AWS = 'AWS',
}

/** CPU architecture of an instance type. */
export enum CpuArchitecture {
  /** `x86_64`. */
  X86_64 = 'x86_64',
  /** `arm64` (Graviton). */
  ARM64 = 'arm64',
}

/** Accelerator and host facts of a catalogued instance type. */
export interface AcceleratorInfo {
  /** Accelerator model, e.g. `A10G`, `H100`, `Trainium`. */
  readonly acceleratorModel: string;
  /** Accelerator vendor. */
  readonly manufacturer: AcceleratorManufacturer;
  /** Number of accelerators (GPUs, Trainium or Inferentia chips). */
  readonly acceleratorCount: number;
  /** Memory per accelerator, in GiB. */
  readonly acceleratorMemoryGiB: number;
  /** vCPUs. */
  readonly vcpus: number;
  /** Host memory, in GiB. */
  readonly memoryGiB: number;
  /**
   * Local NVMe instance storage in GB; 0 for EBS-only types. SageMaker encrypts such storage itself and
   * rejects a volume KMS key on these types.
   */
  readonly nvmeStorageGB: number;
  /** CPU architecture. */
  readonly architecture: CpuArchitecture;
}

/**
 * A SageMaker instance type with accelerators (`ml.*`), with its catalogued facts.
 *
 * Use a constant, or `GpuInstanceType.of('ml.g6e.12xlarge')` for a type this release does not list:
 * such a type is accepted, but checks that need its facts (GPU count, NVMe) cannot run and constructs
 * say so with a warning.
 */
export class GpuInstanceType {
  /** `ml.g4dn.xlarge`: 1 × NVIDIA T4 (16 GiB), 4 vCPU, 16 GiB, 125 GB NVMe. */
  public static readonly ML_G4DN_XLARGE = new GpuInstanceType('ml.g4dn.xlarge');
  /** `ml.g4dn.2xlarge`: 1 × NVIDIA T4 (16 GiB), 8 vCPU, 32 GiB, 225 GB NVMe. */
  public static readonly ML_G4DN_2XLARGE = new GpuInstanceType('ml.g4dn.2xlarge');
  /** `ml.g4dn.4xlarge`: 1 × NVIDIA T4 (16 GiB), 16 vCPU, 64 GiB, 225 GB NVMe. */
  public static readonly ML_G4DN_4XLARGE = new GpuInstanceType('ml.g4dn.4xlarge');
  /** `ml.g4dn.8xlarge`: 1 × NVIDIA T4 (16 GiB), 32 vCPU, 128 GiB, 900 GB NVMe. */
  public static readonly ML_G4DN_8XLARGE = new GpuInstanceType('ml.g4dn.8xlarge');
  /** `ml.g4dn.12xlarge`: 4 × NVIDIA T4 (16 GiB), 48 vCPU, 192 GiB, 900 GB NVMe. */
  public static readonly ML_G4DN_12XLARGE = new GpuInstanceType('ml.g4dn.12xlarge');
  /** `ml.g4dn.16xlarge`: 1 × NVIDIA T4 (16 GiB), 64 vCPU, 256 GiB, 900 GB NVMe. */
  public static readonly ML_G4DN_16XLARGE = new GpuInstanceType('ml.g4dn.16xlarge');
  /** `ml.g5.xlarge`: 1 × NVIDIA A10G (24 GiB), 4 vCPU, 16 GiB, 250 GB NVMe. */
  public static readonly ML_G5_XLARGE = new GpuInstanceType('ml.g5.xlarge');
  /** `ml.g5.2xlarge`: 1 × NVIDIA A10G (24 GiB), 8 vCPU, 32 GiB, 450 GB NVMe. */
  public static readonly ML_G5_2XLARGE = new GpuInstanceType('ml.g5.2xlarge');
  /** `ml.g5.4xlarge`: 1 × NVIDIA A10G (24 GiB), 16 vCPU, 64 GiB, 600 GB NVMe. */
  public static readonly ML_G5_4XLARGE = new GpuInstanceType('ml.g5.4xlarge');
  /** `ml.g5.8xlarge`: 1 × NVIDIA A10G (24 GiB), 32 vCPU, 128 GiB, 900 GB NVMe. */
  public static readonly ML_G5_8XLARGE = new GpuInstanceType('ml.g5.8xlarge');
  /** `ml.g5.12xlarge`: 4 × NVIDIA A10G (24 GiB), 48 vCPU, 192 GiB, 3800 GB NVMe. */
  public static readonly ML_G5_12XLARGE = new GpuInstanceType('ml.g5.12xlarge');
  /** `ml.g5.16xlarge`: 1 × NVIDIA A10G (24 GiB), 64 vCPU, 256 GiB, 1900 GB NVMe. */
  public static readonly ML_G5_16XLARGE = new GpuInstanceType('ml.g5.16xlarge');
  /** `ml.g5.24xlarge`: 4 × NVIDIA A10G (24 GiB), 96 vCPU, 384 GiB, 3800 GB NVMe. */
  public static readonly ML_G5_24XLARGE = new GpuInstanceType('ml.g5.24xlarge');
  /** `ml.g5.48xlarge`: 8 × NVIDIA A10G (24 GiB), 192 vCPU, 768 GiB, 7600 GB NVMe. */
  public static readonly ML_G5_48XLARGE = new GpuInstanceType('ml.g5.48xlarge');
  /** `ml.g6.xlarge`: 1 × NVIDIA L4 (24 GiB), 4 vCPU, 16 GiB, 250 GB NVMe. */
  public static readonly ML_G6_XLARGE = new GpuInstanceType('ml.g6.xlarge');
  /** `ml.g6.2xlarge`: 1 × NVIDIA L4 (24 GiB), 8 vCPU, 32 GiB, 450 GB NVMe. */
  public static readonly ML_G6_2XLARGE = new GpuInstanceType('ml.g6.2xlarge');
  /** `ml.g6.4xlarge`: 1 × NVIDIA L4 (24 GiB), 16 vCPU, 64 GiB, 600 GB NVMe. */
  public static readonly ML_G6_4XLARGE = new GpuInstanceType('ml.g6.4xlarge');
  /** `ml.g6.8xlarge`: 1 × NVIDIA L4 (24 GiB), 32 vCPU, 128 GiB, 900 GB NVMe. */
  public static readonly ML_G6_8XLARGE = new GpuInstanceType('ml.g6.8xlarge');
  /** `ml.g6.12xlarge`: 4 × NVIDIA L4 (24 GiB), 48 vCPU, 192 GiB, 3760 GB NVMe. */
  public static readonly ML_G6_12XLARGE = new GpuInstanceType('ml.g6.12xlarge');
  /** `ml.g6.16xlarge`: 1 × NVIDIA L4 (24 GiB), 64 vCPU, 256 GiB, 1880 GB NVMe. */
  public static readonly ML_G6_16XLARGE = new GpuInstanceType('ml.g6.16xlarge');
  /** `ml.g6.24xlarge`: 4 × NVIDIA L4 (24 GiB), 96 vCPU, 384 GiB, 3760 GB NVMe. */
  public static readonly ML_G6_24XLARGE = new GpuInstanceType('ml.g6.24xlarge');
  /** `ml.g6.48xlarge`: 8 × NVIDIA L4 (24 GiB), 192 vCPU, 768 GiB, 7520 GB NVMe. */
  public static readonly ML_G6_48XLARGE = new GpuInstanceType('ml.g6.48xlarge');
  /** `ml.g6e.xlarge`: 1 × NVIDIA L40S (48 GiB), 4 vCPU, 32 GiB, 250 GB NVMe. */
  public static readonly ML_G6E_XLARGE = new GpuInstanceType('ml.g6e.xlarge');
  /** `ml.g6e.2xlarge`: 1 × NVIDIA L40S (48 GiB), 8 vCPU, 64 GiB, 450 GB NVMe. */
  public static readonly ML_G6E_2XLARGE = new GpuInstanceType('ml.g6e.2xlarge');
  /** `ml.g6e.4xlarge`: 1 × NVIDIA L40S (48 GiB), 16 vCPU, 128 GiB, 600 GB NVMe. */
  public static readonly ML_G6E_4XLARGE = new GpuInstanceType('ml.g6e.4xlarge');
  /** `ml.g6e.8xlarge`: 1 × NVIDIA L40S (48 GiB), 32 vCPU, 256 GiB, 900 GB NVMe. */
  public static readonly ML_G6E_8XLARGE = new GpuInstanceType('ml.g6e.8xlarge');
  /** `ml.g6e.12xlarge`: 4 × NVIDIA L40S (48 GiB), 48 vCPU, 384 GiB, 3800 GB NVMe. */
  public static readonly ML_G6E_12XLARGE = new GpuInstanceType('ml.g6e.12xlarge');
  /** `ml.g6e.16xlarge`: 1 × NVIDIA L40S (48 GiB), 64 vCPU, 512 GiB, 1900 GB NVMe. */
  public static readonly ML_G6E_16XLARGE = new GpuInstanceType('ml.g6e.16xlarge');
  /** `ml.g6e.24xlarge`: 4 × NVIDIA L40S (48 GiB), 96 vCPU, 768 GiB, 3800 GB NVMe. */
  public static readonly ML_G6E_24XLARGE = new GpuInstanceType('ml.g6e.24xlarge');
  /** `ml.g6e.48xlarge`: 8 × NVIDIA L40S (48 GiB), 192 vCPU, 1536 GiB, 7600 GB NVMe. */
  public static readonly ML_G6E_48XLARGE = new GpuInstanceType('ml.g6e.48xlarge');
  /** `ml.p3.2xlarge`: 1 × NVIDIA V100 (16 GiB), 8 vCPU, 61 GiB. */
  public static readonly ML_P3_2XLARGE = new GpuInstanceType('ml.p3.2xlarge');
  /** `ml.p3.8xlarge`: 4 × NVIDIA V100 (16 GiB), 32 vCPU, 244 GiB. */
  public static readonly ML_P3_8XLARGE = new GpuInstanceType('ml.p3.8xlarge');
  /** `ml.p3.16xlarge`: 8 × NVIDIA V100 (16 GiB), 64 vCPU, 488 GiB. */
  public static readonly ML_P3_16XLARGE = new GpuInstanceType('ml.p3.16xlarge');
  /** `ml.p3dn.24xlarge`: 8 × NVIDIA V100 (32 GiB), 96 vCPU, 768 GiB, 1800 GB NVMe. */
  public static readonly ML_P3DN_24XLARGE = new GpuInstanceType('ml.p3dn.24xlarge');
  /** `ml.p4d.24xlarge`: 8 × NVIDIA A100 (40 GiB), 96 vCPU, 1152 GiB, 8000 GB NVMe. */
  public static readonly ML_P4D_24XLARGE = new GpuInstanceType('ml.p4d.24xlarge');
  /** `ml.p4de.24xlarge`: 8 × NVIDIA A100 (80 GiB), 96 vCPU, 1152 GiB, 8000 GB NVMe. */
  public static readonly ML_P4DE_24XLARGE = new GpuInstanceType('ml.p4de.24xlarge');
  /** `ml.p5.4xlarge`: 1 × NVIDIA H100 (80 GiB), 16 vCPU, 256 GiB, 3840 GB NVMe. */
  public static readonly ML_P5_4XLARGE = new GpuInstanceType('ml.p5.4xlarge');
  /** `ml.p5.48xlarge`: 8 × NVIDIA H100 (80 GiB), 192 vCPU, 2048 GiB, 30720 GB NVMe. */
  public static readonly ML_P5_48XLARGE = new GpuInstanceType('ml.p5.48xlarge');
  /** `ml.p5e.48xlarge`: 8 × NVIDIA H200 (141 GiB), 192 vCPU, 2048 GiB, 30720 GB NVMe. */
  public static readonly ML_P5E_48XLARGE = new GpuInstanceType('ml.p5e.48xlarge');
  /** `ml.p5en.48xlarge`: 8 × NVIDIA H200 (141 GiB), 192 vCPU, 2048 GiB, 30720 GB NVMe. */
  public static readonly ML_P5EN_48XLARGE = new GpuInstanceType('ml.p5en.48xlarge');
  /** `ml.trn1.2xlarge`: 1 × AWS Trainium (32 GiB), 8 vCPU, 32 GiB, 474 GB NVMe. */
  public static readonly ML_TRN1_2XLARGE = new GpuInstanceType('ml.trn1.2xlarge');
  /** `ml.trn1.32xlarge`: 16 × AWS Trainium (32 GiB), 128 vCPU, 512 GiB, 7600 GB NVMe. */
  public static readonly ML_TRN1_32XLARGE = new GpuInstanceType('ml.trn1.32xlarge');
  /** `ml.trn1n.32xlarge`: 16 × AWS Trainium (32 GiB), 128 vCPU, 512 GiB, 7600 GB NVMe. */
  public static readonly ML_TRN1N_32XLARGE = new GpuInstanceType('ml.trn1n.32xlarge');
  /** `ml.inf2.xlarge`: 1 × AWS Inferentia2 (32 GiB), 4 vCPU, 16 GiB. */
  public static readonly ML_INF2_XLARGE = new GpuInstanceType('ml.inf2.xlarge');
  /** `ml.inf2.8xlarge`: 1 × AWS Inferentia2 (32 GiB), 32 vCPU, 128 GiB. */
  public static readonly ML_INF2_8XLARGE = new GpuInstanceType('ml.inf2.8xlarge');
  /** `ml.inf2.24xlarge`: 6 × AWS Inferentia2 (32 GiB), 96 vCPU, 384 GiB. */
  public static readonly ML_INF2_24XLARGE = new GpuInstanceType('ml.inf2.24xlarge');
  /** `ml.inf2.48xlarge`: 12 × AWS Inferentia2 (32 GiB), 192 vCPU, 768 GiB. */
  public static readonly ML_INF2_48XLARGE = new GpuInstanceType('ml.inf2.48xlarge');

  /**
   * Any SageMaker instance type by name, e.g. `ml.g6e.12xlarge`.
   *
   * @param name the full SageMaker name, starting with `ml.`
   */
  public static of(name: string): GpuInstanceType {
    return new GpuInstanceType(name);
  }

  /** The SageMaker name, e.g. `ml.g5.2xlarge`. */
  public readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /**
   * Catalogued facts of this type.
   *
   * @returns undefined for a type the catalog does not list (or a token)
   */
  public get info(): AcceleratorInfo | undefined {
    if (Token.isUnresolved(this.name)) { return undefined; }
    const e = lookupInstanceType(this.name);
    if (!e) { return undefined; }
    return {
      acceleratorModel: e.acceleratorModel,
      manufacturer: e.manufacturer === 'NVIDIA' ? AcceleratorManufacturer.NVIDIA : AcceleratorManufacturer.AWS,
      acceleratorCount: e.acceleratorCount,
      acceleratorMemoryGiB: e.acceleratorMemoryGiB,
      vcpus: e.vcpus,
      memoryGiB: e.memoryGiB,
      nvmeStorageGB: e.nvmeStorageGB,
      architecture: e.architecture === 'arm64' ? CpuArchitecture.ARM64 : CpuArchitecture.X86_64,
    };
  }

  /** Returns the name. */
  public toString(): string {
    return this.name;
  }
}
