/** What the pipeline does when the new training data fails the {@link TrainingDataGate}. */
export enum TrainingDataGateMode {
  /** `stop`: the execution ends in the `RejectTrainingData` Fail step with the reason; nothing is trained. */
  STOP = 'stop',
  /**
   * `require_approval`: training, evaluation and the champion comparison go on, but a better model is registered
   * with `PendingManualApproval` (whatever `ModelApprovalStatus` says) so a human decides.
   */
  REQUIRE_APPROVAL = 'require_approval',
  /** `disabled`: no gate and no champion lookup. */
  DISABLED = 'disabled',
}

/** Thresholds of a {@link TrainingDataGate}: the new training data fails the gate when one is exceeded. */
export interface TrainingDataGateThresholds {
  /**
   * Highest allowed drift score of the new training data against the champion's training-data baseline: the
   * drift engine's overall score, the largest PSI (population stability index) over the features. The gate fails
   * when the score is above it; the reason names every feature whose PSI is above it. Common readings of PSI:
   * below 0.1 no shift, 0.1-0.25 moderate, above 0.25 significant. A finite number >= 0.
   *
   * @default 0.25
   */
  readonly maxDriftScore?: number;
  /**
   * Highest allowed rise of a feature's missing rate (the share of records without a usable value) over the
   * champion's baseline, as a fraction: 0.1 lets a column go from 2 % to 12 % missing but not to 13 %. Catches
   * broken data: an emptied, renamed or retyped column. A number from 0 to 1 (1 turns the check off).
   *
   * @default 0.1
   */
  readonly maxMissingRateIncrease?: number;
}

/** Default of {@link TrainingDataGateThresholds.maxDriftScore}. */
const DEFAULT_MAX_DRIFT_SCORE = 0.25;
/** Default of {@link TrainingDataGateThresholds.maxMissingRateIncrease}. */
const DEFAULT_MAX_MISSING_RATE_INCREASE = 0.1;

/**
 * Guards training against poisoned or broken data. Before training, the pipeline's `DataSnapshot` step runs the
 * drift engine on the new training data against the training-data baseline of the champion (the newest Approved
 * model package of the registry group, its `CustomerMetadataProperties.baseline_uri`). When a threshold is exceeded
 * the run stops ({@link TrainingDataGate.stop}) or its model waits for a human approval
 * ({@link TrainingDataGate.requireApproval}).
 *
 * Every decision is audited: `gate.json` next to the snapshot's manifest and baseline
 * (`<BaselineLocation.uri><execution id>/gate.json`: thresholds, champion package, its baseline, drift score,
 * per-feature PSI and missing rates, decision and reason), and a registered model carries the reason in
 * `CustomerMetadataProperties.training_data_gate` and the report's URI in `training_data_gate_report`.
 *
 * Decisions:
 * - no Approved champion, or a champion without `baseline_uri` (registered outside a pipeline): passes, reason
 *   starting with `no champion baseline`;
 * - a champion whose baseline cannot be read or is not a valid baseline: fails closed (a missing or tampered
 *   baseline must not wave poisoned data through), with the reason;
 * - no CSV / JSON Lines record in the new data (e.g. Parquet only) or none in the champion's baseline: passes,
 *   nothing to compare, with the reason;
 * - otherwise fails when a threshold is exceeded.
 */
export class TrainingDataGate {
  /**
   * Failed gate: the execution stops in the `RejectTrainingData` Fail step with the reason; nothing is trained.
   * @param thresholds the limits; every one has a default
   */
  public static stop(thresholds: TrainingDataGateThresholds = {}): TrainingDataGate {
    return new TrainingDataGate(TrainingDataGateMode.STOP, thresholds);
  }

  /**
   * Failed gate: training goes on, but a better model is registered with `PendingManualApproval` so a human
   * approves it (`ModelRegistry.grantApprove`) after reading the reason.
   * @param thresholds the limits; every one has a default
   */
  public static requireApproval(thresholds: TrainingDataGateThresholds = {}): TrainingDataGate {
    return new TrainingDataGate(TrainingDataGateMode.REQUIRE_APPROVAL, thresholds);
  }

  /** No gate: no `TrainingDataGate` step and no champion lookup. */
  public static disabled(): TrainingDataGate {
    return new TrainingDataGate(TrainingDataGateMode.DISABLED, {});
  }

  /** What a failed gate does. */
  public readonly mode: TrainingDataGateMode;
  /** Highest allowed drift score (largest per-feature PSI). */
  public readonly maxDriftScore: number;
  /** Highest allowed rise of a feature's missing rate. */
  public readonly maxMissingRateIncrease: number;

  private constructor(mode: TrainingDataGateMode, thresholds: TrainingDataGateThresholds) {
    this.mode = mode;
    this.maxDriftScore = thresholds.maxDriftScore ?? DEFAULT_MAX_DRIFT_SCORE;
    this.maxMissingRateIncrease = thresholds.maxMissingRateIncrease ?? DEFAULT_MAX_MISSING_RATE_INCREASE;
  }
}
