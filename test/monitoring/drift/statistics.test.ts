import { spawnSync } from 'child_process';
import {
  binCounts,
  chiSquare,
  chiSquareSurvival,
  jensenShannonDistance,
  ksTwoSample,
  missingRate,
  newCategoryRate,
  psi,
} from '../../../src/monitoring/drift/statistics';

// ---------------------------------------------------------------------------
// Deterministic data generation
// ---------------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    /* eslint-disable no-bitwise -- mulberry32 is defined in terms of 32-bit integer bit operations */
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    /* eslint-enable no-bitwise */
  };
}

function normalSample(seed: number, size: number, mean = 0, sd = 1): number[] {
  const rand = mulberry32(seed);
  const out: number[] = [];
  while (out.length < size) {
    const u1 = 1 - rand(); // (0, 1]
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    out.push(mean + sd * r * Math.cos(2 * Math.PI * u2));
    if (out.length < size) {
      out.push(mean + sd * r * Math.sin(2 * Math.PI * u2));
    }
  }
  return out;
}

function categoricalCounts(seed: number, size: number, weights: number[]): number[] {
  const rand = mulberry32(seed);
  const total = weights.reduce((s, w) => s + w, 0);
  const counts = new Array<number>(weights.length).fill(0);
  for (let i = 0; i < size; i++) {
    let u = rand() * total;
    let k = 0;
    while (k < weights.length - 1 && u >= weights[k]) {
      u -= weights[k];
      k++;
    }
    counts[k]++;
  }
  return counts;
}

/** Baseline decile edges: [min, q10, ..., q90, max]. */
function quantileEdges(values: number[], bins = 10): number[] {
  const sorted = values.filter(Number.isFinite).sort((x, y) => x - y);
  const edges = [sorted[0]];
  for (let i = 1; i < bins; i++) {
    edges.push(sorted[Math.floor((i * sorted.length) / bins)]);
  }
  edges.push(sorted[sorted.length - 1]);
  return edges;
}

function withNaNs(values: number[], seed: number, rate: number): number[] {
  const rand = mulberry32(seed);
  return values.map((v) => (rand() < rate ? NaN : v));
}

// ---------------------------------------------------------------------------
// Python / scipy reference
// ---------------------------------------------------------------------------

const PYTHON_REFERENCE = `
import json, sys
import numpy as np
from scipy import stats
from scipy.spatial import distance

def arr(xs):
    return np.array([np.nan if v is None else v for v in xs], dtype=float)

def psi_ref(e, a, eps):
    e = np.asarray(e, dtype=float); a = np.asarray(a, dtype=float)
    pe = np.maximum(e / e.sum(), eps); pa = np.maximum(a / a.sum(), eps)
    return float(np.sum((pa - pe) * np.log(pa / pe)))

def chi_ref(e, a):
    t = np.array([e, a], dtype=float)
    t = t[:, t.sum(axis=0) > 0]
    if t.shape[1] < 2:
        return {'statistic': 0.0, 'pValue': 1.0, 'dof': 0}
    r = stats.chi2_contingency(t, correction=False)
    return {'statistic': float(r[0]), 'pValue': float(r[1]), 'dof': int(r[2])}

def count_metrics(e, a):
    return {
        'psi': psi_ref(e, a, 1e-6),
        'js': float(distance.jensenshannon(np.asarray(e, float), np.asarray(a, float), base=2)),
        'chi': chi_ref(e, a),
    }

data = json.load(sys.stdin)
out = {'numeric': [], 'counts': [], 'ks': [], 'chi2sf': []}
for c in data['numeric']:
    base = arr(c['baseline']); cur = arr(c['current'])
    inner = np.asarray(c['edges'][1:-1], dtype=float)
    bfin = base[np.isfinite(base)]; cfin = cur[np.isfinite(cur)]
    bc = np.bincount(np.searchsorted(inner, bfin, side='left'), minlength=len(c['edges']) - 1)
    cc = np.bincount(np.searchsorted(inner, cfin, side='left'), minlength=len(c['edges']) - 1)
    r = count_metrics(bc, cc)
    ks = stats.ks_2samp(bfin, cfin, method='asymp')
    r.update({'baselineCounts': bc.tolist(), 'currentCounts': cc.tolist(),
              'ksStatistic': float(ks.statistic), 'ksPValue': float(ks.pvalue)})
    out['numeric'].append(r)
for c in data['counts']:
    out['counts'].append(count_metrics(c['expected'], c['actual']))
for c in data['ks']:
    ks = stats.ks_2samp(np.asarray(c['a'], float), np.asarray(c['b'], float), method='asymp')
    out['ks'].append({'statistic': float(ks.statistic), 'pValue': float(ks.pvalue)})
for x, dof in data['chi2sf']:
    out['chi2sf'].append(float(stats.chi2.sf(x, dof)))
print(json.dumps(out))
`;

interface CountMetrics {
  psi: number;
  js: number;
  chi: { statistic: number; pValue: number; dof: number };
}
interface NumericRef extends CountMetrics {
  baselineCounts: number[];
  currentCounts: number[];
  ksStatistic: number;
  ksPValue: number;
}
interface Reference {
  numeric: NumericRef[];
  counts: CountMetrics[];
  ks: Array<{ statistic: number; pValue: number }>;
  chi2sf: number[];
}

function runPython(input: unknown, executable = 'python3', script = PYTHON_REFERENCE): Reference {
  const res = spawnSync(executable, ['-c', script], {
    input: JSON.stringify(input),
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
  });
  if (res.error) {
    throw new Error(`numpy/scipy reference could not be computed: failed to run ${executable} (${res.error.message}). `
      + 'python3 with numpy and scipy is required for this test suite.');
  }
  if (res.status !== 0) {
    throw new Error(`numpy/scipy reference script failed with exit code ${res.status}: ${res.stderr}`);
  }
  try {
    return JSON.parse(res.stdout) as Reference;
  } catch (e) {
    throw new Error(`numpy/scipy reference script returned invalid JSON: ${(e as Error).message}\n${res.stdout.slice(0, 500)}`);
  }
}

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

const baselineNormal = normalSample(1, 5000);
const numericCases: Array<{ name: string; baseline: number[]; current: number[]; edges: number[] }> = [];
function addNumeric(name: string, baseline: number[], current: number[]): void {
  numericCases.push({ name, baseline, current, edges: quantileEdges(baseline) });
}
addNumeric('identical sample', baselineNormal, baselineNormal.slice());
addNumeric('identical distribution', baselineNormal, normalSample(2, 4000));
addNumeric('shifted mean (+0.5 sd)', baselineNormal, normalSample(3, 3000, 0.5));
addNumeric('scaled variance (sd 1.5)', baselineNormal, normalSample(4, 3500, 0, 1.5));
addNumeric('small shift, larger current', baselineNormal, normalSample(5, 12000, 0.05));
addNumeric('NaNs in current', baselineNormal, withNaNs(normalSample(6, 3000, 0.2), 7, 0.05));
addNumeric('NaNs in both', withNaNs(normalSample(8, 2000), 9, 0.1), withNaNs(normalSample(10, 2500, -0.3, 1.2), 11, 0.2));
addNumeric('20 bins, heavy shift', normalSample(12, 1000), normalSample(13, 1000, 2));
numericCases[numericCases.length - 1].edges = quantileEdges(numericCases[numericCases.length - 1].baseline, 20);

const categoryWeights = [40, 25, 15, 10, 5, 3, 2, 0];
const countCases: Array<{ name: string; expected: number[]; actual: number[] }> = [
  {
    name: 'categorical, same distribution',
    expected: categoricalCounts(20, 8000, categoryWeights),
    actual: categoricalCounts(21, 6000, categoryWeights),
  },
  {
    name: 'categorical shift',
    expected: categoricalCounts(22, 8000, categoryWeights),
    actual: categoricalCounts(23, 6000, [20, 30, 20, 10, 10, 5, 5, 0]),
  },
  {
    name: 'categorical, new category and empty column',
    expected: [...categoricalCounts(24, 5000, [50, 30, 20]), 0, 0],
    actual: [...categoricalCounts(25, 4000, [45, 30, 20]), 0, 250],
  },
  { name: 'category missing from current', expected: [100, 50, 25, 10], actual: [120, 60, 0, 9] },
  { name: 'single non-empty column', expected: [0, 10, 0], actual: [0, 7, 0] },
  { name: 'tiny counts', expected: [1, 2, 3], actual: [3, 2, 1] },
];

// KS sample-size / shift grid covering all branches of the Kolmogorov distribution.
const ksCases: Array<{ a: number[]; b: number[] }> = [];
const ksSizes: Array<[number, number]> = [[1, 3], [7, 9], [30, 40], [100, 100], [250, 150], [1000, 1000],
  [1001, 1001], [1000, 3000], [5000, 5000], [20000, 10000]];
const ksShifts = [0, 0.05, 0.1, 0.3, 1, 3];
let ksSeed = 100;
for (const [n1, n2] of ksSizes) {
  for (const shift of ksShifts) {
    ksCases.push({ a: normalSample(ksSeed++, n1), b: normalSample(ksSeed++, n2, shift) });
  }
}
// Ties: discrete values.
ksCases.push({ a: normalSample(900, 2000).map(Math.round), b: normalSample(901, 1500, 0.1).map(Math.round) });
ksCases.push({ a: [1, 1, 2, 2, 3], b: [1, 2, 2, 3, 3, 3] });

const chi2Grid: Array<[number, number]> = [];
for (const dof of [1, 2, 3, 5, 9, 19, 50, 200]) {
  for (const x of [1e-6, 0.01, 0.5, 1, 2, 5, 10, 20, 40, 80, 150, 300]) {
    chi2Grid.push([x, dof]);
  }
}

function expectClose(actual: number, expected: number, tol: number, label: string): void {
  const err = Math.abs(actual - expected);
  if (!(err <= tol)) {
    throw new Error(`${label}: got ${actual}, expected ${expected} (|diff| = ${err} > ${tol})`);
  }
}

function expectRelClose(actual: number, expected: number, rel: number, label: string): void {
  const err = Math.abs(actual - expected) / Math.abs(expected);
  if (!(err <= rel)) {
    throw new Error(`${label}: got ${actual}, expected ${expected} (relative diff ${err} > ${rel})`);
  }
}

const ABS_TOL = 1e-9;
const CHI_P_REL_TOL = 1e-9;
const KS_P_ABS_TOL = 1e-9;

describe('drift statistics vs numpy/scipy', () => {
  let ref: Reference;

  beforeAll(() => {
    ref = runPython({
      numeric: numericCases.map((c) => ({
        baseline: c.baseline.map((v) => (Number.isFinite(v) ? v : null)),
        current: c.current.map((v) => (Number.isFinite(v) ? v : null)),
        edges: c.edges,
      })),
      counts: countCases.map((c) => ({ expected: c.expected, actual: c.actual })),
      ks: ksCases,
      chi2sf: chi2Grid,
    });
  });

  function checkCountMetrics(expected: number[], actual: number[], r: CountMetrics, label: string): void {
    expectClose(psi(expected, actual), r.psi, ABS_TOL, `${label} psi`);
    expectClose(jensenShannonDistance(expected, actual), r.js, ABS_TOL, `${label} js`);
    const chi = chiSquare(expected, actual);
    expect(chi.dof).toBe(r.chi.dof);
    expectClose(chi.statistic, r.chi.statistic, ABS_TOL, `${label} chi statistic`);
    if (r.chi.pValue > 1e-12) {
      expectRelClose(chi.pValue, r.chi.pValue, CHI_P_REL_TOL, `${label} chi p-value`);
    } else {
      expectClose(chi.pValue, r.chi.pValue, 1e-12, `${label} chi p-value`);
    }
  }

  test.each(numericCases.map((c, i) => [c.name, i] as const))('numeric case: %s', (name, i) => {
    const c = numericCases[i];
    const r = ref.numeric[i];
    const bc = binCounts(c.baseline, c.edges);
    const cc = binCounts(c.current, c.edges);
    expect(bc).toEqual(r.baselineCounts);
    expect(cc).toEqual(r.currentCounts);
    // Non-finite values are skipped.
    expect(cc.reduce((s, v) => s + v, 0)).toBe(c.current.filter(Number.isFinite).length);
    checkCountMetrics(bc, cc, r, name);
    const ks = ksTwoSample(c.baseline.filter(Number.isFinite), c.current.filter(Number.isFinite));
    expectClose(ks.statistic, r.ksStatistic, ABS_TOL, `${name} ks statistic`);
    expectClose(ks.pValue, r.ksPValue, KS_P_ABS_TOL, `${name} ks p-value`);
  });

  test.each(countCases.map((c, i) => [c.name, i] as const))('count case: %s', (name, i) => {
    const c = countCases[i];
    checkCountMetrics(c.expected, c.actual, ref.counts[i], name);
  });

  test('shifted / scaled cases are detected as drift', () => {
    const byName = (n: string) => numericCases.findIndex((c) => c.name === n);
    const same = ref.numeric[byName('identical distribution')];
    const shifted = ref.numeric[byName('shifted mean (+0.5 sd)')];
    const scaled = ref.numeric[byName('scaled variance (sd 1.5)')];
    expect(shifted.psi).toBeGreaterThan(10 * same.psi);
    expect(scaled.psi).toBeGreaterThan(10 * same.psi);
    expect(shifted.ksPValue).toBeLessThan(1e-6);
    expect(same.ksPValue).toBeGreaterThan(0.01);
  });

  test('ksTwoSample matches ks_2samp(method="asymp") over a size/shift grid', () => {
    ksCases.forEach((c, i) => {
      const got = ksTwoSample(c.a, c.b);
      const label = `ks case ${i} (n=${c.a.length}, m=${c.b.length})`;
      expectClose(got.statistic, ref.ks[i].statistic, ABS_TOL, `${label} statistic`);
      expectClose(got.pValue, ref.ks[i].pValue, KS_P_ABS_TOL, `${label} p-value`);
    });
  });

  test('chiSquareSurvival matches scipy.stats.chi2.sf', () => {
    chi2Grid.forEach(([x, dof], i) => {
      const expected = ref.chi2sf[i];
      const got = chiSquareSurvival(x, dof);
      if (expected > 1e-12) {
        expectRelClose(got, expected, CHI_P_REL_TOL, `chi2.sf(${x}, ${dof})`);
      } else {
        expectClose(got, expected, 1e-12, `chi2.sf(${x}, ${dof})`);
      }
    });
  });
});

describe('drift statistics properties', () => {
  test('PSI and JS are 0 on identical counts', () => {
    const counts = categoricalCounts(50, 10000, [5, 4, 3, 2, 1, 0.5]);
    expect(Math.abs(psi(counts, counts))).toBeLessThan(1e-12);
    expect(Math.abs(jensenShannonDistance(counts, counts))).toBeLessThan(1e-12);
    // Same proportions, different totals.
    const doubled = counts.map((c) => 2 * c);
    expect(Math.abs(psi(counts, doubled))).toBeLessThan(1e-12);
    expect(Math.abs(jensenShannonDistance(counts, doubled))).toBeLessThan(1e-12);
    expect(chiSquare(counts, doubled).statistic).toBeLessThan(1e-9);
  });

  test('PSI and JS grow monotonically with a mean shift of 0, 0.25, 0.5, 1 sd', () => {
    const baseline = normalSample(60, 20000);
    const edges = quantileEdges(baseline);
    const base = binCounts(baseline, edges);
    const psis: number[] = [];
    const jss: number[] = [];
    for (const shift of [0, 0.25, 0.5, 1.0]) {
      const cur = binCounts(normalSample(61, 20000, shift), edges);
      psis.push(psi(base, cur));
      jss.push(jensenShannonDistance(base, cur));
    }
    for (let i = 1; i < psis.length; i++) {
      expect(psis[i]).toBeGreaterThan(psis[i - 1]);
      expect(jss[i]).toBeGreaterThan(jss[i - 1]);
    }
    expect(jss.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  test('binCounts uses open outer bins and right-closed interior bins', () => {
    const edges = [0, 1, 2, 3];
    expect(binCounts([-100, 0, 0.5, 1, 1.5, 2, 2.5, 3, 100, NaN, Infinity, -Infinity], edges)).toEqual([4, 2, 3]);
    expect(binCounts([-1, 5, NaN], [0, 1])).toEqual([2]);
    expect(binCounts(new Set([1, 2, 3]), [0, 2, 4])).toEqual([2, 1]);
  });

  test('PSI epsilon clipping without renormalisation', () => {
    // expected proportions [0.5, 0.5, 0] -> [0.5, 0.5, 1e-6]; actual [0.25, 0.25, 0.5]
    const want = (0.25 - 0.5) * Math.log(0.5) * 2 + (0.5 - 1e-6) * Math.log(0.5 / 1e-6);
    expect(psi([1, 1, 0], [1, 1, 2])).toBeCloseTo(want, 12);
  });

  test('chiSquare returns statistic 0, p 1, dof 0 with fewer than two non-empty columns', () => {
    expect(chiSquare([0, 5], [0, 3])).toEqual({ statistic: 0, pValue: 1, dof: 0 });
  });

  test('ksTwoSample: identical samples give D = 0 and p = 1; disjoint give D = 1', () => {
    const a = normalSample(70, 500);
    expect(ksTwoSample(a, a.slice())).toEqual({ statistic: 0, pValue: 1 });
    const disjoint = ksTwoSample([1, 2, 3], [10, 11]);
    expect(disjoint.statistic).toBe(1);
  });

  test('missingRate and newCategoryRate', () => {
    expect(missingRate(5, 20)).toBe(0.25);
    expect(missingRate(0, 0)).toBe(0);
    expect(newCategoryRate({ a: 10, b: 5 }, { a: 3, b: 2, c: 4, d: 1 })).toBe(0.5);
    expect(newCategoryRate({ a: 10, b: 0 }, { a: 1, b: 1 })).toBe(0.5);
    expect(newCategoryRate({ a: 10 }, {})).toBe(0);
    expect(newCategoryRate({ a: 10 }, { a: 0, z: 0 })).toBe(0);
    expect(newCategoryRate({}, { constructor: 2, toString: 2 })).toBe(1);
  });
});

describe('drift statistics validation', () => {
  test.each([
    ['psi', psi],
    ['jensenShannonDistance', jensenShannonDistance],
    ['chiSquare', chiSquare],
  ] as const)('%s rejects invalid counts', (_name, fn) => {
    const f = fn as (e: number[], a: number[]) => unknown;
    expect(() => f([1, 2], [1, 2, 3])).toThrow('expected and actual must have the same number of bins (got 2 and 3)');
    expect(() => f([], [])).toThrow('expected must not be empty');
    expect(() => f([1, -1], [1, 1])).toThrow('expected[1] must not be negative, got -1');
    expect(() => f([1, 1], [1, NaN])).toThrow('actual[1] must be a finite number, got NaN');
    expect(() => f([1, 1], [Infinity, 1])).toThrow('actual[0] must be a finite number, got Infinity');
    expect(() => f([0, 0], [1, 1])).toThrow('expected must have a positive total count, got 0');
    expect(() => f([1, 1], [0, 0])).toThrow('actual must have a positive total count, got 0');
  });

  test('psi rejects a non-positive epsilon', () => {
    expect(() => psi([1], [1], 0)).toThrow('epsilon must be a positive finite number, got 0');
  });

  test('binCounts rejects bad edges', () => {
    expect(() => binCounts([1], [0])).toThrow('edges must contain at least 2 values, got 1');
    expect(() => binCounts([1], [0, 2, 1])).toThrow('edges must be sorted in non-decreasing order');
    expect(() => binCounts([1], [0, NaN])).toThrow('edges[1] must be a finite number, got NaN');
  });

  test('ksTwoSample rejects empty or non-finite samples', () => {
    expect(() => ksTwoSample([], [1])).toThrow('a must not be empty');
    expect(() => ksTwoSample([1], [])).toThrow('b must not be empty');
    expect(() => ksTwoSample([1, NaN], [1])).toThrow('a[1] must be a finite number, got NaN (filter missing values first)');
  });

  test('missingRate / newCategoryRate reject invalid input', () => {
    expect(() => missingRate(-1, 10)).toThrow('missing must be a non-negative finite number, got -1');
    expect(() => missingRate(1, NaN)).toThrow('total must be a non-negative finite number, got NaN');
    expect(() => missingRate(11, 10)).toThrow('missing (11) must not exceed total (10)');
    expect(() => newCategoryRate({ a: -1 }, { a: 1 })).toThrow('baselineCategories["a"] must be a non-negative finite count, got -1');
  });

  test('chiSquareSurvival rejects invalid dof', () => {
    expect(() => chiSquareSurvival(1, 0)).toThrow('dof must be a positive finite number, got 0');
  });

  test('a missing or failing python reference fails loudly instead of skipping', () => {
    expect(() => runPython({}, 'python3-definitely-not-installed')).toThrow(
      /numpy\/scipy reference could not be computed: failed to run python3-definitely-not-installed/);
    expect(() => runPython({}, 'python3', 'import sys; sys.exit(3)')).toThrow(
      'numpy/scipy reference script failed with exit code 3');
    expect(() => runPython({}, 'python3', 'print("not json")')).toThrow('numpy/scipy reference script returned invalid JSON');
  });
});
