/** Whether a larger or a smaller objective value is better. */
export enum ObjectiveDirection {
  /** `Maximize`: larger is better (AUC, accuracy, F1). */
  MAXIMIZE = 'Maximize',
  /** `Minimize`: smaller is better (loss, RMSE). */
  MINIMIZE = 'Minimize',
}

/**
 * The metric that decides whether a newly trained model (the challenger) replaces the approved one
 * (the champion). Read from `metrics.<name>.value` in the evaluation step's `evaluation.json`.
 */
export class Objective {
  /**
   * Larger is better.
   *
   * @param metricName metric name in evaluation.json, e.g. `validation:auc`
   * @param minImprovement absolute amount by which the challenger must beat the champion; with 0 it must
   *   be strictly better (equal values keep the champion)
   */
  public static maximize(metricName: string, minImprovement: number = 0): Objective {
    return new Objective(metricName, ObjectiveDirection.MAXIMIZE, minImprovement);
  }

  /**
   * Smaller is better.
   *
   * @param metricName metric name in evaluation.json, e.g. `validation:rmse`
   * @param minImprovement absolute amount by which the challenger must beat the champion; with 0 it must
   *   be strictly better (equal values keep the champion)
   */
  public static minimize(metricName: string, minImprovement: number = 0): Objective {
    return new Objective(metricName, ObjectiveDirection.MINIMIZE, minImprovement);
  }

  /** The metric name. */
  public readonly metricName: string;
  /** Maximize or minimize. */
  public readonly direction: ObjectiveDirection;
  /** The required absolute improvement. */
  public readonly minImprovement: number;

  private constructor(metricName: string, direction: ObjectiveDirection, minImprovement: number) {
    this.metricName = metricName;
    this.direction = direction;
    this.minImprovement = minImprovement;
  }
}
