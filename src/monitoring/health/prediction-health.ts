// Prediction health statistics: pure TypeScript, no AWS imports. Folds the numeric predictions decoded from
// data-capture outputs (capture.ts flattens `{predictions: [...]}`, score/probability fields, CSV rows) one at a
// time in bounded memory and reports the failure modes a model can have while its endpoint stays healthy:
// NaN / ±Infinity outputs, constant outputs, scores outside their valid range, all predictions in one class.

/** Settings of {@link PredictionHealthAnalyzer}. */
export interface PredictionHealthOptions {
  /** Smallest valid score; lower ones count as out of range. Default: no lower bound. */
  readonly minScore?: number;
  /** Largest valid score; higher ones count as out of range. Default: no upper bound. */
  readonly maxScore?: number;
  /**
   * Scores at or above this are the positive class, below it the negative class (binary classifiers).
   * Default 0.5.
   */
  readonly classThreshold?: number;
  /**
   * Constant-output and class checks need at least this many finite predictions; below it they report
   * false. Default {@link DEFAULT_MIN_PREDICTIONS}.
   */
  readonly minPredictions?: number;
  /**
   * Two predictions closer than this are the same value for the constant-output check (absolute). Default 1e-12.
   */
  readonly constantTolerance?: number;
}

/** Default of {@link PredictionHealthOptions.minPredictions}. */
export const DEFAULT_MIN_PREDICTIONS = 100;
/** Report format of {@link PredictionHealthAnalyzer.result}. */
export const PREDICTION_HEALTH_FORMAT = 'cdk-ml-platform/prediction-health';

/** Prediction health of one window. */
export interface PredictionHealthReport {
  readonly format: typeof PREDICTION_HEALTH_FORMAT;
  readonly version: 1;
  /** Predictions (numbers in outputs) seen, including non-finite ones. */
  readonly predictions: number;
  /** Capture lines whose output could not be read. */
  readonly malformed: number;
  /** NaN predictions (including values that were not numbers). */
  readonly nan: number;
  /** ±Infinity predictions. */
  readonly infinite: number;
  /** `(nan + infinite) / predictions`; 0 with no predictions. */
  readonly nonFiniteRate: number;
  /** Finite predictions outside `[minScore, maxScore]`. */
  readonly outOfRange: number;
  /** `outOfRange / finite predictions`; 0 with none. */
  readonly outOfRangeRate: number;
  /** Mean of the finite predictions; null with none. */
  readonly mean: number | null;
  /** Population standard deviation of the finite predictions; null with none. */
  readonly stdDev: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** True when at least `minPredictions` finite predictions all lie within `constantTolerance` of each other. */
  readonly constant: boolean;
  /** Share of finite predictions at or above `classThreshold`. */
  readonly positiveShare: number | null;
  /** The larger of the positive and negative shares; null with no finite predictions. */
  readonly topClassShare: number | null;
  /** True when at least `minPredictions` finite predictions are all in one class. */
  readonly classCollapsed: boolean;
}

/**
 * Folds predictions in one at a time (Welford's running mean/variance; O(1) memory).
 *
 * ```ts
 * const health = new PredictionHealthAnalyzer({ minScore: 0, maxScore: 1 });
 * for (const line of lines) { health.addAll(decodeCaptureLine(line).output ?? []); }
 * const report = health.result();
 * ```
 */
export class PredictionHealthAnalyzer {
  private readonly minScore: number;
  private readonly maxScore: number;
  private readonly threshold: number;
  private readonly minPredictions: number;
  private readonly tolerance: number;
  private total = 0;
  private malformed = 0;
  private nan = 0;
  private infinite = 0;
  private outOfRange = 0;
  private finite = 0;
  private positive = 0;
  private mean = 0;
  private m2 = 0;
  private min = Infinity;
  private max = -Infinity;

  constructor(options: PredictionHealthOptions = {}) {
    const problems: string[] = [];
    const minScore = options.minScore ?? -Infinity;
    const maxScore = options.maxScore ?? Infinity;
    if (Number.isNaN(minScore) || Number.isNaN(maxScore) || minScore > maxScore) {
      problems.push(`minScore must not exceed maxScore, got ${options.minScore} and ${options.maxScore}`);
    }
    const threshold = options.classThreshold ?? 0.5;
    if (!Number.isFinite(threshold)) { problems.push(`classThreshold must be a finite number, got ${threshold}`); }
    const minPredictions = options.minPredictions ?? DEFAULT_MIN_PREDICTIONS;
    if (!(Number.isSafeInteger(minPredictions) && minPredictions >= 2)) { problems.push(`minPredictions must be an integer >= 2, got ${minPredictions}`); }
    const tolerance = options.constantTolerance ?? 1e-12;
    if (!(Number.isFinite(tolerance) && tolerance >= 0)) { problems.push(`constantTolerance must be a non-negative number, got ${tolerance}`); }
    if (problems.length > 0) { throw new Error(`Invalid prediction health options: ${problems.join('; ')}`); }
    this.minScore = minScore;
    this.maxScore = maxScore;
    this.threshold = threshold;
    this.minPredictions = minPredictions;
    this.tolerance = tolerance;
  }

  /** Folds one prediction in; anything that is not a number counts as NaN. */
  public add(prediction: number): void {
    this.total++;
    if (typeof prediction !== 'number' || Number.isNaN(prediction)) {
      this.nan++;
      return;
    }
    if (!Number.isFinite(prediction)) {
      this.infinite++;
      return;
    }
    this.finite++;
    const delta = prediction - this.mean;
    this.mean += delta / this.finite;
    this.m2 += delta * (prediction - this.mean);
    if (prediction < this.min) { this.min = prediction; }
    if (prediction > this.max) { this.max = prediction; }
    if (prediction < this.minScore || prediction > this.maxScore) { this.outOfRange++; }
    if (prediction >= this.threshold) { this.positive++; }
  }

  /** Folds every prediction of one capture line in. */
  public addAll(predictions: readonly number[]): void {
    for (const p of predictions) { this.add(p); }
  }

  /** Counts a capture line whose output could not be read. */
  public addMalformed(): void {
    this.malformed++;
  }

  public result(): PredictionHealthReport {
    const any = this.finite > 0;
    const enough = this.finite >= this.minPredictions;
    const positiveShare = any ? this.positive / this.finite : null;
    const topClassShare = positiveShare === null ? null : Math.max(positiveShare, 1 - positiveShare);
    return {
      format: PREDICTION_HEALTH_FORMAT,
      version: 1,
      predictions: this.total,
      malformed: this.malformed,
      nan: this.nan,
      infinite: this.infinite,
      nonFiniteRate: this.total > 0 ? (this.nan + this.infinite) / this.total : 0,
      outOfRange: this.outOfRange,
      outOfRangeRate: any ? this.outOfRange / this.finite : 0,
      mean: any ? this.mean : null,
      stdDev: any ? Math.sqrt(Math.max(0, this.m2 / this.finite)) : null,
      min: any ? this.min : null,
      max: any ? this.max : null,
      constant: enough && this.max - this.min <= this.tolerance,
      positiveShare,
      topClassShare,
      classCollapsed: enough && (this.positive === 0 || this.positive === this.finite),
    };
  }
}
