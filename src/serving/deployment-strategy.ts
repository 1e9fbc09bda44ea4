import { Duration } from 'aws-cdk-lib';

/** Options for {@link DeploymentStrategy.canary}. */
export interface CanaryDeploymentOptions {
  /**
   * Share of the new fleet that first takes traffic, in percent (1-50). Give this or `instances`.
   * @default 10
   */
  readonly percent?: number;
  /**
   * Number of instances that first take traffic; at most half the fleet. Give this or `percent`.
   * @default - `percent` is used
   */
  readonly instances?: number;
  /**
   * How long the canary bakes (rollback alarms watched) before all traffic moves, and how long the old
   * fleet is kept afterwards.
   * @default Duration.minutes(10)
   */
  readonly bake?: Duration;
}

/** Options for {@link DeploymentStrategy.linear}. */
export interface LinearDeploymentOptions {
  /** Share of the fleet shifted per step, in percent (1-50). */
  readonly stepPercent: number;
  /**
   * Time between steps (alarms watched).
   * @default Duration.minutes(5)
   */
  readonly interval?: Duration;
  /**
   * How long the old fleet is kept after the last step.
   * @default Duration.minutes(10)
   */
  readonly bake?: Duration;
}

/** Options for {@link DeploymentStrategy.rolling}. */
export interface RollingDeploymentOptions {
  /** Share of the fleet replaced per batch, in percent (5-50). */
  readonly batchPercent: number;
  /**
   * Time between batches (alarms watched).
   * @default Duration.minutes(5)
   */
  readonly interval?: Duration;
  /**
   * Share of the fleet rolled back per batch when an alarm fires.
   * @default - the whole fleet at once
   */
  readonly rollbackBatchPercent?: number;
}

/** Options for {@link DeploymentStrategy.allAtOnce}. */
export interface AllAtOnceDeploymentOptions {
  /**
   * How long the old fleet is kept after the switch (alarms watched, instant rollback).
   * @default Duration.minutes(10)
   */
  readonly bake?: Duration;
}

/**
 * How ModelEndpoint rolls a new model out (SageMaker deployment guardrails), replacing a union of
 * strategy shapes. Every strategy rolls back automatically when a rollback alarm fires.
 *
 * @see https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails.html
 */
export class DeploymentStrategy {
  /** Blue/green: all traffic moves at once; the old fleet stays for the bake time. */
  public static allAtOnce(options: AllAtOnceDeploymentOptions = {}): DeploymentStrategy {
    return new DeploymentStrategy('ALL_AT_ONCE', { bake: options.bake ?? Duration.minutes(10) });
  }

  /** Blue/green canary: a small share first, then the rest after the bake time. */
  public static canary(options: CanaryDeploymentOptions = {}): DeploymentStrategy {
    return new DeploymentStrategy('CANARY', {
      bake: options.bake ?? Duration.minutes(10),
      percent: options.instances === undefined ? options.percent ?? 10 : options.percent,
      instances: options.instances,
    });
  }

  /** Blue/green linear: equal steps with an interval between them. */
  public static linear(options: LinearDeploymentOptions): DeploymentStrategy {
    return new DeploymentStrategy('LINEAR', {
      percent: options.stepPercent, interval: options.interval ?? Duration.minutes(5), bake: options.bake ?? Duration.minutes(10),
    });
  }

  /** Rolling: the fleet is replaced in batches in place (no second fleet: cheaper for large GPU fleets). */
  public static rolling(options: RollingDeploymentOptions): DeploymentStrategy {
    return new DeploymentStrategy('ROLLING', {
      percent: options.batchPercent, interval: options.interval ?? Duration.minutes(5), rollbackPercent: options.rollbackBatchPercent,
    });
  }

  /** `ALL_AT_ONCE`, `CANARY`, `LINEAR` or `ROLLING`. */
  public readonly kind: string;
  /** @internal */
  public readonly _settings: { bake?: Duration; percent?: number; instances?: number; interval?: Duration; rollbackPercent?: number };

  private constructor(kind: string, settings: DeploymentStrategy['_settings']) {
    this.kind = kind;
    this._settings = settings;
  }
}
