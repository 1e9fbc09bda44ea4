/**
 * GPU and accelerator instance catalog: the data behind `GpuInstanceType`, node-pool validation,
 * volume-encryption rules and the cost report. Values per AWS instance type pages (EC2 accelerated
 * computing specifications and SageMaker instance types), checked 2026-11.
 *
 * Internal module: the public face is `GpuInstanceType` and `AcceleratorInfo`.
 */

/** Accelerator vendor. */
export type AcceleratorManufacturer = 'NVIDIA' | 'AWS';

/** One instance type's accelerator and host facts. */
export interface CatalogEntry {
  /** EC2 name without the `ml.` prefix, e.g. `g5.2xlarge`. */
  readonly name: string;
  readonly acceleratorModel: string;
  readonly manufacturer: AcceleratorManufacturer;
  readonly acceleratorCount: number;
  /** Memory per accelerator, GiB. */
  readonly acceleratorMemoryGiB: number;
  readonly vcpus: number;
  readonly memoryGiB: number;
  /** Local NVMe instance storage, GB (0 = EBS only). SageMaker rejects volume KMS keys on such types. */
  readonly nvmeStorageGB: number;
  readonly architecture: 'x86_64' | 'arm64';
  /** Offered as `ml.<name>` by SageMaker (training and/or hosting). */
  readonly sagemaker: boolean;
}

interface FamilySpec {
  readonly model: string;
  readonly manufacturer: AcceleratorManufacturer;
  readonly memoryGiB: number;
  readonly architecture: 'x86_64' | 'arm64';
  /** size → [accelerators, vCPUs, memory GiB, NVMe GB, on SageMaker] */
  readonly sizes: Record<string, [number, number, number, number, boolean]>;
}

const FAMILIES: Record<string, FamilySpec> = {
  g4dn: {
    model: 'T4',
    manufacturer: 'NVIDIA',
    memoryGiB: 16,
    architecture: 'x86_64',
    sizes: {
      'xlarge': [1, 4, 16, 125, true],
      '2xlarge': [1, 8, 32, 225, true],
      '4xlarge': [1, 16, 64, 225, true],
      '8xlarge': [1, 32, 128, 900, true],
      '12xlarge': [4, 48, 192, 900, true],
      '16xlarge': [1, 64, 256, 900, true],
      'metal': [8, 96, 384, 1800, false],
    },
  },
  g5: {
    model: 'A10G',
    manufacturer: 'NVIDIA',
    memoryGiB: 24,
    architecture: 'x86_64',
    sizes: {
      'xlarge': [1, 4, 16, 250, true],
      '2xlarge': [1, 8, 32, 450, true],
      '4xlarge': [1, 16, 64, 600, true],
      '8xlarge': [1, 32, 128, 900, true],
      '12xlarge': [4, 48, 192, 3800, true],
      '16xlarge': [1, 64, 256, 1900, true],
      '24xlarge': [4, 96, 384, 3800, true],
      '48xlarge': [8, 192, 768, 7600, true],
    },
  },
  g5g: {
    model: 'T4G',
    manufacturer: 'NVIDIA',
    memoryGiB: 16,
    architecture: 'arm64',
    sizes: {
      'xlarge': [1, 4, 8, 0, false],
      '2xlarge': [1, 8, 16, 0, false],
      '4xlarge': [1, 16, 32, 0, false],
      '8xlarge': [1, 32, 64, 0, false],
      '16xlarge': [2, 64, 128, 0, false],
      'metal': [2, 64, 128, 0, false],
    },
  },
  g6: {
    model: 'L4',
    manufacturer: 'NVIDIA',
    memoryGiB: 24,
    architecture: 'x86_64',
    sizes: {
      'xlarge': [1, 4, 16, 250, true],
      '2xlarge': [1, 8, 32, 450, true],
      '4xlarge': [1, 16, 64, 600, true],
      '8xlarge': [1, 32, 128, 900, true],
      '12xlarge': [4, 48, 192, 3760, true],
      '16xlarge': [1, 64, 256, 1880, true],
      '24xlarge': [4, 96, 384, 3760, true],
      '48xlarge': [8, 192, 768, 7520, true],
    },
  },
  g6e: {
    model: 'L40S',
    manufacturer: 'NVIDIA',
    memoryGiB: 48,
    architecture: 'x86_64',
    sizes: {
      'xlarge': [1, 4, 32, 250, true],
      '2xlarge': [1, 8, 64, 450, true],
      '4xlarge': [1, 16, 128, 600, true],
      '8xlarge': [1, 32, 256, 900, true],
      '12xlarge': [4, 48, 384, 3800, true],
      '16xlarge': [1, 64, 512, 1900, true],
      '24xlarge': [4, 96, 768, 3800, true],
      '48xlarge': [8, 192, 1536, 7600, true],
    },
  },
  p3: {
    model: 'V100',
    manufacturer: 'NVIDIA',
    memoryGiB: 16,
    architecture: 'x86_64',
    sizes: { '2xlarge': [1, 8, 61, 0, true], '8xlarge': [4, 32, 244, 0, true], '16xlarge': [8, 64, 488, 0, true] },
  },
  p3dn: {
    model: 'V100',
    manufacturer: 'NVIDIA',
    memoryGiB: 32,
    architecture: 'x86_64',
    sizes: { '24xlarge': [8, 96, 768, 1800, true] },
  },
  p4d: {
    model: 'A100',
    manufacturer: 'NVIDIA',
    memoryGiB: 40,
    architecture: 'x86_64',
    sizes: { '24xlarge': [8, 96, 1152, 8000, true] },
  },
  p4de: {
    model: 'A100',
    manufacturer: 'NVIDIA',
    memoryGiB: 80,
    architecture: 'x86_64',
    sizes: { '24xlarge': [8, 96, 1152, 8000, true] },
  },
  p5: {
    model: 'H100',
    manufacturer: 'NVIDIA',
    memoryGiB: 80,
    architecture: 'x86_64',
    sizes: { '4xlarge': [1, 16, 256, 3840, true], '48xlarge': [8, 192, 2048, 30720, true] },
  },
  p5e: {
    model: 'H200',
    manufacturer: 'NVIDIA',
    memoryGiB: 141,
    architecture: 'x86_64',
    sizes: { '48xlarge': [8, 192, 2048, 30720, true] },
  },
  p5en: {
    model: 'H200',
    manufacturer: 'NVIDIA',
    memoryGiB: 141,
    architecture: 'x86_64',
    sizes: { '48xlarge': [8, 192, 2048, 30720, true] },
  },
  trn1: {
    model: 'Trainium',
    manufacturer: 'AWS',
    memoryGiB: 32,
    architecture: 'x86_64',
    sizes: { '2xlarge': [1, 8, 32, 474, true], '32xlarge': [16, 128, 512, 7600, true] },
  },
  trn1n: {
    model: 'Trainium',
    manufacturer: 'AWS',
    memoryGiB: 32,
    architecture: 'x86_64',
    sizes: { '32xlarge': [16, 128, 512, 7600, true] },
  },
  inf2: {
    model: 'Inferentia2',
    manufacturer: 'AWS',
    memoryGiB: 32,
    architecture: 'x86_64',
    sizes: { 'xlarge': [1, 4, 16, 0, true], '8xlarge': [1, 32, 128, 0, true], '24xlarge': [6, 96, 384, 0, true], '48xlarge': [12, 192, 768, 0, true] },
  },
};

/** Families whose accelerators are NVIDIA GPUs. */
export const NVIDIA_GPU_FAMILIES: string[] = Object.entries(FAMILIES).filter(([, f]) => f.manufacturer === 'NVIDIA').map(([k]) => k);

/** Every catalogued instance type, by EC2 name. */
export const CATALOG: ReadonlyMap<string, CatalogEntry> = new Map(
  Object.entries(FAMILIES).flatMap(([family, f]) => Object.entries(f.sizes).map(([size, [count, vcpus, mem, nvme, sm]]) => {
    const name = `${family}.${size}`;
    const entry: CatalogEntry = {
      name,
      acceleratorModel: f.model,
      manufacturer: f.manufacturer,
      acceleratorCount: count,
      acceleratorMemoryGiB: f.memoryGiB,
      vcpus,
      memoryGiB: mem,
      nvmeStorageGB: nvme,
      architecture: f.architecture,
      sagemaker: sm,
    };
    return [name, entry] as [string, CatalogEntry];
  })),
);

/** Splits `ml.g5.2xlarge` or `g5.2xlarge` into family and size; undefined when it is not such a name. */
export function parseInstanceType(name: string): { family: string; size: string; sagemaker: boolean } | undefined {
  const m = /^(ml\.)?([a-z][a-z0-9-]*)\.([a-z0-9]+)$/.exec(name);
  return m ? { family: m[2], size: m[3], sagemaker: m[1] !== undefined } : undefined;
}

/** The catalog entry for an EC2 (`g5.2xlarge`) or SageMaker (`ml.g5.2xlarge`) name. */
export function lookupInstanceType(name: string): CatalogEntry | undefined {
  const parsed = parseInstanceType(name);
  if (!parsed) { return undefined; }
  const entry = CATALOG.get(`${parsed.family}.${parsed.size}`);
  if (!entry || (parsed.sagemaker && !entry.sagemaker)) { return undefined; }
  return entry;
}

/** Whether the family is catalogued (so an unknown size of it is a likely typo). */
export function isKnownFamily(family: string): boolean {
  return family in FAMILIES;
}

/**
 * Whether SageMaker instances of this type have local NVMe storage (so a volume KMS key is rejected):
 * catalogued accelerator types by their data, CPU types by the `d` in the family (`m5d`, `c6id`, `r5dn`).
 */
export function hasInstanceStorage(instanceType: string): boolean {
  const entry = lookupInstanceType(instanceType);
  if (entry) { return entry.nvmeStorageGB > 0; }
  const parsed = parseInstanceType(instanceType);
  return parsed !== undefined && /^[a-z]+\d+[a-z]*d[a-z]*$/.test(parsed.family);
}
