import { spawnSync } from 'child_process';
import {
  Baseline, BaselineBuilder, classifyValue, CategoricalFeatureBaseline, DECILE_PROBABILITIES, MAX_REPORTED_CATEGORIES, MAX_TRACKED_DISTINCT,
  NumericFeatureBaseline, parseBaseline, quantile,
} from '../../src/core/baseline';

const FIXED = new Date('2024-05-01T12:00:00.000Z');
const builder = (options: { maxSamplesPerFeature?: number; seed?: number } = {}) => new BaselineBuilder({ ...options, now: () => FIXED });
const numeric = (b: Baseline, name: string) => b.features[name] as NumericFeatureBaseline;
const categorical = (b: Baseline, name: string) => b.features[name] as CategoricalFeatureBaseline;

/** Deterministic pseudo-random numbers for test data (a different generator than the builder's). */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
}

function build(records: Array<Record<string, unknown>>, options = {}): Baseline {
  const b = builder(options);
  records.forEach(r => b.add(r));
  return b.build();
}

describe('quantile (numpy linear interpolation)', () => {
  test('deciles of 1..10 match np.quantile bit for bit', () => {
    const values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    // np.quantile(np.arange(1, 11, dtype=float), [0.1, ..., 0.9]).tolist()
    expect(DECILE_PROBABILITIES.map(p => quantile(values, p)))
      .toEqual([1.9, 2.8, 3.6999999999999997, 4.6, 5.5, 6.3999999999999995, 7.3, 8.2, 9.1]);
  });

  test('unevenly spaced values, a single value and the ends', () => {
    // np.quantile([-1.5, 0, 2, 3, 7.25], [0.1, ..., 0.9]).tolist()
    expect(DECILE_PROBABILITIES.map(p => quantile([-1.5, 0, 2, 3, 7.25], p))).toEqual([
      -0.8999999999999999, -0.29999999999999993, 0.3999999999999999, 1.2000000000000002, 2.0, 2.4, 2.8, 3.8500000000000005, 5.550000000000001,
    ]);
    expect(DECILE_PROBABILITIES.map(p => quantile([5], p))).toEqual(Array(9).fill(5));
    expect([0, 0.25, 0.5, 1].map(p => quantile([1, 2], p))).toEqual([1, 1.25, 1.5, 2]);
  });

  test('rejects an empty array and probabilities outside [0, 1]', () => {
    expect(() => quantile([], 0.5)).toThrow('quantile() needs at least one value, got an empty array');
    expect(() => quantile([1], 1.5)).toThrow('quantile() probability must be between 0 and 1, got 1.5');
    expect(() => quantile([1], NaN)).toThrow('probability must be between 0 and 1, got NaN');
  });
});

describe('BaselineBuilder: numeric features', () => {
  test('exact statistics, deciles and histogram for 1..10', () => {
    // GIVEN JSON numbers and CSV-style numeric strings
    const records = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((x, i) => ({ x: i % 2 === 0 ? x : String(x) }));
    // WHEN
    const b = build(records);
    // THEN mean 5.5, population variance (n^2 - 1) / 12 = 8.25
    expect(numeric(b, 'x')).toEqual({
      kind: 'numeric',
      count: 10,
      missing: 0,
      min: 1,
      max: 10,
      mean: 5.5,
      std: Math.sqrt(8.25),
      quantiles: {
        probabilities: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
        values: [1.9, 2.8, 3.6999999999999997, 4.6, 5.5, 6.3999999999999995, 7.3, 8.2, 9.1],
      },
      // (1, 1.9] holds 1 (the minimum goes in the first bin), (1.9, 2.8] holds 2, ... (9.1, 10] holds 10
      histogram: { edges: [1, 1.9, 2.8, 3.6999999999999997, 4.6, 5.5, 6.3999999999999995, 7.3, 8.2, 9.1, 10], counts: Array(10).fill(1) },
      sketch: { size: 10, quantiles: Array.from({ length: 1001 }, (_, i) => quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], i / 1000)) },
    });
    expect(b.sampling).toEqual({ maxSamplesPerFeature: 100_000, seed: 42, sampled: false });
  });

  test('hand-computed statistics for a small sample', () => {
    const b = build([{ v: 2 }, { v: 4 }, { v: 4 }, { v: 4 }, { v: 5 }, { v: 5 }, { v: 7 }, { v: 9 }]);
    const v = numeric(b, 'v');
    expect(v.mean).toBe(5);
    expect(v.std).toBe(2); // the classic population-std example
    expect([v.min, v.max, v.count]).toEqual([2, 9, 8]);
    expect(v.histogram.counts.reduce((a, c) => a + c, 0)).toBe(8);
  });

  test('values equal to repeated edges go to the first bin whose upper edge is >= the value', () => {
    const b = build([0, 0, 0, 0, 0, 0, 0, 0, 1, 2].map(x => ({ x })));
    const x = numeric(b, 'x');
    // deciles 0 x 8, then 0.1 and 1.2: edges [0, 0, 0, 0, 0, 0, 0, 0, 0.1.., 1.1.., 2]
    expect(x.histogram.edges.slice(0, 8)).toEqual(Array(8).fill(0));
    expect(x.histogram.counts).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
  });

  test('missing values: absent, null, blank, NA tokens, NaN and infinities', () => {
    const b = build([
      { x: 1, y: 'a' }, { x: null }, { x: '' }, { x: '  ' }, { x: 'NA' }, { x: 'nan' }, { x: NaN }, { x: Infinity }, { x: '-inf' },
      { x: 3 }, { y: 'b' },
    ]);
    expect(b.recordCount).toBe(11);
    expect(numeric(b, 'x')).toMatchObject({ kind: 'numeric', count: 2, missing: 9, min: 1, max: 3, mean: 2, std: 1 });
    // a feature first seen in the first record counts every record without it as missing
    expect(categorical(b, 'y')).toMatchObject({ count: 2, missing: 9 });
  });

  test('a feature first seen late counts earlier records as missing', () => {
    const b = build([{ a: 1 }, { a: 2 }, { a: 3, late: 10 }]);
    expect(numeric(b, 'late')).toMatchObject({ count: 1, missing: 2, min: 10, max: 10, mean: 10, std: 0 });
  });

  test('numeric strings with signs, exponents and surrounding spaces are numbers', () => {
    const b = build([{ x: '-1.5' }, { x: ' +2e3 ' }, { x: '.5' }, { x: '3.' }]);
    expect(numeric(b, 'x')).toMatchObject({ kind: 'numeric', count: 4, min: -1.5, max: 2000 });
  });

  test('mean and std stay accurate for large offsets (Welford)', () => {
    const b = build([1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16].map(x => ({ x })));
    const x = numeric(b, 'x');
    expect(x.mean).toBe(1e9 + 10);
    expect(x.std).toBeCloseTo(Math.sqrt(22.5), 9);
  });
});

describe('BaselineBuilder: categorical features', () => {
  test('counts values; booleans are categorical', () => {
    const b = build([{ c: 'red', ok: true }, { c: 'blue', ok: false }, { c: 'red', ok: true }, { c: null, ok: true }]);
    expect(categorical(b, 'c')).toEqual({ kind: 'categorical', count: 3, missing: 1, categories: { red: 2, blue: 1 }, otherCount: 0, distinct: 2 });
    expect(categorical(b, 'ok')).toEqual({ kind: 'categorical', count: 4, missing: 0, categories: { true: 3, false: 1 }, otherCount: 0, distinct: 2 });
  });

  test('one non-numeric value makes a feature categorical, also when it comes last; numbers keep their text', () => {
    const b = build([{ zip: '02134' }, { zip: 2134 }, { zip: '10001' }, { zip: '02134' }, { zip: 'SW1A' }]);
    expect(categorical(b, 'zip')).toEqual({
      kind: 'categorical', count: 5, missing: 0, categories: { '02134': 2, '2134': 1, '10001': 1, 'SW1A': 1 }, otherCount: 0, distinct: 4,
    });
  });

  test('reports the top 1000 by count (ties by value) and counts the rest as other', () => {
    const b = builder();
    // v0000 appears 3 times, v0001..v1499 once each (1500 distinct, 1502 values)
    for (let i = 0; i < 1500; i++) { b.add({ c: `v${String(i).padStart(4, '0')}` }); }
    b.add({ c: 'v0000' });
    b.add({ c: 'v0000' });
    const c = categorical(b.build(), 'c');
    expect(Object.keys(c.categories)).toHaveLength(MAX_REPORTED_CATEGORIES);
    expect(c.categories.v0000).toBe(3);
    expect(c.categories.v0999).toBe(1);
    expect(c.categories.v1000).toBeUndefined(); // tie at count 1, 'v1000' sorts after 'v0001'..'v0999'
    expect(c).toMatchObject({ count: 1502, otherCount: 500, distinct: 1500 });
    expect(Object.values(c.categories).reduce((a, n) => a + n, 0) + c.otherCount).toBe(c.count);
  });

  test(`stops tracking new values after ${MAX_TRACKED_DISTINCT} distinct ones and counts them as other`, () => {
    const b = builder();
    for (let i = 0; i < MAX_TRACKED_DISTINCT + 10; i++) { b.add({ id: `id-${i}` }); }
    b.add({ id: 'id-0' });
    const id = categorical(b.build(), 'id');
    expect(id).toMatchObject({ count: MAX_TRACKED_DISTINCT + 11, distinct: MAX_TRACKED_DISTINCT });
    expect(id.categories['id-0']).toBe(2);
    expect(id.otherCount).toBe(MAX_TRACKED_DISTINCT + 11 - 1000 - 1);
  });

  test('a feature that is always missing is categorical with no values; "__proto__" is an ordinary name and value', () => {
    const b = build([{ gone: null, ['__proto__']: '__proto__' }, { gone: '' }]);
    expect(categorical(b, 'gone')).toEqual({ kind: 'categorical', count: 0, missing: 2, categories: {}, otherCount: 0, distinct: 0 });
    expect(Object.keys(b.features)).toEqual(['__proto__', 'gone']);
    expect(Object.prototype.hasOwnProperty.call(categorical(b, '__proto__').categories, '__proto__')).toBe(true);
  });

  test('objects and arrays are categorical as JSON', () => {
    const b = build([{ tags: ['a', 'b'] }, { tags: { k: 1 } }]);
    expect(categorical(b, 'tags').categories).toEqual({ '["a","b"]': 1, '{"k":1}': 1 });
  });
});

describe('BaselineBuilder: sampling', () => {
  const values = (n: number, seed: number) => {
    const random = lcg(seed);
    return Array.from({ length: n }, () => Math.round(random() * 1_000_000) / 1000);
  };

  test('beyond maxSamplesPerFeature: exact count/min/max/mean, sampled deciles, counts scaled to the full count', () => {
    const data = values(5000, 7);
    const b = build(data.map(x => ({ x })), { maxSamplesPerFeature: 500, seed: 3 });
    const x = numeric(b, 'x');
    expect(b.sampling).toEqual({ maxSamplesPerFeature: 500, seed: 3, sampled: true });
    expect(x.count).toBe(5000);
    expect(x.min).toBe(Math.min(...data));
    expect(x.max).toBe(Math.max(...data));
    expect(x.mean).toBeCloseTo(data.reduce((a, v) => a + v, 0) / data.length, 9);
    expect(x.histogram.counts.reduce((a, c) => a + c, 0)).toBe(5000);
    expect(x.histogram.counts.every(c => Number.isInteger(c) && c >= 0)).toBe(true);
    expect(x.histogram.edges[0]).toBe(x.min);
    expect(x.histogram.edges[10]).toBe(x.max);
    // a uniform sample of 500 from uniform(0, 1000): the median is near 500
    expect(x.quantiles.values[4]).toBeGreaterThan(400);
    expect(x.quantiles.values[4]).toBeLessThan(600);
    // the sampled histogram puts roughly a tenth of the values in each decile bin
    x.histogram.counts.forEach(c => expect(Math.abs(c - 500)).toBeLessThan(60));
  });

  test('the same seed gives the same baseline; another seed another sample', () => {
    const records = values(3000, 11).map(x => ({ x, y: x * 2 }));
    const a = build(records, { maxSamplesPerFeature: 100, seed: 1 });
    const again = build(records, { maxSamplesPerFeature: 100, seed: 1 });
    const other = build(records, { maxSamplesPerFeature: 100, seed: 2 });
    expect(JSON.stringify(again)).toBe(JSON.stringify(a));
    expect(numeric(other, 'x').quantiles.values).not.toEqual(numeric(a, 'x').quantiles.values);
    // each feature has its own stream: y is not simply x's sample doubled
    expect(numeric(a, 'y').quantiles.values).not.toEqual(numeric(a, 'x').quantiles.values.map(v => v * 2));
  });

  test('at exactly maxSamplesPerFeature values the sample is every value and nothing is sampled', () => {
    const data = values(200, 5);
    const b = build(data.map(x => ({ x })), { maxSamplesPerFeature: 200 });
    const sorted = [...data].sort((p, q) => p - q);
    expect(b.sampling.sampled).toBe(false);
    expect(numeric(b, 'x').quantiles.values).toEqual(DECILE_PROBABILITIES.map(p => quantile(sorted, p)));
  });
});

describe('BaselineBuilder: numpy cross-check', () => {
  test('exact path agrees with numpy on seeded random data (1e-9)', () => {
    const random = lcg(2024);
    const data = Array.from({ length: 2000 }, (_, i) => (random() - 0.3) * 10 ** (i % 5) + (i % 17 === 0 ? 250 : 0));
    const b = build(data.map(x => ({ x })));
    const x = numeric(b, 'x');
    const script = [
      'import json, sys', 'import numpy as np',
      'data = json.load(sys.stdin); v = np.array(data["values"], dtype=float); edges = np.array(data["edges"], dtype=float)',
      'q = np.quantile(v, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])',
      'idx = np.searchsorted(edges[1:], v, side="left")',
      'print(json.dumps({"mean": float(v.mean()), "std": float(v.std()), "min": float(v.min()), "max": float(v.max()),',
      '  "q": q.tolist(), "counts": np.bincount(idx, minlength=10).tolist()}))',
    ].join('\n');
    const run = spawnSync('python3', ['-c', script], { input: JSON.stringify({ values: data, edges: x.histogram.edges }), encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const np = JSON.parse(run.stdout);
    const close = (a: number, e: number) => expect(Math.abs(a - e)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(e)));
    close(x.mean, np.mean);
    close(x.std, np.std);
    expect([x.min, x.max]).toEqual([np.min, np.max]);
    x.quantiles.values.forEach((v, i) => close(v, np.q[i]));
    expect(x.histogram.counts).toEqual(np.counts);
  });
});

describe('BaselineBuilder: document', () => {
  test('format, version, createdAt, dataset and feature order', () => {
    const b = builder();
    b.add({ zeta: 1, alpha: 'a' });
    expect(b.build({ manifestUri: 's3://lake/snap/manifest.json', manifestSha256: 'ab'.repeat(32) })).toEqual({
      format: 'cdk-ml-platform/baseline',
      version: 1,
      createdAt: '2024-05-01T12:00:00.000Z',
      recordCount: 1,
      dataset: { manifestUri: 's3://lake/snap/manifest.json', manifestSha256: 'ab'.repeat(32) },
      sampling: { maxSamplesPerFeature: 100_000, seed: 42, sampled: false },
      features: {
        alpha: { kind: 'categorical', count: 1, missing: 0, categories: { a: 1 }, otherCount: 0, distinct: 1 },
        zeta: {
          kind: 'numeric',
          count: 1,
          missing: 0,
          min: 1,
          max: 1,
          mean: 1,
          std: 0,
          quantiles: { probabilities: [...DECILE_PROBABILITIES], values: Array(9).fill(1) },
          histogram: { edges: Array(11).fill(1), counts: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
          sketch: { size: 1, quantiles: Array(1001).fill(1) },
        },
      },
    });
    expect(Object.keys(b.build().features)).toEqual(['alpha', 'zeta']);
    expect(b.build().dataset).toEqual({});
  });

  test('rejects bad options and non-object records', () => {
    expect(() => new BaselineBuilder({ maxSamplesPerFeature: 0, seed: 1.5 }))
      .toThrow('Invalid BaselineBuilder options: maxSamplesPerFeature must be a positive integer, got 0; seed must be an integer, got 1.5');
    expect(() => builder().add([1, 2] as unknown as Record<string, unknown>)).toThrow('BaselineBuilder.add() takes an object of feature values, got an array');
    expect(() => builder().add(null as unknown as Record<string, unknown>)).toThrow('got null');
  });
});

describe('parseBaseline', () => {
  const valid = () => {
    const b = builder();
    [1, 2, 3].forEach(x => b.add({ x, c: `k${x}` }));
    return JSON.parse(JSON.stringify(b.build({ manifestUri: 's3://b/m.json' })));
  };

  test('round-trips a built baseline, from an object or JSON text', () => {
    const doc = valid();
    expect(parseBaseline(doc)).toEqual(doc);
    expect(parseBaseline(JSON.stringify(doc))).toEqual(doc);
  });

  test('rejects another format, another version and non-objects', () => {
    expect(() => parseBaseline({ ...valid(), format: 'something/else' }))
      .toThrow('Not a baseline: format is "something/else", expected \'cdk-ml-platform/baseline\'');
    expect(() => parseBaseline({ ...valid(), version: 2 }))
      .toThrow(/^Unsupported baseline version 2: this version of cdk-ml-platform reads version 1; rebuild the baseline or upgrade cdk-ml-platform$/);
    expect(() => parseBaseline(null)).toThrow("Baseline must be a JSON object with format 'cdk-ml-platform/baseline', got null");
    expect(() => parseBaseline([])).toThrow('got an array');
    expect(() => parseBaseline('{not json')).toThrow(/^Baseline is not valid JSON: /);
  });

  test('lists every malformed field in one error', () => {
    const doc = valid();
    doc.recordCount = -1;
    doc.features.x.histogram.counts = [1, 2];
    doc.features.c.kind = 'text';
    doc.features.extra = { kind: 'categorical', count: 1, missing: 0, categories: { a: 'one' }, otherCount: 0, distinct: 1 };
    expect(() => parseBaseline(doc)).toThrow(
      'Invalid baseline: recordCount must be a non-negative integer, got -1; ' +
      "features['c'].kind must be 'numeric' or 'categorical', got \"text\"; " +
      "features['x'].histogram must have 11 edges and 10 non-negative integer counts; " +
      "features['extra'].categories must be an object of non-negative integer counts");
  });
});

describe('BaselineBuilder: quantile sketch', () => {
  test('1001 numpy-linear quantiles of the exact values; size is the value count', () => {
    const random = lcg(99);
    const data = Array.from({ length: 3000 }, () => random() * 50 - 10);
    const x = numeric(build(data.map(v => ({ x: v }))), 'x');
    const sorted = [...data].sort((p, q) => p - q);
    expect(x.sketch!.size).toBe(3000);
    expect(x.sketch!.quantiles).toHaveLength(1001);
    expect(x.sketch!.quantiles[0]).toBe(x.min);
    expect(x.sketch!.quantiles[1000]).toBe(x.max);
    expect(x.sketch!.quantiles[500]).toBe(quantile(sorted, 0.5));
    expect(x.sketch!.quantiles[123]).toBe(quantile(sorted, 0.123));
    // the deciles are points of the sketch
    DECILE_PROBABILITIES.forEach((p, i) => expect(x.sketch!.quantiles[Math.round(p * 1000)]).toBe(x.quantiles.values[i]));
    x.sketch!.quantiles.forEach((v, i, a) => expect(i === 0 || a[i - 1] <= v).toBe(true));
  });

  test('sampled: computed from the reservoir, size is the reservoir size; categorical features have none', () => {
    const random = lcg(5);
    const b = build(Array.from({ length: 2000 }, () => ({ x: random(), c: 'a' })), { maxSamplesPerFeature: 300 });
    expect(numeric(b, 'x').sketch!.size).toBe(300);
    expect(numeric(b, 'x').sketch!.quantiles[500]).toBe(numeric(b, 'x').quantiles.values[4]);
    expect('sketch' in categorical(b, 'c')).toBe(false);
  });

  test('parseBaseline accepts a sketch, a baseline without one, and rejects a malformed one', () => {
    const b = builder();
    [1, 2, 3].forEach(x => b.add({ x }));
    const doc = JSON.parse(JSON.stringify(b.build()));
    expect(parseBaseline(doc)).toEqual(doc);
    const old = JSON.parse(JSON.stringify(doc));
    delete old.features.x.sketch;
    expect(parseBaseline(old).features.x).not.toHaveProperty('sketch');
    const message = "Invalid baseline: features['x'].sketch must be { size: integer >= 1, quantiles: 1001 finite non-decreasing numbers }";
    for (const sketch of [
      { size: 0, quantiles: doc.features.x.sketch.quantiles },
      { size: 3, quantiles: doc.features.x.sketch.quantiles.slice(1) },
      { size: 3, quantiles: [...doc.features.x.sketch.quantiles.slice(0, 1000), 0] },
      { size: 3, quantiles: [...doc.features.x.sketch.quantiles.slice(0, 1000), null] },
      { size: 1.5, quantiles: doc.features.x.sketch.quantiles },
      null,
      [],
    ]) {
      expect(() => parseBaseline({ ...doc, features: { x: { ...doc.features.x, sketch } } })).toThrow(message);
    }
  });
});

describe('classifyValue', () => {
  test('missing values, numbers and category keys as the builder reads them', () => {
    expect([undefined, null, '', ' NA ', NaN, Infinity, '-inf'].map(classifyValue)).toEqual(Array(7).fill(undefined));
    expect([1, ' 2.5 ', '-1e3'].map(classifyValue)).toEqual([1, 2.5, -1000]);
    expect([true, 'red', [1], { a: 1 }].map(classifyValue)).toEqual(['true', 'red', '[1]', '{"a":1}']);
  });
});
