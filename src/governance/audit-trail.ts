import { Annotations, Duration, Lazy, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct, IConstruct } from 'constructs';
import { AuditWriterFunction } from './audit-writer-function';
import { AUDIT_EVENT_DETAIL_TYPE, AUDIT_EVENT_SOURCE } from '../automation/loop-state';
import { ValidationErrors, mlError } from '../core/errors';
import { applyLineageTags } from '../core/lineage';
import { acknowledgeManagedPolicy, acknowledgeWildcardResource } from '../core/nag';
import { resolveStatefulRemovalPolicy } from '../core/removal-policy';
import { accessLogBucket, hardenedBucketProps } from '../core/secure-bucket';
import { DataZone, IDataLake } from '../data/data-lake';

/**
 * The S3 Object Lock retention mode of the audit bucket.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
 */
export enum AuditObjectLockMode {
  /**
   * `GOVERNANCE`: nobody can overwrite or delete a locked object version unless they hold
   * `s3:BypassGovernanceRetention` and ask for the bypass explicitly. Right for most audit stores.
   */
  GOVERNANCE = 'GOVERNANCE',
  /**
   * `COMPLIANCE`: nobody can overwrite or delete a locked object version, or shorten its retention, until it
   * expires: not an administrator, not the account root user. Use it when a regulator requires WORM storage;
   * a wrong retention then costs storage for that whole period.
   */
  COMPLIANCE = 'COMPLIANCE',
}

/** Properties for an {@link AuditTrail}. */
export interface AuditTrailProps {
  /**
   * A data lake whose zone buckets get S3 data events (object reads and writes) in the trail.
   *
   * @default - no lake buckets are traced (add buckets with `addDataEventBucket`)
   */
  readonly dataLake?: IDataLake;

  /**
   * More buckets whose object reads and writes are traced as S3 data events.
   *
   * @default - none
   */
  readonly additionalDataEventBuckets?: s3.IBucket[];

  /**
   * Customer-managed KMS key for the audit bucket, the trail's log files, its CloudWatch Logs group, the
   * writer's logs and the EventBridge archive.
   *
   * A key defined in this app gets the key-policy statements CloudTrail, CloudWatch Logs and EventBridge need.
   * An imported key must already allow them (a synth warning lists them).
   *
   * @default - a new key with automatic annual rotation, kept on stack deletion like the records it protects
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Default S3 Object Lock retention of every audit object (trail log files, digests and event records).
   * Whole days, 1 to 36500.
   *
   * @default Duration.days(365)
   */
  readonly retention?: Duration;

  /**
   * Object Lock mode of the default retention.
   *
   * `COMPLIANCE` cannot be shortened or removed by anyone, including the account root user, until each
   * object's retention ends.
   *
   * @default AuditObjectLockMode.GOVERNANCE
   */
  readonly objectLockMode?: AuditObjectLockMode;

  /**
   * Traces SageMaker data events: the invocation calls CloudTrail records on endpoints (`AWS::SageMaker::Endpoint`;
   * SageMaker does not send `InvokeEndpoint` and `InvokeEndpointAsync` to CloudTrail at all, so the endpoint's data
   * capture is the record of its requests) and record reads and writes on feature groups
   * (`AWS::SageMaker::FeatureGroup`: `PutRecord`, `GetRecord`, `BatchGetRecord`, `DeleteRecord`), for every endpoint
   * and feature group in the account. Data events are billed per event.
   *
   * @default true
   */
  readonly sageMakerDataEvents?: boolean;

  /**
   * Whether the trail records events of every Region (global service events included) or only this stack's Region.
   *
   * @default true
   */
  readonly isMultiRegionTrail?: boolean;

  /**
   * How long the trail's CloudWatch Logs group (and the writer's log group) keep events.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly cloudWatchLogsRetention?: logs.RetentionDays;

  /**
   * How long the EventBridge archive keeps the audited events for replay. Whole days, at least 1.
   *
   * @default Duration.days(365)
   */
  readonly archiveRetention?: Duration;

  /**
   * What happens to the audit bucket, access-log bucket, key and log groups when they leave the stack.
   *
   * `DESTROY` is rejected: objects under Object Lock cannot be deleted, so CloudFormation could not delete the
   * bucket. `SNAPSHOT` is not supported.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The SageMaker state changes the audit store keeps (EventBridge detail-types of source `aws.sagemaker`). */
const SAGEMAKER_DETAIL_TYPES = [
  'SageMaker Model Package State Change',
  'SageMaker Model Building Pipeline Execution Status Change',
  'SageMaker Model Building Pipeline Execution Step Status Change',
  'SageMaker Endpoint State Change',
  'SageMaker Endpoint Deployment State Change',
];

/** Every (source, detail-type) pair the rule routes to the writer; the writer files these under `events/`. */
const AUDITED_EVENT_KINDS: { source: string; detailType: string }[] = [
  ...SAGEMAKER_DETAIL_TYPES.map(detailType => ({ source: 'aws.sagemaker', detailType })),
  { source: AUDIT_EVENT_SOURCE, detailType: AUDIT_EVENT_DETAIL_TYPE },
];

/** Key prefix of CloudTrail log files and digests in the audit bucket. */
const TRAIL_PREFIX = 'cloudtrail';
/** Key prefixes the writer may create objects under. */
const WRITER_PREFIXES = ['events/', 'other/'];

/** CloudTrail: at most 500 values across all conditions of all advanced event selectors of a trail. */
const MAX_SELECTOR_VALUES = 500;
/** S3 Object Lock default retention, in days: 1 day to 100 years. */
const MAX_RETENTION_DAYS = 36500;

/**
 * A tamper-evident audit store for an ML platform.
 *
 * **What is recorded.** A CloudTrail trail (multi-Region by default) with management events (read and write),
 * S3 data events for the data lake's buckets and any others you add, and SageMaker endpoint-invocation and
 * feature-group record data events. An EventBridge rule on the default bus sends SageMaker model package,
 * pipeline execution, pipeline step, endpoint and endpoint deployment state changes, plus the continuous-training
 * loop's decisions, to a small writer function that files each event once as
 * `events/<yyyy>/<mm>/<dd>/<source>/<detail-type>/<time>-<event id>.json`. An EventBridge archive keeps the same
 * events for replay.
 *
 * **Why it can be trusted.** Every object lands in one S3 bucket with Object Lock (default retention,
 * GOVERNANCE or COMPLIANCE), versioning, SSE-KMS under a rotated customer-managed key, TLS-only access, Block
 * Public Access and server access logs to a separate bucket. CloudTrail log file validation writes signed digest
 * files, so deleted or altered log files are detectable. The trail also streams to an encrypted CloudWatch Logs
 * group for alerting.
 *
 * **Data safety.** Stateful resources are retained by default; DESTROY is rejected (locked objects cannot be
 * deleted). Noncurrent versions expire only `retention` after they became noncurrent, never while locked.
 *
 * @example
 * const audit = new AuditTrail(stack, 'Audit', { dataLake: lake, retention: Duration.days(7 * 365) });
 * audit.grantRead(auditorRole);
 */
export class AuditTrail extends Construct {
  /** The Object Lock audit bucket: CloudTrail log files under `cloudtrail/`, event records under `events/`. */
  public readonly bucket: s3.IBucket;
  /** The bucket receiving the audit bucket's S3 server access logs. */
  public readonly accessLogsBucket: s3.IBucket;
  /** The CloudTrail trail (L1: advanced event selectors are not in the L2 `Trail`). */
  public readonly trail: cloudtrail.CfnTrail;
  /** The KMS key that encrypts the audit store. */
  public readonly encryptionKey: kms.IKey;
  /** The EventBridge archive of the audited events on the default bus. */
  public readonly archive: events.Archive;
  /** The CloudWatch Logs group the trail streams to. */
  public readonly logGroup: logs.ILogGroup;
  /** The rule on the default event bus that routes audited events to the writer. */
  public readonly rule: events.Rule;
  /** The function that files each audited event in the bucket. */
  public readonly writer: lambda.IFunction;
  /** Events the writer could not file after every retry (EventBridge and Lambda both dead-letter here). */
  public readonly deadLetterQueue: sqs.IQueue;
  /** In ALARM when an audited event reached the dead-letter queue. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** In ALARM when the writer failed (it is retried; see the dead-letter alarm for events that were lost). */
  public readonly writeErrorsAlarm: cloudwatch.Alarm;

  private readonly dataEventBuckets: s3.IBucket[] = [];
  private readonly sageMakerDataEvents: boolean;
  private readonly writerFunction: lambda.Function;

  constructor(scope: Construct, id: string, props: AuditTrailProps = {}) {
    super(scope, id);
    // Access-log delivery through a bucket policy, never the LogDeliveryWrite ACL (ACLs stay disabled).
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);

    validateProps(this, props);
    const removal = resolveStatefulRemovalPolicy(this, 'AuditTrail', props.removalPolicy);
    const stack = Stack.of(this);
    const mode = props.objectLockMode ?? AuditObjectLockMode.GOVERNANCE;
    const retention = props.retention ?? Duration.days(365);
    const logRetention = props.cloudWatchLogsRetention ?? logs.RetentionDays.ONE_YEAR;
    this.sageMakerDataEvents = props.sageMakerDataEvents ?? true;

    // --- key ---------------------------------------------------------------------------------------------
    this.encryptionKey = props.encryptionKey ?? new kms.Key(this, 'Key', {
      description: `cdk-ml-platform audit trail key (${this.node.path})`,
      enableKeyRotation: true,
      removalPolicy: removal.policy,
    });
    this.addKeyPolicy(stack);

    // --- buckets -----------------------------------------------------------------------------------------
    const accessLogs = accessLogBucket(this, 'AccessLogs', { id: 'noncurrent-versions', noncurrentVersionExpiration: retention }, removal);
    this.accessLogsBucket = accessLogs;

    const bucket = new s3.Bucket(this, 'Bucket', {
      ...hardenedBucketProps(this.encryptionKey, accessLogs, 'audit/'),
      objectLockEnabled: true,
      objectLockDefaultRetention: mode === AuditObjectLockMode.COMPLIANCE
        ? s3.ObjectLockRetention.compliance(retention)
        : s3.ObjectLockRetention.governance(retention),
      lifecycleRules: [{
        // Current versions are never expired. A version becomes noncurrent only through an overwrite or a delete
        // marker, and is removed `retention` after that: never while its lock holds (S3 would refuse anyway).
        id: 'noncurrent-versions',
        noncurrentVersionExpiration: retention,
        abortIncompleteMultipartUploadAfter: Duration.days(7),
        expiredObjectDeleteMarker: true,
      }],
      removalPolicy: removal.policy,
    });
    this.bucket = bucket;

    // CloudTrail's delivery permissions (CloudTrail user guide, "Amazon S3 bucket policy for CloudTrail"), limited
    // to trails of this account and Region with aws:SourceArn. The exact trail ARN cannot be used: CloudTrail
    // checks the bucket policy when the trail is created, so the policy must exist before the trail does.
    const cloudTrailPrincipal = new iam.ServicePrincipal('cloudtrail.amazonaws.com');
    const trailArns = this.trailArnPattern();
    const sourceConditions = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': trailArns },
    };
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AWSCloudTrailAclCheck',
      principals: [cloudTrailPrincipal],
      actions: ['s3:GetBucketAcl'],
      resources: [bucket.bucketArn],
      conditions: sourceConditions,
    }));
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AWSCloudTrailWrite',
      principals: [cloudTrailPrincipal],
      actions: ['s3:PutObject'],
      resources: [bucket.arnForObjects(`${TRAIL_PREFIX}/AWSLogs/${stack.account}/*`)],
      conditions: {
        StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': trailArns },
      },
    }));

    // --- trail -------------------------------------------------------------------------------------------
    const trailLogs = new logs.LogGroup(this, 'TrailLogs', {
      retention: logRetention,
      encryptionKey: this.encryptionKey,
      removalPolicy: removal.policy,
    });
    this.logGroup = trailLogs;
    const trailLogsRole = new iam.Role(this, 'TrailLogsRole', {
      assumedBy: cloudTrailPrincipal,
      description: `Lets CloudTrail deliver the trail of ${this.node.path} to its CloudWatch Logs group`,
    });
    trailLogsRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [trailLogs.logGroupArn],
    }));

    if (props.dataLake) {
      for (const zone of Object.values(DataZone)) {
        this.addDataEventBucket(props.dataLake.bucket(zone));
      }
    }
    for (const b of props.additionalDataEventBuckets ?? []) {
      this.addDataEventBucket(b);
    }

    this.trail = new cloudtrail.CfnTrail(this, 'Trail', {
      isLogging: true,
      s3BucketName: bucket.bucketName,
      s3KeyPrefix: TRAIL_PREFIX,
      kmsKeyId: this.encryptionKey.keyArn,
      enableLogFileValidation: true,
      isMultiRegionTrail: props.isMultiRegionTrail ?? true,
      includeGlobalServiceEvents: true,
      cloudWatchLogsLogGroupArn: trailLogs.logGroupArn,
      cloudWatchLogsRoleArn: trailLogsRole.roleArn,
      // Advanced selectors only: a trail cannot mix them with basic EventSelectors.
      advancedEventSelectors: Lazy.any({ produce: () => this.renderSelectors() }),
    });
    this.trail.node.addDependency(bucket.policy!, trailLogsRole);

    // --- event records -----------------------------------------------------------------------------------
    const dlq = new sqs.Queue(this, 'DeadLetterQueue', {
      // SSE-SQS: EventBridge can send to it without a key-policy grant (a CMK would need one naming the rule,
      // which depends on this queue). Messages are audit events awaiting a retry, not the audit record itself.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.deadLetterQueue = dlq;

    const writerLogs = new logs.LogGroup(this, 'WriterLogs', {
      retention: logRetention,
      encryptionKey: this.encryptionKey,
      removalPolicy: removal.policy,
    });
    const writer = new AuditWriterFunction(this, 'Writer', {
      description: `cdk-ml-platform: files SageMaker and continuous-training events in the audit store of ${this.node.path}`,
      timeout: Duration.seconds(60),
      memorySize: 256,
      // Bounded so a burst of state changes cannot starve other functions; throttled async invocations are
      // retried by Lambda for up to 6 hours.
      reservedConcurrentExecutions: 5,
      retryAttempts: 2,
      deadLetterQueue: dlq,
      logGroup: writerLogs,
      environment: {
        AUDIT_BUCKET: bucket.bucketName,
        AUDIT_KNOWN_EVENTS: JSON.stringify(AUDITED_EVENT_KINDS),
      },
    });
    this.writer = writer;
    this.writerFunction = writer;
    this.grantWriterPut(writer, stack);

    const pattern: events.EventPattern = {
      source: ['aws.sagemaker', AUDIT_EVENT_SOURCE],
      detailType: [...SAGEMAKER_DETAIL_TYPES, AUDIT_EVENT_DETAIL_TYPE],
    };
    this.rule = new events.Rule(this, 'Rule', {
      description: `cdk-ml-platform: SageMaker state changes and continuous-training decisions into ${this.node.path}`,
      eventPattern: pattern,
    });
    this.rule.addTarget(new targets.LambdaFunction(writer, {
      deadLetterQueue: dlq,
      retryAttempts: 185,
      maxEventAge: Duration.hours(24),
    }));

    this.archive = new events.Archive(this, 'Archive', {
      sourceEventBus: events.EventBus.fromEventBusName(this, 'DefaultBus', 'default'),
      description: `cdk-ml-platform: audited events of ${this.node.path}`,
      eventPattern: pattern,
      retention: props.archiveRetention ?? Duration.days(365),
      kmsKey: this.encryptionKey,
    });

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: `An audited event could not be filed by ${this.node.path} and waits in its dead-letter queue; ` +
        'replay it from the EventBridge archive or the queue after fixing the cause',
      metric: dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.writeErrorsAlarm = new cloudwatch.Alarm(this, 'WriteErrorsAlarm', {
      alarmDescription: `The audit writer of ${this.node.path} failed (see its log group); failed events are retried`,
      metric: this.metricWriteErrors(),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.acknowledgeFindings(bucket, trailLogsRole, writer);
    applyLineageTags(this, 'audit-trail');
  }

  /**
   * Traces object reads and writes of `bucket` as S3 data events.
   *
   * The audit bucket and its access-log bucket cannot be added: the trail's own deliveries would be traced
   * into the bucket they trace.
   */
  public addDataEventBucket(bucket: s3.IBucket): void {
    if (bucket === this.bucket || bucket === this.accessLogsBucket) {
      throw mlError(this, 'AuditTrail', {
        code: 'RecursiveDataEvents',
        what: 'the audit bucket and its access-log bucket cannot have S3 data events in their own trail (every delivery would log itself)',
        got: bucket.node.path,
        fix: 'trace the buckets that hold ML data (the data lake zones) instead',
      });
    }
    const arn = Stack.of(this).resolve(bucket.bucketArn);
    if (this.dataEventBuckets.some(b => JSON.stringify(Stack.of(this).resolve(b.bucketArn)) === JSON.stringify(arn))) {
      return;
    }
    const values = selectorValueCount(this.dataEventBuckets.length + 1, this.sageMakerDataEvents);
    if (values > MAX_SELECTOR_VALUES) {
      throw mlError(this, 'AuditTrail', {
        code: 'TooManyDataEventValues',
        what: `CloudTrail allows at most ${MAX_SELECTOR_VALUES} values across all advanced event selector conditions of a trail; ` +
          `${this.dataEventBuckets.length + 1} data-event buckets need ${values}`,
        got: this.dataEventBuckets.length + 1,
        fix: `trace at most ${maxDataEventBuckets(this.sageMakerDataEvents)} buckets in one AuditTrail, or split the buckets across two AuditTrails`,
      });
    }
    this.dataEventBuckets.push(bucket);
  }

  /**
   * Lets `grantee` read the audit store: list the bucket, read every object version with its retention and
   * legal-hold state, and decrypt through S3 with the audit key. Nothing in it can be written or deleted.
   */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectRetention', 's3:GetObjectLegalHold'],
      resourceArns: [this.bucket.arnForObjects('*')],
      resource: this.bucket,
    }).combine(iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['s3:ListBucket', 's3:ListBucketVersions', 's3:GetBucketObjectLockConfiguration'],
      resourceArns: [this.bucket.bucketArn],
      resource: this.bucket,
    })).combine(iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['kms:Decrypt'],
      resourceArns: [this.encryptionKey.keyArn],
      resourceSelfArns: ['*'],
      resource: this.encryptionKey,
      conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
    }));
  }

  /**
   * Failed invocations of the audit writer (each is retried; events that exhaust retries reach the dead-letter queue).
   *
   * @default - sum over 5 minutes
   */
  public metricWriteErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.writerFunction.metricErrors({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5), ...props });
  }

  /** ARN pattern of every trail of this account in this Region (the value of `aws:SourceArn` CloudTrail sends). */
  private trailArnPattern(): string {
    return Stack.of(this).formatArn({ service: 'cloudtrail', resource: 'trail', resourceName: '*' });
  }

  private renderSelectors(): cloudtrail.CfnTrail.AdvancedEventSelectorProperty[] {
    const selectors: cloudtrail.CfnTrail.AdvancedEventSelectorProperty[] = [{
      name: 'Management events',
      fieldSelectors: [{ field: 'eventCategory', equalTo: ['Management'] }],
    }];
    if (this.dataEventBuckets.length > 0) {
      selectors.push({
        name: 'S3 object reads and writes of traced buckets',
        fieldSelectors: [
          { field: 'eventCategory', equalTo: ['Data'] },
          { field: 'resources.type', equalTo: ['AWS::S3::Object'] },
          { field: 'resources.ARN', startsWith: this.dataEventBuckets.map(b => `${b.bucketArn}/`) },
        ],
      });
    }
    if (this.sageMakerDataEvents) {
      selectors.push({
        name: 'SageMaker endpoint invocations',
        fieldSelectors: [
          { field: 'eventCategory', equalTo: ['Data'] },
          { field: 'resources.type', equalTo: ['AWS::SageMaker::Endpoint'] },
        ],
      }, {
        name: 'SageMaker feature group records',
        fieldSelectors: [
          { field: 'eventCategory', equalTo: ['Data'] },
          { field: 'resources.type', equalTo: ['AWS::SageMaker::FeatureGroup'] },
        ],
      });
    }
    return selectors;
  }

  /** Key-policy statements CloudTrail, CloudWatch Logs and EventBridge need (the archive adds its own). */
  private addKeyPolicy(stack: Stack): void {
    const key = this.encryptionKey;
    const cloudTrail = new iam.ServicePrincipal('cloudtrail.amazonaws.com');
    const trailArns = this.trailArnPattern();
    const statements = [
      // CloudTrail user guide, "Configure AWS KMS key policies for CloudTrail": encrypt, with the trail ARN in the
      // encryption context and aws:SourceArn (trails of this account and Region: the exact ARN would be circular).
      new iam.PolicyStatement({
        sid: 'AllowCloudTrailEncrypt',
        principals: [cloudTrail],
        actions: ['kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': `arn:${stack.partition}:cloudtrail:*:${stack.account}:trail/*` },
          ArnLike: { 'aws:SourceArn': trailArns },
        },
      }),
      // Describe the key; decrypt the S3 Bucket Key when creating or updating the trail.
      new iam.PolicyStatement({
        sid: 'AllowCloudTrailDescribeAndBucketKey',
        principals: [cloudTrail],
        actions: ['kms:DescribeKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { ArnLike: { 'aws:SourceArn': trailArns } },
      }),
      // CloudWatch Logs user guide, "Encrypt log data using AWS KMS": only for log groups of this account and Region.
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogs',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: {
          ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*` },
        },
      }),
    ];
    const added = statements.map(s => key.addToResourcePolicy(s).statementAdded);
    if (added.some(a => !a)) {
      Annotations.of(this).addWarningV2('cdk-ml-platform:AuditTrail.ImportedKeyPolicy',
        'The imported encryptionKey cannot be changed by this app. Its key policy must allow cloudtrail.amazonaws.com ' +
        'kms:GenerateDataKey*, kms:Decrypt and kms:DescribeKey; logs.<region>.amazonaws.com kms:Encrypt, kms:Decrypt, ' +
        'kms:ReEncrypt*, kms:GenerateDataKey* and kms:DescribeKey; and events.amazonaws.com kms:Decrypt, ' +
        'kms:GenerateDataKey, kms:ReEncrypt* and kms:DescribeKey, or the trail, log groups and archive fail to deploy.');
    }
  }

  /** The writer may only create objects under its prefixes and encrypt them; it can neither read nor delete. */
  private grantWriterPut(writer: lambda.Function, stack: Stack): void {
    for (const prefix of WRITER_PREFIXES) {
      const arn = this.bucket.arnForObjects(`${prefix}*`);
      writer.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [arn] }));
      acknowledgeWildcardResource(writer.role!, arn,
        `Each event becomes a new object under ${prefix} keyed by date, source, type and event id.`);
    }
    writer.addToRolePolicy(new iam.PolicyStatement({
      actions: ['kms:GenerateDataKey'],
      resources: [this.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
    }));
  }

  private acknowledgeFindings(bucket: s3.Bucket, trailLogsRole: iam.Role, writer: lambda.Function): void {
    const replication = 'Cross-Region replication needs a destination bucket and key in a second Region, which an ' +
      'environment-agnostic stack cannot define; Object Lock, versioning and RETAIN protect the records in place. ' +
      'Add replication (with Object Lock on the destination) through bucket.node.defaultChild when required.';
    Validations.of(bucket).acknowledge({ id: 'NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled', reason: replication });
    Validations.of(trailLogsRole).acknowledge({
      id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy',
      reason: 'CDK attaches the role\'s one permission (write to the trail\'s log group) as a policy owned by this role only.',
    });
    Validations.of(writer).acknowledge(
      { id: 'NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC', reason: 'Only calls the S3 API; there is nothing in a VPC to reach.' },
      { id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy', reason: 'CDK attaches the function\'s permissions as a policy owned by this role only.' },
    );
    acknowledgeManagedPolicy(writer, 'service-role/AWSLambdaBasicExecutionRole', 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs.');
    for (const alarm of [this.deadLetterAlarm, this.writeErrorsAlarm]) {
      Validations.of(alarm).acknowledge({
        id: 'NIST.800.53.R5::NIST.800.53.R5-CloudWatchAlarmAction',
        reason: 'Add actions with alarm.addAlarmAction(); the library cannot know where your team is paged.',
      });
    }
  }
}

/** Values CloudTrail counts for `buckets` S3 ARNs plus the fixed selectors (management 1, S3 2, SageMaker 2 + 2). */
function selectorValueCount(buckets: number, sageMaker: boolean): number {
  return 1 + (buckets > 0 ? 2 + buckets : 0) + (sageMaker ? 4 : 0);
}

/** The largest number of data-event buckets that fits in {@link MAX_SELECTOR_VALUES}. */
function maxDataEventBuckets(sageMaker: boolean): number {
  return MAX_SELECTOR_VALUES - selectorValueCount(0, sageMaker) - 2;
}

function validateProps(scope: IConstruct, props: AuditTrailProps): void {
  const errors = new ValidationErrors(scope, 'AuditTrail');
  const days = (d: Duration | undefined, fallback: number): number | undefined => {
    if (!d) { return fallback; }
    if (d.isUnresolved()) { return undefined; }
    return d.toDays({ integral: false });
  };

  const retentionDays = days(props.retention, 365);
  if (retentionDays !== undefined) {
    errors.check(Number.isInteger(retentionDays) && retentionDays >= 1 && retentionDays <= MAX_RETENTION_DAYS, {
      code: 'InvalidRetention',
      what: `retention (the Object Lock default retention) must be a whole number of days from 1 to ${MAX_RETENTION_DAYS}`,
      got: props.retention,
      fix: `use Duration.days(n) with 1 <= n <= ${MAX_RETENTION_DAYS}`,
    });
  }
  const archiveDays = days(props.archiveRetention, 365);
  if (archiveDays !== undefined) {
    errors.check(Number.isInteger(archiveDays) && archiveDays >= 1, {
      code: 'InvalidArchiveRetention',
      what: 'archiveRetention (the EventBridge archive retention) must be a whole number of days, at least 1',
      got: props.archiveRetention,
      fix: 'use Duration.days(n) with n >= 1',
    });
  }
  if (props.removalPolicy === RemovalPolicy.DESTROY) {
    const compliance = props.objectLockMode === AuditObjectLockMode.COMPLIANCE;
    errors.add({
      code: 'DestroyWithObjectLock',
      what: compliance
        ? 'removalPolicy DESTROY cannot delete an audit bucket in COMPLIANCE mode: no one, not even the account root user, ' +
          'can delete a locked object version before its retention ends'
        : 'removalPolicy DESTROY cannot delete the audit bucket: its objects are under Object Lock (GOVERNANCE), ' +
          'and CloudFormation cannot bypass the retention',
      got: `RemovalPolicy.DESTROY with objectLockMode ${props.objectLockMode ?? AuditObjectLockMode.GOVERNANCE}`,
      fix: 'keep the default RETAIN (or RETAIN_ON_UPDATE_OR_DELETE); delete the bucket by hand once every retention has ended',
    });
  }
  // Unresolved durations pass through to CloudFormation as given.
  errors.throwIfAny();
}
