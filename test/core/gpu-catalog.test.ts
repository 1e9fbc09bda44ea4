import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { AcceleratorManufacturer, CpuArchitecture, GpuInstanceType } from '../../src';
import { CATALOG, NVIDIA_GPU_FAMILIES, isKnownFamily, lookupInstanceType, parseInstanceType } from '../../src/core/gpu-catalog';

describe('GPU catalog data', () => {
  test('covers the required families and sizes', () => {
    for (const family of ['g4dn', 'g5', 'g6', 'g6e', 'p3', 'p4d', 'p4de', 'p5', 'p5e', 'trn1', 'inf2']) {
      expect([...CATALOG.keys()].some(k => k.startsWith(`${family}.`))).toBe(true);
    }
    for (const size of ['xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '48xlarge']) {
      expect(CATALOG.has(`g5.${size}`)).toBe(true);
      expect(CATALOG.has(`g6.${size}`)).toBe(true);
      expect(CATALOG.has(`g6e.${size}`)).toBe(true);
    }
  });

  test('every entry is internally consistent', () => {
    for (const e of CATALOG.values()) {
      expect(e.acceleratorCount).toBeGreaterThanOrEqual(1);
      expect(e.vcpus).toBeGreaterThanOrEqual(4);
      expect(e.memoryGiB).toBeGreaterThanOrEqual(e.vcpus); // at least 1 GiB per vCPU on accelerated types
      expect(e.nvmeStorageGB).toBeGreaterThanOrEqual(0);
      expect(['NVIDIA', 'AWS']).toContain(e.manufacturer);
      // Within a family, more vCPUs never means fewer accelerators or less memory.
    }
    const byFamily = new Map<string, typeof entries>();
    const entries = [...CATALOG.values()];
    for (const e of entries) {
      const f = e.name.split('.')[0];
      byFamily.set(f, [...(byFamily.get(f) ?? []), e]);
    }
    for (const list of byFamily.values()) {
      const sorted = [...list].sort((a, b) => a.vcpus - b.vcpus);
      for (let i = 1; i < sorted.length; i++) {
        expect(sorted[i].memoryGiB).toBeGreaterThanOrEqual(sorted[i - 1].memoryGiB);
      }
    }
  });

  test.each([
    ['g5.2xlarge', { acceleratorModel: 'A10G', acceleratorCount: 1, acceleratorMemoryGiB: 24, vcpus: 8, memoryGiB: 32, nvmeStorageGB: 450 }],
    ['g5.48xlarge', { acceleratorCount: 8, vcpus: 192, memoryGiB: 768 }],
    ['g4dn.12xlarge', { acceleratorModel: 'T4', acceleratorCount: 4, acceleratorMemoryGiB: 16, vcpus: 48, memoryGiB: 192 }],
    ['g6e.12xlarge', { acceleratorModel: 'L40S', acceleratorCount: 4, acceleratorMemoryGiB: 48 }],
    ['p3.2xlarge', { acceleratorModel: 'V100', acceleratorCount: 1, nvmeStorageGB: 0 }],
    ['p4d.24xlarge', { acceleratorModel: 'A100', acceleratorCount: 8, acceleratorMemoryGiB: 40, vcpus: 96, memoryGiB: 1152, nvmeStorageGB: 8000 }],
    ['p4de.24xlarge', { acceleratorMemoryGiB: 80 }],
    ['p5.48xlarge', { acceleratorModel: 'H100', acceleratorCount: 8, acceleratorMemoryGiB: 80, vcpus: 192, memoryGiB: 2048 }],
    ['p5e.48xlarge', { acceleratorModel: 'H200', acceleratorMemoryGiB: 141 }],
    ['trn1.32xlarge', { acceleratorModel: 'Trainium', manufacturer: 'AWS', acceleratorCount: 16 }],
    ['inf2.xlarge', { acceleratorModel: 'Inferentia2', manufacturer: 'AWS', nvmeStorageGB: 0 }],
    ['g5g.xlarge', { architecture: 'arm64', sagemaker: false }],
  ])('%s', (name, expected) => {
    expect(CATALOG.get(name)).toMatchObject(expected);
  });

  test('NVIDIA families exclude Trainium and Inferentia', () => {
    expect(NVIDIA_GPU_FAMILIES).toEqual(expect.arrayContaining(['g4dn', 'g5', 'g6', 'g6e', 'p3', 'p4d', 'p5']));
    expect(NVIDIA_GPU_FAMILIES).not.toContain('trn1');
    expect(NVIDIA_GPU_FAMILIES).not.toContain('inf2');
  });

  test('lookup accepts EC2 and SageMaker names; metal and arm-only types are not SageMaker types', () => {
    expect(lookupInstanceType('ml.g5.2xlarge')?.name).toBe('g5.2xlarge');
    expect(lookupInstanceType('g5.2xlarge')?.name).toBe('g5.2xlarge');
    expect(lookupInstanceType('ml.g4dn.metal')).toBeUndefined();
    expect(lookupInstanceType('g4dn.metal')?.acceleratorCount).toBe(8);
    expect(lookupInstanceType('ml.g5g.xlarge')).toBeUndefined();
    expect(lookupInstanceType('ml.m5.xlarge')).toBeUndefined();
    expect(lookupInstanceType('not a type')).toBeUndefined();
    expect(parseInstanceType('ml.p4de.24xlarge')).toEqual({ family: 'p4de', size: '24xlarge', sagemaker: true });
    expect(isKnownFamily('g5')).toBe(true);
    expect(isKnownFamily('m5')).toBe(false);
  });
});

describe('GpuInstanceType', () => {
  test('constants carry their catalogued facts', () => {
    expect(GpuInstanceType.ML_G5_2XLARGE.name).toBe('ml.g5.2xlarge');
    expect(GpuInstanceType.ML_G5_2XLARGE.info).toEqual({
      acceleratorModel: 'A10G',
      manufacturer: AcceleratorManufacturer.NVIDIA,
      acceleratorCount: 1,
      acceleratorMemoryGiB: 24,
      vcpus: 8,
      memoryGiB: 32,
      nvmeStorageGB: 450,
      architecture: CpuArchitecture.X86_64,
    });
    expect(GpuInstanceType.ML_TRN1_32XLARGE.info?.manufacturer).toBe(AcceleratorManufacturer.AWS);
    expect(`${GpuInstanceType.ML_P5_48XLARGE}`).toBe('ml.p5.48xlarge');
  });

  test('of(): unlisted types have no facts; tokens neither', () => {
    expect(GpuInstanceType.of('ml.g7.2xlarge').info).toBeUndefined();
    expect(GpuInstanceType.of(new Stack().resolve('ml.g5.xlarge')).info?.acceleratorCount).toBe(1);
    expect(GpuInstanceType.of(new Stack().region).info).toBeUndefined();
  });

  test('there is a constant for every SageMaker type in the catalog, named after its own value', () => {
    const constants = Object.entries(GpuInstanceType).filter(([, v]) => v instanceof GpuInstanceType) as Array<[string, GpuInstanceType]>;
    const sagemakerTypes = [...CATALOG.values()].filter(e => e.sagemaker).map(e => `ml.${e.name}`);
    expect(constants.map(([, v]) => v.name).sort()).toEqual(sagemakerTypes.sort());
    for (const [key, value] of constants) {
      expect(key).toBe(value.name.toUpperCase().replace(/\./g, '_'));
    }
  });

  test("each constant's doc comment states its own value (no copy-paste slips)", () => {
    const source = fs.readFileSync(path.join(__dirname, '..', '..', 'src', 'core', 'gpu-instance-type.ts'), 'utf8');
    const pairs = [...source.matchAll(/\/\*\* `(ml\.[a-z0-9.]+)`: (.*?)\. \*\/\n\s+public static readonly (\w+) = new GpuInstanceType\('([^']+)'\);/g)];
    expect(pairs.length).toBeGreaterThan(40);
    for (const [, documented, facts, , value] of pairs) {
      expect(documented).toBe(value);
      const e = lookupInstanceType(value)!;
      expect(facts).toContain(`${e.acceleratorCount} × `);
      expect(facts).toContain(`${e.vcpus} vCPU`);
    }
  });
});
