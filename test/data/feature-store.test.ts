import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnParameter, Duration, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import {
  DataLake, Feature, FeatureStore, FeatureStoreProps, FeatureStoreThroughput, FeatureType, MlPlatformContext,
  OfflineStoreTableFormat, OnlineStoreStorageType,
} from '../../src';
import { cfnLint } from '../support/cfn-lint';
import { nagFindings } from '../support/nag';

const BASE = () => [Feature.string('transaction_id'), Feature.string('event_time'), Feature.fractional('amount')];
type Props = Omit<FeatureStoreProps, 'dataLake'>;
const DEFAULTS: Props = { recordIdentifier: 'transaction_id', eventTime: 'event_time', features: BASE() };

let lockFile: string;
beforeEach(() => {
  lockFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fs-lock-')), 'feature-schemas.lock.json');
});

function context(extra?: Record<string, unknown>) {
  return { [MlPlatformContext.FEATURE_SCHEMA_LOCK_FILE]: lockFile, [MlPlatformContext.FROZEN_FEATURE_SCHEMAS]: 'false', ...extra };
}

/** Builds a stack with a lake and one feature store and synthesizes it (which writes the lock file). */
function build(props: Partial<Props> = {}, extraContext?: Record<string, unknown>) {
  const app = new App({ context: context(extraContext) });
  const stack = new Stack(app, 'Platform');
  const lake = new DataLake(stack, 'Lake');
  const store = new FeatureStore(stack, 'Features', { dataLake: lake, ...DEFAULTS, ...props });
  const template = Template.fromStack(stack);
  return { app, stack, lake, store, template };
}

function featureGroup(template: Template): { logicalId: string; resource: any } {
  const groups = template.findResources('AWS::SageMaker::FeatureGroup');
  const [logicalId] = Object.keys(groups);
  return { logicalId, resource: groups[logicalId] };
}

function statementsOf(template: Template): any[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

describe('FeatureStore resources', () => {
  test('defaults: online Standard + offline Iceberg in the lake, KMS on both, on-demand, retained', () => {
    const { template, store } = build();
    expect(store.featureGroupName).toMatch(/^platform-features-[0-9a-f]{8}$/);
    const { resource } = featureGroup(template);
    expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResourceProperties('AWS::SageMaker::FeatureGroup', {
      FeatureGroupName: store.featureGroupName,
      RecordIdentifierFeatureName: 'transaction_id',
      EventTimeFeatureName: 'event_time',
      FeatureDefinitions: [
        { FeatureName: 'transaction_id', FeatureType: 'String' },
        { FeatureName: 'event_time', FeatureType: 'String' },
        { FeatureName: 'amount', FeatureType: 'Fractional' },
      ],
      OnlineStoreConfig: {
        EnableOnlineStore: true,
        StorageType: 'Standard',
        SecurityConfig: { KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LakeKey'), 'Arn'] } },
      },
      OfflineStoreConfig: {
        S3StorageConfig: {
          S3Uri: { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('^LakeFeaturesZone') }, `/feature-groups/${store.featureGroupName}`]] },
          KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LakeKey'), 'Arn'] },
        },
        TableFormat: 'Iceberg',
        DisableGlueTableCreation: false,
        DataCatalogConfig: { Catalog: 'AwsDataCatalog', Database: Match.stringLikeRegexp('^platform_lake_'), TableName: store.glueTableName },
      },
      RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FeaturesOfflineStoreRole'), 'Arn'] },
      ThroughputConfig: { ThroughputMode: 'OnDemand' },
    });
    expect(store.glueTableName).toBe(store.featureGroupName.replace(/-/g, '_'));
    template.resourceCountIs('Custom::FeatureAdditions', 0);
    // The Glue table is created in the lake's database: the group waits for it.
    expect(featureGroup(template).resource.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^LakeDatabase/)]));
  });

  test('the offline-store role is assumable by SageMaker of this account only and scoped to its prefix, key and table', () => {
    const { template, store } = build();
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'sagemaker.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        }],
      },
    });
    const statements = statementsOf(template);
    // Only this group's own prefix: another group's offline data is out of reach.
    const featuresObjects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^LakeFeaturesZone/), 'Arn'] }, `/feature-groups/${store.featureGroupName}/*`]] };
    expect(statements).toEqual(expect.arrayContaining([
      expect.objectContaining({ Action: expect.arrayContaining(['s3:GetObject', 's3:PutObject']), Resource: featuresObjects }),
      expect.objectContaining({ Action: ['s3:GetBucketAcl', 's3:PutObjectAcl'] }),
      expect.objectContaining({
        Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'],
        Resource: [
          { 'Fn::Join': ['', expect.arrayContaining([':catalog'])] },
          { 'Fn::Join': ['', expect.arrayContaining([expect.stringMatching(/:database\/platform_lake_[0-9a-f]{8}$/)])] },
          { 'Fn::Join': ['', expect.arrayContaining([expect.stringMatching(new RegExp(`:table/platform_lake_[0-9a-f]{8}/${store.glueTableName}$`))])] },
        ],
      }),
      expect.objectContaining({ Action: ['kms:Decrypt', 'kms:GenerateDataKey'] }),
    ]));
    const actions = statements.flatMap(s => [s.Action].flat());
    expect(actions.filter((a: string) => a.includes('*'))).toEqual([]);
  });

  test('online only: no offline store, no role', () => {
    const { template } = build({ offlineStoreEnabled: false });
    const { resource } = featureGroup(template);
    expect(resource.Properties.OfflineStoreConfig).toBeUndefined();
    expect(resource.Properties.RoleArn).toBeUndefined();
    template.resourceCountIs('AWS::IAM::Role', 0);
  });

  test('offline only, Glue table format, provisioned throughput', () => {
    const { template } = build({
      onlineStoreEnabled: false,
      offlineStoreTableFormat: OfflineStoreTableFormat.GLUE,
      throughput: FeatureStoreThroughput.provisioned(10, 20),
    });
    const { resource } = featureGroup(template);
    expect(resource.Properties.OnlineStoreConfig).toBeUndefined();
    expect(resource.Properties.OfflineStoreConfig.TableFormat).toBe('Glue');
    expect(resource.Properties.ThroughputConfig).toEqual({
      ThroughputMode: 'Provisioned', ProvisionedReadCapacityUnits: 10, ProvisionedWriteCapacityUnits: 20,
    });
  });

  test.each([
    [Duration.days(30), { Unit: 'Days', Value: 30 }],
    [Duration.days(14), { Unit: 'Weeks', Value: 2 }],
    [Duration.hours(36), { Unit: 'Hours', Value: 36 }],
    [Duration.seconds(90), { Unit: 'Seconds', Value: 90 }],
  ])('online TTL %s renders as %p', (ttl, expected) => {
    const { template } = build({ onlineStoreTtl: ttl });
    expect(featureGroup(template).resource.Properties.OnlineStoreConfig.TtlDuration).toEqual(expected);
  });

  test('a given key encrypts both stores', () => {
    const app = new App({ context: context() });
    const stack = new Stack(app, 'Platform');
    const key = new kms.Key(stack, 'FeatureKey', { enableKeyRotation: true });
    new FeatureStore(stack, 'Features', { dataLake: new DataLake(stack, 'Lake'), ...DEFAULTS, encryptionKey: key });
    const props = featureGroup(Template.fromStack(stack)).resource.Properties;
    const keyArn = { 'Fn::GetAtt': [expect.stringMatching(/^FeatureKey/), 'Arn'] };
    expect(props.OnlineStoreConfig.SecurityConfig.KmsKeyId).toEqual(keyArn);
    expect(props.OfflineStoreConfig.S3StorageConfig.KmsKeyId).toEqual(keyArn);
  });

  test('InMemory with collections: online only, collections applied by UpdateFeatureGroup from the first deployment', () => {
    const { template } = build({
      onlineStoreStorageType: OnlineStoreStorageType.IN_MEMORY,
      features: [...BASE(), Feature.list('recent_merchants', FeatureType.STRING), Feature.vector('embedding', 64)],
    });
    const { resource } = featureGroup(template);
    expect(resource.Properties.OnlineStoreConfig).toEqual({ EnableOnlineStore: true, StorageType: 'InMemory' });
    expect(resource.Properties.OfflineStoreConfig).toBeUndefined();
    expect(resource.Properties.FeatureDefinitions.map((d: any) => d.FeatureName)).toEqual(['transaction_id', 'event_time', 'amount']);
    template.hasResourceProperties('Custom::FeatureAdditions', {
      FeatureAdditions: JSON.stringify([
        { name: 'recent_merchants', type: 'String', collectionType: 'List' },
        { name: 'embedding', type: 'Fractional', collectionType: 'Vector', vectorDimension: 64 },
      ]),
    });
  });

  test('a custom role is used as given', () => {
    const app = new App({ context: context() });
    const stack = new Stack(app, 'Platform');
    const role = iam.Role.fromRoleArn(stack, 'Role', 'arn:aws:iam::111111111111:role/feature-store');
    const store = new FeatureStore(stack, 'Features', { dataLake: new DataLake(stack, 'Lake'), ...DEFAULTS, role });
    expect(store.role).toBe(role);
    expect(featureGroup(Template.fromStack(stack)).resource.Properties.RoleArn).toBe('arn:aws:iam::111111111111:role/feature-store');
  });

  test('the code-version tag never lands on the feature group (its tags are create-only)', () => {
    const { template } = build({}, { [MlPlatformContext.CODE_VERSION]: 'abc123' });
    expect(featureGroup(template).resource.Properties.Tags).toEqual([{ Key: 'ml-platform:component', Value: 'feature-store' }]);
    template.hasResourceProperties('AWS::IAM::Role', { Tags: Match.arrayWith([{ Key: 'ml-platform:code-version', Value: 'abc123' }]) });
  });

  test('DESTROY with the opt-in deletes the group with the stack', () => {
    const { template } = build({ removalPolicy: RemovalPolicy.DESTROY }, { [MlPlatformContext.REMOVE_DATA_ON_DESTROY]: true });
    expect(featureGroup(template).resource).toMatchObject({ DeletionPolicy: 'Delete' });
  });

  test('passes AwsSolutions and NIST 800-53 R5, additions provider included', () => {
    build();
    // Second synth adds a feature, so the Provider framework and the handler are in the stack.
    const app = new App({ context: context() });
    const stack = new Stack(app, 'Platform');
    new FeatureStore(stack, 'Features', { dataLake: new DataLake(stack, 'Lake'), ...DEFAULTS, features: [...BASE(), Feature.integral('merchant_id')] });
    expect(Template.fromStack(stack).findResources('Custom::FeatureAdditions')).not.toEqual({});
    expect(nagFindings(app)).toEqual([]);
  });
});

describe('FeatureStore templates', () => {
  test('default template is stable (safety net)', () => {
    expect(build().template.toJSON()).toMatchSnapshot();
  });

  test('a stack with feature additions (custom resource, handler, Provider framework) is cfn-lint clean', () => {
    build();
    const { app } = build({ features: [...BASE(), Feature.integral('merchant_id')] });
    const assembly = app.synth();
    const file = path.join(assembly.directory, assembly.getStackByName('Platform').templateFile);
    expect(cfnLint([file])).toEqual([]);
  });
});

describe('FeatureStore grants and metrics', () => {
  function granted(grant: (store: FeatureStore, role: iam.Role) => void) {
    const app = new App({ context: context() });
    const stack = new Stack(app, 'Platform');
    const store = new FeatureStore(stack, 'Features', { dataLake: new DataLake(stack, 'Lake'), ...DEFAULTS });
    const role = new iam.Role(stack, 'Consumer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    grant(store, role);
    const policy = Object.entries(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
      .find(([id]) => id.startsWith('ConsumerDefaultPolicy'))![1] as any;
    return { stack, store, statements: policy.Properties.PolicyDocument.Statement as any[] };
  }
  const groupArn = { 'Fn::Join': ['', expect.arrayContaining([expect.stringMatching(/:feature-group\/platform-features-[0-9a-f]{8}$/)])] };

  test('grantRead: records, key, offline objects and Glue table', () => {
    const { statements } = granted((s, r) => s.grantRead(r));
    expect(statements).toEqual(expect.arrayContaining([
      { Effect: 'Allow', Action: ['sagemaker:GetRecord', 'sagemaker:BatchGetRecord', 'sagemaker:DescribeFeatureGroup'], Resource: groupArn },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^LakeKey/), 'Arn'] } },
      expect.objectContaining({ Action: expect.arrayContaining(['s3:GetObject']), Resource: { 'Fn::Join': ['', [expect.anything(), expect.stringMatching(/^\/feature-groups\/platform-features-[0-9a-f]{8}\/\*$/)]] } }),
      expect.objectContaining({ Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartition', 'glue:GetPartitions'] }),
    ]));
  });

  test('grantWrite: put and delete records; grantIngest: put only', () => {
    const write = granted((s, r) => s.grantWrite(r)).statements;
    expect(write[0]).toEqual({ Effect: 'Allow', Action: ['sagemaker:PutRecord', 'sagemaker:DeleteRecord', 'sagemaker:DescribeFeatureGroup'], Resource: groupArn });
    const ingest = granted((s, r) => s.grantIngest(r)).statements;
    expect(ingest[0]).toEqual({ Effect: 'Allow', Action: ['sagemaker:PutRecord', 'sagemaker:DescribeFeatureGroup'], Resource: groupArn });
    expect(ingest.flatMap(s => [s.Action].flat())).not.toContain('sagemaker:DeleteRecord');
  });

  test('metrics carry the namespace, the group and the documented statistic', () => {
    const { stack, store } = build();
    const m = store.metricConsumedReadRequestsUnits();
    expect(m.namespace).toBe('AWS/SageMaker/FeatureStore');
    expect(m.metricName).toBe('ConsumedReadRequestsUnits');
    expect(m.statistic).toBe('Sum');
    expect(stack.resolve(m.dimensions)).toEqual({ FeatureGroupName: store.featureGroupName });
    expect(store.metricLatency().statistic).toBe('p99');
    expect(store.metricThrottledRequests().metricName).toBe('ThrottledRequests');
    expect(store.metricOperation5XXErrors().metricName).toBe('Operation5XXErrors');
    expect(store.metricConsumedWriteRequestsUnits().metricName).toBe('ConsumedWriteRequestsUnits');
    expect(store.metric('Invocations', { dimensionsMap: { OperationName: 'GetRecord' } }).dimensions)
      .toEqual({ FeatureGroupName: store.featureGroupName, OperationName: 'GetRecord' });
  });

  test('fromFeatureStoreAttributes: name from the ARN; grants include what was given', () => {
    const app = new App();
    const stack = new Stack(app, 'Consumer');
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const store = FeatureStore.fromFeatureStoreAttributes(stack, 'Features', {
      featureGroupArn: 'arn:aws:sagemaker:us-east-1:111111111111:feature-group/transactions', encryptionKey: key,
    });
    expect(store.featureGroupName).toBe('transactions');
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    store.grantRead(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: ['sagemaker:GetRecord', 'sagemaker:BatchGetRecord', 'sagemaker:DescribeFeatureGroup'], Resource: 'arn:aws:sagemaker:us-east-1:111111111111:feature-group/transactions' },
          { Effect: 'Allow', Action: 'kms:Decrypt', Resource: key.keyArn },
        ],
      },
    });
  });
});

describe('FeatureStore schema evolution', () => {
  test('synth writes the lock file; constructing alone does not', () => {
    const app = new App({ context: context() });
    const stack = new Stack(app, 'Platform');
    new FeatureStore(stack, 'Features', { dataLake: new DataLake(stack, 'Lake'), ...DEFAULTS });
    expect(fs.existsSync(lockFile)).toBe(false);
    app.synth();
    const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
    expect(lock.featureGroups['Platform/Features']).toMatchObject({
      generation: 1,
      recordIdentifier: 'transaction_id',
      eventTime: 'event_time',
      baseFeatures: [{ name: 'transaction_id', type: 'String' }, { name: 'event_time', type: 'String' }, { name: 'amount', type: 'Fractional' }],
      addedFeatures: [],
    });
  });

  test('adding a feature keeps the group (logical id and properties) and emits only the new feature', () => {
    const first = featureGroup(build().template);
    const second = build({ features: [...BASE(), Feature.integral('merchant_id')] });
    const after = featureGroup(second.template);
    expect(after.logicalId).toBe(first.logicalId);
    expect(after.resource).toEqual(first.resource);
    second.template.resourceCountIs('Custom::FeatureAdditions', 1);
    second.template.hasResourceProperties('Custom::FeatureAdditions', {
      FeatureGroupName: second.store.featureGroupName,
      FeatureAdditions: JSON.stringify([{ name: 'merchant_id', type: 'Integral' }]),
    });
    expect(second.store.addedFeatureNames).toEqual(['merchant_id']);
    expect(second.store.features.map(f => f.name)).toEqual(['transaction_id', 'event_time', 'amount', 'merchant_id']);
    // The custom resource runs after the group exists.
    const [cr] = Object.values(second.template.findResources('Custom::FeatureAdditions')) as any[];
    expect(cr.DependsOn).toContain(first.logicalId);

    // A later addition appends; the group still does not change.
    const third = build({ features: [...BASE(), Feature.integral('merchant_id'), Feature.string('country')] });
    expect(featureGroup(third.template).resource).toEqual(first.resource);
    third.template.hasResourceProperties('Custom::FeatureAdditions', {
      FeatureAdditions: JSON.stringify([{ name: 'merchant_id', type: 'Integral' }, { name: 'country', type: 'String' }]),
    });
  });

  test('the additions handler may change only this group', () => {
    build();
    const { template, store } = build({ features: [...BASE(), Feature.integral('merchant_id')] });
    const statements = statementsOf(template);
    expect(statements).toEqual(expect.arrayContaining([{
      Effect: 'Allow',
      Action: ['sagemaker:DescribeFeatureGroup', 'sagemaker:UpdateFeatureGroup'],
      Resource: { 'Fn::Join': ['', expect.arrayContaining([`:feature-group/${store.featureGroupName}`])] },
    }]));
  });

  test.each([
    ['removing a feature', [Feature.string('transaction_id'), Feature.string('event_time')], /removed amount \(Fractional\)/],
    ['retyping a feature', [Feature.string('transaction_id'), Feature.string('event_time'), Feature.integral('amount')], /retyped amount \(Fractional\) → amount \(Integral\)/],
    ['renaming a feature', [Feature.string('transaction_id'), Feature.string('event_time'), Feature.fractional('amount_usd')], /removed amount \(Fractional\)/],
  ])('%s fails at synth with the options', (_name, features, detail) => {
    build();
    const when = () => build({ features });
    expect(when).toThrow(/\[FeatureStore\.IncompatibleSchemaChange\]/);
    expect(when).toThrow(detail);
    expect(when).toThrow(/new feature group version.*allowReplacement: true.*\(at Platform\/Features\)$/s);
  });

  test('changing the record identifier, event time or a create-only setting fails', () => {
    build({ features: [...BASE(), Feature.string('card_id'), Feature.fractional('ts')] });
    expect(() => build({ features: [...BASE(), Feature.string('card_id'), Feature.fractional('ts')], recordIdentifier: 'card_id' }))
      .toThrow(/IncompatibleSchemaChange.*recordIdentifier 'transaction_id' → 'card_id'/s);
    expect(() => build({ features: [...BASE(), Feature.string('card_id'), Feature.fractional('ts')], eventTime: 'ts' }))
      .toThrow(/eventTime 'event_time' → 'ts'/);
    expect(() => build({ features: [...BASE(), Feature.string('card_id'), Feature.fractional('ts')], description: 'card fraud' }))
      .toThrow(/create-only setting description="" → description="card fraud"/);
    expect(() => build({ features: [...BASE(), Feature.string('card_id'), Feature.fractional('ts')], offlineStoreTableFormat: OfflineStoreTableFormat.GLUE }))
      .toThrow(/create-only setting offlineStore=.*"format":"Iceberg".* → offlineStore=.*"format":"Glue"/);
  });

  test('allowReplacement: a new generation with a versioned name; the old group is left alone', () => {
    const first = build();
    const second = build({ features: [Feature.string('transaction_id'), Feature.string('event_time')], allowReplacement: true });
    expect(second.store.featureGroupName).toBe(`${first.store.featureGroupName}-v2`);
    expect(featureGroup(second.template).resource.Properties.FeatureDefinitions).toHaveLength(2);
    second.template.resourceCountIs('Custom::FeatureAdditions', 0);
    const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
    expect(lock.featureGroups['Platform/Features']).toMatchObject({ generation: 2, featureGroupName: second.store.featureGroupName });
  });

  test('allowReplacement with an unchanged explicit name fails: CloudFormation cannot replace a named group', () => {
    build({ featureGroupName: 'transactions' });
    expect(() => build({ featureGroupName: 'transactions', features: BASE().slice(0, 2), allowReplacement: true }))
      .toThrow(/\[FeatureStore\.ReplacementNeedsNewName\].*got 'transactions'.*'transactions-v2'/);
  });

  test('an explicit new name starts a new group and warns', () => {
    build({ featureGroupName: 'transactions' });
    const { stack, store } = build({ featureGroupName: 'transactions-2024', features: BASE().slice(0, 2) });
    expect(store.featureGroupName).toBe('transactions-2024');
    Annotations.fromStack(stack).hasWarning('/Platform/Features', Match.stringLikeRegexp("'transactions' is retained with its data"));
  });

  test('frozen (CI): a missing or outdated entry fails instead of rewriting the lock file', () => {
    const frozen = { [MlPlatformContext.FROZEN_FEATURE_SCHEMAS]: 'true' };
    expect(() => build({}, frozen)).toThrow(/\[FeatureStore\.SchemaLockOutdated\].*entry 'Platform\/Features' is missing.*commit the updated lock file/);
    build();
    expect(() => build({}, frozen)).not.toThrow();
    expect(() => build({ features: [...BASE(), Feature.integral('x')] }, frozen)).toThrow(/SchemaLockOutdated.*differs/);
  });

  test('without the context key: cdk synth in CI is frozen, cdk synth elsewhere writes, in-process synths only read', () => {
    const saved = { CI: process.env.CI, CDK_OUTDIR: process.env.CDK_OUTDIR, CODEBUILD_BUILD_ID: process.env.CODEBUILD_BUILD_ID };
    const synth = () => {
      const app = new App({ context: { [MlPlatformContext.FEATURE_SCHEMA_LOCK_FILE]: lockFile } });
      const stack = new Stack(app, 'Platform');
      new FeatureStore(stack, 'Features', { dataLake: new DataLake(stack, 'Lake'), ...DEFAULTS });
      app.synth();
    };
    try {
      delete process.env.CI; delete process.env.CDK_OUTDIR; delete process.env.CODEBUILD_BUILD_ID;
      synth(); // a unit test: read only
      expect(fs.existsSync(lockFile)).toBe(false);
      process.env.CDK_OUTDIR = fs.mkdtempSync(path.join(os.tmpdir(), 'cdkout-'));
      process.env.CODEBUILD_BUILD_ID = 'build:1'; // CodeBuild does not set CI
      expect(synth).toThrow(/SchemaLockOutdated/);
      delete process.env.CODEBUILD_BUILD_ID;
      synth(); // the CLI on a laptop: writes
      expect(JSON.parse(fs.readFileSync(lockFile, 'utf8')).featureGroups['Platform/Features']).toBeDefined();
    } finally {
      for (const [k, v] of Object.entries(saved)) { if (v === undefined) { delete process.env[k]; } else { process.env[k] = v; } }
    }
  });

  test('changing the tags of a group fails at synth (they are create-only); excluded tags are fine', () => {
    build();
    const withTags = (add: (stack: Stack) => void) => () => {
      const app = new App({ context: context() });
      const stack = new Stack(app, 'Platform');
      new FeatureStore(stack, 'Features', { dataLake: new DataLake(stack, 'Lake'), ...DEFAULTS });
      add(stack);
      app.synth();
    };
    expect(withTags(stack => Tags.of(stack).add('team', 'fraud'))).toThrow(/\[FeatureStore\.CreateOnlyTagsChanged\].*"team"/);
    expect(withTags(stack => Tags.of(stack).add('team', 'fraud', { excludeResourceTypes: ['AWS::SageMaker::FeatureGroup'] }))).not.toThrow();
  });

  test('a different data lake, key or role is a create-only change; the lake key given explicitly is not', () => {
    build();
    const app = new App({ context: context() });
    const stack = new Stack(app, 'Platform');
    const lake = new DataLake(stack, 'Lake');
    new FeatureStore(stack, 'Features', { dataLake: lake, ...DEFAULTS, encryptionKey: lake.encryptionKey });
    expect(() => app.synth()).not.toThrow();
    const other = () => {
      const app2 = new App({ context: context() });
      const stack2 = new Stack(app2, 'Platform');
      new FeatureStore(stack2, 'Features', { dataLake: new DataLake(stack2, 'OtherLake'), ...DEFAULTS });
    };
    expect(other).toThrow(/IncompatibleSchemaChange.*create-only setting offlineStore=/s);
  });

  test('two groups with one name (or one Glue table) fail at synth', () => {
    build({ featureGroupName: 'transactions' });
    const app = new App({ context: context() });
    const stack = new Stack(app, 'Platform');
    const lake = new DataLake(stack, 'Lake');
    expect(() => new FeatureStore(stack, 'Moved', { dataLake: lake, ...DEFAULTS, featureGroupName: 'transactions' }))
      .toThrow(/\[FeatureStore\.DuplicateGroupName\] feature group name 'transactions' .*already used by 'Platform\/Features'/);
    expect(() => new FeatureStore(stack, 'Other', { dataLake: lake, ...DEFAULTS, featureGroupName: 'Transactions' }))
      .toThrow(/DuplicateGroupName/);
  });

  test('an explicit rename keeps the generation, so generated names never reuse a retained group', () => {
    build();
    build({ features: BASE().slice(0, 2), allowReplacement: true }); // generation 2
    build({ featureGroupName: 'renamed', features: BASE().slice(0, 2) });
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8')).featureGroups['Platform/Features'].generation).toBe(2);
  });

  test('a corrupt lock file fails with the path', () => {
    fs.writeFileSync(lockFile, '{ not json');
    expect(() => build()).toThrow(/\[FeatureStore\.InvalidSchemaLock\] .*feature-schemas\.lock\.json is not valid JSON/);
    fs.writeFileSync(lockFile, JSON.stringify({ version: 7, featureGroups: {} }));
    expect(() => build()).toThrow(/is not a version 1 feature schema lock/);
  });
});

describe('FeatureStore validation', () => {
  const fail = (props: Partial<Props>, code: string, message?: RegExp) => {
    const when = () => build(props);
    expect(when).toThrow(new RegExp(`\\[FeatureStore\\.${code}\\]`));
    expect(when).toThrow(/\(at Platform\/Features\)/);
    if (message) { expect(when).toThrow(message); }
  };
  const inMemory = { onlineStoreStorageType: OnlineStoreStorageType.IN_MEMORY };

  test('NoStore', () => fail({ onlineStoreEnabled: false, offlineStoreEnabled: false }, 'NoStore'));
  test.each(['-bad', 'bad-', 'with space', 'a'.repeat(65), `a${'-'.repeat(70)}b`])('InvalidName %s', n => fail({ featureGroupName: n }, 'InvalidName'));
  test('UnresolvedName', () => {
    const app = new App({ context: context() });
    const stack = new Stack(app, 'Platform');
    const name = new CfnParameter(stack, 'Name').valueAsString;
    expect(() => new FeatureStore(stack, 'Features', { dataLake: new DataLake(stack, 'Lake'), ...DEFAULTS, featureGroupName: name }))
      .toThrow(/\[FeatureStore\.UnresolvedName\]/);
  });
  test('InvalidDescription', () => fail({ description: 'x'.repeat(129) }, 'InvalidDescription', /got '129 characters'/));
  test('FeatureCount: none', () => fail({ features: [] }, 'FeatureCount'));
  test('FeatureCount: over 2,500', () => fail({
    features: [...BASE(), ...Array.from({ length: 2498 }, (_, i) => Feature.integral(`f${i}`))],
  }, 'FeatureCount', /got 2501/));
  test('InvalidFeatureName', () => fail({ features: [...BASE(), Feature.string('bad name')] }, 'InvalidFeatureName', /got 'bad name'/));
  test.each(['is_deleted', 'write_time', 'API_INVOCATION_TIME'])('ReservedFeatureName %s', n => fail({ features: [...BASE(), Feature.string(n)] }, 'ReservedFeatureName'));
  test('DuplicateFeature (exact and by case)', () => {
    fail({ features: [...BASE(), Feature.string('amount')] }, 'DuplicateFeature', /got 'amount'/);
    fail({ features: [...BASE(), Feature.string('Amount')] }, 'DuplicateFeature', /got 'amount and Amount'/);
  });
  test('CollectionNeedsInMemory', () => fail({ features: [...BASE(), Feature.set('tags', FeatureType.STRING)] }, 'CollectionNeedsInMemory', /tags \(Set of String\)/));
  test.each([0, 8193, 1.5])('InvalidVectorDimension %p', d => fail({ ...inMemory, features: [...BASE(), Feature.vector('v', d)] }, 'InvalidVectorDimension'));
  test('TooManyVectors', () => fail({ ...inMemory, features: [...BASE(), Feature.vector('a', 8), Feature.vector('b', 8)] }, 'TooManyVectors', /got 'a, b'/));
  test('MissingRecordIdentifier', () => fail({ recordIdentifier: 'id' }, 'MissingRecordIdentifier', /add Feature.string\('id'\)/));
  test('InvalidRecordIdentifier', () => fail({ ...inMemory, recordIdentifier: 'ids', features: [...BASE(), Feature.list('ids', FeatureType.STRING)] }, 'InvalidRecordIdentifier'));
  test('MissingEventTime', () => fail({ eventTime: 'ts' }, 'MissingEventTime'));
  test('InvalidEventTimeType', () => fail({ features: [Feature.string('transaction_id'), Feature.integral('event_time')] }, 'InvalidEventTimeType', /event_time \(Integral\)/));
  test('TtlWithoutOnlineStore', () => fail({ onlineStoreEnabled: false, onlineStoreTtl: Duration.days(1) }, 'TtlWithoutOnlineStore'));
  test('InvalidTtl', () => fail({ onlineStoreTtl: Duration.millis(1500) }, 'InvalidTtl'));
  test('StorageTypeWithoutOnlineStore', () => fail({ onlineStoreEnabled: false, onlineStoreStorageType: OnlineStoreStorageType.STANDARD }, 'StorageTypeWithoutOnlineStore'));
  test('InMemoryWithOffline', () => fail({ ...inMemory, offlineStoreEnabled: true }, 'InMemoryWithOffline'));
  test('TableFormatWithoutOfflineStore', () => fail({ offlineStoreEnabled: false, offlineStoreTableFormat: OfflineStoreTableFormat.GLUE }, 'TableFormatWithoutOfflineStore'));
  test('RoleWithoutOfflineStore', () => {
    const app = new App({ context: context() });
    const stack = new Stack(app, 'Platform');
    const role = iam.Role.fromRoleArn(stack, 'R', 'arn:aws:iam::111111111111:role/x');
    expect(() => new FeatureStore(stack, 'Features', { dataLake: new DataLake(stack, 'Lake'), ...DEFAULTS, offlineStoreEnabled: false, role }))
      .toThrow(/\[FeatureStore\.RoleWithoutOfflineStore\]/);
  });
  test('ProvisionedWithInMemory', () => fail({ ...inMemory, throughput: FeatureStoreThroughput.provisioned(1, 1) }, 'ProvisionedWithInMemory'));
  test.each([[-1, 1], [1, 40_001], [1.5, 1]])('InvalidCapacity %p/%p', (r, w) => fail({ throughput: FeatureStoreThroughput.provisioned(r, w) }, 'InvalidCapacity'));
  test('DestroyRequiresOptIn', () => fail({ removalPolicy: RemovalPolicy.DESTROY }, 'DestroyRequiresOptIn'));

  test('reports every problem at once', () => {
    let error: any;
    try { build({ featureGroupName: '-x', recordIdentifier: 'nope', onlineStoreTtl: Duration.millis(5) }); } catch (e) { error = e; }
    expect(error.codes).toEqual(['FeatureStore.InvalidName', 'FeatureStore.MissingRecordIdentifier', 'FeatureStore.InvalidTtl']);
  });
});
