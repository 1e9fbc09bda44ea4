import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CaptureCheckFunction } from './capture-check-function';
import { acknowledgeManagedPolicy, acknowledgeWildcardResource } from '../core/nag';
import { DataZone } from '../data/data-lake';
import { ICapturingEndpoint } from '../serving/capturing-endpoint';

/** @internal */
export interface CaptureCheckProps {
  readonly endpoint: ICapturingEndpoint;
  readonly kind: 'drift' | 'prediction-health';
  /** `drift/` or `prediction-health/`: state and reports go below `<folder><endpoint>/` in the monitoring zone. */
  readonly folder: string;
  readonly interval: Duration;
  readonly grace: Duration;
  readonly maxObjectsPerRun: number;
  readonly csvColumns?: string[];
  readonly environment: Record<string, string>;
  readonly memorySize: number;
  readonly description: string;
}

/**
 * The scheduled Lambda function behind DriftMonitor and PredictionHealthMonitor (one bundle,
 * `capture-check.lambda.ts`, configured by CHECK_KIND): reads the endpoint's capture files from the lake's
 * monitoring zone, keeps its watermark and reports under its own folder, publishes EMF metrics.
 *
 * @internal
 */
export class CaptureCheck extends Construct {
  public readonly function: lambda.Function;
  public readonly rule: events.Rule;
  public readonly failureAlarm: cloudwatch.Alarm;
  /** Key prefix of this check's state and reports in the monitoring zone. */
  public readonly keyPrefix: string;

  constructor(scope: Construct, id: string, props: CaptureCheckProps) {
    super(scope, id);
    const endpoint = props.endpoint;
    const lake = endpoint.dataLake;
    const captureKeyPrefix = endpoint.captureKeyPrefix!;
    const monitoring = lake.bucket(DataZone.MONITORING);
    this.keyPrefix = `${props.folder}${endpoint.endpointName}/`;

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const fn = new CaptureCheckFunction(this, 'Function', {
      description: props.description,
      timeout: Duration.minutes(15),
      memorySize: props.memorySize,
      // One run at a time: two runs would read the same files and race on the watermark.
      reservedConcurrentExecutions: 1,
      logGroup,
      environment: {
        CHECK_KIND: props.kind,
        CHECK_BUCKET: monitoring.bucketName,
        CHECK_CAPTURE_PREFIX: captureKeyPrefix,
        CHECK_ENDPOINT_NAME: endpoint.endpointName,
        CHECK_STATE_KEY: `${this.keyPrefix}state.json`,
        CHECK_REPORT_PREFIX: `${this.keyPrefix}reports/`,
        CHECK_GRACE_SECONDS: String(props.grace.toSeconds()),
        CHECK_MAX_OBJECTS: String(props.maxObjectsPerRun),
        ...props.csvColumns && props.csvColumns.length > 0 ? { CHECK_FEATURE_NAMES: props.csvColumns.join(',') } : {},
        ...props.environment,
      },
    });
    this.function = fn;

    // --- least privilege: list the capture prefix, read capture files, read/write only this check's folder --------
    lake.grantRead(DataZone.MONITORING, fn, captureKeyPrefix);
    lake.grantReadWrite(DataZone.MONITORING, fn, this.keyPrefix);
    acknowledgeWildcardResource(fn.role!, monitoring.arnForObjects(`${captureKeyPrefix}*`), 'SageMaker writes capture files under time-partitioned keys.');
    acknowledgeWildcardResource(fn.role!, monitoring.arnForObjects(`${this.keyPrefix}*`), 'Reports are written under timestamped keys of this check\'s own folder.');

    this.rule = new events.Rule(this, 'Schedule', {
      description: `cdk-ml-platform: ${props.kind} check of ${endpoint.node.path}`,
      schedule: events.Schedule.rate(props.interval),
    });
    this.rule.addTarget(new targets.LambdaFunction(fn, {
      // A missed run is not lost: the next one reads everything after the watermark.
      retryAttempts: 2,
      maxEventAge: props.interval.toSeconds() > 3600 ? Duration.hours(1) : props.interval,
    }));

    this.failureAlarm = new cloudwatch.Alarm(this, 'FailureAlarm', {
      alarmDescription: `The ${props.kind} check of ${endpoint.node.path} failed twice in a row (see its log group); its metrics are stale`,
      metric: fn.metricErrors({ period: props.interval, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    Validations.of(fn).acknowledge(
      { id: 'NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC', reason: 'Only calls the S3, SageMaker and CloudWatch Logs APIs; there is nothing in a VPC to reach.' },
      { id: 'NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ', reason: 'Scheduled: a failed run is retried by EventBridge and its files are re-read by the next run (watermark); the failure alarm reports it.' },
      { id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy', reason: 'CDK attaches the function\'s permissions as a policy owned by this role only.' },
    );
    acknowledgeManagedPolicy(fn, 'service-role/AWSLambdaBasicExecutionRole', 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs.');
    Validations.of(logGroup).acknowledge({
      id: 'NIST.800.53.R5::NIST.800.53.R5-CloudWatchLogGroupEncrypted',
      reason: 'Run summaries, counts and at most 5 parse errors per file (which may quote a few characters of a malformed line); CloudWatch Logs encrypts them at rest.',
    });
    for (const alarm of [this.failureAlarm]) {
      Validations.of(alarm).acknowledge({
        id: 'NIST.800.53.R5::NIST.800.53.R5-CloudWatchAlarmAction',
        reason: 'Add actions with alarm.addAlarmAction(); the library cannot know where your team is paged.',
      });
    }
  }
}
