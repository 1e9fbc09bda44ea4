import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AUDIT_EVENT_SOURCE, RETRAIN_REQUEST_DETAIL_TYPE } from './loop-state';
import { DriftMonitor } from '../monitoring/drift-monitor';

/** What a trigger needs from the loop. */
interface TriggerTarget {
  readonly scope: Construct;
  readonly stateMachine: sfn.IStateMachine;
  /** The loop's name in manual requests (`detail.loop`). */
  readonly loopName: string;
}

/**
 * What starts a continuous-training run. Every trigger is an EventBridge rule that starts the loop's state
 * machine with the event as input; the loop's `admit` step then debounces (duplicates, one run at a time,
 * minimum interval, retrain budget) and audits the decision.
 */
export abstract class RetrainTrigger {
  /** Retrain when a DriftMonitor's `driftAlarm` goes into ALARM. */
  public static onDrift(monitor: DriftMonitor): RetrainTrigger {
    return new AlarmTrigger(monitor.driftAlarm, 'Drift');
  }

  /** Retrain when any CloudWatch alarm goes into ALARM (e.g. a business KPI, a PredictionHealthMonitor alarm). */
  public static onAlarm(alarm: cloudwatch.IAlarm): RetrainTrigger {
    return new AlarmTrigger(alarm, 'Alarm');
  }

  /** Retrain on a fixed schedule (at least every hour; the budget still applies). */
  public static every(interval: Duration): RetrainTrigger {
    // The rate is built when the loop binds the trigger, after its validation: `Schedule.rate` throws an uncoded
    // error for an interval that is not whole minutes (e.g. 90 seconds), zero or NaN.
    if (interval.isUnresolved()) {
      return new ScheduleTrigger(() => events.Schedule.rate(interval), 'rate (a token)');
    }
    const minutes = interval.toMinutes({ integral: false });
    const what = Number.isFinite(minutes) ? interval.toHumanString() : `${minutes} minutes`;
    return new ScheduleTrigger(() => events.Schedule.rate(interval), what, minutes);
  }

  /** Retrain on a cron schedule. */
  public static onSchedule(schedule: events.Schedule): RetrainTrigger {
    return new ScheduleTrigger(() => schedule, schedule.expressionString);
  }

  /**
   * Retrain on request: put an event on the default bus with source `cdk-ml-platform.continuous-training`,
   * detail-type `Retrain requested` and detail `{"loop": "<ContinuousTraining.loopName>", "reason": "...",
   * "requestId": "<optional, for deduplication>", "dataVersion": "<optional s3:// URI of the training data>",
   * "codeVersion": "<optional>"}`:
   *
   * ```sh
   * aws events put-events --entries '[{"Source":"cdk-ml-platform.continuous-training","DetailType":"Retrain requested",
   *   "Detail":"{\"loop\":\"FraudPlatform/Loop\",\"reason\":\"new labels\",\"requestId\":\"ticket-123\"}"}]'
   * ```
   */
  public static manual(): RetrainTrigger {
    return new ManualTrigger();
  }

  /** A short description for docs and audit. */
  public abstract readonly description: string;

  /** @internal The interval of `every()`, in minutes, for the loop's validation. */
  public readonly _intervalMinutes?: number;

  /** @internal */
  public abstract _bind(scope: Construct, stateMachine: sfn.IStateMachine, loopName: string, index: number): events.Rule;
}

class AlarmTrigger extends RetrainTrigger {
  public readonly description: string;
  constructor(private readonly alarm: cloudwatch.IAlarm, private readonly label: string) {
    super();
    this.description = `alarm ${alarm.alarmName}`;
  }

  public _bind(scope: Construct, stateMachine: sfn.IStateMachine, loopName: string, index: number): events.Rule {
    const target: TriggerTarget = { scope, stateMachine, loopName };
    const rule = new events.Rule(target.scope, `${this.label}Trigger${index}`, {
      description: `cdk-ml-platform: retrain when ${this.alarm.node.path} goes into ALARM`,
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        resources: [this.alarm.alarmArn],
        detail: { state: { value: ['ALARM'] } },
      },
    });
    rule.addTarget(new targets.SfnStateMachine(target.stateMachine, { retryAttempts: 4, maxEventAge: Duration.hours(2) }));
    return rule;
  }
}

class ScheduleTrigger extends RetrainTrigger {
  public readonly description: string;
  public readonly _intervalMinutes?: number;
  constructor(private readonly schedule: () => events.Schedule, what: string, minutes?: number) {
    super();
    this.description = `schedule ${what}`;
    this._intervalMinutes = minutes;
  }

  public _bind(scope: Construct, stateMachine: sfn.IStateMachine, loopName: string, index: number): events.Rule {
    const target: TriggerTarget = { scope, stateMachine, loopName };
    const rule = new events.Rule(target.scope, `ScheduleTrigger${index}`, {
      description: `cdk-ml-platform: scheduled retraining (${this.description})`,
      schedule: this.schedule(),
    });
    rule.addTarget(new targets.SfnStateMachine(target.stateMachine, { retryAttempts: 4, maxEventAge: Duration.hours(2) }));
    return rule;
  }
}

class ManualTrigger extends RetrainTrigger {
  public readonly description = 'manual request';

  public _bind(scope: Construct, stateMachine: sfn.IStateMachine, loopName: string, index: number): events.Rule {
    const target: TriggerTarget = { scope, stateMachine, loopName };
    const rule = new events.Rule(target.scope, `ManualTrigger${index}`, {
      description: 'cdk-ml-platform: retraining requested by a "Retrain requested" event',
      eventPattern: {
        source: [AUDIT_EVENT_SOURCE],
        detailType: [RETRAIN_REQUEST_DETAIL_TYPE],
        detail: { loop: [target.loopName] },
      },
    });
    rule.addTarget(new targets.SfnStateMachine(target.stateMachine, { retryAttempts: 4, maxEventAge: Duration.hours(2) }));
    return rule;
  }
}
