import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { CaptureCheck } from './capture-check';
import { requireCapture } from '../core/capture-requirements';
import { ValidationErrors } from '../core/errors';
import { applyLineageTags } from '../core/lineage';
import { ICapturingEndpoint } from '../serving/capturing-endpoint';
import { ModelEndpoint } from '../serving/model-endpoint';

const NAMESPACE = 'MlPlatform/PredictionHealth';

/** Properties of a {@link PredictionHealthMonitor}. */
export interface PredictionHealthMonitorProps {
  /** The endpoint (SageMaker ModelEndpoint or KubernetesModelServer) whose captured outputs are checked; it must capture outputs. */
  readonly endpoint: ICapturingEndpoint;
  /**
   * How often the check runs; also the period of its metrics and alarms. Whole minutes, 5 minutes to 1 day.
   * @default Duration.minutes(10)
   */
  readonly interval?: Duration;
  /**
   * How old a capture file must be (by the time in its key) before it is read.
   * @default Duration.minutes(10)
   */
  readonly captureDeliveryGrace?: Duration;
  /**
   * Smallest valid score (e.g. 0 for probabilities).
   * @default - no lower bound (no out-of-range alarm unless maxScore is set)
   */
  readonly minScore?: number;
  /**
   * Largest valid score (e.g. 1 for probabilities).
   * @default - no upper bound (no out-of-range alarm unless minScore is set)
   */
  readonly maxScore?: number;
  /**
   * Share of NaN/±Infinity predictions (0-1) above which `nonFiniteAlarm` fires.
   * @default 0 (any non-finite prediction)
   */
  readonly maxNonFiniteRate?: number;
  /**
   * Share of finite predictions outside [minScore, maxScore] above which `outOfRangeAlarm` fires.
   * @default 0.01
   */
  readonly maxOutOfRangeRate?: number;
  /**
   * Scores at or above this are the positive class (binary classifiers), for the class-collapse check.
   * @default 0.5
   */
  readonly classThreshold?: number;
  /**
   * Alarm when at least `minPredictions` predictions of a window all fall in one class. Off by default:
   * imbalanced problems (fraud, churn) can legitimately predict only the majority class for a while.
   * @default false
   */
  readonly alarmOnClassCollapse?: boolean;
  /**
   * Predictions a window needs before the constant-output and class-collapse checks say anything.
   * @default 100
   */
  readonly minPredictions?: number;
  /**
   * Add the alarms to a SageMaker endpoint's deployment guardrails (`endpoint.addRollbackAlarm`), so a deployment
   * that starts producing NaN or constant outputs rolls back, and the continuous-training loop's bake period
   * watches them too.
   * @default true
   */
  readonly rollBackOnUnhealthy?: boolean;
  /**
   * Most capture files read per run.
   * @default 500
   */
  readonly maxObjectsPerRun?: number;
}

/**
 * Watches what a model answers, not whether the endpoint is up: a scheduled Lambda function reads the
 * endpoint's captured outputs and publishes `MlPlatform/PredictionHealth` metrics (Predictions, NonFiniteRate,
 * OutOfRangeRate, ConstantPredictions, ClassCollapse, TopClassShare, PredictionMean, PredictionStdDev).
 *
 * Alarms: `nonFiniteAlarm` (any NaN/Infinity by default), `constantAlarm` (every prediction of a window the
 * same), `outOfRangeAlarm` (when a score range is given), `classCollapseAlarm` (opt-in). By default they
 * become rollback alarms of the endpoint's deployments.
 */
export class PredictionHealthMonitor extends Construct {
  /** Fires when the share of NaN/±Infinity predictions exceeds maxNonFiniteRate. */
  public readonly nonFiniteAlarm: cloudwatch.Alarm;
  /** Fires when a window's predictions are all the same value. */
  public readonly constantAlarm: cloudwatch.Alarm;
  /** Fires when too many scores fall outside [minScore, maxScore] (only with a score range). */
  public readonly outOfRangeAlarm?: cloudwatch.Alarm;
  /** Fires when every prediction of a window is in one class (only with alarmOnClassCollapse). */
  public readonly classCollapseAlarm?: cloudwatch.Alarm;
  /** Fires when the check function fails twice in a row. */
  public readonly failureAlarm: cloudwatch.Alarm;
  /** Every health alarm (not failureAlarm). */
  public readonly alarms: cloudwatch.Alarm[];
  /** The check function. */
  public readonly function: lambda.IFunction;
  /** The monitored endpoint's name. */
  public readonly endpointName: string;
  /** How often the check runs. */
  public readonly interval: Duration;

  constructor(scope: Construct, id: string, props: PredictionHealthMonitorProps) {
    super(scope, id);
    const interval = props.interval ?? Duration.minutes(10);
    validate(this, props, interval);
    const endpoint = props.endpoint;
    requireCapture(endpoint, this, ['Output']);
    this.endpointName = endpoint.endpointName;
    this.interval = interval;
    const env: Record<string, string> = {};
    if (props.minScore !== undefined) { env.HEALTH_MIN_SCORE = String(props.minScore); }
    if (props.maxScore !== undefined) { env.HEALTH_MAX_SCORE = String(props.maxScore); }
    if (props.classThreshold !== undefined) { env.HEALTH_CLASS_THRESHOLD = String(props.classThreshold); }
    if (props.minPredictions !== undefined) { env.HEALTH_MIN_PREDICTIONS = String(props.minPredictions); }
    const check = new CaptureCheck(this, 'Check', {
      endpoint,
      kind: 'prediction-health',
      folder: 'prediction-health/',
      interval,
      grace: props.captureDeliveryGrace ?? Duration.minutes(10),
      maxObjectsPerRun: props.maxObjectsPerRun ?? 500,
      memorySize: 512,
      description: `cdk-ml-platform: prediction health check of ${endpoint.node.path}`,
      environment: env,
    });
    this.function = check.function;
    this.failureAlarm = check.failureAlarm;

    const alarm = (alarmId: string, metric: cloudwatch.IMetric, threshold: number, op: cloudwatch.ComparisonOperator, description: string) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: op,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      Validations.of(a).acknowledge({
        id: 'NIST.800.53.R5::NIST.800.53.R5-CloudWatchAlarmAction',
        reason: 'A deployment-guardrail alarm (SageMaker and the continuous-training loop act on it); add notification actions with addAlarmAction().',
      });
      return a;
    };
    const path = endpoint.node.path;
    this.nonFiniteAlarm = alarm('NonFiniteAlarm', this.metricNonFiniteRate(), props.maxNonFiniteRate ?? 0,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, `${path} returns NaN or Infinity predictions`);
    this.constantAlarm = alarm('ConstantAlarm', this.metric('ConstantPredictions'), 1,
      cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, `${path} returns the same prediction for every request`);
    this.alarms = [this.nonFiniteAlarm, this.constantAlarm];
    if (props.minScore !== undefined || props.maxScore !== undefined) {
      this.outOfRangeAlarm = alarm('OutOfRangeAlarm', this.metric('OutOfRangeRate'), props.maxOutOfRangeRate ?? 0.01,
        cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, `${path} returns scores outside [${props.minScore ?? '-inf'}, ${props.maxScore ?? 'inf'}]`);
      this.alarms.push(this.outOfRangeAlarm);
    }
    if (props.alarmOnClassCollapse) {
      this.classCollapseAlarm = alarm('ClassCollapseAlarm', this.metric('ClassCollapse'), 1,
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, `${path} predicts a single class for every request`);
      this.alarms.push(this.classCollapseAlarm);
    }
    // Only SageMaker endpoints have deployment guardrails to hand the alarms to.
    if ((props.rollBackOnUnhealthy ?? true) && endpoint instanceof ModelEndpoint) {
      for (const a of this.alarms) { endpoint.addRollbackAlarm(a); }
    }
    applyLineageTags(this, 'prediction-health-monitor');
  }

  /**
   * A metric of this monitor (namespace `MlPlatform/PredictionHealth`, dimension EndpointName).
   * @default - maximum over the check interval
   */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: NAMESPACE,
      metricName,
      statistic: cloudwatch.Stats.MAXIMUM,
      period: this.interval,
      ...props,
      dimensionsMap: { EndpointName: this.endpointName, ...props?.dimensionsMap },
    });
  }

  /**
   * Share of NaN/±Infinity predictions.
   * @default - maximum over the check interval
   */
  public metricNonFiniteRate(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('NonFiniteRate', props);
  }

  /**
   * Predictions analyzed.
   * @default - sum over the check interval
   */
  public metricPredictions(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Predictions', { statistic: cloudwatch.Stats.SUM, ...props });
  }
}

function validate(scope: PredictionHealthMonitor, props: PredictionHealthMonitorProps, interval: Duration): void {
  const errors = new ValidationErrors(scope, 'PredictionHealthMonitor');
  errors.check(props.endpoint.captureKeyPrefix !== undefined, {
    code: 'CaptureDisabled',
    what: 'the endpoint has data capture off, so there are no outputs to check',
    fix: `turn capture on for ${props.endpoint.node.path} (dataCaptureEnabled: true, captureOutput: true)`,
  });
  // Exact seconds: NaN, Infinity and fractions fail the checks instead of throwing in Duration.toSeconds.
  const minutes = interval.toSeconds({ integral: false }) / 60;
  errors.check(Number.isInteger(minutes) && minutes >= 5 && minutes <= 1440, {
    code: 'InvalidInterval', what: 'interval must be whole minutes between 5 minutes and 1 day', got: interval, fix: 'use e.g. Duration.minutes(10)',
  });
  const finite = (v: number | undefined) => v === undefined || Number.isFinite(v);
  errors.check(finite(props.minScore) && finite(props.maxScore), {
    code: 'InvalidScoreRange', what: 'minScore and maxScore must be finite numbers', got: [props.minScore, props.maxScore], fix: 'e.g. minScore: 0, maxScore: 1',
  });
  errors.check(props.minScore === undefined || props.maxScore === undefined || props.minScore < props.maxScore, {
    code: 'InvalidScoreRange', what: 'minScore must be below maxScore', got: [props.minScore, props.maxScore], fix: 'swap them',
  });
  for (const [name, v] of [['maxNonFiniteRate', props.maxNonFiniteRate], ['maxOutOfRangeRate', props.maxOutOfRangeRate]] as const) {
    errors.check(v === undefined || (Number.isFinite(v) && v >= 0 && v < 1), {
      code: 'InvalidRate', what: `${name} must be a share from 0 (inclusive) to 1 (exclusive)`, got: v, fix: 'e.g. 0.01 for 1 %',
    });
  }
  errors.check(props.maxOutOfRangeRate === undefined || props.minScore !== undefined || props.maxScore !== undefined, {
    code: 'OutOfRangeWithoutRange', what: 'maxOutOfRangeRate needs minScore or maxScore', fix: 'set the valid score range, e.g. minScore: 0, maxScore: 1',
  });
  errors.check(props.classThreshold === undefined || Number.isFinite(props.classThreshold), {
    code: 'InvalidClassThreshold', what: 'classThreshold must be a finite number', got: props.classThreshold, fix: 'e.g. 0.5',
  });
  errors.check(props.minPredictions === undefined || (Number.isInteger(props.minPredictions) && props.minPredictions >= 2), {
    code: 'InvalidMinPredictions', what: 'minPredictions must be a whole number of at least 2', got: props.minPredictions, fix: 'the default is 100',
  });
  const max = props.maxObjectsPerRun ?? 500;
  errors.check(Number.isInteger(max) && max >= 1 && max <= 10_000, {
    code: 'InvalidMaxObjects', what: 'maxObjectsPerRun must be a whole number from 1 to 10,000', got: max, fix: 'the default 500 suits most endpoints',
  });
  const grace = props.captureDeliveryGrace?.toSeconds({ integral: false }) ?? 600;
  errors.check(Number.isInteger(grace) && grace >= 0 && grace <= 86_400, {
    code: 'InvalidGrace', what: 'captureDeliveryGrace must be whole seconds between 0 and 1 day', got: props.captureDeliveryGrace, fix: 'the default is 10 minutes',
  });
  errors.throwIfAny();
}
