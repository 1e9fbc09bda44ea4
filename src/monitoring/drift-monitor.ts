import { ArnFormat, Duration, Fn, Names, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { CaptureCheck } from './capture-check';
import { requireCapture } from '../core/capture-requirements';
import { ValidationErrors } from '../core/errors';
import { applyLineageTags } from '../core/lineage';
import { modelMonitorAnalyzerImage } from '../core/model-monitor-images';
import { acknowledgeWildcardResource } from '../core/nag';
import { DataZone } from '../data/data-lake';
import { IModelRegistry } from '../registry/model-registry';
import { ICapturingEndpoint } from '../serving/capturing-endpoint';
import { ModelEndpoint } from '../serving/model-endpoint';

/** CloudWatch namespace of the drift metrics. */
const NAMESPACE = 'MlPlatform/Drift';

/**
 * What the live inputs are compared with: a baseline in the `cdk-ml-platform/baseline` format (written by
 * GpuTrainingPipeline's DataSnapshot step, or by `ml-platform drift baseline`).
 */
export abstract class DriftBaseline {
  /**
   * The baseline of the model in production: the newest Approved model package of `registry`, its
   * `CustomerMetadataProperties.baseline_uri` (set by GpuTrainingPipeline), read at every run, so a promotion
   * moves the reference with it. Until a package is approved the check skips its runs (no error).
   */
  public static fromChampion(registry: IModelRegistry): DriftBaseline {
    return new ChampionBaseline(registry);
  }

  /** A fixed baseline JSON object, e.g. one built offline with `ml-platform drift baseline`. */
  public static fromS3(bucket: s3.IBucket, key: string): DriftBaseline {
    return new FixedBaseline(bucket, key);
  }

  /** @internal */
  public abstract _bind(scope: Construct, fn: lambda.Function): Record<string, string>;
}

class ChampionBaseline extends DriftBaseline {
  constructor(private readonly registry: IModelRegistry) { super(); }

  public _bind(_scope: Construct, fn: lambda.Function): Record<string, string> {
    this.registry.grantRead(fn);
    acknowledgeWildcardResource(fn.role!, this.registry.modelPackageArnPattern, 'The champion is whichever version of the group is the newest approved one.');
    return { DRIFT_MODEL_PACKAGE_GROUP: this.registry.modelPackageGroupName };
  }
}

class FixedBaseline extends DriftBaseline {
  constructor(private readonly bucket: s3.IBucket, private readonly key: string) { super(); }

  public _bind(_scope: Construct, fn: lambda.Function): Record<string, string> {
    // Exactly one object: CDK's Bucket.grantRead would add s3:GetObject*/GetBucket*/List* wildcards.
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [this.bucket.arnForObjects(this.key)] }));
    this.bucket.encryptionKey?.grantDecrypt(fn);
    return { DRIFT_BASELINE_URI: `s3://${this.bucket.bucketName}/${this.key}` };
  }
}

/** Per-feature thresholds of a {@link DriftMonitor}: a warning and an alarm on the feature's PSI. */
export interface FeatureDriftThreshold {
  /** The feature (a key of the input records, or a CSV column name). */
  readonly feature: string;
  /**
   * PSI at which the feature's warning alarm fires.
   * @default - the monitor's psiWarning
   */
  readonly psiWarning?: number;
  /**
   * PSI at which the feature's alarm fires.
   * @default - the monitor's psiAlarm
   */
  readonly psiAlarm?: number;
}

/** A SageMaker Model Monitor data-quality schedule next to our own check (see {@link DriftMonitorProps.modelMonitor}). */
export interface ModelMonitorOptions {
  /**
   * Schedule of the monitoring job (Model Monitor accepts hourly, daily and `NOW` style cron expressions).
   * @default 'cron(0 * ? * * *)' (hourly)
   */
  readonly scheduleExpression?: string;
  /**
   * Instance type of the monitoring job.
   * @default 'ml.m5.xlarge'
   */
  readonly instanceType?: string;
  /**
   * S3 URI of a Model Monitor `constraints.json` (from a baselining job); the job then reports violations.
   * @default - no constraints: the job only computes statistics
   */
  readonly baselineConstraintsUri?: string;
  /**
   * S3 URI of a Model Monitor `statistics.json` (from a baselining job).
   * @default - no baseline statistics
   */
  readonly baselineStatisticsUri?: string;
  /**
   * The analyzer image, for a Region the built-in table does not list.
   * @default - `sagemaker-model-monitor-analyzer` of the stack's Region
   */
  readonly analyzerImageUri?: string;
  /**
   * Longest a monitoring job may run.
   * @default Duration.hours(1)
   */
  readonly maxRuntime?: Duration;
}

/** Properties of a {@link DriftMonitor}. */
export interface DriftMonitorProps {
  /** The endpoint (SageMaker ModelEndpoint or KubernetesModelServer) whose captured inputs are checked; capture must be on. */
  readonly endpoint: ICapturingEndpoint;
  /**
   * The reference distribution.
   * @default - DriftBaseline.fromChampion(endpoint's registry); required when the endpoint does not serve from a registry
   */
  readonly baseline?: DriftBaseline;
  /**
   * How often the check runs; also the period of its metrics and alarms. Whole minutes, 5 minutes to 1 day.
   * @default Duration.hours(1)
   */
  readonly interval?: Duration;
  /**
   * How old a capture file must be (by the time in its key) before it is read. SageMaker delivers a file a few
   * minutes after its first record; a file delivered later than this after its start could be missed.
   * @default Duration.minutes(15)
   */
  readonly captureDeliveryGrace?: Duration;
  /**
   * Overall drift score (the largest feature PSI) at which `driftWarning` fires.
   * @default 0.1
   */
  readonly psiWarning?: number;
  /**
   * Overall drift score at which `driftAlarm` fires (the alarm RetrainTrigger.onDrift listens to).
   * @default 0.2
   */
  readonly psiAlarm?: number;
  /**
   * Features with their own alarms (and thresholds). The overall alarm already covers every feature at
   * `psiAlarm`; list features here for their own alarms, or for a different threshold.
   * @default - no per-feature alarms
   */
  readonly featureThresholds?: FeatureDriftThreshold[];
  /**
   * Column names of CSV request payloads, in order. Needed when the endpoint receives CSV.
   * @default - requests are JSON objects (feature name to value)
   */
  readonly csvColumns?: string[];
  /**
   * Most capture files read per run (the rest wait for the next run).
   * @default 500
   */
  readonly maxObjectsPerRun?: number;
  /**
   * Memory of the check function, MiB. The engine keeps at most 100,000 values per numeric feature.
   * @default 1024
   */
  readonly memorySize?: number;
  /**
   * Also run SageMaker Model Monitor's data-quality job on the endpoint (its own statistics, violations and
   * `aws/sagemaker/Endpoints/data-metrics` metrics). Costs a processing instance per run.
   * @default - off
   */
  readonly modelMonitor?: ModelMonitorOptions;
}

/**
 * Detects data drift on a SageMaker endpoint: a scheduled Lambda function (our drift engine, see
 * `monitoring/drift/`) reads the endpoint's new data-capture files from the lake's monitoring zone, compares
 * their input records with a baseline and publishes `MlPlatform/Drift` metrics per endpoint (DriftScore,
 * DriftedFeatures, RecordsAnalyzed, MalformedRecords, PoisonedObjects) and per feature (PSI, JSDistance,
 * MissingRate); a JSON report per run goes to `drift/<endpoint>/reports/` in the monitoring zone.
 *
 * Alarms: `driftAlarm` (DriftScore ≥ psiAlarm, 0.2), `driftWarning` (≥ psiWarning, 0.1), one alarm (and warning) per
 * listed feature, and `failureAlarm` when the check itself fails twice in a row. Add actions to them;
 * `RetrainTrigger.onDrift(monitor)` starts a retraining on `driftAlarm`.
 *
 * ```ts
 * const drift = new DriftMonitor(this, 'Drift', { endpoint, featureThresholds: [{ feature: 'amount', psiAlarm: 0.15 }] });
 * drift.driftAlarm.addAlarmAction(new actions.SnsAction(topic));
 * ```
 */
export class DriftMonitor extends Construct {
  /** Fires when the overall drift score reaches psiAlarm. */
  public readonly driftAlarm: cloudwatch.Alarm;
  /** Fires when the overall drift score reaches psiWarning. */
  public readonly driftWarning: cloudwatch.Alarm;
  /** The per-feature alarms, in the order of `featureThresholds`. */
  public readonly featureAlarms: cloudwatch.Alarm[] = [];
  /** Fires when the check function fails twice in a row (metrics are stale). */
  public readonly failureAlarm: cloudwatch.Alarm;
  /** The check function. */
  public readonly function: lambda.IFunction;
  /** The dashboard: drift score and features over time, records analyzed, malformed records. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** The monitored endpoint's name (the `EndpointName` dimension). */
  public readonly endpointName: string;
  /** How often the check runs. */
  public readonly interval: Duration;
  /** S3 URI of the reports. */
  public readonly reportsUri: string;
  /** The Model Monitor schedule, when `modelMonitor` is set. */
  public readonly monitoringSchedule?: sagemaker.CfnMonitoringSchedule;
  private readonly endpoint: ICapturingEndpoint;
  private readonly reportsPrefix: string;

  constructor(scope: Construct, id: string, props: DriftMonitorProps) {
    super(scope, id);
    const interval = props.interval ?? Duration.hours(1);
    const psiWarning = props.psiWarning ?? 0.1;
    const psiAlarm = props.psiAlarm ?? 0.2;
    validate(this, props, interval, psiWarning, psiAlarm);
    const endpoint = props.endpoint;
    requireCapture(endpoint, this, ['Input']);
    this.endpointName = endpoint.endpointName;
    this.interval = interval;

    const check = new CaptureCheck(this, 'Check', {
      endpoint,
      kind: 'drift',
      folder: 'drift/',
      interval,
      grace: props.captureDeliveryGrace ?? Duration.minutes(15),
      maxObjectsPerRun: props.maxObjectsPerRun ?? 500,
      csvColumns: props.csvColumns,
      memorySize: props.memorySize ?? 1024,
      description: `cdk-ml-platform: drift check of ${endpoint.node.path}`,
      environment: { DRIFT_PSI_ALARM: String(psiAlarm) },
    });
    const baseline = props.baseline ?? DriftBaseline.fromChampion(endpoint.registry!);
    for (const [k, v] of Object.entries(baseline._bind(this, check.function))) { check.function.addEnvironment(k, v); }
    this.function = check.function;
    this.failureAlarm = check.failureAlarm;
    this.endpoint = endpoint;
    this.reportsPrefix = `${check.keyPrefix}reports/`;
    this.reportsUri = endpoint.dataLake.uri(DataZone.MONITORING, this.reportsPrefix);

    const alarm = (alarmId: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        // No traffic means nothing drifted; a broken check is failureAlarm's business.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      Validations.of(a).acknowledge({
        id: 'NIST.800.53.R5::NIST.800.53.R5-CloudWatchAlarmAction',
        reason: 'Add actions with alarm.addAlarmAction() or retrain with RetrainTrigger.onDrift(); the library cannot know where your team is paged.',
      });
      return a;
    };
    this.driftAlarm = alarm('DriftAlarm', this.metricDriftScore(), psiAlarm,
      `Input drift on ${endpoint.node.path}: the largest feature PSI reached ${psiAlarm} (see ${this.reportsUri})`);
    this.driftWarning = alarm('DriftWarning', this.metricDriftScore(), psiWarning,
      `Input drift warning on ${endpoint.node.path}: the largest feature PSI reached ${psiWarning}`);
    for (const t of props.featureThresholds ?? []) {
      const safe = t.feature.replace(/[^A-Za-z0-9]/g, '') || 'Feature';
      const featureAlarm = t.psiAlarm ?? psiAlarm;
      this.featureAlarms.push(alarm(`Feature${safe}Alarm${this.featureAlarms.length}`, this.metricDriftScore(t.feature), featureAlarm,
        `Input drift of feature ${t.feature} on ${endpoint.node.path}: PSI reached ${featureAlarm}`));
      if (t.psiWarning !== undefined) {
        alarm(`Feature${safe}Warning${this.featureAlarms.length - 1}`, this.metricDriftScore(t.feature), t.psiWarning,
          `Input drift warning of feature ${t.feature} on ${endpoint.node.path}: PSI reached ${t.psiWarning}`);
      }
    }

    // --- dashboard (CloudFormation names it) --------------------------------------------------------------------
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(7) });
    const seconds = interval.toSeconds();
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `Drift score of ${this.endpointName} (largest feature PSI)`,
        left: [this.metricDriftScore()],
        leftAnnotations: [
          { value: psiWarning, label: `warning ${psiWarning}`, color: cloudwatch.Color.ORANGE },
          { value: psiAlarm, label: `alarm ${psiAlarm}`, color: cloudwatch.Color.RED },
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'PSI per feature',
        left: [new cloudwatch.MathExpression({
          expression: `SEARCH('{${NAMESPACE},EndpointName,Feature} MetricName="PSI" EndpointName="${this.endpointName}"', 'Maximum', ${seconds})`,
          label: '',
          period: interval,
        })],
        leftAnnotations: [{ value: psiAlarm, color: cloudwatch.Color.RED }],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Capture lines analyzed and malformed',
        left: [this.metricRecordsAnalyzed()],
        right: [this.metricMalformedRecords(), this.metric('PoisonedObjects', { statistic: cloudwatch.Stats.SUM })],
        width: 12,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [this.driftAlarm, this.driftWarning, ...this.featureAlarms, this.failureAlarm], width: 12 }),
    );
    if (props.modelMonitor) {
      this.monitoringSchedule = modelMonitorSchedule(this, endpoint, props.modelMonitor);
    }
    applyLineageTags(this, 'drift-monitor');
  }

  /**
   * A metric of this monitor (namespace `MlPlatform/Drift`, dimension EndpointName).
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
   * The overall drift score (largest feature PSI), or one feature's PSI.
   * @param feature a feature name; omit for the overall score
   * @default - maximum over the check interval
   */
  public metricDriftScore(feature?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (feature === undefined) { return this.metric('DriftScore', props); }
    return this.metric('PSI', { ...props, dimensionsMap: { Feature: feature, ...props?.dimensionsMap } });
  }

  /**
   * Capture lines that could not be decoded (counted and skipped).
   * @default - sum over the check interval
   */
  public metricMalformedRecords(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('MalformedRecords', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Capture lines analyzed.
   * @default - sum over the check interval
   */
  public metricRecordsAnalyzed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RecordsAnalyzed', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /** An EventBridge rule for state changes of `driftAlarm` into ALARM. */
  public onDriftAlarm(id: string, options: events.OnEventOptions = {}): events.Rule {
    const rule = new events.Rule(this, id, {
      ...options,
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        resources: [this.driftAlarm.alarmArn],
        detail: { state: { value: ['ALARM'] } },
      },
    });
    if (options.target) { rule.addTarget(options.target); }
    return rule;
  }

  /** Lets `grantee` read the reports. */
  public grantReadReports(grantee: iam.IGrantable): iam.Grant {
    return this.endpoint.dataLake.grantRead(DataZone.MONITORING, grantee, this.reportsPrefix);
  }
}

const MONITOR_SCHEDULES = /^(cron\(0 \* \? \* \* \*\)|cron\(0 [0-9]{1,2} \? \* \* \*\)|cron\(0 [0-9]{1,2}\/[0-9]{1,2} \? \* \* \*\))$/;

/** SageMaker Model Monitor: an unnamed data-quality job definition and a (necessarily named) schedule. */
function modelMonitorSchedule(scope: DriftMonitor, endpoint: ICapturingEndpoint, options: ModelMonitorOptions): sagemaker.CfnMonitoringSchedule {
  const stack = Stack.of(scope);
  const lake = endpoint.dataLake;
  const outputPrefix = `model-monitor/${endpoint.endpointName}/`;
  const image = options.analyzerImageUri ?? modelMonitorAnalyzerImage(scope)!;
  const role = new iam.Role(scope, 'ModelMonitorRole', {
    description: `Model Monitor data-quality jobs of ${endpoint.node.path}`,
    assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
  });
  lake.grantRead(DataZone.MONITORING, role, endpoint.captureKeyPrefix!);
  lake.grantReadWrite(DataZone.MONITORING, role, outputPrefix);
  for (const uri of [options.baselineConstraintsUri, options.baselineStatisticsUri]) {
    const m = uri && !Token.isUnresolved(uri) ? /^s3:\/\/([^/]+)\/(.+)$/.exec(uri) : null;
    if (m) { role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`arn:${stack.partition}:s3:::${m[1]}/${m[2]}`] })); }
  }
  const logGroup = stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '/aws/sagemaker/ProcessingJobs*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'], resources: [logGroup, `${logGroup}:log-stream:*`],
  }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['cloudwatch:PutMetricData'], resources: ['*'], conditions: { StringLike: { 'cloudwatch:namespace': 'aws/sagemaker/Endpoints/*' } },
  }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
    resources: [`arn:${stack.partition}:ecr:*:*:repository/sagemaker-model-monitor-analyzer`],
  }));
  acknowledgeWildcardResource(role, lake.bucket(DataZone.MONITORING).arnForObjects(`${endpoint.captureKeyPrefix!}*`), 'SageMaker writes capture files under time-partitioned keys.');
  acknowledgeWildcardResource(role, lake.bucket(DataZone.MONITORING).arnForObjects(`${outputPrefix}*`), 'Model Monitor writes its reports under per-execution keys.');
  acknowledgeWildcardResource(role, '*', 'ecr:GetAuthorizationToken and cloudwatch:PutMetricData (namespace-conditioned) have no resource ARNs.');
  acknowledgeWildcardResource(role, logGroup, 'Processing jobs log to /aws/sagemaker/ProcessingJobs.');
  acknowledgeWildcardResource(role, `${logGroup}:log-stream:*`, 'SageMaker names the log streams of each job.');
  acknowledgeWildcardResource(role, `arn:${stack.partition}:ecr:*:*:repository/sagemaker-model-monitor-analyzer`, 'The analyzer image lives in an AWS-owned account per Region.');
  Validations.of(role).acknowledge({ id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The policy is defined by this construct for this role only.' });

  const key = lake.encryptionKey;
  key.grant(role, 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:CreateGrant', 'kms:DescribeKey');
  const jobDefinition = new sagemaker.CfnDataQualityJobDefinition(scope, 'ModelMonitorJobDefinition', {
    // Never named: a changed definition is replaced, and a fixed name would clash.
    roleArn: role.roleArn,
    dataQualityAppSpecification: { imageUri: image },
    dataQualityJobInput: {
      endpointInput: { endpointName: endpoint.endpointName, localPath: '/opt/ml/processing/input/endpoint', s3InputMode: 'File', s3DataDistributionType: 'FullyReplicated' },
    },
    dataQualityJobOutputConfig: {
      kmsKeyId: key.keyArn,
      monitoringOutputs: [{ s3Output: { s3Uri: lake.uri(DataZone.MONITORING, outputPrefix), localPath: '/opt/ml/processing/output', s3UploadMode: 'EndOfJob' } }],
    },
    jobResources: {
      clusterConfig: { instanceCount: 1, instanceType: options.instanceType ?? 'ml.m5.xlarge', volumeSizeInGb: 20, volumeKmsKeyId: key.keyArn },
    },
    networkConfig: { enableNetworkIsolation: true, enableInterContainerTrafficEncryption: true },
    stoppingCondition: { maxRuntimeInSeconds: (options.maxRuntime ?? Duration.hours(1)).toSeconds() },
    dataQualityBaselineConfig: options.baselineConstraintsUri || options.baselineStatisticsUri ? {
      constraintsResource: options.baselineConstraintsUri ? { s3Uri: options.baselineConstraintsUri } : undefined,
      statisticsResource: options.baselineStatisticsUri ? { s3Uri: options.baselineStatisticsUri } : undefined,
    } : undefined,
    endpointName: endpoint.endpointName,
  });
  jobDefinition.node.addDependency(role);
  const schedule = new sagemaker.CfnMonitoringSchedule(scope, 'ModelMonitorSchedule', {
    // CloudFormation requires a name here; it is unique per construct path and the schedule is updated in place.
    monitoringScheduleName: Names.uniqueResourceName(scope, { maxLength: 63, separator: '-' }).replace(/[^a-zA-Z0-9-]/g, '').replace(/^-+|-+$/g, ''),
    endpointName: endpoint.endpointName,
    monitoringScheduleConfig: {
      // The definition's generated name: the last segment of its ARN (`...:data-quality-job-definition/<name>`).
      monitoringJobDefinitionName: Fn.select(1, Fn.split('/', jobDefinition.attrJobDefinitionArn)),
      monitoringType: 'DataQuality',
      scheduleConfig: { scheduleExpression: options.scheduleExpression ?? 'cron(0 * ? * * *)' },
    },
  });
  return schedule;
}

function validate(scope: DriftMonitor, props: DriftMonitorProps, interval: Duration, psiWarning: number, psiAlarm: number): void {
  const errors = new ValidationErrors(scope, 'DriftMonitor');
  const endpoint = props.endpoint;
  errors.check(endpoint.captureKeyPrefix !== undefined, {
    code: 'CaptureDisabled',
    what: 'the endpoint has data capture off, so there is nothing to check',
    fix: `turn capture on for ${endpoint.node.path} (dataCaptureEnabled: true; serverless variants cannot capture)`,
  });
  errors.check(props.baseline !== undefined || endpoint.registry !== undefined, {
    code: 'NoBaseline',
    what: 'no baseline given and the endpoint does not serve from a model registry',
    fix: 'pass baseline: DriftBaseline.fromS3(bucket, key) or DriftBaseline.fromChampion(registry)',
  });
  // Exact seconds: NaN, Infinity and fractions fail the checks instead of throwing in Duration.toSeconds.
  const minutes = interval.toSeconds({ integral: false }) / 60;
  errors.check(Number.isInteger(minutes) && minutes >= 5 && minutes <= 1440, {
    code: 'InvalidInterval',
    what: 'interval must be whole minutes between 5 minutes and 1 day',
    got: interval,
    fix: 'use e.g. Duration.hours(1)',
  });
  const psi = (v: number) => Token.isUnresolved(v) || (Number.isFinite(v) && v > 0);
  errors.check(psi(psiWarning), { code: 'InvalidThreshold', what: 'psiWarning must be a positive number', got: psiWarning, fix: 'the usual value is 0.1' });
  errors.check(psi(psiAlarm), { code: 'InvalidThreshold', what: 'psiAlarm must be a positive number', got: psiAlarm, fix: 'the usual value is 0.2' });
  errors.check(!(psi(psiWarning) && psi(psiAlarm)) || psiWarning <= psiAlarm, {
    code: 'InvalidThreshold', what: `psiWarning (${psiWarning}) must not exceed psiAlarm`, got: psiAlarm, fix: 'lower psiWarning or raise psiAlarm',
  });
  const seen = new Set<string>();
  for (const t of props.featureThresholds ?? []) {
    errors.check(typeof t.feature === 'string' && t.feature.trim() !== '', {
      code: 'InvalidFeature', what: 'featureThresholds[].feature must be a non-empty name', got: t.feature, fix: 'name the feature as it appears in the records',
    });
    errors.check(!seen.has(t.feature), { code: 'DuplicateFeature', what: 'a feature is listed twice in featureThresholds', got: t.feature, fix: 'list each feature once' });
    seen.add(t.feature);
    for (const [name, v] of [['psiWarning', t.psiWarning], ['psiAlarm', t.psiAlarm]] as const) {
      errors.check(v === undefined || psi(v), {
        code: 'InvalidThreshold', what: `featureThresholds[${t.feature}].${name} must be a positive number`, got: v, fix: 'use e.g. 0.2',
      });
    }
  }
  for (const c of props.csvColumns ?? []) {
    errors.check(typeof c === 'string' && c.trim() !== '' && !c.includes(','), {
      code: 'InvalidCsvColumns', what: 'csvColumns must be non-empty names without commas', got: c, fix: 'list the CSV columns of a request, in order',
    });
  }
  const max = props.maxObjectsPerRun ?? 500;
  errors.check(Number.isInteger(max) && max >= 1 && max <= 10_000, {
    code: 'InvalidMaxObjects', what: 'maxObjectsPerRun must be a whole number from 1 to 10,000', got: max, fix: 'the default 500 suits most endpoints',
  });
  const memory = props.memorySize ?? 1024;
  errors.check(Number.isInteger(memory) && memory >= 256 && memory <= 10_240, {
    code: 'InvalidMemorySize', what: 'memorySize must be whole MiB from 256 to 10,240', got: memory, fix: 'the default 1024 handles an hour of a busy endpoint',
  });
  const grace = props.captureDeliveryGrace?.toSeconds({ integral: false }) ?? 900;
  errors.check(Number.isInteger(grace) && grace >= 0 && grace <= 86_400, {
    code: 'InvalidGrace', what: 'captureDeliveryGrace must be whole seconds between 0 and 1 day', got: props.captureDeliveryGrace, fix: 'the default is 15 minutes',
  });
  const mm = props.modelMonitor;
  if (mm) {
    errors.check(endpoint instanceof ModelEndpoint, {
      code: 'ModelMonitorNeedsSageMaker',
      what: 'SageMaker Model Monitor only watches SageMaker endpoints',
      got: endpoint.node.path,
      fix: 'drop modelMonitor for a KubernetesModelServer (the drift check itself works for both)',
    });
    errors.check(mm.analyzerImageUri !== undefined || modelMonitorAnalyzerImage(scope) !== undefined, {
      code: 'NoModelMonitorImage',
      what: `the Model Monitor analyzer image is not known for Region ${Stack.of(scope).region}`,
      fix: 'pass modelMonitor.analyzerImageUri (see "Amazon SageMaker Model Monitor prebuilt container" in the SageMaker guide)',
    });
    errors.check(mm.scheduleExpression === undefined || Token.isUnresolved(mm.scheduleExpression) || MONITOR_SCHEDULES.test(mm.scheduleExpression), {
      code: 'InvalidModelMonitorSchedule',
      what: 'Model Monitor accepts hourly or daily cron expressions only',
      got: mm.scheduleExpression,
      fix: "use 'cron(0 * ? * * *)' (hourly), 'cron(0 3 ? * * *)' (daily at 03:00) or 'cron(0 */6 ? * * *)'",
    });
    for (const [name, uri] of [['baselineConstraintsUri', mm.baselineConstraintsUri], ['baselineStatisticsUri', mm.baselineStatisticsUri]] as const) {
      errors.check(uri === undefined || Token.isUnresolved(uri) || /^s3:\/\/[^/]+\/.+$/.test(uri), {
        code: 'InvalidModelMonitorBaseline', what: `modelMonitor.${name} must be an s3://bucket/key URI`, got: uri, fix: 'point it at the output of a baselining job',
      });
    }
    const runtime = mm.maxRuntime?.toSeconds({ integral: false }) ?? 3600;
    errors.check(Number.isInteger(runtime) && runtime >= 60 && runtime <= 3600, {
      code: 'InvalidModelMonitorRuntime',
      what: 'modelMonitor.maxRuntime must be between 1 minute and 1 hour (an hourly schedule allows no more)',
      got: mm.maxRuntime,
      fix: 'the default is 1 hour',
    });
  }
  errors.throwIfAny();
}
