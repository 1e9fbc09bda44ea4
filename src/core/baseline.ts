// Drift baseline statistics: the JSON document written next to a training data snapshot and read later by
// the drift engine to compare live traffic against. Pure TypeScript (no AWS imports) so both the snapshot
// Lambda and the drift engine can bundle it.
import { featureSeed, mulberry32 } from './random';

/** Value of {@link Baseline.format}. */
export const BASELINE_FORMAT = 'cdk-ml-platform/baseline';
/** Value of {@link Baseline.version}; {@link parseBaseline} rejects any other. */
export const BASELINE_VERSION = 1;
/** The probabilities of {@link NumericQuantiles.probabilities}: the nine deciles. */
export const DECILE_PROBABILITIES: readonly number[] = Object.freeze([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
/** A categorical feature reports at most this many categories; the rest go to `otherCount`. */
export const MAX_REPORTED_CATEGORIES = 1_000;
/** Distinct values tracked per feature; values first seen after this many go to `otherCount`. */
export const MAX_TRACKED_DISTINCT = 100_000;
/** Default of {@link BaselineBuilderOptions.maxSamplesPerFeature}. */
export const DEFAULT_MAX_SAMPLES_PER_FEATURE = 100_000;
/** Points of {@link NumericSketch.quantiles}: quantiles at p = i / SKETCH_RESOLUTION for i = 0..SKETCH_RESOLUTION. */
export const SKETCH_RESOLUTION = 1_000;
/** Default of {@link BaselineBuilderOptions.seed}. */
export const DEFAULT_SEED = 42;

/**
 * Strings that mean "no value" (after trimming), as pandas `read_csv` reads them by default, so a baseline
 * sees the same missing values as training code that loads the CSV with pandas.
 */
export const MISSING_TOKENS: ReadonlySet<string> = new Set([
  '', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN',
  '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null',
]);

/** Where the baselined data came from. */
export interface BaselineDataset {
  /** `s3://` URI of the dataset manifest (object keys, versions and hashes) the statistics were computed on. */
  readonly manifestUri?: string;
  /** SHA-256 (lowercase hex) of the exact bytes of that manifest. */
  readonly manifestSha256?: string;
}

/** How numeric values were sampled for quantiles and histograms. */
export interface BaselineSampling {
  /** Reservoir size per numeric feature. */
  readonly maxSamplesPerFeature: number;
  /** Seed of the reservoir sampling PRNG (mulberry32, mixed with the feature name). */
  readonly seed: number;
  /**
   * True when at least one numeric feature had more values than `maxSamplesPerFeature`: its quantiles and
   * histogram edges come from a uniform random sample and its histogram counts are scaled (see {@link NumericHistogram}).
   */
  readonly sampled: boolean;
}

/** Quantiles of a numeric feature. */
export interface NumericQuantiles {
  /** Always {@link DECILE_PROBABILITIES}: 0.1, 0.2, ..., 0.9. */
  readonly probabilities: number[];
  /**
   * The cut point for each probability, computed on the sorted (possibly sampled) values with numpy's default
   * `'linear'` method (`np.quantile(values, p)`), see {@link quantile}.
   */
  readonly values: number[];
}

/**
 * Decile histogram of a numeric feature.
 *
 * Bin `i` spans `(edges[i], edges[i + 1]]`, except bin 0 which also holds `edges[0]` (the minimum): a value goes
 * into the first bin whose upper edge is `>=` the value. Repeated edges (many equal values) leave later bins empty.
 */
export interface NumericHistogram {
  /** 11 edges: `[min, d1, ..., d9, max]` where `d1..d9` are the decile cut points and min/max are exact. */
  readonly edges: number[];
  /**
   * 10 counts that sum to the feature's `count`. Exact when the feature had at most `maxSamplesPerFeature`
   * values (the sample is then every value). Otherwise the counts are computed over the reservoir sample and
   * scaled to `count` with largest-remainder rounding (ties to the lower bin), so they estimate the true counts.
   */
  readonly counts: number[];
}

/**
 * Fine quantile sketch of a numeric feature: its distribution at a resolution of 1/1000, used by the drift engine
 * for the Kolmogorov-Smirnov test against current values.
 *
 * The drift engine takes the baseline CDF as the piecewise-linear function through the points
 * `(quantiles[i], i / 1000)` (0 below `quantiles[0]`, 1 above `quantiles[1000]`). Against the empirical CDF of the
 * `size` values the sketch was computed from, that function is off by at most `1/1000 + 1/size`, so a KS statistic
 * computed against it is within that bound of the exact two-sample statistic; when the baseline was sampled
 * ({@link BaselineSampling.sampled}) the reservoir sample's own sampling error comes on top.
 *
 * Optional for compatibility: baselines written before the sketch existed (still version 1) have none, and the
 * drift engine reports no KS test for their numeric features.
 */
export interface NumericSketch {
  /** Number of values the sketch was computed from: the feature's `count`, or the reservoir size when sampled. */
  readonly size: number;
  /**
   * 1001 non-decreasing values: `quantiles[i]` is the value at probability `i / 1000` of the sorted (possibly
   * sampled) values, numpy `'linear'` method (see {@link quantile}); `quantiles[0]` and `quantiles[1000]` are the
   * sample's minimum and maximum.
   */
  readonly quantiles: number[];
}

/** Statistics of a feature whose non-missing values are all numbers or numeric strings. */
export interface NumericFeatureBaseline {
  readonly kind: 'numeric';
  /** Non-missing finite values (exact). */
  readonly count: number;
  /**
   * Records without a value: the feature was absent, `null`, blank, a {@link MISSING_TOKENS} string, NaN or
   * infinite. Always `recordCount - count`.
   */
  readonly missing: number;
  /** Smallest value (exact). */
  readonly min: number;
  /** Largest value (exact). */
  readonly max: number;
  /** Mean (exact up to rounding; Welford's streaming algorithm). */
  readonly mean: number;
  /** Population standard deviation (`ddof=0`, as `np.std`). */
  readonly std: number;
  readonly quantiles: NumericQuantiles;
  readonly histogram: NumericHistogram;
  /** Quantile sketch for the KS test (see {@link NumericSketch}); absent in baselines written by older versions. */
  readonly sketch?: NumericSketch;
}

/** Statistics of a feature with at least one non-numeric value, or with no value at all. */
export interface CategoricalFeatureBaseline {
  readonly kind: 'categorical';
  /** Non-missing values (exact). */
  readonly count: number;
  /** Records without a value (same rules as {@link NumericFeatureBaseline.missing}); `recordCount - count`. */
  readonly missing: number;
  /**
   * Count per value for the {@link MAX_REPORTED_CATEGORIES} most frequent values (ties broken by value, in
   * UTF-16 code unit order). Keys are the values as strings: booleans `'true'`/`'false'`, numbers in JavaScript's
   * `String(n)` form, objects and arrays as JSON. The key order carries no meaning.
   */
  readonly categories: { [value: string]: number };
  /**
   * Values not in `categories`: those beyond the top {@link MAX_REPORTED_CATEGORIES}, plus values first seen after
   * {@link MAX_TRACKED_DISTINCT} distinct values were already tracked. `sum(categories) + otherCount === count`.
   */
  readonly otherCount: number;
  /** Distinct values seen; exact up to {@link MAX_TRACKED_DISTINCT}, a lower bound when that limit was reached. */
  readonly distinct: number;
}

/** Statistics of one feature. */
export type FeatureBaseline = NumericFeatureBaseline | CategoricalFeatureBaseline;

/**
 * Baseline statistics of a training dataset, format `cdk-ml-platform/baseline` version 1.
 *
 * A feature is numeric when every non-missing value is a JSON number or a numeric string (CSV cells are
 * strings), otherwise categorical; booleans are categorical. A feature with no value in any record is
 * categorical with `count` 0.
 */
export interface Baseline {
  readonly format: typeof BASELINE_FORMAT;
  readonly version: typeof BASELINE_VERSION;
  /** When the baseline was built (ISO 8601, UTC). */
  readonly createdAt: string;
  /** Records folded in. */
  readonly recordCount: number;
  readonly dataset: BaselineDataset;
  readonly sampling: BaselineSampling;
  /** Statistics per feature name, in name order. */
  readonly features: { [name: string]: FeatureBaseline };
}

/** Settings of {@link BaselineBuilder}. */
export interface BaselineBuilderOptions {
  /**
   * Reservoir size per numeric feature (uniform sample, Algorithm R) for quantiles and histogram edges.
   * @default 100_000
   */
  readonly maxSamplesPerFeature?: number;
  /**
   * Seed of the sampling PRNG: the same records in the same order give the same baseline.
   * @default 42
   */
  readonly seed?: number;
  /**
   * Clock for {@link Baseline.createdAt}.
   * @default () => new Date()
   */
  readonly now?: () => Date;
}

/** The value of `sortedValues` at probability `p`, as numpy's `np.quantile(values, p)` (method `'linear'`). */
export function quantile(sortedValues: ArrayLike<number>, p: number): number {
  const n = sortedValues.length;
  if (n === 0) {
    throw new Error('quantile() needs at least one value, got an empty array');
  }
  if (!(p >= 0 && p <= 1)) {
    throw new Error(`quantile() probability must be between 0 and 1, got ${p}`);
  }
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const gamma = h - lo;
  const a = sortedValues[lo];
  const b = sortedValues[hi];
  const diff = b - a;
  // numpy's _lerp: interpolate from the nearer end, which keeps the result monotonic and exact at the ends.
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITE = /^[+-]?inf(?:inity)?$/i;
/** Longest {@link MISSING_TOKENS} entry: longer strings skip the set lookup. */
const MAX_MISSING_TOKEN_LENGTH = Math.max(...[...MISSING_TOKENS].map(t => t.length));
const [PLUS, MINUS, DOT, DIGIT_0, DIGIT_9, LOWER_I, UPPER_I] = [...'+-.09iI'].map(c => c.charCodeAt(0));

/**
 * How the baseline reads one raw value: `undefined` for a missing value (absent, `null`, blank, a {@link MISSING_TOKENS}
 * string, NaN or infinite), a finite number for a number or numeric string, otherwise the category key (see
 * {@link CategoricalFeatureBaseline.categories}). The drift engine uses the same rules.
 */
export function classifyValue(value: unknown): number | string | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? value : undefined;
    case 'string': {
      const text = value.trim();
      if (text.length <= MAX_MISSING_TOKEN_LENGTH && MISSING_TOKENS.has(text)) { return undefined; }
      // The regular expressions only run when the first character allows a match (most category strings skip both).
      const first = text.charCodeAt(0);
      if ((first === PLUS || first === MINUS || first === LOWER_I || first === UPPER_I) && INFINITE.test(text)) { return undefined; }
      if (((first >= DIGIT_0 && first <= DIGIT_9) || first === PLUS || first === MINUS || first === DOT) && NUMERIC.test(text)) {
        const n = Number(text);
        return Number.isFinite(n) ? n : undefined;
      }
      return value;
    }
    case 'undefined':
      return undefined;
    case 'boolean':
    case 'bigint':
      return String(value);
    default:
      return value === null ? undefined : JSON.stringify(value) ?? String(value);
  }
}

/** Category key of a numeric value: the original string for CSV cells, `String(n)` for JSON numbers. */
function numericKey(raw: unknown, n: number): string {
  return typeof raw === 'string' ? raw : String(n);
}

/** Exact running statistics and a reservoir sample of a feature that has been numeric so far. */
interface NumericState {
  count: number;
  min: number;
  max: number;
  mean: number;
  /** Sum of squared deviations from the mean (Welford). */
  m2: number;
  readonly sample: number[];
  readonly random: () => number;
}

interface FeatureState {
  /** Undefined once a non-numeric value has been seen. */
  numeric: NumericState | undefined;
  /** Non-missing values. */
  present: number;
  /** Count per value, also for numeric features (in case a later value makes them categorical). */
  readonly categories: Map<string, number>;
  /** Non-missing values whose key was not tracked because {@link MAX_TRACKED_DISTINCT} was reached. */
  untracked: number;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Histogram counts of `sorted` (ascending) for the bins of `edges` (see {@link NumericHistogram}). */
function binCounts(sorted: Float64Array, edges: number[]): number[] {
  const counts = new Array<number>(edges.length - 1).fill(0);
  let bin = 0;
  for (const v of sorted) {
    while (edges[bin + 1] < v) { bin++; }
    counts[bin]++;
  }
  return counts;
}

/** Scales `counts` to sum to `total` with largest-remainder rounding (ties to the lower index). */
function scaleCounts(counts: number[], total: number): number[] {
  const sum = counts.reduce((a, b) => a + b, 0);
  const exact = counts.map(c => (c * total) / sum);
  const scaled = exact.map(Math.floor);
  let left = total - scaled.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) {
    scaled[order[k].i]++;
  }
  return scaled;
}

/**
 * Builds a {@link Baseline} from records streamed one at a time, in bounded memory.
 *
 * Per feature it keeps exact counts, min, max, mean and variance (Welford), a reservoir sample of at most
 * `maxSamplesPerFeature` numeric values (Algorithm R, seeded mulberry32 per feature), and a count per distinct
 * value (at most {@link MAX_TRACKED_DISTINCT} of them), which makes a categorical baseline exact even when the
 * first non-numeric value of a feature only shows up late.
 *
 * ```ts
 * const builder = new BaselineBuilder();
 * for (const record of records) { builder.add(record); }
 * const baseline = builder.build({ manifestUri: 's3://lake/snapshots/abc/manifest.json' });
 * ```
 */
export class BaselineBuilder {
  private readonly maxSamples: number;
  private readonly seed: number;
  private readonly now: () => Date;
  private readonly features = new Map<string, FeatureState>();
  private records = 0;

  constructor(options: BaselineBuilderOptions = {}) {
    const maxSamples = options.maxSamplesPerFeature ?? DEFAULT_MAX_SAMPLES_PER_FEATURE;
    const seed = options.seed ?? DEFAULT_SEED;
    const problems: string[] = [];
    if (!Number.isInteger(maxSamples) || maxSamples < 1) {
      problems.push(`maxSamplesPerFeature must be a positive integer, got ${maxSamples}`);
    }
    if (!Number.isInteger(seed)) {
      problems.push(`seed must be an integer, got ${seed}`);
    }
    if (problems.length > 0) {
      throw new Error(`Invalid BaselineBuilder options: ${problems.join('; ')}`);
    }
    this.maxSamples = maxSamples;
    this.seed = seed;
    this.now = options.now ?? (() => new Date());
  }

  /** Records folded in so far. */
  public get recordCount(): number {
    return this.records;
  }

  /** Folds one record (feature name to value) into the statistics. */
  public add(record: Record<string, unknown>): void {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new TypeError(`BaselineBuilder.add() takes an object of feature values, got ${Array.isArray(record) ? 'an array' : String(record)}`);
    }
    this.records++;
    for (const name of Object.keys(record)) {
      let state = this.features.get(name);
      if (!state) {
        state = { numeric: this.newNumericState(name), present: 0, categories: new Map(), untracked: 0 };
        this.features.set(name, state);
      }
      const raw = record[name];
      const value = classifyValue(raw);
      if (value === undefined) { continue; }
      state.present++;
      if (typeof value === 'number') {
        if (state.numeric) { this.addNumber(state.numeric, value); }
        this.addCategory(state, numericKey(raw, value));
      } else {
        state.numeric = undefined; // categorical from now on; the category counts cover earlier values too
        this.addCategory(state, value);
      }
    }
  }

  /** The baseline of every record added so far. Can be called again after more records are added. */
  public build(dataset: BaselineDataset = {}): Baseline {
    let sampled = false;
    const features: Array<[string, FeatureBaseline]> = [];
    for (const name of [...this.features.keys()].sort(compareStrings)) {
      const state = this.features.get(name)!;
      if (state.numeric && state.numeric.count > 0) {
        sampled ||= state.numeric.count > this.maxSamples;
        features.push([name, this.numericBaseline(state.numeric)]);
      } else {
        features.push([name, this.categoricalBaseline(state)]);
      }
    }
    return {
      format: BASELINE_FORMAT,
      version: BASELINE_VERSION,
      createdAt: this.now().toISOString(),
      recordCount: this.records,
      dataset: {
        ...(dataset.manifestUri !== undefined ? { manifestUri: dataset.manifestUri } : {}),
        ...(dataset.manifestSha256 !== undefined ? { manifestSha256: dataset.manifestSha256 } : {}),
      },
      sampling: { maxSamplesPerFeature: this.maxSamples, seed: this.seed, sampled },
      features: Object.fromEntries(features),
    };
  }

  private newNumericState(name: string): NumericState {
    return { count: 0, min: Infinity, max: -Infinity, mean: 0, m2: 0, sample: [], random: mulberry32(featureSeed(this.seed, name)) };
  }

  private addNumber(s: NumericState, x: number): void {
    s.count++;
    if (x < s.min) { s.min = x; }
    if (x > s.max) { s.max = x; }
    const delta = x - s.mean;
    s.mean += delta / s.count;
    s.m2 += delta * (x - s.mean);
    // Algorithm R: the i-th value (1-based) replaces a random slot with probability k / i.
    if (s.sample.length < this.maxSamples) {
      s.sample.push(x);
    } else {
      const j = Math.floor(s.random() * s.count);
      if (j < this.maxSamples) { s.sample[j] = x; }
    }
  }

  private addCategory(state: FeatureState, key: string): void {
    const seen = state.categories.get(key);
    if (seen !== undefined) {
      state.categories.set(key, seen + 1);
    } else if (state.categories.size < MAX_TRACKED_DISTINCT) {
      state.categories.set(key, 1);
    } else {
      state.untracked++;
    }
  }

  private numericBaseline(s: NumericState): NumericFeatureBaseline {
    const sorted = Float64Array.from(s.sample).sort();
    const deciles = DECILE_PROBABILITIES.map(p => quantile(sorted, p));
    const edges = [s.min, ...deciles, s.max];
    const sampleCounts = binCounts(sorted, edges);
    return {
      kind: 'numeric',
      count: s.count,
      missing: this.records - s.count,
      min: s.min,
      max: s.max,
      mean: s.mean,
      std: Math.sqrt(Math.max(0, s.m2 / s.count)),
      quantiles: { probabilities: [...DECILE_PROBABILITIES], values: deciles },
      histogram: { edges, counts: sorted.length === s.count ? sampleCounts : scaleCounts(sampleCounts, s.count) },
      sketch: { size: sorted.length, quantiles: Array.from({ length: SKETCH_RESOLUTION + 1 }, (_, i) => quantile(sorted, i / SKETCH_RESOLUTION)) },
    };
  }

  private categoricalBaseline(state: FeatureState): CategoricalFeatureBaseline {
    const ranked = [...state.categories].sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0]));
    const top = ranked.slice(0, MAX_REPORTED_CATEGORIES);
    const reported = top.reduce((sum, [, n]) => sum + n, 0);
    return {
      kind: 'categorical',
      count: state.present,
      missing: this.records - state.present,
      categories: Object.fromEntries(top),
      otherCount: state.present - reported,
      distinct: state.categories.size,
    };
  }
}

const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const isNumberArray = (v: unknown, length: number) =>
  Array.isArray(v) && v.length === length && v.every(x => typeof x === 'number' && Number.isFinite(x));

function featureProblems(name: string, f: unknown): string[] {
  const at = `features['${name}']`;
  if (f === null || typeof f !== 'object' || Array.isArray(f)) { return [`${at} must be an object`]; }
  const o = f as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of ['count', 'missing']) {
    if (!isCount(o[key])) { problems.push(`${at}.${key} must be a non-negative integer, got ${JSON.stringify(o[key])}`); }
  }
  if (o.kind === 'numeric') {
    for (const key of ['min', 'max', 'mean', 'std']) {
      if (typeof o[key] !== 'number' || !Number.isFinite(o[key])) { problems.push(`${at}.${key} must be a finite number`); }
    }
    const q = o.quantiles as Record<string, unknown> | undefined;
    if (!isNumberArray(q?.probabilities, DECILE_PROBABILITIES.length) || !isNumberArray(q?.values, DECILE_PROBABILITIES.length)) {
      problems.push(`${at}.quantiles must have ${DECILE_PROBABILITIES.length} probabilities and ${DECILE_PROBABILITIES.length} values`);
    }
    const h = o.histogram as Record<string, unknown> | undefined;
    if (!isNumberArray(h?.edges, 11) || !isNumberArray(h?.counts, 10) || !(h!.counts as number[]).every(isCount)) {
      problems.push(`${at}.histogram must have 11 edges and 10 non-negative integer counts`);
    }
    if (o.sketch !== undefined) {
      const sk = o.sketch as Record<string, unknown> | null;
      const qs = sk?.quantiles;
      if (sk === null || typeof sk !== 'object' || !Number.isSafeInteger(sk.size) || (sk.size as number) < 1
        || !isNumberArray(qs, SKETCH_RESOLUTION + 1) || !(qs as number[]).every((v, i, a) => i === 0 || a[i - 1] <= v)) {
        problems.push(`${at}.sketch must be { size: integer >= 1, quantiles: ${SKETCH_RESOLUTION + 1} finite non-decreasing numbers }`);
      }
    }
  } else if (o.kind === 'categorical') {
    const c = o.categories;
    if (c === null || typeof c !== 'object' || Array.isArray(c) || !Object.values(c).every(isCount)) {
      problems.push(`${at}.categories must be an object of non-negative integer counts`);
    }
    for (const key of ['otherCount', 'distinct']) {
      if (!isCount(o[key])) { problems.push(`${at}.${key} must be a non-negative integer, got ${JSON.stringify(o[key])}`); }
    }
  } else {
    problems.push(`${at}.kind must be 'numeric' or 'categorical', got ${JSON.stringify(o.kind)}`);
  }
  return problems;
}

/**
 * Checks that `json` (a parsed document, or its JSON text) is a baseline this library can read and returns it
 * typed. Throws one Error listing every problem: wrong `format`, unsupported `version`, or malformed fields.
 */
export function parseBaseline(json: unknown): Baseline {
  let doc = json;
  if (typeof json === 'string') {
    try {
      doc = JSON.parse(json);
    } catch (e) {
      throw new Error(`Baseline is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new Error(`Baseline must be a JSON object with format '${BASELINE_FORMAT}', got ${doc === null ? 'null' : Array.isArray(doc) ? 'an array' : typeof doc}`);
  }
  const o = doc as Record<string, unknown>;
  if (o.format !== BASELINE_FORMAT) {
    throw new Error(`Not a baseline: format is ${JSON.stringify(o.format)}, expected '${BASELINE_FORMAT}'`);
  }
  if (o.version !== BASELINE_VERSION) {
    throw new Error(`Unsupported baseline version ${JSON.stringify(o.version)}: this version of cdk-ml-platform reads version ${BASELINE_VERSION}; ` +
      'rebuild the baseline or upgrade cdk-ml-platform');
  }
  const problems: string[] = [];
  if (typeof o.createdAt !== 'string' || Number.isNaN(Date.parse(o.createdAt))) { problems.push('createdAt must be an ISO 8601 date string'); }
  if (!isCount(o.recordCount)) { problems.push(`recordCount must be a non-negative integer, got ${JSON.stringify(o.recordCount)}`); }
  const dataset = o.dataset as Record<string, unknown> | undefined;
  if (dataset === null || typeof dataset !== 'object' || Array.isArray(dataset)) {
    problems.push('dataset must be an object');
  } else {
    for (const key of ['manifestUri', 'manifestSha256']) {
      if (dataset[key] !== undefined && typeof dataset[key] !== 'string') { problems.push(`dataset.${key} must be a string`); }
    }
  }
  const sampling = o.sampling as Record<string, unknown> | undefined;
  if (sampling === null || typeof sampling !== 'object' || !isCount(sampling.maxSamplesPerFeature)
    || !Number.isInteger(sampling.seed) || typeof sampling.sampled !== 'boolean') {
    problems.push('sampling must be { maxSamplesPerFeature: integer, seed: integer, sampled: boolean }');
  }
  const features = o.features;
  if (features === null || typeof features !== 'object' || Array.isArray(features)) {
    problems.push('features must be an object of feature statistics');
  } else {
    for (const [name, f] of Object.entries(features)) { problems.push(...featureProblems(name, f)); }
  }
  if (problems.length > 0) {
    throw new Error(`Invalid baseline: ${problems.join('; ')}`);
  }
  return doc as Baseline;
}
