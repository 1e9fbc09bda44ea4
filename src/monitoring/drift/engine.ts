// Streaming drift engine: compares records (live traffic, data capture) against a training baseline in bounded
// memory and produces a drift report. Pure TypeScript (no AWS imports) so a Lambda and the offline CLI can both use it.

import { binCounts, chiSquare, jensenShannonDistance, ksAsymptoticPValue, missingRate, newCategoryRate, psi } from './statistics';
import {
  Baseline, CategoricalFeatureBaseline, classifyValue, MAX_TRACKED_DISTINCT, NumericFeatureBaseline,
} from '../../core/baseline';
import { featureSeed, mulberry32 } from '../../core/random';

export { ksAsymptoticPValue };

/** Value of {@link DriftReport.format}. */
export const DRIFT_REPORT_FORMAT = 'cdk-ml-platform/drift-report';
/** Value of {@link DriftReport.version}. */
export const DRIFT_REPORT_VERSION = 1;
/** Default of {@link DriftEngineOptions.psiAlarm}. */
export const DEFAULT_PSI_ALARM = 0.2;
/** Default of {@link DriftEngineOptions.exactKsThreshold}. */
export const DEFAULT_EXACT_KS_THRESHOLD = 100_000;
/** Default of {@link DriftEngineOptions.seed}. */
export const DEFAULT_DRIFT_SEED = 42;
/** Names of features not in the baseline that are tracked in {@link DriftReport.unknownFeatures}; later new names are not. */
export const MAX_UNKNOWN_FEATURES = 1_000;

/** Settings of {@link DriftEngine}. */
export interface DriftEngineOptions {
  /**
   * A feature whose PSI is at least this is listed in {@link DriftReport.driftedFeatures}.
   * @default 0.2
   */
  readonly psiAlarm?: number;
  /**
   * Current values kept exactly per numeric feature for the KS test; beyond that a uniform reservoir sample of
   * this size is kept instead (Algorithm R, seeded) and the KS method becomes `'sampled-values-vs-sketch'`.
   * @default 100_000
   */
  readonly exactKsThreshold?: number;
  /**
   * Seed of the reservoir sampling PRNG (mulberry32): the same records in the same order give the same report.
   * @default 42
   */
  readonly seed?: number;
}

/** KS test of a numeric feature's current values against the baseline sketch. */
export interface KsAgainstBaselineResult {
  /**
   * D = sup |F_base(x) - F_cur(x)|, F_base the piecewise-linear CDF through the baseline sketch points, F_cur the
   * empirical CDF of the current values (or of their reservoir sample). See {@link ksAgainstSketch} for the error bound.
   */
  readonly statistic: number;
  /** {@link ksAsymptoticPValue} with n = baseline feature count and m = current feature count. */
  readonly pValue: number;
  readonly method: 'exact-values-vs-sketch' | 'sampled-values-vs-sketch';
}

/** Drift of one numeric feature. */
export interface NumericFeatureDrift {
  readonly kind: 'numeric';
  /** Current records with a finite numeric value. */
  readonly count: number;
  /** Current records without one: absent, missing (baseline rules), non-numeric or odd values. `recordCount - count`. */
  readonly missing: number;
  /** `missing / recordCount` (0 when there are no records). A baseline feature never seen has 1. */
  readonly missingRate: number;
  /** Of `missing`, values that were present but not numbers (e.g. a category string). */
  readonly nonNumeric: number;
  /** Current counts in the baseline histogram bins (outer bins open-ended, as {@link binCounts}). */
  readonly binCounts: number[];
  /** PSI of the current bin counts against the baseline histogram counts; null when there are no current values. */
  readonly psi: number | null;
  /** Jensen-Shannon distance (base 2) over the same bins; null when there are no current values. */
  readonly jsDistance: number | null;
  /** Null when there are no current values or the baseline has no sketch (baselines written before sketches). */
  readonly ks: KsAgainstBaselineResult | null;
}

/** Drift of one categorical feature. */
export interface CategoricalFeatureDrift {
  readonly kind: 'categorical';
  /** Current records with a non-missing value. */
  readonly count: number;
  /** `recordCount - count`. */
  readonly missing: number;
  /** `missing / recordCount` (0 when there are no records). A baseline feature never seen has 1. */
  readonly missingRate: number;
  /**
   * Chi-square test of homogeneity on the 2 x k table whose columns are the union of the baseline's reported
   * categories and the current categories, plus one "other" column (baseline `otherCount` vs current overflow);
   * null when either side has no values.
   */
  readonly chiSquare: { readonly statistic: number; readonly pValue: number; readonly dof: number } | null;
  /** PSI over the same columns; null when either side has no values. */
  readonly psi: number | null;
  /** Jensen-Shannon distance over the same columns; null when either side has no values. */
  readonly jsDistance: number | null;
  /**
   * Share of current (tracked) values whose category is not among the baseline's reported categories. Categories in
   * the baseline's `otherCount` count as new. Values beyond the distinct-value cap are not included.
   */
  readonly newCategoryRate: number;
  /** Current values first seen after {@link MAX_TRACKED_DISTINCT} distinct values; compared in the other column. */
  readonly overflowCount: number;
  /** Distinct current values tracked. */
  readonly distinct: number;
}

/** Drift of one baseline feature. */
export type FeatureDrift = NumericFeatureDrift | CategoricalFeatureDrift;

/** Drift report, format `cdk-ml-platform/drift-report` version 1. */
export interface DriftReport {
  readonly format: typeof DRIFT_REPORT_FORMAT;
  readonly version: typeof DRIFT_REPORT_VERSION;
  /** Records passed to {@link DriftEngine.add} that were objects. */
  readonly recordCount: number;
  /** Records counted by {@link DriftEngine.addMalformed} or passed to `add()` as a non-object. */
  readonly malformedRecords: number;
  /** One entry per baseline feature, in name order. */
  readonly features: { [name: string]: FeatureDrift };
  /** Max PSI over the features (features without a PSI are skipped); 0 when no feature has one. */
  readonly overallDriftScore: number;
  /** Features whose PSI is at least {@link DriftEngineOptions.psiAlarm}, in name order. */
  readonly driftedFeatures: string[];
  /**
   * Features present in current records but not in the baseline: records with a non-missing value per name.
   * At most {@link MAX_UNKNOWN_FEATURES} names are tracked.
   */
  readonly unknownFeatures: { [name: string]: number };
}

// ---------------------------------------------------------------------------
// KS against the baseline sketch
// ---------------------------------------------------------------------------

/**
 * KS statistic of `values` against a baseline sketch: D = sup_x |F_base(x) - F_cur(x)|, where F_base is the
 * piecewise-linear CDF through the points `(sketch[i], i / (sketch.length - 1))` (0 below the first point, 1 above
 * the last) and F_cur the empirical CDF of `values`. Since F_cur is a step function and F_base is non-decreasing,
 * the supremum is attained just before or at a jump of F_cur, so both are evaluated at every distinct value.
 *
 * Error bound: for a sketch of the 1001 numpy-linear quantiles of n baseline values, F_base differs from the
 * baseline's empirical CDF by at most 1/1000 + 1/n everywhere, hence |D - D_exact| <= 1/1000 + 1/n where D_exact is
 * the two-sample statistic of the baseline values vs `values` (`ksTwoSample`). When the baseline was sampled the
 * reservoir's sampling error comes on top (DKW: at most sqrt(ln(2/alpha) / (2k)) with probability 1 - alpha for a
 * sample of k), and likewise when `values` is itself a sample of the current values.
 *
 * @param values finite values (any order; not modified)
 * @param sketch non-decreasing sketch points, at least 2
 */
export function ksAgainstSketch(values: ArrayLike<number>, sketch: ArrayLike<number>): number {
  if (values.length === 0) { throw new Error('ksAgainstSketch() needs at least one value'); }
  if (sketch.length < 2) { throw new Error('ksAgainstSketch() needs a sketch of at least 2 points'); }
  const sorted = Float64Array.from(values).sort();
  const m = sorted.length;
  const q = sketch;
  const r = q.length - 1;
  let d = 0;
  let i = 0;
  // F_base(v) interpolates on the segment [q[upTo], q[upTo + 1]] where upTo is the last point <= v (below r); its left
  // limit on the segment where `below` is the last point < v. The values are visited in increasing order, so both
  // indices only move forward (a merge walk instead of a binary search per value).
  let below = 0;
  let upTo = 0;
  while (i < m) {
    const v = sorted[i];
    let j = i;
    while (j < m && sorted[j] === v) { j++; }
    let cdfLeft: number;
    if (v <= q[0]) {
      cdfLeft = 0;
    } else if (v > q[r]) {
      cdfLeft = 1;
    } else {
      while (below + 1 < r && q[below + 1] < v) { below++; }
      cdfLeft = (below + (v - q[below]) / (q[below + 1] - q[below])) / r;
    }
    let cdf: number;
    if (v < q[0]) {
      cdf = 0;
    } else if (v >= q[r]) {
      cdf = 1;
    } else {
      while (upTo + 1 < r && q[upTo + 1] <= v) { upTo++; }
      cdf = (upTo + (v - q[upTo]) / (q[upTo + 1] - q[upTo])) / r;
    }
    // just before v: F_cur = i / m; at v: F_cur = j / m
    const before = Math.abs(cdfLeft - i / m);
    const at = Math.abs(cdf - j / m);
    d = Math.max(d, before, at);
    i = j;
  }
  return d;
}


// ---------------------------------------------------------------------------
// Engine
// ---------------------------------------------------------------------------

/**
 * Bin of a finite value, as {@link binCounts}: the number of interior edges strictly below it. `interior` holds
 * `edges[1..n-2]` (sorted); a linear count beats a binary search over the 9 interior edges of a decile histogram.
 */
function binIndex(interior: Float64Array, v: number): number {
  let bin = 0;
  while (bin < interior.length && interior[bin] < v) { bin++; }
  return bin;
}

interface NumericState {
  readonly kind: 'numeric';
  readonly baseline: NumericFeatureBaseline;
  /** `baseline.histogram.edges` without the first and last (the outer bins are open-ended). */
  readonly interior: Float64Array;
  readonly counts: number[];
  count: number;
  nonNumeric: number;
  /** Values for KS (all of them up to the threshold, then a reservoir); undefined when the baseline has no sketch. */
  readonly values: number[] | undefined;
  readonly random: () => number;
}

interface CategoricalState {
  readonly kind: 'categorical';
  readonly baseline: CategoricalFeatureBaseline;
  readonly categories: Map<string, number>;
  count: number;
  overflow: number;
}

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const hasOwn = Object.prototype.hasOwnProperty;
/** Positions of a record whose key is cached by {@link DriftEngine.addField}. */
const MAX_CACHED_POSITIONS = 1_024;

/**
 * Compares records streamed one at a time against a {@link Baseline} in bounded memory: per numeric feature 10 bin
 * counts and at most `exactKsThreshold` values, per categorical feature at most {@link MAX_TRACKED_DISTINCT}
 * category counts. Values are read with the baseline's rules ({@link classifyValue}).
 *
 * ```ts
 * const engine = new DriftEngine(parseBaseline(json));
 * for (const record of records) { engine.add(record); }
 * const report = engine.result();
 * ```
 */
export class DriftEngine {
  private readonly psiAlarm: number;
  private readonly threshold: number;
  private readonly states = new Map<string, NumericState | CategoricalState>();
  private readonly unknown = new Map<string, number>();
  /** `slotNames[i]` is the key last seen at position i of a record and `slotStates[i]` its state (a lookup cache). */
  private readonly slotNames: string[] = [];
  private readonly slotStates: Array<NumericState | CategoricalState | undefined> = [];
  private records = 0;
  private malformed = 0;
  /** Position of the next {@link addField} in the current record. */
  private position = 0;

  constructor(baseline: Baseline, options: DriftEngineOptions = {}) {
    const psiAlarm = options.psiAlarm ?? DEFAULT_PSI_ALARM;
    const threshold = options.exactKsThreshold ?? DEFAULT_EXACT_KS_THRESHOLD;
    const seed = options.seed ?? DEFAULT_DRIFT_SEED;
    const problems: string[] = [];
    if (!(Number.isFinite(psiAlarm) && psiAlarm >= 0)) { problems.push(`psiAlarm must be a non-negative number, got ${psiAlarm}`); }
    if (!(Number.isSafeInteger(threshold) && threshold >= 1)) { problems.push(`exactKsThreshold must be a positive integer, got ${threshold}`); }
    if (!Number.isInteger(seed)) { problems.push(`seed must be an integer, got ${seed}`); }
    if (problems.length > 0) { throw new Error(`Invalid DriftEngine options: ${problems.join('; ')}`); }
    this.psiAlarm = psiAlarm;
    this.threshold = threshold;
    for (const name of Object.keys(baseline.features).sort(compareStrings)) {
      const f = baseline.features[name];
      if (f.kind === 'numeric') {
        binCounts([], f.histogram.edges); // validates the edges (throws on unsorted or non-finite edges)
        this.states.set(name, {
          kind: 'numeric',
          baseline: f,
          interior: Float64Array.from(f.histogram.edges.slice(1, -1)),
          counts: new Array<number>(f.histogram.edges.length - 1).fill(0),
          count: 0,
          nonNumeric: 0,
          values: f.sketch ? [] : undefined,
          random: mulberry32(featureSeed(seed, name)),
        });
      } else {
        this.states.set(name, { kind: 'categorical', baseline: f, categories: new Map(), count: 0, overflow: 0 });
      }
    }
  }

  /** Records added so far (excluding malformed ones). */
  public get recordCount(): number {
    return this.records;
  }

  /** Counts a record that could not be read (bad JSON, wrong shape, ...). */
  public addMalformed(): void {
    this.malformed++;
  }

  /** Folds one record (feature name to value) in. Never throws: a non-object counts as malformed, odd values as missing. */
  public add(record: Record<string, unknown>): void {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      this.malformed++;
      return;
    }
    this.beginRecord();
    // for-in over own keys visits exactly Object.keys(record), in the same order, and lets V8 read `record[name]`
    // through the enum cache instead of a megamorphic keyed lookup (records come in many shapes).
    for (const name in record) {
      if (hasOwn.call(record, name)) { this.addField(name, record[name]); }
    }
  }

  /**
   * Starts a record whose values follow through {@link addField}: `beginRecord()` and one `addField(name, value)` per
   * own key of the record, in `Object.keys` order, is exactly `add(record)` (which is implemented that way). Used by
   * the capture scanner to fold a capture line in without building the record object.
   */
  public beginRecord(): void {
    this.records++;
    this.position = 0;
  }

  /** One (feature name, value) of the record started by the last {@link beginRecord}; names must not repeat within a record. */
  public addField(name: string, raw: unknown): void {
    // Records mostly repeat their keys in the same order: remember the state of the name last seen at each position.
    const position = this.position++;
    let state: NumericState | CategoricalState | undefined;
    if (this.slotNames[position] === name) {
      state = this.slotStates[position];
    } else {
      state = this.states.get(name);
      if (position < MAX_CACHED_POSITIONS) {
        this.slotNames[position] = name;
        this.slotStates[position] = state;
      }
    }
    if (typeof raw === 'number' && state !== undefined && state.kind === 'numeric') {
      // The common case, read as classifyValue reads it: a finite number counts, NaN and infinities are missing.
      if (Number.isFinite(raw)) { this.addNumber(state, raw); }
      return;
    }
    let value: number | string | undefined;
    try {
      value = classifyValue(raw);
    } catch {
      value = undefined; // e.g. JSON.stringify of a circular object or a throwing toJSON
    }
    if (!state) {
      if (value !== undefined) {
        const seen = this.unknown.get(name);
        if (seen !== undefined) {
          this.unknown.set(name, seen + 1);
        } else if (this.unknown.size < MAX_UNKNOWN_FEATURES) {
          this.unknown.set(name, 1);
        }
      }
    } else if (value === undefined) {
      return;
    } else if (state.kind === 'numeric') {
      if (typeof value === 'number') {
        this.addNumber(state, value);
      } else {
        state.nonNumeric++;
      }
    } else {
      const key = typeof value === 'number' ? (typeof raw === 'string' ? raw : String(value)) : value;
      state.count++;
      const seen = state.categories.get(key);
      if (seen !== undefined) {
        state.categories.set(key, seen + 1);
      } else if (state.categories.size < MAX_TRACKED_DISTINCT) {
        state.categories.set(key, 1);
      } else {
        state.overflow++;
      }
    }
  }

  /** The report over every record added so far. Can be called again after more records are added. */
  public result(): DriftReport {
    const features: Array<[string, FeatureDrift]> = [];
    for (const [name, state] of this.states) {
      features.push([name, state.kind === 'numeric' ? this.numericDrift(state) : this.categoricalDrift(state)]);
    }
    let overall = 0;
    const drifted: string[] = [];
    for (const [name, f] of features) {
      if (f.psi === null) { continue; }
      overall = Math.max(overall, f.psi);
      if (f.psi >= this.psiAlarm) { drifted.push(name); }
    }
    return {
      format: DRIFT_REPORT_FORMAT,
      version: DRIFT_REPORT_VERSION,
      recordCount: this.records,
      malformedRecords: this.malformed,
      features: Object.fromEntries(features),
      overallDriftScore: overall,
      driftedFeatures: drifted,
      unknownFeatures: Object.fromEntries([...this.unknown].sort((a, b) => compareStrings(a[0], b[0]))),
    };
  }

  private addNumber(s: NumericState, x: number): void {
    s.count++;
    s.counts[binIndex(s.interior, x)]++;
    if (!s.values) { return; }
    // Algorithm R: every value is kept up to the threshold; the i-th value (1-based) then replaces a random slot with probability k / i.
    if (s.values.length < this.threshold) {
      s.values.push(x);
    } else {
      const j = Math.floor(s.random() * s.count);
      if (j < this.threshold) { s.values[j] = x; }
    }
  }

  private numericDrift(s: NumericState): NumericFeatureDrift {
    const missing = this.records - s.count;
    const hasValues = s.count > 0;
    const sketch = s.baseline.sketch;
    let ks: KsAgainstBaselineResult | null = null;
    if (hasValues && sketch && s.values) {
      const statistic = ksAgainstSketch(s.values, sketch.quantiles);
      ks = {
        statistic,
        pValue: ksAsymptoticPValue(statistic, s.baseline.count, s.count),
        method: s.count > this.threshold ? 'sampled-values-vs-sketch' : 'exact-values-vs-sketch',
      };
    }
    return {
      kind: 'numeric',
      count: s.count,
      missing,
      missingRate: missingRate(missing, this.records),
      nonNumeric: s.nonNumeric,
      binCounts: [...s.counts],
      psi: hasValues ? psi(s.baseline.histogram.counts, s.counts) : null,
      jsDistance: hasValues ? jensenShannonDistance(s.baseline.histogram.counts, s.counts) : null,
      ks,
    };
  }

  private categoricalDrift(s: CategoricalState): CategoricalFeatureDrift {
    const missing = this.records - s.count;
    const base = s.baseline;
    const current = Object.fromEntries(s.categories);
    const keys = new Set<string>([...Object.keys(base.categories), ...s.categories.keys()]);
    const expected: number[] = [];
    const actual: number[] = [];
    for (const key of [...keys].sort(compareStrings)) {
      expected.push(Object.prototype.hasOwnProperty.call(base.categories, key) ? base.categories[key] : 0);
      actual.push(s.categories.get(key) ?? 0);
    }
    expected.push(base.otherCount);
    actual.push(s.overflow);
    const comparable = base.count > 0 && s.count > 0;
    return {
      kind: 'categorical',
      count: s.count,
      missing,
      missingRate: missingRate(missing, this.records),
      chiSquare: comparable ? chiSquare(expected, actual) : null,
      psi: comparable ? psi(expected, actual) : null,
      jsDistance: comparable ? jensenShannonDistance(expected, actual) : null,
      newCategoryRate: newCategoryRate(base.categories, current),
      overflowCount: s.overflow,
      distinct: s.categories.size,
    };
  }
}
