import { Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct, IConstruct } from 'constructs';
import { ValidationErrors, mlError } from '../core/errors';
import { applyLineageTags } from '../core/lineage';
import { resolveStatefulRemovalPolicy } from '../core/removal-policy';
import { accessLogBucket, hardenedBucketProps } from '../core/secure-bucket';

/**
 * A zone of the data lake. Each zone is its own S3 bucket.
 */
export enum DataZone {
  /** `raw`: data as received from its sources, never modified in place. */
  RAW = 'raw',
  /** `curated`: cleaned, validated training and evaluation data; optionally under S3 Object Lock. */
  CURATED = 'curated',
  /** `features`: the offline store of SageMaker feature groups. */
  FEATURES = 'features',
  /** `models`: model artifacts, checkpoints, evaluation reports and dataset manifests. */
  MODELS = 'models',
  /** `monitoring`: endpoint data capture, drift baselines and drift reports. */
  MONITORING = 'monitoring',
}

/** Every zone, in the order the lake defines them. */
const ZONES: DataZone[] = [DataZone.RAW, DataZone.CURATED, DataZone.FEATURES, DataZone.MODELS, DataZone.MONITORING];

/** Construct ids of the zone buckets (public contract: renaming one replaces the bucket). */
const ZONE_IDS: Record<DataZone, string> = {
  [DataZone.RAW]: 'RawZone',
  [DataZone.CURATED]: 'CuratedZone',
  [DataZone.FEATURES]: 'FeaturesZone',
  [DataZone.MODELS]: 'ModelsZone',
  [DataZone.MONITORING]: 'MonitoringZone',
};

/**
 * A storage-class transition for the monitoring zone (data capture grows fastest and is read least).
 */
export interface MonitoringTransition {
  /** Storage class to move objects to, e.g. `s3.StorageClass.INFREQUENT_ACCESS`. */
  readonly storageClass: s3.StorageClass;
  /**
   * Age at which objects move. Whole days; S3 requires at least 30 days for the
   * Standard-IA and One Zone-IA classes.
   */
  readonly transitionAfter: Duration;
}

/** Properties for a {@link DataLake}. */
export interface DataLakeProps {
  /**
   * Customer-managed KMS key that encrypts every zone (SSE-KMS with S3 Bucket Keys).
   *
   * @default - a new key with automatic annual rotation, kept on stack deletion like the data
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What happens to the buckets, the key and the Glue database when they leave the stack.
   *
   * `DESTROY` also needs the context key `cdk-ml-platform:removeDataOnDestroy` set to `true`,
   * and then empties the buckets before deleting them. `SNAPSHOT` is not supported.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * How long S3 keeps an object version after it is overwritten or deleted.
   *
   * Dataset manifests pin object version IDs; a manifest older than this can no longer be
   * reproduced from the lake. Whole days, at least 1.
   *
   * @default Duration.days(365)
   */
  readonly noncurrentVersionExpiration?: Duration;

  /**
   * Moves objects of the monitoring zone to a cheaper storage class as they age.
   *
   * @default - monitoring objects stay in S3 Standard
   */
  readonly monitoringTransition?: MonitoringTransition;

  /**
   * Deletes objects of the monitoring zone (data capture, drift reports) at this age.
   * Whole days; must be later than `monitoringTransition.transitionAfter`.
   *
   * @default - monitoring objects are kept
   */
  readonly monitoringExpiration?: Duration;

  /**
   * Turns on S3 Object Lock for the curated zone with this default retention, so training data
   * that produced a model cannot be altered or deleted while it is retained.
   *
   * Object Lock can never be turned off again on that bucket. `COMPLIANCE` mode cannot be
   * shortened or removed by anyone, including the account root user.
   *
   * @default - no Object Lock
   */
  readonly curatedObjectLock?: s3.ObjectLockRetention;

  /**
   * Name of the AWS Glue database that catalogs the lake's tables.
   *
   * Lowercase letters, digits and underscores (what Athena can query), at most 255 characters.
   *
   * @default - derived from the construct path, e.g. `fraudplatform_lake_1a2b3c4d`
   */
  readonly databaseName?: string;

  /**
   * Deletes server access logs at this age. Whole days, at least 1.
   *
   * @default - access logs are kept
   */
  readonly accessLogsExpiration?: Duration;
}

/**
 * A data lake: one S3 bucket per zone, one KMS key, and a Glue database.
 */
export interface IDataLake extends IConstruct {
  /** The KMS key that encrypts every zone. */
  readonly encryptionKey: kms.IKey;

  /**
   * Name of the Glue database that catalogs the lake.
   * @attribute
   */
  readonly glueDatabaseName: string;

  /** The bucket that holds `zone`. */
  bucket(zone: DataZone): s3.IBucket;

  /**
   * The S3 URI of `zone`, optionally of a key prefix inside it, e.g. `s3://bucket/prefix`.
   *
   * @param zone the zone
   * @param keyPrefix key prefix within the zone, without a leading `/`
   */
  uri(zone: DataZone, keyPrefix?: string): string;

  /**
   * Lets `grantee` list and read objects (all versions) of `zone`, including decrypting them with the lake key.
   *
   * @param zone the zone to read
   * @param grantee the principal
   * @param keyPrefix restricts the grant to keys under this prefix
   */
  grantRead(zone: DataZone, grantee: iam.IGrantable, keyPrefix?: string): iam.Grant;

  /**
   * Lets `grantee` write new objects into `zone` (no reads, no deletes), including encrypting with the lake key.
   *
   * @param zone the zone to write
   * @param grantee the principal
   * @param keyPrefix restricts the grant to keys under this prefix
   */
  grantWrite(zone: DataZone, grantee: iam.IGrantable, keyPrefix?: string): iam.Grant;

  /**
   * Lets `grantee` read, write and delete objects of `zone`.
   *
   * Deletes only add delete markers: `s3:DeleteObjectVersion` is never granted, so versioning keeps every
   * overwritten or deleted object until `noncurrentVersionExpiration`.
   *
   * @param zone the zone
   * @param grantee the principal
   * @param keyPrefix restricts the grant to keys under this prefix
   */
  grantReadWrite(zone: DataZone, grantee: iam.IGrantable, keyPrefix?: string): iam.Grant;
}

/** Attributes to import an existing data lake with {@link DataLake.fromDataLakeAttributes}. */
export interface DataLakeAttributes {
  /** Bucket of the `raw` zone. */
  readonly rawBucket: s3.IBucket;
  /** Bucket of the `curated` zone. */
  readonly curatedBucket: s3.IBucket;
  /** Bucket of the `features` zone. */
  readonly featuresBucket: s3.IBucket;
  /** Bucket of the `models` zone. */
  readonly modelsBucket: s3.IBucket;
  /** Bucket of the `monitoring` zone. */
  readonly monitoringBucket: s3.IBucket;
  /** The KMS key that encrypts the zones. */
  readonly encryptionKey: kms.IKey;
  /** Name of the Glue database that catalogs the lake. */
  readonly glueDatabaseName: string;
}

const OBJECT_READ_ACTIONS = ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging'];
const OBJECT_WRITE_ACTIONS = ['s3:PutObject', 's3:PutObjectTagging', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];
const OBJECT_DELETE_ACTIONS = ['s3:DeleteObject'];
const BUCKET_LIST_ACTIONS = ['s3:ListBucket', 's3:ListBucketVersions'];
// SSE-KMS: reads decrypt; writes generate a data key, and multipart uploads also decrypt it.
const KMS_READ_ACTIONS = ['kms:Decrypt'];
const KMS_WRITE_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];

interface GrantShape {
  readonly objectActions: string[];
  readonly list: boolean;
  readonly kmsActions: string[];
}

abstract class DataLakeBase extends Construct implements IDataLake {
  public abstract readonly encryptionKey: kms.IKey;
  public abstract readonly glueDatabaseName: string;
  public abstract bucket(zone: DataZone): s3.IBucket;

  public uri(zone: DataZone, keyPrefix?: string): string {
    const prefix = this.checkedPrefix(keyPrefix);
    return `s3://${this.bucket(zone).bucketName}/${prefix}`;
  }

  public grantRead(zone: DataZone, grantee: iam.IGrantable, keyPrefix?: string): iam.Grant {
    return this.grantZone(zone, grantee, keyPrefix, {
      objectActions: OBJECT_READ_ACTIONS, list: true, kmsActions: KMS_READ_ACTIONS,
    });
  }

  public grantWrite(zone: DataZone, grantee: iam.IGrantable, keyPrefix?: string): iam.Grant {
    return this.grantZone(zone, grantee, keyPrefix, {
      objectActions: OBJECT_WRITE_ACTIONS, list: false, kmsActions: KMS_WRITE_ACTIONS,
    });
  }

  public grantReadWrite(zone: DataZone, grantee: iam.IGrantable, keyPrefix?: string): iam.Grant {
    return this.grantZone(zone, grantee, keyPrefix, {
      objectActions: [...OBJECT_READ_ACTIONS, ...OBJECT_WRITE_ACTIONS, ...OBJECT_DELETE_ACTIONS],
      list: true,
      kmsActions: KMS_WRITE_ACTIONS,
    });
  }

  private grantZone(zone: DataZone, grantee: iam.IGrantable, keyPrefix: string | undefined, shape: GrantShape): iam.Grant {
    const prefix = this.checkedPrefix(keyPrefix);
    const bucket = this.bucket(zone);
    let grant = iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: shape.objectActions,
      resourceArns: [bucket.arnForObjects(`${prefix}*`)],
      resource: bucket,
    });
    if (shape.list) {
      grant = grant.combine(iam.Grant.addToPrincipalOrResource({
        grantee,
        actions: BUCKET_LIST_ACTIONS,
        resourceArns: [bucket.bucketArn],
        resource: bucket,
        // Listing is confined to the prefix too; without one the whole zone is listable.
        conditions: prefix ? { StringLike: { 's3:prefix': [`${prefix}*`] } } : undefined,
      }));
    }
    // The key is only usable through S3 in this Region: a grantee cannot decrypt data it copied elsewhere.
    return grant.combine(iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: shape.kmsActions,
      resourceArns: [this.encryptionKey.keyArn],
      // In the key's own policy the resource is the key itself: '*' (its ARN there would be circular).
      resourceSelfArns: ['*'],
      resource: this.encryptionKey,
      conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
    }));
  }

  /** Validates a key prefix given to `uri` or a grant. */
  private checkedPrefix(keyPrefix: string | undefined): string {
    if (keyPrefix === undefined || Token.isUnresolved(keyPrefix)) { return keyPrefix ?? ''; }
    if (keyPrefix.startsWith('/') || /[*?]/.test(keyPrefix) || keyPrefix.length > 1024) {
      throw mlError(this, 'DataLake', {
        code: 'InvalidKeyPrefix',
        what: 'a key prefix must not start with "/", contain the IAM wildcards "*" or "?", or exceed 1024 characters',
        got: keyPrefix,
        fix: 'pass a plain prefix such as "capture/my-endpoint/"',
      });
    }
    return keyPrefix;
  }
}

/**
 * A secure, versioned data lake for an ML platform: raw, curated, features, models and monitoring zones.
 *
 * **Layout: one bucket per zone.** Zones differ in what must be enforced at bucket level: Object Lock
 * (curated training data, WORM) can only be enabled per bucket; lifecycle and storage classes differ
 * (monitoring capture grows fastest); S3 request-rate limits, bucket policies, data-event trails and access
 * logs are per bucket, so a runaway capture job cannot throttle training reads and an auditor can read
 * access to curated data on its own. Prefix-per-zone in one bucket would need every one of those rules
 * expressed as prefix conditions, and Object Lock cannot be.
 *
 * **Security.** Every zone: SSE-KMS with one customer-managed key (rotation on) and S3 Bucket Keys,
 * versioning, Block Public Access, bucket-owner-enforced object ownership (no ACLs), a TLS-only bucket
 * policy with TLS 1.2 minimum, and server access logs to a dedicated log bucket (SSE-S3: S3 log delivery
 * cannot write SSE-KMS) under `<zone>/` with date-partitioned keys, ready for an audit query.
 *
 * **Data safety.** Buckets, key and database are retained by default; see `removalPolicy`. Noncurrent
 * versions expire after `noncurrentVersionExpiration`; incomplete multipart uploads are aborted after 7 days.
 *
 * @example
 * const lake = new DataLake(stack, 'Lake', {
 *   curatedObjectLock: s3.ObjectLockRetention.governance(Duration.days(365)),
 * });
 * lake.grantRead(DataZone.CURATED, trainingRole);
 */
export class DataLake extends DataLakeBase {
  /**
   * Imports an existing data lake.
   *
   * Grants on an imported lake add statements to the grantee's policy only (and the lake key's
   * policy, when the key is owned by this app); bucket policies of imported buckets are not changed.
   */
  public static fromDataLakeAttributes(scope: Construct, id: string, attrs: DataLakeAttributes): IDataLake {
    const buckets: Record<DataZone, s3.IBucket> = {
      [DataZone.RAW]: attrs.rawBucket,
      [DataZone.CURATED]: attrs.curatedBucket,
      [DataZone.FEATURES]: attrs.featuresBucket,
      [DataZone.MODELS]: attrs.modelsBucket,
      [DataZone.MONITORING]: attrs.monitoringBucket,
    };
    class Import extends DataLakeBase {
      public readonly encryptionKey = attrs.encryptionKey;
      public readonly glueDatabaseName = attrs.glueDatabaseName;
      public bucket(zone: DataZone): s3.IBucket {
        return buckets[zone];
      }
    }
    return new Import(scope, id);
  }

  public readonly encryptionKey: kms.IKey;
  public readonly glueDatabaseName: string;
  /** The bucket that receives the S3 server access logs of every zone. */
  public readonly accessLogsBucket: s3.IBucket;
  /** The Glue database that catalogs the lake. */
  public readonly database: glue.CfnDatabase;
  private readonly buckets: Record<DataZone, s3.Bucket>;

  constructor(scope: Construct, id: string, props: DataLakeProps = {}) {
    super(scope, id);
    // Log delivery is always authorised by a bucket policy scoped to each source bucket, never by the
    // legacy LogDeliveryWrite ACL, whatever the app's feature flags say (ACLs stay disabled).
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);

    validateProps(this, props);
    const removal = resolveStatefulRemovalPolicy(this, 'DataLake', props.removalPolicy);

    this.encryptionKey = props.encryptionKey ?? new kms.Key(this, 'Key', {
      description: `cdk-ml-platform data lake key (${this.node.path})`,
      enableKeyRotation: true,
      removalPolicy: removal.policy,
    });

    const logs = accessLogBucket(this, 'AccessLogs', {
      id: 'access-logs',
      expiration: props.accessLogsExpiration,
      noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(365),
    }, removal);
    this.accessLogsBucket = logs;

    const buckets: Partial<Record<DataZone, s3.Bucket>> = {};
    for (const zone of ZONES) {
      const bucket = new s3.Bucket(this, ZONE_IDS[zone], {
        ...hardenedBucketProps(this.encryptionKey, logs, `${zone}/`),
        lifecycleRules: lifecycleRulesFor(zone, props),
        objectLockEnabled: zone === DataZone.CURATED && props.curatedObjectLock ? true : undefined,
        objectLockDefaultRetention: zone === DataZone.CURATED ? props.curatedObjectLock : undefined,
        removalPolicy: removal.policy,
        autoDeleteObjects: removal.deleteData,
      });
      acknowledgeZoneBucket(bucket);
      buckets[zone] = bucket;
    }
    this.buckets = buckets as Record<DataZone, s3.Bucket>;

    this.glueDatabaseName = props.databaseName
      ?? Names.uniqueResourceName(this, { maxLength: 255, separator: '_' }).toLowerCase();
    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Stack.of(this).account,
      databaseInput: {
        name: this.glueDatabaseName,
        description: `Catalog of the cdk-ml-platform data lake ${this.node.path}`,
        locationUri: `s3://${this.buckets[DataZone.CURATED].bucketName}/`,
      },
    });
    this.database.applyRemovalPolicy(removal.policy);

    applyLineageTags(this, 'data-lake');
  }

  public bucket(zone: DataZone): s3.IBucket {
    return this.buckets[zone];
  }
}

function lifecycleRulesFor(zone: DataZone, props: DataLakeProps): s3.LifecycleRule[] {
  const rules: s3.LifecycleRule[] = [{
    id: 'noncurrent-versions',
    noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(365),
    abortIncompleteMultipartUploadAfter: Duration.days(7),
    expiredObjectDeleteMarker: true,
  }];
  if (zone === DataZone.MONITORING && (props.monitoringTransition || props.monitoringExpiration)) {
    rules.push({
      id: 'monitoring-aging',
      transitions: props.monitoringTransition ? [{
        storageClass: props.monitoringTransition.storageClass,
        transitionAfter: props.monitoringTransition.transitionAfter,
      }] : undefined,
      expiration: props.monitoringExpiration,
    });
  }
  return rules;
}

/** Storage classes that S3 refuses to transition to before an object is 30 days old. */
const THIRTY_DAY_MINIMUM = new Set([s3.StorageClass.INFREQUENT_ACCESS.value, s3.StorageClass.ONE_ZONE_INFREQUENT_ACCESS.value]);

function wholeDays(d: Duration): number | undefined {
  if (d.isUnresolved()) { return undefined; }
  return d.toDays({ integral: false });
}

function validateProps(scope: IConstruct, props: DataLakeProps): void {
  const errors = new ValidationErrors(scope, 'DataLake');

  const checkDays = (name: string, d: Duration | undefined, min: number): number | undefined => {
    if (!d) { return undefined; }
    const days = wholeDays(d);
    if (days === undefined) { return undefined; }
    const ok = errors.check(Number.isInteger(days) && days >= min, {
      code: 'InvalidLifecycle',
      what: `${name} must be a whole number of days, at least ${min}`,
      got: d,
      fix: `use Duration.days(n) with n >= ${min}`,
    });
    return ok ? days : undefined;
  };

  checkDays('noncurrentVersionExpiration', props.noncurrentVersionExpiration, 1);
  checkDays('accessLogsExpiration', props.accessLogsExpiration, 1);
  const expiration = checkDays('monitoringExpiration', props.monitoringExpiration, 1);
  const transition = props.monitoringTransition;
  if (transition) {
    const klass = transition.storageClass.value;
    const min = THIRTY_DAY_MINIMUM.has(klass) ? 30 : 0;
    const after = checkDays(`monitoringTransition.transitionAfter (${klass})`, transition.transitionAfter, min);
    if (after !== undefined && expiration !== undefined) {
      errors.check(expiration > after, {
        code: 'InvalidLifecycle',
        what: 'monitoringExpiration must come after monitoringTransition.transitionAfter (S3 rejects the rule otherwise)',
        got: `expire at ${expiration} days, transition at ${after} days`,
        fix: 'raise monitoringExpiration or lower transitionAfter',
      });
    }
  }

  const name = props.databaseName;
  if (name !== undefined && !Token.isUnresolved(name)) {
    errors.check(/^[a-z0-9_]{1,255}$/.test(name), {
      code: 'InvalidDatabaseName',
      what: 'databaseName must be 1-255 lowercase letters, digits or underscores (Glue folds case; Athena rejects other characters)',
      got: name,
      fix: `use a name such as '${name.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 255) || 'ml_lake'}'`,
    });
  }

  if (props.removalPolicy === RemovalPolicy.DESTROY && props.curatedObjectLock) {
    errors.add({
      code: 'DestroyWithObjectLock',
      what: 'removalPolicy DESTROY cannot delete a curated bucket under Object Lock: locked versions block the deletion',
      got: 'RemovalPolicy.DESTROY with curatedObjectLock',
      fix: 'keep the default RETAIN, or drop curatedObjectLock for disposable stacks',
    });
  }

  errors.throwIfAny();
}

/** cdk-nag findings on a zone bucket that follow from a decision documented on the construct. */
function acknowledgeZoneBucket(bucket: s3.Bucket): void {
  Validations.of(bucket).acknowledge({
    id: 'NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled',
    reason: 'Cross-Region replication needs a destination bucket and key in a second Region, which an environment-agnostic ' +
      'stack cannot define; versioning, noncurrent-version retention and RETAIN protect the data in place. ' +
      'Add replication with the escape hatch (bucket.node.defaultChild) when a second Region is required.',
  });
}

