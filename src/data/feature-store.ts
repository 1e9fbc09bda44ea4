import { Annotations, ArnFormat, CustomResource, Duration, IResource, Names, RemovalPolicy, Resource, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IConstruct } from 'constructs';
import { DataLake, DataZone, IDataLake } from './data-lake';
import { Feature, FeatureCollectionType, FeatureType } from './feature';
import { FeatureAdditionsFunction } from './feature-additions-function';
import {
  FeatureSpec, LockEntry, describeSpec, diffSchema, lockFilePath, lockMode, readLockEntries, writeLockEntry,
} from './feature-schema-lock';
import { MlPlatformContext } from '../core/context';
import { Problem, ValidationErrors, mlError } from '../core/errors';
import { applyLineageTags } from '../core/lineage';
import { acknowledgeCustomResourceProvider, acknowledgeWildcardResource } from '../core/nag';
import { resolveStatefulRemovalPolicy } from '../core/removal-policy';

/** Storage type of a feature group's online store. */
export enum OnlineStoreStorageType {
  /** `Standard`: durable, low-latency store; works with an offline store and provisioned throughput. */
  STANDARD = 'Standard',
  /** `InMemory`: ElastiCache-backed, lowest latency, supports collection features; online only, on-demand only. */
  IN_MEMORY = 'InMemory',
}

/** Table format of the offline store in the Glue Data Catalog. */
export enum OfflineStoreTableFormat {
  /** `Iceberg`: Apache Iceberg table (compaction, time travel); recommended. */
  ICEBERG = 'Iceberg',
  /** `Glue`: Hive-style Glue table. */
  GLUE = 'Glue',
}

/**
 * Throughput mode of a feature group (replaces a `'OnDemand' | { read, write }` union).
 */
export class FeatureStoreThroughput {
  /** Pay per request; scales with traffic. */
  public static onDemand(): FeatureStoreThroughput {
    return new FeatureStoreThroughput('OnDemand');
  }

  /**
   * Provisioned read and write capacity units. Only for offline-only feature groups or a `Standard`
   * online store; at most 40,000 units each per feature group.
   */
  public static provisioned(readCapacityUnits: number, writeCapacityUnits: number): FeatureStoreThroughput {
    return new FeatureStoreThroughput('Provisioned', readCapacityUnits, writeCapacityUnits);
  }

  /** `OnDemand` or `Provisioned`. */
  public readonly mode: string;
  /**
   * Provisioned read capacity units.
   * @default - none (on-demand)
   */
  public readonly readCapacityUnits?: number;
  /**
   * Provisioned write capacity units.
   * @default - none (on-demand)
   */
  public readonly writeCapacityUnits?: number;

  private constructor(mode: string, readCapacityUnits?: number, writeCapacityUnits?: number) {
    this.mode = mode;
    this.readCapacityUnits = readCapacityUnits;
    this.writeCapacityUnits = writeCapacityUnits;
  }
}

/** A feature group's settings, without its lake (`MlPlatform.addFeatureStore` supplies the platform's). */
export interface FeatureStoreOptions {
  /** Name of the feature whose value identifies a record; must be among `features`, not a collection. */
  readonly recordIdentifier: string;

  /**
   * Name of the feature holding each record's event time; must be among `features`, of type String
   * (ISO-8601, e.g. `2026-11-30T12:00:00Z`) or Fractional (Unix seconds).
   */
  readonly eventTime: string;

  /**
   * The features, at most 2,500. Adding features later is safe: they are applied in place. Removing or
   * retyping one fails at synth (see `allowReplacement`).
   */
  readonly features: Feature[];

  /**
   * Name of the feature group: 1-64 letters, digits, `-` and `_`, starting and ending with a letter or digit.
   *
   * @default - generated from the construct path, lowercase, e.g. `fraudplatform-features-1a2b3c4d`
   */
  readonly featureGroupName?: string;

  /**
   * Description of the feature group, at most 128 characters. Changing it replaces the group.
   *
   * @default - no description
   */
  readonly description?: string;

  /**
   * Whether the group has an online store (low-latency GetRecord for inference).
   *
   * @default true
   */
  readonly onlineStoreEnabled?: boolean;

  /**
   * Storage type of the online store.
   *
   * @default OnlineStoreStorageType.STANDARD
   */
  readonly onlineStoreStorageType?: OnlineStoreStorageType;

  /**
   * Default time to live of online records. Whole seconds, at least 1 second.
   *
   * @default - online records do not expire
   */
  readonly onlineStoreTtl?: Duration;

  /**
   * Whether the group has an offline store (history in the lake's `features` zone, queryable with Athena).
   *
   * @default - true, except with an `InMemory` online store (which cannot replicate offline)
   */
  readonly offlineStoreEnabled?: boolean;

  /**
   * Table format of the offline store.
   *
   * @default OfflineStoreTableFormat.ICEBERG
   */
  readonly offlineStoreTableFormat?: OfflineStoreTableFormat;

  /**
   * KMS key for the online store and the offline store objects.
   *
   * @default - the data lake's key
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Throughput mode.
   *
   * @default FeatureStoreThroughput.onDemand()
   */
  readonly throughput?: FeatureStoreThroughput;

  /**
   * Role that SageMaker assumes to write the offline store and maintain its Glue table.
   *
   * @default - a new role, allowed only this group's offline prefix, key and Glue table
   */
  readonly role?: iam.IRole;

  /**
   * What happens to the feature group when it leaves the stack. The offline data in the lake is governed
   * by the lake's own removal policy. `DESTROY` also needs the context key
   * `cdk-ml-platform:removeDataOnDestroy` set to `true`.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Lets a removed or retyped feature, or a new record identifier or event time, replace the feature
   * group with a new one (generated names get a `-v<n>` suffix; an explicit name must change). The old
   * group is retained with its data, not migrated.
   *
   * @default false
   */
  readonly allowReplacement?: boolean;
}

/** Properties for a {@link FeatureStore}. */
export interface FeatureStoreProps extends FeatureStoreOptions {
  /** The lake whose `features` zone holds the offline store and whose Glue database catalogs it. */
  readonly dataLake: IDataLake;
}

/** A SageMaker feature group. */
export interface IFeatureStore extends IResource {
  /**
   * ARN of the feature group.
   * @attribute
   */
  readonly featureGroupArn: string;

  /**
   * Name of the feature group.
   * @attribute
   */
  readonly featureGroupName: string;

  /** Lets `grantee` read online records and query the offline store (S3, KMS and Glue included). */
  grantRead(grantee: iam.IGrantable): iam.Grant;

  /** Lets `grantee` put and delete online records (KMS included). */
  grantWrite(grantee: iam.IGrantable): iam.Grant;

  /** Lets an ingestion pipeline put records and describe the group, but not delete records. */
  grantIngest(grantee: iam.IGrantable): iam.Grant;

  /** A Feature Store runtime metric of this group. */
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/** Attributes to import an existing feature group with {@link FeatureStore.fromFeatureStoreAttributes}. */
export interface FeatureStoreAttributes {
  /** ARN of the feature group. */
  readonly featureGroupArn: string;
  /**
   * Key of the online store and offline objects; grants include it.
   * @default - no KMS permissions are granted
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * The lake that holds the offline store; `grantRead` then includes it.
   * @default - grantRead covers the online store only
   */
  readonly dataLake?: IDataLake;
  /**
   * Key prefix of the offline store in the lake's `features` zone.
   * @default 'feature-groups/'
   */
  readonly offlineStoreKeyPrefix?: string;
  /**
   * Glue table of the offline store (in the lake's database); `grantRead` then includes it.
   * @default - no Glue permissions are granted
   */
  readonly glueTableName?: string;
}

/** Namespace of the Feature Store runtime metrics. */
const FEATURE_STORE_NAMESPACE = 'AWS/SageMaker/FeatureStore';
const OFFLINE_PREFIX = 'feature-groups/';

abstract class FeatureStoreBase extends Resource implements IFeatureStore {
  public abstract readonly featureGroupArn: string;
  public abstract readonly featureGroupName: string;
  protected abstract readonly keyForGrants?: kms.IKey;
  protected abstract readonly lakeForGrants?: IDataLake;
  protected abstract readonly offlinePrefixForGrants: string;
  protected abstract readonly glueTableForGrants?: string;

  public grantRead(grantee: iam.IGrantable): iam.Grant {
    let grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:GetRecord', 'sagemaker:BatchGetRecord', 'sagemaker:DescribeFeatureGroup'],
      resourceArns: [this.featureGroupArn],
    });
    if (this.keyForGrants) {
      grant = grant.combine(this.keyForGrants.grantDecrypt(grantee));
    }
    if (this.lakeForGrants) {
      grant = grant.combine(this.lakeForGrants.grantRead(DataZone.FEATURES, grantee, this.offlinePrefixForGrants));
      if (this.glueTableForGrants) {
        grant = grant.combine(iam.Grant.addToPrincipal({
          grantee,
          actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartition', 'glue:GetPartitions'],
          resourceArns: glueArns(this, this.lakeForGrants.glueDatabaseName, this.glueTableForGrants),
        }));
      }
    }
    return grant;
  }

  public grantWrite(grantee: iam.IGrantable): iam.Grant {
    return this.grantRecords(grantee, ['sagemaker:PutRecord', 'sagemaker:DeleteRecord', 'sagemaker:DescribeFeatureGroup']);
  }

  public grantIngest(grantee: iam.IGrantable): iam.Grant {
    return this.grantRecords(grantee, ['sagemaker:PutRecord', 'sagemaker:DescribeFeatureGroup']);
  }

  /**
   * A Feature Store runtime metric of this group (namespace `AWS/SageMaker/FeatureStore`,
   * dimension `FeatureGroupName`; add `OperationName` through `dimensionsMap` for one operation).
   */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: FEATURE_STORE_NAMESPACE,
      metricName,
      ...props,
      dimensionsMap: { FeatureGroupName: this.featureGroupName, ...props?.dimensionsMap },
    }).attachTo(this);
  }

  /**
   * Read units consumed by on-demand groups (`ConsumedReadRequestsUnits`, unit: none).
   * @default - sum over 5 minutes
   */
  public metricConsumedReadRequestsUnits(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ConsumedReadRequestsUnits', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Write units consumed by on-demand groups (`ConsumedWriteRequestsUnits`, unit: none).
   * @default - sum over 5 minutes
   */
  public metricConsumedWriteRequestsUnits(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ConsumedWriteRequestsUnits', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Throttled runtime requests (`ThrottledRequests`: 1 per throttled request, 0 otherwise).
   * @default - sum over 5 minutes
   */
  public metricThrottledRequests(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ThrottledRequests', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Runtime request latency (`Latency`, in microseconds).
   * @default - p99 over 5 minutes
   */
  public metricLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Latency', { statistic: cloudwatch.Stats.p(99), ...props });
  }

  /**
   * Runtime requests answered with a 5xx code (`Operation5XXErrors`).
   * @default - sum over 5 minutes
   */
  public metricOperation5XXErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Operation5XXErrors', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  private grantRecords(grantee: iam.IGrantable, actions: string[]): iam.Grant {
    const grant = iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [this.featureGroupArn] });
    // Online store encryption: record callers need only kms:Decrypt on the store's key.
    return this.keyForGrants ? grant.combine(this.keyForGrants.grantDecrypt(grantee)) : grant;
  }
}

function glueArns(scope: IConstruct, database: string, table: string): string[] {
  const stack = Stack.of(scope);
  return [
    stack.formatArn({ service: 'glue', resource: 'catalog' }),
    stack.formatArn({ service: 'glue', resource: 'database', resourceName: database }),
    stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${database}/${table}` }),
  ];
}

const NAME_PATTERN = /^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}$/;
const RESERVED_FEATURES = ['is_deleted', 'write_time', 'api_invocation_time'];
const MAX_FEATURES = 2500;
const MAX_PROVISIONED_UNITS = 40_000;
const PROVIDER_ID = 'CdkMlPlatformFeatureAdditionsProvider';

/**
 * A SageMaker feature group on the data lake: typed features, an online store (Standard or InMemory,
 * TTL, KMS) and an offline store in the lake's `features` zone (KMS, Iceberg or Glue table in the lake's
 * Glue database), with schema evolution that never destroys data.
 *
 * **Schema evolution.** CloudFormation cannot change a named feature group's definitions without
 * replacing it, and a replaced group loses its online records. The group's CloudFormation resource
 * therefore keeps the definitions it was first created with; features added later (and collection
 * features, which CloudFormation cannot declare) are applied by a custom resource that calls
 * `UpdateFeatureGroup`. The schema each group was created with (features, key features, create-only
 * settings and tags) is recorded in a lock file (`feature-schemas.lock.json` in the directory `cdk synth`
 * runs in; see `MlPlatformContext.FEATURE_SCHEMA_LOCK_FILE`), which `cdk synth` writes and you commit.
 * Removing, renaming or retyping a feature, or changing a create-only setting, which would replace the
 * group, fails at synth with the options. `cdk synth` in CI only reads the lock file, so an uncommitted
 * change fails the pipeline instead of deploying; synths inside unit tests neither write nor enforce it.
 *
 * @example
 * new FeatureStore(stack, 'Transactions', {
 *   dataLake: lake,
 *   recordIdentifier: 'transaction_id',
 *   eventTime: 'event_time',
 *   features: [Feature.string('transaction_id'), Feature.string('event_time'), Feature.fractional('amount')],
 * });
 */
export class FeatureStore extends FeatureStoreBase {
  /** Imports an existing feature group. */
  public static fromFeatureStoreAttributes(scope: Construct, id: string, attrs: FeatureStoreAttributes): IFeatureStore {
    const name = Stack.of(scope).splitArn(attrs.featureGroupArn, ArnFormat.SLASH_RESOURCE_NAME).resourceName!;
    class Import extends FeatureStoreBase {
      public readonly featureGroupArn = attrs.featureGroupArn;
      public readonly featureGroupName = name;
      protected readonly keyForGrants = attrs.encryptionKey;
      protected readonly lakeForGrants = attrs.dataLake;
      protected readonly offlinePrefixForGrants = attrs.offlineStoreKeyPrefix ?? OFFLINE_PREFIX;
      protected readonly glueTableForGrants = attrs.glueTableName;
    }
    return new Import(scope, id, { environmentFromArn: attrs.featureGroupArn });
  }

  public readonly featureGroupArn: string;
  public readonly featureGroupName: string;
  /** The role SageMaker uses for the offline store; undefined without an offline store. */
  public readonly role?: iam.IRole;
  /** Key of the online store and the offline objects. */
  public readonly encryptionKey: kms.IKey;
  /** S3 URI of the offline store; undefined without an offline store. */
  public readonly offlineStoreUri?: string;
  /** ARN pattern of the offline store's objects (what `grantRead` opens); undefined without an offline store. */
  public readonly offlineObjectsArn?: string;
  /** Glue table of the offline store; undefined without an offline store. */
  public readonly glueTableName?: string;
  /** Every feature, as the group has them after deployment (created ones first, then additions). */
  public readonly features: Feature[];
  /** Names of the features applied by UpdateFeatureGroup rather than by the CloudFormation resource. */
  public readonly addedFeatureNames: string[];
  /** The lake the feature store belongs to (its offline store, when it has one, is in the lake's `features` zone). */
  public readonly dataLake: IDataLake;
  protected readonly keyForGrants?: kms.IKey;
  protected readonly lakeForGrants?: IDataLake;
  protected readonly offlinePrefixForGrants: string = OFFLINE_PREFIX;
  protected readonly glueTableForGrants?: string;
  private readonly resource: sagemaker.CfnFeatureGroup;

  constructor(scope: Construct, id: string, props: FeatureStoreProps) {
    super(scope, id);

    const online = props.onlineStoreEnabled ?? true;
    const storageType = props.onlineStoreStorageType ?? OnlineStoreStorageType.STANDARD;
    const inMemory = online && storageType === OnlineStoreStorageType.IN_MEMORY;
    const offline = props.offlineStoreEnabled ?? !inMemory;
    validateProps(this, props, { online, offline, inMemory });
    const removal = resolveStatefulRemovalPolicy(this, 'FeatureStore', props.removalPolicy);

    // Schema: what CloudFormation creates (base) and what UpdateFeatureGroup adds.
    const desired = props.features.map(toSpec);
    // Create-only settings, resolved (logical ids, not physical names), excluding what follows from the name.
    const stack = Stack.of(this);
    const resolved = (v: unknown) => JSON.stringify(stack.resolve(v) ?? null);
    const key = props.encryptionKey ?? props.dataLake.encryptionKey;
    const createOnly = [
      `description=${resolved(props.description ?? '')}`,
      `onlineStore=${online ? resolved({ storageType, key: inMemory ? null : key.keyArn }) : 'none'}`,
      `offlineStore=${offline ? resolved({
        bucket: props.dataLake.bucket(DataZone.FEATURES).bucketName,
        database: props.dataLake.glueDatabaseName,
        format: props.offlineStoreTableFormat ?? OfflineStoreTableFormat.ICEBERG,
        key: key.keyArn,
      }) : 'none'}`,
      `role=${!offline ? 'none' : props.role ? resolved(props.role.roleArn) : 'generated'}`,
    ];
    const plan = this.planSchema(props, desired, createOnly);
    this.featureGroupName = plan.entry.featureGroupName;
    this.featureGroupArn = stack.formatArn({
      service: 'sagemaker',
      resource: 'feature-group',
      // SageMaker ARNs carry the name in lowercase.
      resourceName: Token.isUnresolved(this.featureGroupName) ? this.featureGroupName : this.featureGroupName.toLowerCase(),
    });
    const byName = new Map(props.features.map(f => [f.name, f]));
    this.features = [...plan.entry.baseFeatures, ...plan.entry.addedFeatures].map(s => byName.get(s.name)!);
    this.addedFeatureNames = plan.entry.addedFeatures.map(f => f.name);

    this.encryptionKey = props.encryptionKey ?? props.dataLake.encryptionKey;
    this.keyForGrants = this.encryptionKey;
    this.dataLake = props.dataLake;

    // CfnFeatureGroup types these two properties as `any`: they are passed through verbatim, in CloudFormation case.
    let offlineStoreConfig: Record<string, unknown> | undefined;
    if (offline) {
      this.lakeForGrants = props.dataLake;
      this.glueTableName = this.featureGroupName.toLowerCase().replace(/-/g, '_');
      this.glueTableForGrants = this.glueTableName;
      // Each group has its own prefix, so its role and readers reach only its own offline data.
      this.offlinePrefixForGrants = `${OFFLINE_PREFIX}${this.featureGroupName}/`;
      this.offlineStoreUri = props.dataLake.uri(DataZone.FEATURES, `${OFFLINE_PREFIX}${this.featureGroupName}`);
      this.offlineObjectsArn = props.dataLake.bucket(DataZone.FEATURES).arnForObjects(`${this.offlinePrefixForGrants}*`);
      this.role = props.role ?? this.defineRole(props.dataLake, this.glueTableName, this.offlinePrefixForGrants);
      offlineStoreConfig = {
        S3StorageConfig: { S3Uri: this.offlineStoreUri, KmsKeyId: this.encryptionKey.keyArn },
        TableFormat: props.offlineStoreTableFormat ?? OfflineStoreTableFormat.ICEBERG,
        DisableGlueTableCreation: false,
        DataCatalogConfig: { Catalog: 'AwsDataCatalog', Database: props.dataLake.glueDatabaseName, TableName: this.glueTableName },
      };
    }

    this.resource = new sagemaker.CfnFeatureGroup(this, 'Resource', {
      featureGroupName: this.featureGroupName,
      description: props.description,
      recordIdentifierFeatureName: props.recordIdentifier,
      eventTimeFeatureName: props.eventTime,
      featureDefinitions: plan.entry.baseFeatures.map(f => ({ featureName: f.name, featureType: f.type })),
      onlineStoreConfig: online ? {
        EnableOnlineStore: true,
        StorageType: storageType,
        SecurityConfig: inMemory ? undefined : { KmsKeyId: this.encryptionKey.keyArn },
        TtlDuration: props.onlineStoreTtl ? renderTtl(props.onlineStoreTtl) : undefined,
      } : undefined,
      offlineStoreConfig,
      roleArn: this.role?.roleArn,
      throughputConfig: renderThroughput(props.throughput),
    });
    this.resource.applyRemovalPolicy(removal.policy);
    if (offline && props.dataLake instanceof DataLake) {
      // The offline store creates its Glue table in the lake's database: it must exist first.
      this.resource.node.addDependency(props.dataLake.database);
    }
    if (this.role) {
      // SageMaker checks the role's permissions when it creates the offline store.
      const policy = this.role.node.tryFindChild('DefaultPolicy');
      if (policy) { this.resource.node.addDependency(policy); }
    }

    if (plan.entry.addedFeatures.length > 0) {
      this.defineAdditions(plan.entry.addedFeatures);
    }
    applyLineageTags(this, 'feature-store');
  }

  /** Decides base definitions and additions from the lock file; records what synth must write. */
  private planSchema(props: FeatureStoreProps, desired: FeatureSpec[], createOnly: string[]): { entry: LockEntry } {
    const file = lockFilePath(this);
    const key = this.node.path;
    const entries = readLockEntries(file);
    const previous = entries[key];
    const fresh = (generation: number, name: string): LockEntry => ({
      featureGroupName: name,
      generation,
      recordIdentifier: props.recordIdentifier,
      eventTime: props.eventTime,
      // CloudFormation cannot declare collection features: they are always applied as additions.
      baseFeatures: desired.filter(f => !f.collectionType),
      addedFeatures: desired.filter(f => f.collectionType),
      createOnly,
    });

    let entry: LockEntry;
    if (!previous) {
      entry = fresh(1, props.featureGroupName ?? this.generatedName(1));
    } else if (props.featureGroupName !== undefined && props.featureGroupName !== previous.featureGroupName) {
      Annotations.of(this).addWarningV2('cdk-ml-platform:FeatureStore.NewGroupName',
        `featureGroupName changed from '${previous.featureGroupName}' to '${props.featureGroupName}': CloudFormation creates ` +
        `a new, empty feature group; '${previous.featureGroupName}' is retained with its data (unless removalPolicy is DESTROY)`);
      // Generations only grow, so a later generated name never collides with a retained group.
      entry = fresh(previous.generation, props.featureGroupName);
    } else {
      const diff = diffSchema(previous, desired, props.recordIdentifier, props.eventTime, createOnly);
      const incompatible = diff.removed.length > 0 || diff.retyped.length > 0 || diff.keysChanged.length > 0
        || diff.createOnlyChanged.length > 0;
      if (incompatible) {
        const changes = [
          ...diff.removed.map(f => `removed ${describeSpec(f)}`),
          ...diff.retyped.map(c => `retyped ${describeSpec(c.from)} → ${describeSpec(c.to)}`),
          ...diff.keysChanged,
          ...diff.createOnlyChanged.map(c => `create-only setting ${c}`),
        ].join('; ');
        if (!props.allowReplacement) {
          throw mlError(this, 'FeatureStore', {
            code: 'IncompatibleSchemaChange',
            what: `feature group '${previous.featureGroupName}' cannot drop, rename or retype features, change its record identifier or event time (the service only adds features), or change a create-only setting (description, stores, key, role, data lake) without being replaced`,
            got: changes,
            fix: 'either (1) restore the features as recorded in ' + file + ', or (2) define a new feature group version ' +
              '(a new construct id or featureGroupName; the old group is retained with its data), or (3) set ' +
              'allowReplacement: true to replace this group by a new, empty one (the old one is retained, not migrated)',
          });
        }
        if (props.featureGroupName !== undefined) {
          throw mlError(this, 'FeatureStore', {
            code: 'ReplacementNeedsNewName',
            what: 'allowReplacement needs a new feature group name: CloudFormation cannot replace a group under the same name',
            got: props.featureGroupName,
            fix: `change featureGroupName (e.g. '${props.featureGroupName}-v${previous.generation + 1}') or omit it to get a generated, versioned name`,
          });
        }
        entry = fresh(previous.generation + 1, this.generatedName(previous.generation + 1));
      } else {
        entry = { ...previous, addedFeatures: [...previous.addedFeatures, ...diff.added], createOnly };
      }
    }

    // Two groups (or a moved construct) with one name, or one Glue table, fail at deploy: catch them here.
    const table = (n: string) => n.toLowerCase().replace(/-/g, '_');
    for (const [otherKey, other] of Object.entries(entries)) {
      if (otherKey === key || Token.isUnresolved(entry.featureGroupName)) { continue; }
      if (table(other.featureGroupName) === table(entry.featureGroupName)) {
        throw mlError(this, 'FeatureStore', {
          code: 'DuplicateGroupName',
          what: `feature group name '${entry.featureGroupName}' (or its Glue table) is already used by '${otherKey}' in the lock file`,
          got: other.featureGroupName,
          fix: `choose another featureGroupName; if '${otherKey}' no longer exists (the construct was moved or deleted and its group is gone), delete its entry from ${file}`,
        });
      }
    }

    // Tags are create-only too, and only final once aspects have run: check and record them at synth.
    this.node.addValidation({
      validate: () => {
        const tags = Stack.of(this).resolve(this.resource.tags.renderTags()) ?? [];
        const samePrevious = previous && previous.featureGroupName === entry.featureGroupName && previous.generation === entry.generation;
        if (samePrevious && previous.tags !== undefined && JSON.stringify(previous.tags) !== JSON.stringify(tags)) {
          return [mlError(this, 'FeatureStore', {
            code: 'CreateOnlyTagsChanged',
            what: `the tags of feature group '${entry.featureGroupName}' changed; CloudFormation would have to replace the named group, which fails`,
            got: `${JSON.stringify(previous.tags)} → ${JSON.stringify(tags)}`,
            fix: 'keep its tags (add yours with Tags.of(scope).add(key, value, { excludeResourceTypes: [\'AWS::SageMaker::FeatureGroup\'] })), ' +
              'or set allowReplacement: true with a schema change / a new featureGroupName to start a new group',
          }).message];
        }
        const final: LockEntry = { ...entry, tags };
        if (JSON.stringify(final) === JSON.stringify(previous)) { return []; }
        const mode = lockMode(this);
        if (mode === 'frozen') {
          return [mlError(this, 'FeatureStore', {
            code: 'SchemaLockOutdated',
            what: `the feature schema lock file does not record this feature group's current schema and synth may not update it (CI, or ${MlPlatformContext.FROZEN_FEATURE_SCHEMAS} is true)`,
            got: `${file}, entry '${key}' ${previous ? 'differs' : 'is missing'}`,
            fix: 'run cdk synth locally (outside CI) and commit the updated lock file',
          }).message];
        }
        if (mode === 'write') { writeLockEntry(file, key, final); }
        return [];
      },
    });
    return { entry };
  }

  private generatedName(generation: number): string {
    const suffix = generation > 1 ? `-v${generation}` : '';
    const base = Names.uniqueResourceName(this, { maxLength: 64 - suffix.length, separator: '-' })
      .toLowerCase().replace(/[^a-z0-9-]/g, '').replace(/^-+|-+$/g, '');
    return `${base}${suffix}`;
  }

  private defineRole(lake: IDataLake, tableName: string, prefix: string): iam.Role {
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'OfflineStoreRole', {
      description: `SageMaker Feature Store offline store of ${this.node.path}`,
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });
    // Iceberg tables read their own metadata and compaction rewrites files: read and write the prefix.
    lake.grantReadWrite(DataZone.FEATURES, role, prefix);
    const bucket = lake.bucket(DataZone.FEATURES);
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:GetBucketAcl', 's3:PutObjectAcl'],
      resources: [bucket.bucketArn, bucket.arnForObjects(`${prefix}*`)],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'],
      resources: glueArns(this, lake.glueDatabaseName, tableName),
    }));
    if (this.encryptionKey !== lake.encryptionKey) {
      this.encryptionKey.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
    }
    acknowledgeWildcardResource(role, bucket.arnForObjects(`${prefix}*`),
      'SageMaker writes offline-store objects under keys it generates below this group\'s prefix; actions are explicit.');
    Validations.of(role).acknowledge({
      id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy',
      reason: 'The policy is defined by this construct for this role only and is not shared; CDK attaches grants as its default policy.',
    });
    return role;
  }

  private defineAdditions(additions: FeatureSpec[]): void {
    const stack = Stack.of(this);
    let provider = stack.node.tryFindChild(PROVIDER_ID) as cr.Provider | undefined;
    if (!provider) {
      const onEvent = new FeatureAdditionsFunction(stack, `${PROVIDER_ID}Handler`, {
        description: 'cdk-ml-platform: applies feature additions with UpdateFeatureGroup',
        timeout: Duration.minutes(15),
        memorySize: 256,
      });
      provider = new cr.Provider(stack, PROVIDER_ID, { onEventHandler: onEvent });
      acknowledgeCustomResourceProvider(onEvent, provider);
    }
    const handler = (provider.onEventHandler as FeatureAdditionsFunction);
    handler.addToRolePolicy(new iam.PolicyStatement({
      actions: ['sagemaker:DescribeFeatureGroup', 'sagemaker:UpdateFeatureGroup'],
      resources: [this.featureGroupArn],
    }));
    const additionsResource = new CustomResource(this, 'FeatureAdditions', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::FeatureAdditions',
      properties: {
        FeatureGroupName: this.featureGroupName,
        FeatureAdditions: JSON.stringify(additions),
      },
    });
    additionsResource.node.addDependency(this.resource);
  }
}

function toSpec(f: Feature): FeatureSpec {
  const spec: { name: string; type: string; collectionType?: string; vectorDimension?: number } = { name: f.name, type: f.type };
  if (f.collectionType) { spec.collectionType = f.collectionType; }
  if (f.vectorDimension !== undefined) { spec.vectorDimension = f.vectorDimension; }
  return spec;
}

const TTL_UNITS: Array<[string, number]> = [['Weeks', 604_800], ['Days', 86_400], ['Hours', 3_600], ['Minutes', 60], ['Seconds', 1]];

/** The largest unit that expresses the duration exactly. */
function renderTtl(ttl: Duration): { Unit: string; Value: number } {
  const seconds = ttl.toSeconds();
  const [unit, size] = TTL_UNITS.find(([, s]) => seconds % s === 0)!;
  return { Unit: unit, Value: seconds / size };
}

function renderThroughput(t: FeatureStoreThroughput | undefined): sagemaker.CfnFeatureGroup.ThroughputConfigProperty {
  if (!t || t.mode === 'OnDemand') { return { throughputMode: 'OnDemand' }; }
  return { throughputMode: 'Provisioned', provisionedReadCapacityUnits: t.readCapacityUnits, provisionedWriteCapacityUnits: t.writeCapacityUnits };
}

interface StoreShape { readonly online: boolean; readonly offline: boolean; readonly inMemory: boolean }

function validateProps(scope: IConstruct, props: FeatureStoreProps, shape: StoreShape): void {
  const errors = new ValidationErrors(scope, 'FeatureStore');
  const add = (p: Problem) => errors.add(p);

  errors.check(shape.online || shape.offline, {
    code: 'NoStore',
    what: 'a feature group needs an online store, an offline store or both',
    got: 'onlineStoreEnabled: false, offlineStoreEnabled: false',
    fix: 'enable at least one store',
  });

  const name = props.featureGroupName;
  if (name !== undefined && Token.isUnresolved(name)) {
    add({
      code: 'UnresolvedName',
      what: 'featureGroupName must be known at synth: the schema lock, the Glue table and the ARN derive from it',
      got: name,
      fix: 'pass a literal name, or omit it to get a generated name',
    });
  } else if (name !== undefined) {
    errors.check(NAME_PATTERN.test(name) && name.length <= 64, {
      code: 'InvalidName',
      what: 'featureGroupName must be 1-64 letters, digits, "-" or "_", starting and ending with a letter or digit',
      got: name,
      fix: 'rename it, or omit it to get a generated name',
    });
  }
  if (props.description !== undefined && !Token.isUnresolved(props.description)) {
    errors.check(props.description.length <= 128, {
      code: 'InvalidDescription', what: 'description must be at most 128 characters', got: `${props.description.length} characters`, fix: 'shorten it',
    });
  }

  const features = props.features;
  errors.check(features.length >= 1 && features.length <= MAX_FEATURES, {
    code: 'FeatureCount',
    what: `a feature group holds 1 to ${MAX_FEATURES} features`,
    got: features.length,
    fix: 'split the features over several feature groups',
  });
  const seen = new Map<string, string>();
  for (const f of features) {
    if (!NAME_PATTERN.test(f.name)) {
      add({ code: 'InvalidFeatureName', what: 'feature names must be 1-64 letters, digits, "-" or "_", starting and ending with a letter or digit', got: f.name, fix: 'rename the feature' });
    }
    if (RESERVED_FEATURES.includes(f.name.toLowerCase())) {
      add({ code: 'ReservedFeatureName', what: `feature names ${RESERVED_FEATURES.join(', ')} are reserved by Feature Store`, got: f.name, fix: 'rename the feature' });
    }
    const folded = f.name.toLowerCase();
    if (seen.has(folded)) {
      add({
        code: 'DuplicateFeature',
        what: 'feature names must be unique, ignoring case (the offline Glue/Athena table folds case)',
        got: seen.get(folded) === f.name ? f.name : `${seen.get(folded)} and ${f.name}`,
        fix: 'remove or rename the duplicate',
      });
    }
    seen.set(folded, f.name);
    if (f.collectionType && !shape.inMemory) {
      add({
        code: 'CollectionNeedsInMemory',
        what: 'collection features (List, Set, Vector) need an online store with the InMemory storage type',
        got: describeSpec(toSpec(f)),
        fix: 'set onlineStoreStorageType: OnlineStoreStorageType.IN_MEMORY, or use a scalar feature',
      });
    }
    if (f.collectionType === FeatureCollectionType.VECTOR && f.vectorDimension !== undefined && !Token.isUnresolved(f.vectorDimension)) {
      errors.check(Number.isInteger(f.vectorDimension) && f.vectorDimension >= 1 && f.vectorDimension <= 8192, {
        code: 'InvalidVectorDimension', what: `vector feature '${f.name}' needs a whole dimension from 1 to 8192`, got: f.vectorDimension, fix: 'use a dimension in range',
      });
    }
  }
  const vectors = features.filter(f => f.collectionType === FeatureCollectionType.VECTOR);
  errors.check(vectors.length <= 1, {
    code: 'TooManyVectors',
    what: 'a feature group holds at most one Vector feature',
    got: vectors.map(v => v.name).join(', '),
    fix: 'move the other vectors to their own feature groups',
  });

  const byName = new Map(features.map(f => [f.name, f]));
  const id = byName.get(props.recordIdentifier);
  if (errors.check(id !== undefined, {
    code: 'MissingRecordIdentifier',
    what: 'recordIdentifier must name one of the features',
    got: props.recordIdentifier,
    fix: `add Feature.string('${props.recordIdentifier}') to features or pick one of ${[...byName.keys()].slice(0, 5).join(', ')}`,
  })) {
    errors.check(!id!.collectionType, {
      code: 'InvalidRecordIdentifier', what: 'the record identifier cannot be a collection feature', got: describeSpec(toSpec(id!)), fix: 'use a String or Integral feature',
    });
  }
  const time = byName.get(props.eventTime);
  if (errors.check(time !== undefined, {
    code: 'MissingEventTime',
    what: 'eventTime must name one of the features',
    got: props.eventTime,
    fix: `add Feature.string('${props.eventTime}') (ISO-8601) or Feature.fractional('${props.eventTime}') (Unix seconds) to features`,
  })) {
    errors.check(!time!.collectionType && (time!.type === FeatureType.STRING || time!.type === FeatureType.FRACTIONAL), {
      code: 'InvalidEventTimeType',
      what: 'the event time feature must be a single String (ISO-8601) or Fractional (Unix seconds) value',
      got: describeSpec(toSpec(time!)),
      fix: `declare it as Feature.string('${props.eventTime}') or Feature.fractional('${props.eventTime}')`,
    });
  }

  if (props.onlineStoreTtl) {
    if (!shape.online) {
      add({ code: 'TtlWithoutOnlineStore', what: 'onlineStoreTtl applies to the online store, which is disabled', got: props.onlineStoreTtl, fix: 'enable the online store or drop onlineStoreTtl' });
    } else if (!props.onlineStoreTtl.isUnresolved()) {
      const seconds = props.onlineStoreTtl.toSeconds({ integral: false });
      errors.check(Number.isInteger(seconds) && seconds >= 1, {
        code: 'InvalidTtl', what: 'onlineStoreTtl must be a whole number of seconds, at least 1', got: props.onlineStoreTtl, fix: 'use e.g. Duration.days(30)',
      });
    }
  }
  if (props.onlineStoreStorageType !== undefined && !shape.online) {
    add({ code: 'StorageTypeWithoutOnlineStore', what: 'onlineStoreStorageType applies to the online store, which is disabled', got: props.onlineStoreStorageType, fix: 'enable the online store or drop onlineStoreStorageType' });
  }
  if (shape.inMemory && props.offlineStoreEnabled === true) {
    add({
      code: 'InMemoryWithOffline',
      what: 'an InMemory online store cannot replicate to an offline store',
      got: 'onlineStoreStorageType: IN_MEMORY with offlineStoreEnabled: true',
      fix: 'use the STANDARD storage type, or a second feature group for the offline history',
    });
  }
  if (props.offlineStoreTableFormat !== undefined && !shape.offline) {
    add({ code: 'TableFormatWithoutOfflineStore', what: 'offlineStoreTableFormat applies to the offline store, which is disabled', got: props.offlineStoreTableFormat, fix: 'enable the offline store or drop offlineStoreTableFormat' });
  }
  if (props.role && !shape.offline) {
    add({ code: 'RoleWithoutOfflineStore', what: 'the role is only used by the offline store, which is disabled', got: props.role.roleArn, fix: 'drop role, or enable the offline store' });
  }

  const t = props.throughput;
  if (t && t.mode === 'Provisioned') {
    errors.check(!shape.inMemory, {
      code: 'ProvisionedWithInMemory',
      what: 'provisioned throughput works only with a Standard online store or offline-only groups',
      got: 'InMemory online store',
      fix: 'use FeatureStoreThroughput.onDemand() or the STANDARD storage type',
    });
    for (const [label, units] of [['readCapacityUnits', t.readCapacityUnits], ['writeCapacityUnits', t.writeCapacityUnits]] as const) {
      if (units !== undefined && !Token.isUnresolved(units)) {
        errors.check(Number.isInteger(units) && units >= 0 && units <= MAX_PROVISIONED_UNITS, {
          code: 'InvalidCapacity', what: `${label} must be a whole number from 0 to ${MAX_PROVISIONED_UNITS} (the per-group quota)`, got: units, fix: 'use a value in range, or on-demand throughput',
        });
      }
    }
  }
  errors.throwIfAny();
}
