import { Baseline, BaselineBuilder, NumericFeatureBaseline } from '../../../src/core/baseline';
import {
  CategoricalFeatureDrift, DriftEngine, DriftEngineOptions, ksAgainstSketch, ksAsymptoticPValue, NumericFeatureDrift,
} from '../../../src/monitoring/drift/engine';
import { binCounts, ksTwoSample } from '../../../src/monitoring/drift/statistics';

/** mulberry32 test-data generator (independent of the library's copy). */
function mulberry32(seed: number): () => number {
  let state = seed;
  return () => {
    /* eslint-disable no-bitwise -- mulberry32 is defined in terms of 32-bit integer bit operations */
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    /* eslint-enable no-bitwise */
  };
}

/** Standard normal values via Box-Muller. */
function normals(n: number, seed: number, mean = 0, sd = 1): number[] {
  const rand = mulberry32(seed);
  const out: number[] = [];
  while (out.length < n) {
    const u = 1 - rand();
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    out.push(mean + sd * r * Math.cos(2 * Math.PI * v), mean + sd * r * Math.sin(2 * Math.PI * v));
  }
  return out.slice(0, n);
}

/** Categories drawn with the given probabilities. */
function categories(n: number, seed: number, probs: Record<string, number>): string[] {
  const rand = mulberry32(seed);
  const entries = Object.entries(probs);
  return Array.from({ length: n }, () => {
    let u = rand();
    for (const [k, p] of entries) {
      if (u < p) { return k; }
      u -= p;
    }
    return entries[entries.length - 1][0];
  });
}

const FIXED = new Date('2024-05-01T12:00:00.000Z');
const BASE_X = normals(5000, 1);
const BASE_C = categories(5000, 2, { a: 0.5, b: 0.3, c: 0.2 });
const BASELINE: Baseline = (() => {
  const b = new BaselineBuilder({ now: () => FIXED });
  BASE_X.forEach((x, i) => b.add({ x, c: BASE_C[i] }));
  return JSON.parse(JSON.stringify(b.build()));
})();

function run(records: Array<Record<string, unknown>>, options?: DriftEngineOptions, baseline = BASELINE) {
  const engine = new DriftEngine(baseline, options);
  records.forEach(r => engine.add(r));
  return engine.result();
}
const numeric = (r: ReturnType<typeof run>, name: string) => r.features[name] as NumericFeatureDrift;
const categorical = (r: ReturnType<typeof run>, name: string) => r.features[name] as CategoricalFeatureDrift;
const SKETCH_BOUND = 1 / 1000 + 1e-9;

describe('DriftEngine: numeric features', () => {
  test('identical data: PSI 0, bins equal the baseline histogram, KS within the sketch bound of 0', () => {
    const report = run(BASE_X.map((x, i) => ({ x, c: BASE_C[i] })));
    const x = numeric(report, 'x');
    expect(x.binCounts).toEqual((BASELINE.features.x as NumericFeatureBaseline).histogram.counts);
    expect(x.psi).toBeCloseTo(0, 12);
    expect(x.jsDistance).toBeCloseTo(0, 6);
    expect(x.ks!.method).toBe('exact-values-vs-sketch');
    expect(x.ks!.statistic).toBeLessThanOrEqual(SKETCH_BOUND);
    expect(x.ks!.pValue).toBeGreaterThan(0.99);
    expect(report).toMatchObject({
      format: 'cdk-ml-platform/drift-report', version: 1, recordCount: 5000, malformedRecords: 0, driftedFeatures: [], unknownFeatures: {},
    });
    expect(report.overallDriftScore).toBeCloseTo(0, 12);
  });

  test('another sample of the same distribution: small PSI and KS; shifted data: PSI and KS grow', () => {
    const same = numeric(run(normals(4000, 7).map(x => ({ x }))), 'x');
    expect(same.psi!).toBeLessThan(0.02);
    expect(same.ks!.pValue).toBeGreaterThan(0.01);
    let previous = same;
    for (const shift of [0.25, 0.5, 1]) {
      const report = run(normals(4000, 7, shift).map(x => ({ x })));
      const shifted = numeric(report, 'x');
      expect(shifted.psi!).toBeGreaterThan(previous.psi!);
      expect(shifted.ks!.statistic).toBeGreaterThan(previous.ks!.statistic);
      expect(shifted.ks!.pValue).toBeLessThan(1e-6);
      expect(report.overallDriftScore).toBe(Math.max(shifted.psi!, categorical(report, 'c').psi ?? 0));
      previous = shifted;
    }
    expect(previous.psi!).toBeGreaterThan(0.2);
    expect(run(normals(4000, 7, 1).map(x => ({ x }))).driftedFeatures).toEqual(['x']);
  });

  test('KS against the sketch agrees with ksTwoSample on the exact values within 1/1000 (sketch of the same data)', () => {
    for (const [seed, shift, sd, n] of [[11, 0, 1, 3000], [12, 0.1, 1, 800], [13, 0.3, 1.5, 5000], [14, -1, 0.5, 50], [15, 0, 1, 1]]) {
      const current = normals(n, seed, shift, sd);
      const x = numeric(run(current.map(v => ({ x: v }))), 'x');
      const exact = ksTwoSample(BASE_X, current);
      expect(Math.abs(x.ks!.statistic - exact.statistic)).toBeLessThanOrEqual(SKETCH_BOUND);
      expect(x.ks!.pValue).toBe(ksAsymptoticPValue(x.ks!.statistic, 5000, n));
    }
  });

  test('sampled path beyond exactKsThreshold: deterministic per seed and within the stated bound', () => {
    const current = normals(6000, 21, 0.2);
    const records = current.map(x => ({ x }));
    const a = numeric(run(records, { exactKsThreshold: 1000 }), 'x');
    const again = numeric(run(records, { exactKsThreshold: 1000 }), 'x');
    const other = numeric(run(records, { exactKsThreshold: 1000, seed: 7 }), 'x');
    const full = numeric(run(records), 'x');
    expect(a.ks!.method).toBe('sampled-values-vs-sketch');
    expect(full.ks!.method).toBe('exact-values-vs-sketch');
    expect(again).toEqual(a);
    expect(other.ks!.statistic).not.toBe(a.ks!.statistic);
    // bins, PSI and counts stay exact; only KS is sampled
    expect(a.binCounts).toEqual(full.binCounts);
    expect(a.psi).toBe(full.psi);
    // p-value uses the full current count
    expect(a.ks!.pValue).toBe(ksAsymptoticPValue(a.ks!.statistic, 5000, 6000));
    // sketch bound + DKW bound for a reservoir of 1000 at alpha = 1e-6
    const dkw = Math.sqrt(Math.log(2 / 1e-6) / (2 * 1000));
    const exact = ksTwoSample(BASE_X, current).statistic;
    expect(Math.abs(a.ks!.statistic - exact)).toBeLessThanOrEqual(SKETCH_BOUND + dkw);
    expect(Math.abs(other.ks!.statistic - exact)).toBeLessThanOrEqual(SKETCH_BOUND + dkw);
    expect(Math.abs(full.ks!.statistic - exact)).toBeLessThanOrEqual(SKETCH_BOUND);
  });

  test('bins match binCounts, with open-ended outer bins', () => {
    const current = [...normals(500, 3, 0, 3), -100, 100, BASE_X[0]];
    const x = numeric(run(current.map(v => ({ x: v }))), 'x');
    expect(x.binCounts).toEqual(binCounts(current, (BASELINE.features.x as NumericFeatureBaseline).histogram.edges));
  });

  test('missing, NaN, infinite, non-numeric and odd values are counted as missing and never throw', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const report = run([
      { x: 1 }, { x: '2.5' }, { x: NaN }, { x: Infinity }, { x: null }, { x: 'NA' }, { x: '' }, {}, { x: 'abc' }, { x: true },
      { x: circular }, { x: Symbol('s') }, { x: () => 1 }, { x: BigInt(3) },
    ]);
    const x = numeric(report, 'x');
    expect(report.recordCount).toBe(14);
    expect(x).toMatchObject({ count: 2, missing: 12, nonNumeric: 5, missingRate: 12 / 14 });
  });

  test('a baseline without a sketch (older version 1) gets no KS; a feature never seen has missingRate 1', () => {
    const old = JSON.parse(JSON.stringify(BASELINE));
    delete old.features.x.sketch;
    const withValues = numeric(run([{ x: 0.1 }, { x: 0.2 }], {}, old), 'x');
    expect(withValues.ks).toBeNull();
    expect(withValues.psi).not.toBeNull();
    const report = run([{ other: 1 }, { other: 2 }]);
    expect(numeric(report, 'x')).toMatchObject({ count: 0, missing: 2, missingRate: 1, psi: null, jsDistance: null, ks: null });
    expect(categorical(report, 'c')).toMatchObject({ count: 0, missingRate: 1, psi: null, chiSquare: null, newCategoryRate: 0 });
    expect(report.overallDriftScore).toBe(0);
  });
});

describe('DriftEngine: categorical features', () => {
  test('same distribution: chi-square not significant; shifted: detected by chi-square and PSI', () => {
    const same = categorical(run(categories(3000, 5, { a: 0.5, b: 0.3, c: 0.2 }).map(c => ({ c }))), 'c');
    expect(same.chiSquare!.pValue).toBeGreaterThan(0.01);
    expect(same.chiSquare!.dof).toBe(2);
    expect(same.psi!).toBeLessThan(0.02);
    const report = run(categories(3000, 5, { a: 0.2, b: 0.3, c: 0.5 }).map(c => ({ c })));
    const shifted = categorical(report, 'c');
    expect(shifted.chiSquare!.pValue).toBeLessThan(1e-12);
    expect(shifted.psi!).toBeGreaterThan(0.2);
    expect(shifted.jsDistance!).toBeGreaterThan(same.jsDistance!);
    expect(report.driftedFeatures).toEqual(['c']);
  });

  test('new categories, numbers as category keys, and the other column', () => {
    const report = run([{ c: 'a' }, { c: 'd' }, { c: 'd' }, { c: 7 }, { c: null }]);
    const c = categorical(report, 'c');
    expect(c).toMatchObject({ count: 4, missing: 1, missingRate: 0.2, newCategoryRate: 0.75, distinct: 3, overflowCount: 0 });
    // columns a, b, c, d, 7 and other (both 0, dropped): dof 4
    expect(c.chiSquare!.dof).toBe(4);
  });
});

describe('DriftEngine: records and report', () => {
  test('unknown features, malformed records and the psiAlarm option', () => {
    const engine = new DriftEngine(BASELINE, { psiAlarm: 0 });
    engine.add({ x: 0, extra: 'e', blank: '' });
    engine.add({ x: 0.5, extra: 3 });
    engine.add(null as unknown as Record<string, unknown>);
    engine.add([1] as unknown as Record<string, unknown>);
    engine.addMalformed();
    const report = engine.result();
    expect(engine.recordCount).toBe(2);
    expect(report.recordCount).toBe(2);
    expect(report.malformedRecords).toBe(3);
    expect(report.unknownFeatures).toEqual({ extra: 2 });
    expect(report.driftedFeatures).toEqual(['x']); // psiAlarm 0: any feature with a PSI
  });

  test('beginRecord() and addField() per own key, in Object.keys order, are add()', () => {
    const rand = mulberry32(21);
    const values: unknown[] = [0, -0, 1.5, -2, NaN, Infinity, 1e300, 'a', 'b', 'NaN', ' 1.5 ', '', null, undefined, true, false, { o: 1 }, [1, 2], 7n];
    const names = ['x', 'c', 'extra', 'other', '__proto__', '0'];
    const records = Array.from({ length: 3_000 }, () => {
      const record: Record<string, unknown> = {};
      for (const name of names) {
        const value = values[Math.floor(rand() * values.length)];
        if (rand() < 0.7) { Object.defineProperty(record, name, { value, enumerable: true, writable: true }); } // also an own __proto__
      }
      return record;
    });
    const options = { exactKsThreshold: 100, seed: 3 };
    const byRecord = new DriftEngine(BASELINE, options);
    const byField = new DriftEngine(BASELINE, options);
    for (const record of records) {
      byRecord.add(record);
      byField.beginRecord();
      for (const name of Object.keys(record)) { byField.addField(name, record[name]); }
    }
    expect(byField.result()).toEqual(byRecord.result());
    expect(byField.recordCount).toBe(3_000);
  });

  test('rejects bad options and bad baseline edges', () => {
    expect(() => new DriftEngine(BASELINE, { psiAlarm: -1, exactKsThreshold: 0, seed: 0.5 })).toThrow(
      'Invalid DriftEngine options: psiAlarm must be a non-negative number, got -1; exactKsThreshold must be a positive integer, got 0; ' +
      'seed must be an integer, got 0.5');
    const bad = JSON.parse(JSON.stringify(BASELINE));
    bad.features.x.histogram.edges[3] = 100;
    expect(() => new DriftEngine(bad)).toThrow(/edges must be sorted/);
  });
});

describe('ksAsymptoticPValue and ksAgainstSketch', () => {
  test('same p-value as ksTwoSample for the same statistic and sample sizes', () => {
    const cases: Array<[number, number, number, number]> = [
      [1, 1, 0, 0], [5, 3, 0.5, 1], [20, 30, 0.3, 2], [100, 120, 0.1, 3], [400, 500, 0.05, 4],
      [2000, 3000, 0.02, 5], [50, 5000, 0.3, 6], [8, 9, 3, 7],
    ];
    for (const [n, m, shift, seed] of cases) {
      const a = normals(n, seed);
      const b = normals(m, seed + 100, shift);
      const exact = ksTwoSample(a, b);
      expect(ksAsymptoticPValue(exact.statistic, n, m)).toBe(exact.pValue);
      expect(ksAsymptoticPValue(exact.statistic, m, n)).toBe(exact.pValue);
    }
    expect(() => ksAsymptoticPValue(1.5, 1, 1)).toThrow('d must be between 0 and 1, got 1.5');
    expect(() => ksAsymptoticPValue(0.5, 0, 1)).toThrow('sample sizes must be positive integers, got n=0, m=1');
  });

  test('piecewise-linear sketch CDF: hand-computed values, repeated sketch points and the ends', () => {
    // F_base: linear from (0, 0) to (1, 0.5) to (3, 1)
    expect(ksAgainstSketch([0.5], [0, 1, 3])).toBeCloseTo(0.75, 12); // before: |0.25 - 0|, at: |0.25 - 1|
    expect(ksAgainstSketch([-1, 4], [0, 1, 3])).toBeCloseTo(0.5, 12);
    expect(ksAgainstSketch([2, 2], [0, 1, 3])).toBeCloseTo(0.75, 12);
    // a jump of F_base at 1 (repeated point): F_base(1-) = 0, F_base(1) = 2/3
    expect(ksAgainstSketch([1], [1, 1, 1, 2])).toBeCloseTo(1 / 3, 12);
    expect(() => ksAgainstSketch([], [0, 1])).toThrow('needs at least one value');
    expect(() => ksAgainstSketch([1], [0])).toThrow('needs a sketch of at least 2 points');
  });
});
