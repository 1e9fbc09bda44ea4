/**
 * Pure drift statistics used by model monitoring.
 *
 * Everything in this module is deterministic, dependency free (no AWS SDK, no
 * third-party packages) and cross-checked in the test suite against numpy /
 * scipy. The conventions documented on each function are part of the public
 * contract: baselines computed by one version of the library must stay
 * comparable with statistics computed by the next.
 */

/** Result of {@link chiSquare}. */
export interface ChiSquareResult {
  /** Pearson chi-square statistic (no continuity correction). */
  readonly statistic: number;
  /** Upper-tail probability of the chi-square distribution with `dof` degrees of freedom. */
  readonly pValue: number;
  /** Degrees of freedom: number of non-empty bins minus one. */
  readonly dof: number;
}

/** Result of {@link ksTwoSample}. */
export interface KsTwoSampleResult {
  /** Two-sided Kolmogorov-Smirnov statistic D = sup |F_a(x) - F_b(x)|. */
  readonly statistic: number;
  /** Asymptotic two-sided p-value (see {@link ksTwoSample} for the exact formula). */
  readonly pValue: number;
}

// ---------------------------------------------------------------------------
// Validation helpers
// ---------------------------------------------------------------------------

function validateCountVector(name: string, counts: number[]): number {
  if (!Array.isArray(counts)) {
    throw new Error(`${name} must be an array of bin counts`);
  }
  if (counts.length === 0) {
    throw new Error(`${name} must not be empty`);
  }
  let total = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (typeof c !== 'number' || !Number.isFinite(c)) {
      throw new Error(`${name}[${i}] must be a finite number, got ${String(c)}`);
    }
    if (c < 0) {
      throw new Error(`${name}[${i}] must not be negative, got ${c}`);
    }
    total += c;
  }
  if (total <= 0) {
    throw new Error(`${name} must have a positive total count, got ${total}`);
  }
  return total;
}

function validateCountPair(expected: number[], actual: number[]): { totalExpected: number; totalActual: number } {
  if (!Array.isArray(expected) || !Array.isArray(actual)) {
    throw new Error('expected and actual must both be arrays of bin counts');
  }
  if (expected.length !== actual.length) {
    throw new Error(`expected and actual must have the same number of bins (got ${expected.length} and ${actual.length})`);
  }
  const totalExpected = validateCountVector('expected', expected);
  const totalActual = validateCountVector('actual', actual);
  return { totalExpected, totalActual };
}

// ---------------------------------------------------------------------------
// PSI and Jensen-Shannon
// ---------------------------------------------------------------------------

/**
 * Population stability index (PSI) between two histograms over the same bins.
 *
 * Conventions (public contract):
 * - Inputs are bin COUNTS, not proportions. Each side is converted to proportions
 *   by dividing by its own total.
 * - Each proportion is clipped from below at `epsilon` (`max(p, epsilon)`); the
 *   clipped proportions are NOT renormalised.
 * - PSI = Σ (a_i - e_i) · ln(a_i / e_i) using the natural logarithm, where `e` are
 *   the baseline (expected) and `a` the current (actual) clipped proportions.
 *
 * @param expected baseline bin counts
 * @param actual current bin counts (same bins, same order)
 * @param epsilon lower clip for proportions (default 1e-6), must be > 0
 * @throws Error if lengths differ, arrays are empty, a count is negative or
 *   non-finite, or either side has a total count of 0
 */
export function psi(expected: number[], actual: number[], epsilon = 1e-6): number {
  const { totalExpected, totalActual } = validateCountPair(expected, actual);
  if (!Number.isFinite(epsilon) || epsilon <= 0) {
    throw new Error(`epsilon must be a positive finite number, got ${epsilon}`);
  }
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i] / totalExpected, epsilon);
    const a = Math.max(actual[i] / totalActual, epsilon);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/**
 * Jensen-Shannon DISTANCE (the square root of the Jensen-Shannon divergence) in
 * base 2 between two histograms over the same bins.
 *
 * Conventions (public contract):
 * - Inputs are bin COUNTS, each converted to proportions by its own total.
 * - No clipping/smoothing; 0 · log 0 is taken as 0.
 * - Base-2 logarithm, so the result lies in [0, 1].
 * - Matches `scipy.spatial.distance.jensenshannon(p, q, base=2)`.
 *
 * @throws Error under the same conditions as {@link psi}
 */
export function jensenShannonDistance(expected: number[], actual: number[]): number {
  const { totalExpected, totalActual } = validateCountPair(expected, actual);
  let left = 0;
  let right = 0;
  for (let i = 0; i < expected.length; i++) {
    const p = expected[i] / totalExpected;
    const q = actual[i] / totalActual;
    const m = (p + q) / 2;
    if (p > 0) {
      left += p * Math.log(p / m);
    }
    if (q > 0) {
      right += q * Math.log(q / m);
    }
  }
  const js = (left + right) / Math.LN2 / 2;
  // Rounding can produce a tiny negative divergence for (near-)identical inputs.
  return Math.sqrt(Math.max(js, 0));
}

// ---------------------------------------------------------------------------
// Binning
// ---------------------------------------------------------------------------

/**
 * Counts values into `edges.length - 1` bins whose OUTER bins are open-ended.
 *
 * Conventions (public contract), with n = edges.length:
 * - bin 0 = (-∞, edges[1]]
 * - bin i = (edges[i], edges[i+1]] for 0 < i < n-2
 * - bin n-2 (last) = (edges[n-2], +∞)
 * - edges[0] and edges[n-1] (the baseline min/max) are ignored for the outer
 *   bins, so values outside the baseline range land in the outer bins. With
 *   exactly two edges there is a single bin (-∞, +∞).
 * - Interior bins are right-closed: a value equal to edges[i] (0 < i < n-1)
 *   belongs to bin i-1.
 * - Non-finite values (NaN, ±Infinity) are skipped; the caller is expected to
 *   count them as missing.
 *
 * Equivalent to `numpy.searchsorted(edges[1:-1], v, side='left')` for each finite v.
 *
 * @param values values to bin
 * @param edges bin edges, at least 2, finite and non-decreasing
 * @throws Error if edges has fewer than 2 entries, contains a non-finite value
 *   or is not sorted in non-decreasing order
 */
export function binCounts(values: Iterable<number>, edges: number[]): number[] {
  if (!Array.isArray(edges) || edges.length < 2) {
    throw new Error(`edges must contain at least 2 values, got ${Array.isArray(edges) ? edges.length : String(edges)}`);
  }
  for (let i = 0; i < edges.length; i++) {
    if (typeof edges[i] !== 'number' || !Number.isFinite(edges[i])) {
      throw new Error(`edges[${i}] must be a finite number, got ${String(edges[i])}`);
    }
    if (i > 0 && edges[i] < edges[i - 1]) {
      throw new Error(`edges must be sorted in non-decreasing order (edges[${i - 1}]=${edges[i - 1]} > edges[${i}]=${edges[i]})`);
    }
  }
  const counts = new Array<number>(edges.length - 1).fill(0);
  // Interior edges are edges[1..n-2]; the bin index is the number of interior edges strictly below v.
  const lastInterior = edges.length - 2;
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      continue;
    }
    let lo = 1;
    let hi = lastInterior + 1; // exclusive
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (edges[mid] < v) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    counts[lo - 1] += 1;
  }
  return counts;
}

// ---------------------------------------------------------------------------
// Special functions
// ---------------------------------------------------------------------------

const LANCZOS_G = 7;
const LANCZOS_COEFFS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7, 9 terms). */
function lgamma(x: number): number {
  if (x < 0.5) {
    // Reflection formula: Γ(x)Γ(1-x) = π / sin(πx)
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  }
  const z = x - 1;
  let a = LANCZOS_COEFFS[0];
  for (let i = 1; i < LANCZOS_COEFFS.length; i++) {
    a += LANCZOS_COEFFS[i] / (z + i);
  }
  const t = z + LANCZOS_G + 0.5;
  return HALF_LOG_2PI + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

const GAMMA_EPS = 1e-16;
const GAMMA_FPMIN = 1e-300;
const GAMMA_MAX_ITER = 100000;

/** Regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a). */
function regularizedGammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) {
    throw new Error(`regularizedGammaQ requires a > 0 and x >= 0 (got a=${a}, x=${x})`);
  }
  if (x === 0) {
    return 1;
  }
  if (!Number.isFinite(x)) {
    return 0;
  }
  const logPrefactor = -x + a * Math.log(x) - lgamma(a);
  if (x < a + 1) {
    // Series for the lower function P(a, x); Q = 1 - P.
    let ap = a;
    let del = 1 / a;
    let sum = del;
    for (let n = 0; n < GAMMA_MAX_ITER; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * GAMMA_EPS) {
        break;
      }
    }
    return Math.min(1, Math.max(0, 1 - sum * Math.exp(logPrefactor)));
  }
  // Continued fraction for Q(a, x), modified Lentz's method.
  let b = x + 1 - a;
  let c = 1 / GAMMA_FPMIN;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < GAMMA_MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < GAMMA_FPMIN) {
      d = GAMMA_FPMIN;
    }
    c = b + an / c;
    if (Math.abs(c) < GAMMA_FPMIN) {
      c = GAMMA_FPMIN;
    }
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < GAMMA_EPS) {
      break;
    }
  }
  return Math.min(1, Math.max(0, Math.exp(logPrefactor) * h));
}

/**
 * Survival function (upper tail) of the chi-square distribution:
 * P(X > x) for X ~ χ²(dof), computed as Q(dof/2, x/2).
 * Matches `scipy.stats.chi2.sf(x, dof)`.
 *
 * @param x statistic value (values <= 0 give 1)
 * @param dof degrees of freedom, > 0
 */
export function chiSquareSurvival(x: number, dof: number): number {
  if (!(dof > 0) || !Number.isFinite(dof)) {
    throw new Error(`dof must be a positive finite number, got ${dof}`);
  }
  if (Number.isNaN(x)) {
    throw new Error('x must not be NaN');
  }
  if (x <= 0) {
    return 1;
  }
  return regularizedGammaQ(dof / 2, x / 2);
}

// ---------------------------------------------------------------------------
// Chi-square contingency test
// ---------------------------------------------------------------------------

/**
 * Pearson chi-square test of homogeneity on the 2×k contingency table
 * `[expected, actual]` (baseline counts vs current counts).
 *
 * Conventions (public contract):
 * - Columns where both counts are 0 are dropped first (k' remaining columns).
 * - Expected cell frequency = rowTotal · columnTotal / grandTotal; statistic =
 *   Σ (observed - expectedFreq)² / expectedFreq; no Yates continuity correction.
 * - dof = k' - 1; pValue = chi-square survival function at the statistic.
 * - If k' < 2 the result is `{ statistic: 0, pValue: 1, dof: 0 }`.
 * - Matches `scipy.stats.chi2_contingency([expected, actual], correction=False)`
 *   applied to the table after dropping all-zero columns.
 *
 * @throws Error under the same conditions as {@link psi}
 */
export function chiSquare(expected: number[], actual: number[]): ChiSquareResult {
  const { totalExpected, totalActual } = validateCountPair(expected, actual);
  const grand = totalExpected + totalActual;
  let statistic = 0;
  let columns = 0;
  for (let i = 0; i < expected.length; i++) {
    const colTotal = expected[i] + actual[i];
    if (colTotal === 0) {
      continue;
    }
    columns += 1;
    const fe = (totalExpected * colTotal) / grand;
    const fa = (totalActual * colTotal) / grand;
    statistic += ((expected[i] - fe) ** 2) / fe + ((actual[i] - fa) ** 2) / fa;
  }
  if (columns < 2) {
    return { statistic: 0, pValue: 1, dof: 0 };
  }
  const dof = columns - 1;
  return { statistic, pValue: chiSquareSurvival(statistic, dof), dof };
}

// ---------------------------------------------------------------------------
// Two-sample Kolmogorov-Smirnov
// ---------------------------------------------------------------------------

const E128 = 128;
const EP128 = 2 ** 128;
const EM128 = 2 ** -128;
const SQRT2PI = Math.sqrt(2 * Math.PI);
const LOG_2PI = Math.log(2 * Math.PI);
const MIN_LOG = -708;
const SQRT3 = Math.sqrt(3);
const PI_SQUARED = Math.PI ** 2;
const PI_FOUR = Math.PI ** 4;
const PI_SIX = Math.PI ** 6;
const STIRLING_COEFFS = [
  -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
  -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2,
];

function clipProb(p: number): number {
  return Math.min(1, Math.max(0, p));
}

/** x · 2^e without intermediate overflow/underflow of 2^e. */
function ldexp(x: number, e: number): number {
  let r = x;
  let k = e;
  while (k > 1000) {
    r *= 2 ** 1000;
    k -= 1000;
  }
  while (k < -1000) {
    r *= 2 ** -1000;
    k += 1000;
  }
  return r * 2 ** k;
}

/** Round half to even, like numpy.round. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const diff = v - f;
  if (diff < 0.5) {
    return f;
  }
  if (diff > 0.5) {
    return f + 1;
  }
  return f % 2 === 0 ? f : f + 1;
}

/** log(n! / n^n) via Stirling's series (scipy _log_nfactorial_div_n_pow_n). */
function logNFactorialDivNPowN(n: number): number {
  const rn = 1 / n;
  const y = rn / n;
  let poly = 0;
  for (const c of STIRLING_COEFFS) {
    poly = poly * y + c;
  }
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

/**
 * One-sided Smirnov survival function P(D_n^+ >= x), exact Birnbaum-Tingey sum
 * evaluated term by term in log space (equivalent of scipy.special.smirnov).
 */
function smirnovSf(n: number, x: number): number {
  if (x <= 0) {
    return 1;
  }
  if (x >= 1) {
    return 0;
  }
  const lgn1 = lgamma(n + 1);
  const jmax = Math.floor(n * (1 - x));
  let sum = 0;
  for (let j = 0; j <= jmax; j++) {
    const left = (n - j - n * x) / n; // 1 - x - j/n
    const right = x + j / n;
    if (left <= 0) {
      if (n - j === 0) {
        sum += Math.exp(lgn1 - lgamma(j + 1) - lgamma(n - j + 1) + (j - 1) * Math.log(right));
      }
      continue;
    }
    const logTerm = lgn1 - lgamma(j + 1) - lgamma(n - j + 1) + (n - j) * Math.log(left) + (j - 1) * Math.log(right);
    sum += Math.exp(logTerm);
  }
  return clipProb(x * sum);
}

function matmul(a: number[][], b: number[][]): number[][] {
  const m = a.length;
  const out: number[][] = [];
  for (let i = 0; i < m; i++) {
    const row = new Array<number>(m).fill(0);
    const ai = a[i];
    for (let k = 0; k < m; k++) {
      const aik = ai[k];
      if (aik === 0) {
        continue;
      }
      const bk = b[k];
      for (let j = 0; j < m; j++) {
        row[j] += aik * bk[j];
      }
    }
    out.push(row);
  }
  return out;
}

/** Kolmogorov CDF Pr(D_n <= d) via the Durbin matrix algorithm (Marsaglia-Tsang-Wang). */
function kolmogornDurbinCdf(n: number, d: number): number {
  if (d >= 1) {
    return 1;
  }
  const nd = n * d;
  if (nd <= 0.5) {
    return 0;
  }
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const v = new Array<number>(m);
  const w = new Array<number>(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    v[j - 1] = 1 - h ** j;
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] *= fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;

  let H: number[][] = [];
  for (let r = 0; r < m; r++) {
    H.push(new Array<number>(m).fill(0));
  }
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) {
      H[r][i] = w[r - (i - 1)];
    }
  }
  for (let r = 0; r < m; r++) {
    H[r][0] = v[r];
  }
  for (let c = 0; c < m; c++) {
    H[m - 1][c] = v[m - 1 - c];
  }

  let hpwr: number[][] = [];
  for (let r = 0; r < m; r++) {
    const row = new Array<number>(m).fill(0);
    row[r] = 1;
    hpwr.push(row);
  }
  let nn = n;
  let expnt = 0;
  let hexpnt = 0;
  while (nn > 0) {
    if (nn % 2 === 1) {
      hpwr = matmul(hpwr, H);
      expnt += hexpnt;
    }
    H = matmul(H, H);
    hexpnt *= 2;
    if (Math.abs(H[k - 1][k - 1]) > EP128) {
      for (const row of H) {
        for (let c = 0; c < m; c++) {
          row[c] /= EP128;
        }
      }
      hexpnt += E128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = hpwr[k - 1][k - 1];
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= EP128;
      expnt -= E128;
    }
  }
  if (expnt !== 0) {
    p = ldexp(p, expnt);
  }
  return clipProb(p);
}

function pomeranzJ1J2(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    const ip1mod2 = (i + 1) % 2;
    if (ip1mod2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Kolmogorov CDF Pr(D_n <= x) via the Pomeranz recursion. */
function kolmogornPomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Array<number>(npwrs);
  const twogpower = new Array<number>(npwrs);
  const onem2gpower = new Array<number>(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  let expnt = 0;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1] * gOverN) / m;
    twogpower[m] = (twogpower[m - 1] * twoGOverN) / m;
    onem2gpower[m] = (onem2gpower[m - 1] * oneMinusTwoGOverN) / m;
  }
  let V0 = new Array<number>(npwrs).fill(0);
  let V1 = new Array<number>(npwrs).fill(0);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let [j1, j2] = pomeranzJ1J2(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzJ1J2(i, n, ll, ceilf, roundf);
    let pwrs: number[];
    if (i === 1 || i === 2 * n + 1) {
      pwrs = gpower;
    } else {
      pwrs = i % 2 === 1 ? twogpower : onem2gpower;
    }
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      const base = k1 - V0s;
      let maxV = 0;
      for (let r = 0; r < convLen; r++) {
        // conv[idx] = Σ_s V0[base + s] * pwrs[idx - s], with s, idx - s in [0, ln2)
        const idx = convStart + r;
        let acc = 0;
        const sLo = Math.max(0, idx - (ln2 - 1));
        const sHi = Math.min(idx, ln2 - 1);
        for (let s = sLo; s <= sHi; s++) {
          const vi = base + s;
          if (vi >= 0 && vi < npwrs) {
            acc += V0[vi] * pwrs[idx - s];
          }
        }
        V1[r] = acc;
        if (acc > maxV) {
          maxV = acc;
        }
      }
      if (maxV > 0 && maxV < EM128) {
        for (let r = 0; r < npwrs; r++) {
          V1[r] *= EP128;
        }
        expnt -= E128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s];
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > EP128) {
      ans *= EM128;
      expnt += E128;
    }
    ans *= m;
  }
  if (expnt !== 0) {
    ans = ldexp(ans, expnt);
  }
  return clipProb(ans);
}

/** Pelz-Good approximation of Pr(D_n <= x). */
function kolmogornPelzGoodCdf(n: number, x: number): number {
  if (x <= 0) {
    return 0;
  }
  if (x >= 1) {
    return 1;
  }
  const z = Math.sqrt(n) * x;
  const zsquared = z ** 2;
  const zthree = z ** 3;
  const zfour = z ** 4;
  const zsix = z ** 6;
  const qlog = -PI_SQUARED / 8 / zsquared;
  if (qlog < MIN_LOG) {
    return 0;
  }
  let q = Math.exp(qlog);
  const k1a = -zsquared;
  const k1b = PI_SQUARED / 4;
  const k2a = 6 * zsix + 2 * zfour;
  const k2b = ((2 * zfour - 5 * zsquared) * PI_SQUARED) / 4;
  const k2c = (PI_FOUR * (1 - 2 * zsquared)) / 16;
  const k3d = (PI_SIX * (5 - 30 * zsquared)) / 64;
  const k3c = (PI_FOUR * (-60 * zsquared + 212 * zfour)) / 16;
  const k3b = (PI_SQUARED * (135 * zfour - 96 * zsix)) / 4;
  const k3a = -30 * zsix - 90 * z ** 8;

  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const msquared = m ** 2;
    const mfour = m ** 4;
    const msix = m ** 6;
    const qpower = q ** (8 * k);
    const coeffs = [
      1.0,
      k1a + k1b * msquared,
      k2a + k2b * msquared + k2c * mfour,
      k3a + k3b * msquared + k3c * mfour + k3d * msix,
    ];
    for (let i = 0; i < 4; i++) {
      K[i] = K[i] * qpower + coeffs[i];
    }
  }
  const divisors = [z, 6 * zfour, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) {
    K[i] = (K[i] * q * SQRT2PI) / divisors[i];
  }
  q = Math.exp(-PI_SQUARED / 2 / zsquared);
  const sqrt3z = SQRT3 * z;
  let k2extra = 0;
  let k3extra = 0;
  for (let k = maxk; k > 0; k--) {
    const ksq = k * k;
    const qp = q ** ksq;
    const kspi = Math.PI * k;
    k2extra += ksq * qp;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp;
  }
  K[2] += (k2extra * PI_SQUARED * SQRT2PI) / (-36 * zthree);
  K[3] += (k3extra * PI_SQUARED * SQRT2PI) / (216 * zsix);
  let sum = 0;
  for (let i = 0; i < 4; i++) {
    sum += K[i] / n ** (i / 2);
  }
  return sum;
}

/**
 * Asymptotic two-sided p-value of a two-sample KS statistic `d` for samples of sizes `n` and `m`, as
 * `scipy.stats.ks_2samp(..., method='asymp')` computes it: with en = n·m/(n+m) and N = round(en) (half to even,
 * at least 1), pValue = kstwo.sf(d, N). Used by {@link ksTwoSample} and by the drift engine (KS against a baseline sketch).
 */
export function ksAsymptoticPValue(d: number, n: number, m: number): number {
  if (!(d >= 0 && d <= 1)) { throw new Error(`d must be between 0 and 1, got ${d}`); }
  if (!(Number.isSafeInteger(n) && n >= 1 && Number.isSafeInteger(m) && m >= 1)) {
    throw new Error(`sample sizes must be positive integers, got n=${n}, m=${m}`);
  }
  const en = (n * m) / (n + m);
  const N = Math.max(1, roundHalfEven(en));
  return clipProb(kolmogornSf(N, d));
}

/**
 * Survival function Pr(D_n >= x) of the exact two-sided one-sample Kolmogorov
 * distribution (scipy.stats.kstwo.sf), following the Simard & L'Ecuyer (2011)
 * method selection used by scipy.stats._ksstats._kolmogn.
 */
function kolmogornSf(n: number, x: number): number {
  if (x >= 1) {
    return 0;
  }
  if (x <= 0) {
    return 1;
  }
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) {
      return 1;
    }
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) {
        prob *= i * (1 / n) * (2 * t - 1);
      }
    } else {
      prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return clipProb(1 - prob);
  }
  if (t >= n - 1) {
    return clipProb(2 * (1 - x) ** n);
  }
  if (x >= 0.5) {
    return clipProb(2 * smirnovSf(n, x));
  }
  const nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) {
      return clipProb(1 - kolmogornDurbinCdf(n, x));
    }
    if (nxsquared <= 4) {
      return clipProb(1 - kolmogornPomeranzCdf(n, x));
    }
    return clipProb(2 * smirnovSf(n, x));
  }
  if (nxsquared >= 370) {
    return 0;
  }
  if (nxsquared >= 2.2) {
    return clipProb(2 * smirnovSf(n, x));
  }
  let cdf: number;
  if (n <= 100000 && n * x ** 1.5 <= 1.4) {
    cdf = kolmogornDurbinCdf(n, x);
  } else {
    cdf = kolmogornPelzGoodCdf(n, x);
  }
  return clipProb(1 - clipProb(cdf));
}

function sortedFinite(name: string, values: number[]): Float64Array {
  if (!Array.isArray(values)) {
    throw new Error(`${name} must be an array of numbers`);
  }
  if (values.length === 0) {
    throw new Error(`${name} must not be empty`);
  }
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`${name}[${i}] must be a finite number, got ${String(v)} (filter missing values first)`);
    }
    out[i] = v;
  }
  out.sort();
  return out;
}

/**
 * Two-sample, two-sided Kolmogorov-Smirnov test.
 *
 * Conventions (public contract):
 * - statistic: exact D = max over all observed values v of |F_a(v) - F_b(v)|,
 *   with right-continuous empirical CDFs (ties handled by advancing both samples
 *   past v). Equal to `scipy.stats.ks_2samp(a, b).statistic`.
 * - pValue: the asymptotic p-value scipy uses for `method='asymp'`,
 *   two-sided: with en = m·n/(m+n) and N = round(en) (round half to even, like
 *   numpy), pValue = kstwo.sf(D, N), the survival function of the exact
 *   one-sample two-sided Kolmogorov distribution for sample size N (Durbin
 *   matrix / Pomeranz / Pelz-Good / Smirnov selection of Simard & L'Ecuyer,
 *   ported from scipy 1.17 `scipy.stats._ksstats`). Matches
 *   `scipy.stats.ks_2samp(a, b, method='asymp').pvalue`; the test suite checks
 *   agreement to 1e-9 absolute. It does NOT use the exact small-sample
 *   distribution that scipy's default `method='auto'` selects for samples up to 10000.
 *   Divergence: when N rounds to 0 (both samples of size 1) the p-value is
 *   computed with N = 1 instead of scipy's NaN.
 *
 * @throws Error if either sample is empty or contains a non-finite value
 */
export function ksTwoSample(a: number[], b: number[]): KsTwoSampleResult {
  const x = sortedFinite('a', a);
  const y = sortedFinite('b', b);
  const n1 = x.length;
  const n2 = y.length;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n1 && j < n2) {
    const v = Math.min(x[i], y[j]);
    while (i < n1 && x[i] <= v) {
      i++;
    }
    while (j < n2 && y[j] <= v) {
      j++;
    }
    const diff = Math.abs(i / n1 - j / n2);
    if (diff > d) {
      d = diff;
    }
  }
  // Once one sample is exhausted the remaining differences shrink monotonically
  // towards 0, so the maximum has already been seen.
  return { statistic: d, pValue: ksAsymptoticPValue(d, n1, n2) };
}

// ---------------------------------------------------------------------------
// Rates
// ---------------------------------------------------------------------------

/**
 * Share of missing values: `missing / total`.
 *
 * Conventions (public contract): returns 0 when `total` is 0 (no rows, nothing
 * missing).
 *
 * @throws Error if either argument is negative or non-finite, or missing > total
 */
export function missingRate(missing: number, total: number): number {
  if (typeof missing !== 'number' || !Number.isFinite(missing) || missing < 0) {
    throw new Error(`missing must be a non-negative finite number, got ${String(missing)}`);
  }
  if (typeof total !== 'number' || !Number.isFinite(total) || total < 0) {
    throw new Error(`total must be a non-negative finite number, got ${String(total)}`);
  }
  if (missing > total) {
    throw new Error(`missing (${missing}) must not exceed total (${total})`);
  }
  return total === 0 ? 0 : missing / total;
}

function validateCategoryCounts(name: string, counts: Record<string, number>): void {
  if (counts === null || typeof counts !== 'object' || Array.isArray(counts)) {
    throw new Error(`${name} must be an object mapping category to count`);
  }
  for (const [key, c] of Object.entries(counts)) {
    if (typeof c !== 'number' || !Number.isFinite(c) || c < 0) {
      throw new Error(`${name}[${JSON.stringify(key)}] must be a non-negative finite count, got ${String(c)}`);
    }
  }
}

/**
 * Share of current non-missing values whose category never appeared in the
 * baseline.
 *
 * Conventions (public contract):
 * - Both arguments map category -> count of non-missing values.
 * - A category "appeared in the baseline" iff it is an own key of
 *   `baselineCategories` with a count > 0.
 * - Result = Σ current counts of unseen categories / Σ all current counts;
 *   0 when the current total is 0 (empty current).
 *
 * @throws Error if a count is negative or non-finite
 */
export function newCategoryRate(baselineCategories: Record<string, number>, current: Record<string, number>): number {
  validateCategoryCounts('baselineCategories', baselineCategories);
  validateCategoryCounts('current', current);
  let total = 0;
  let unseen = 0;
  for (const [key, c] of Object.entries(current)) {
    total += c;
    const seen = Object.prototype.hasOwnProperty.call(baselineCategories, key) && baselineCategories[key] > 0;
    if (!seen) {
      unseen += c;
    }
  }
  return total === 0 ? 0 : unseen / total;
}
