import { App, CfnParameter, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DataLake, DataLakeProps, DataZone, MlPlatformContext } from '../../src';
import { nagFindingsFor } from '../support/nag';

const ZONE_BUCKETS = ['RawZone', 'CuratedZone', 'FeaturesZone', 'ModelsZone', 'MonitoringZone'];

function lakeStack(props?: DataLakeProps, context?: Record<string, unknown>): { stack: Stack; lake: DataLake; template: Template } {
  const app = new App({ context });
  const stack = new Stack(app, 'Platform');
  const lake = new DataLake(stack, 'Lake', props);
  return { stack, lake, template: Template.fromStack(stack) };
}

/** The CloudFormation resource of a zone bucket, looked up by construct id. */
function bucketResource(template: Template, stack: Stack, id: string): any {
  const bucket = stack.node.findChild('Lake').node.findChild(id) as s3.Bucket;
  const logicalId = stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
  return template.toJSON().Resources[logicalId];
}

describe('DataLake defaults', () => {
  test('defines one KMS-encrypted, versioned, private bucket per zone plus an access-log bucket', () => {
    // GIVEN / WHEN
    const { template } = lakeStack();

    // THEN
    template.resourceCountIs('AWS::S3::Bucket', 6);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.resourcePropertiesCountIs('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: 'aws:kms',
            KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LakeKey'), 'Arn'] },
          },
        }],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    }, 5);
  });

  test('every zone bucket logs to the access-log bucket under its zone prefix, date-partitioned', () => {
    const { template, stack } = lakeStack();
    ZONE_BUCKETS.forEach((id, i) => {
      const zone = ['raw', 'curated', 'features', 'models', 'monitoring'][i];
      expect(bucketResource(template, stack, id).Properties.LoggingConfiguration).toEqual({
        DestinationBucketName: { Ref: expect.stringMatching(/^LakeAccessLogs/) },
        LogFilePrefix: `${zone}/`,
        TargetObjectKeyFormat: { PartitionedPrefix: { PartitionDateSource: 'EventTime' } },
      });
    });
  });

  test('the access-log bucket uses SSE-S3 and admits only S3 log delivery from the zone buckets', () => {
    const { template, stack } = lakeStack();
    const logs = bucketResource(template, stack, 'AccessLogs');
    expect(logs.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault)
      .toEqual({ SSEAlgorithm: 'AES256' });
    expect(logs.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(logs.Properties.AccessControl).toBeUndefined();
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: Match.stringLikeRegexp('^LakeAccessLogs') },
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Allow',
          Principal: { Service: 'logging.s3.amazonaws.com' },
          Action: 's3:PutObject',
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^LakeAccessLogs'), 'Arn'] }, '/raw/*']] },
          Condition: {
            ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp('^LakeRawZone'), 'Arn'] } },
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          },
        })]),
      },
    });
  });

  test('bucket policies deny plain HTTP and TLS below 1.2 on every bucket', () => {
    const { template } = lakeStack();
    template.resourcePropertiesCountIs('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    }, 6);
  });

  test('lifecycle: noncurrent versions kept a year, multipart uploads aborted after 7 days', () => {
    const { template, stack } = lakeStack();
    for (const id of ZONE_BUCKETS) {
      expect(bucketResource(template, stack, id).Properties.LifecycleConfiguration.Rules).toEqual([{
        Id: 'noncurrent-versions',
        Status: 'Enabled',
        NoncurrentVersionExpiration: { NoncurrentDays: 365 },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
        ExpiredObjectDeleteMarker: true,
      }]);
    }
  });

  test('buckets, key and Glue database are retained on delete and replace', () => {
    const { template } = lakeStack();
    for (const type of ['AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::Glue::Database']) {
      const resources = template.findResources(type);
      expect(Object.keys(resources).length).toBeGreaterThan(0);
      for (const r of Object.values(resources)) {
        expect(r).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      }
    }
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  test('defines a Glue database in the account catalog with a lowercase generated name', () => {
    const { template, lake } = lakeStack();
    expect(lake.glueDatabaseName).toMatch(/^[a-z0-9_]+$/);
    expect(lake.glueDatabaseName).toMatch(/^platform_lake_[a-z0-9]{8}$/);
    template.hasResourceProperties('AWS::Glue::Database', {
      CatalogId: { Ref: 'AWS::AccountId' },
      DatabaseInput: {
        Name: lake.glueDatabaseName,
        LocationUri: { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('^LakeCuratedZone') }, '/']] },
      },
    });
  });

  test('tags every resource with the component cost-allocation tag', () => {
    const { template } = lakeStack();
    template.allResourcesProperties('AWS::S3::Bucket', {
      Tags: Match.arrayWith([{ Key: 'ml-platform:component', Value: 'data-lake' }]),
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      Tags: Match.arrayWith([{ Key: 'ml-platform:component', Value: 'data-lake' }]),
    });
  });

  test('tags the code version from context cdk-ml-platform:codeVersion', () => {
    const { template } = lakeStack({}, { [MlPlatformContext.CODE_VERSION]: 'a1b2c3d' });
    template.allResourcesProperties('AWS::S3::Bucket', {
      Tags: Match.arrayWith([{ Key: 'ml-platform:code-version', Value: 'a1b2c3d' }]),
    });
  });

  test('default template is stable (safety net)', () => {
    const { template } = lakeStack();
    expect(template.toJSON()).toMatchSnapshot();
  });
});

describe('DataLake options', () => {
  test('uses an imported key instead of defining one', () => {
    const app = new App();
    const stack = new Stack(app, 'Platform');
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const lake = new DataLake(stack, 'Lake', { encryptionKey: key });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 0);
    expect(lake.encryptionKey).toBe(key);
    template.resourcePropertiesCountIs('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [Match.objectLike({
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: key.keyArn },
        })],
      },
    }, 5);
  });

  test('ages the monitoring zone only: transition and expiration', () => {
    const { template, stack } = lakeStack({
      monitoringTransition: { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
      monitoringExpiration: Duration.days(400),
      noncurrentVersionExpiration: Duration.days(90),
    });
    expect(bucketResource(template, stack, 'MonitoringZone').Properties.LifecycleConfiguration.Rules).toEqual([
      {
        Id: 'noncurrent-versions',
        Status: 'Enabled',
        NoncurrentVersionExpiration: { NoncurrentDays: 90 },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
        ExpiredObjectDeleteMarker: true,
      },
      { Id: 'monitoring-aging', Status: 'Enabled', ExpirationInDays: 400, Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }] },
    ]);
    expect(bucketResource(template, stack, 'RawZone').Properties.LifecycleConfiguration.Rules).toHaveLength(1);
  });

  test('Glacier Instant Retrieval transitions may start before 30 days', () => {
    const { template, stack } = lakeStack({
      monitoringTransition: { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(7) },
    });
    expect(bucketResource(template, stack, 'MonitoringZone').Properties.LifecycleConfiguration.Rules[1])
      .toEqual({ Id: 'monitoring-aging', Status: 'Enabled', Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 7 }] });
  });

  test('Object Lock applies to the curated zone only', () => {
    const { template, stack } = lakeStack({ curatedObjectLock: s3.ObjectLockRetention.governance(Duration.days(365)) });
    expect(bucketResource(template, stack, 'CuratedZone').Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } } },
    });
    for (const id of ZONE_BUCKETS.filter(z => z !== 'CuratedZone')) {
      expect(bucketResource(template, stack, id).Properties.ObjectLockEnabled).toBeUndefined();
    }
  });

  test('access logs expire when asked', () => {
    const { template, stack } = lakeStack({ accessLogsExpiration: Duration.days(90) });
    expect(bucketResource(template, stack, 'AccessLogs').Properties.LifecycleConfiguration.Rules[0])
      .toMatchObject({ Id: 'access-logs', ExpirationInDays: 90 });
  });

  test('a given database name is used as is', () => {
    const { template, lake } = lakeStack({ databaseName: 'fraud_lake' });
    expect(lake.glueDatabaseName).toBe('fraud_lake');
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: Match.objectLike({ Name: 'fraud_lake' }) });
  });

  test('DESTROY with the opt-in context deletes data with the stack', () => {
    const { template } = lakeStack({ removalPolicy: RemovalPolicy.DESTROY }, { [MlPlatformContext.REMOVE_DATA_ON_DESTROY]: 'true' });
    for (const r of Object.values(template.findResources('AWS::S3::Bucket'))) {
      expect(r).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    }
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 6);
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete' });
    template.hasResource('AWS::Glue::Database', { DeletionPolicy: 'Delete' });
  });

  test('RETAIN_ON_UPDATE_OR_DELETE is honoured', () => {
    const { template } = lakeStack({ removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'RetainExceptOnCreate' });
  });
});

describe('DataLake validation', () => {
  const build = (props: DataLakeProps, context?: Record<string, unknown>) => () => lakeStack(props, context);

  test('DESTROY without the opt-in context fails and names the key', () => {
    expect(build({ removalPolicy: RemovalPolicy.DESTROY })).toThrow(
      /\[DataLake\.DestroyRequiresOptIn\] .*got 'RemovalPolicy\.DESTROY with context 'cdk-ml-platform:removeDataOnDestroy' = unset'.*cdk-ml-platform:removeDataOnDestroy=true.* \(at Platform\/Lake\)$/);
  });

  test('DESTROY with the context set to anything but true fails', () => {
    expect(build({ removalPolicy: RemovalPolicy.DESTROY }, { [MlPlatformContext.REMOVE_DATA_ON_DESTROY]: 'yes' }))
      .toThrow(/\[DataLake\.DestroyRequiresOptIn\].*= "yes"/);
  });

  test('SNAPSHOT is rejected', () => {
    expect(build({ removalPolicy: RemovalPolicy.SNAPSHOT })).toThrow(/\[DataLake\.SnapshotNotSupported\].*\(at Platform\/Lake\)/);
  });

  test('DESTROY with curated Object Lock is rejected even with the opt-in', () => {
    expect(build({ removalPolicy: RemovalPolicy.DESTROY, curatedObjectLock: s3.ObjectLockRetention.compliance(Duration.days(1)) },
      { [MlPlatformContext.REMOVE_DATA_ON_DESTROY]: true })).toThrow(/\[DataLake\.DestroyWithObjectLock\]/);
  });

  test.each([
    ['noncurrentVersionExpiration', { noncurrentVersionExpiration: Duration.hours(36) }, /noncurrentVersionExpiration must be a whole number of days, at least 1, got 1 day 12 hours/],
    ['noncurrentVersionExpiration zero', { noncurrentVersionExpiration: Duration.days(0) }, /noncurrentVersionExpiration must be a whole number of days, at least 1, got 0 days/],
    ['accessLogsExpiration', { accessLogsExpiration: Duration.minutes(5) }, /accessLogsExpiration must be/],
    ['monitoringExpiration', { monitoringExpiration: Duration.hours(12) }, /monitoringExpiration must be/],
    ['IA transition before 30 days', {
      monitoringTransition: { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(10) },
    }, /monitoringTransition\.transitionAfter \(STANDARD_IA\) must be a whole number of days, at least 30, got 10 days/],
    ['One Zone-IA transition before 30 days', {
      monitoringTransition: { storageClass: s3.StorageClass.ONE_ZONE_INFREQUENT_ACCESS, transitionAfter: Duration.days(29) },
    }, /ONEZONE_IA\) must be a whole number of days, at least 30/],
    ['expiration before transition', {
      monitoringTransition: { storageClass: s3.StorageClass.GLACIER, transitionAfter: Duration.days(90) },
      monitoringExpiration: Duration.days(90),
    }, /monitoringExpiration must come after monitoringTransition\.transitionAfter.*got 'expire at 90 days, transition at 90 days'/],
  ])('lifecycle: %s', (_name, props, message) => {
    expect(build(props as DataLakeProps)).toThrow(/\[DataLake\.InvalidLifecycle\]/);
    expect(build(props as DataLakeProps)).toThrow(message);
  });

  test.each([
    ['uppercase', 'FraudLake'],
    ['dash', 'fraud-lake'],
    ['too long', 'a'.repeat(256)],
    ['empty', ''],
  ])('database name: %s', (_name, databaseName) => {
    expect(build({ databaseName })).toThrow(/\[DataLake\.InvalidDatabaseName\] databaseName must be 1-255 lowercase letters/);
  });

  test('suggests a valid database name', () => {
    expect(build({ databaseName: 'Fraud-Lake' })).toThrow(/use a name such as 'fraud_lake'/);
  });

  test('collects every problem and throws once', () => {
    let error: any;
    try {
      lakeStack({ databaseName: 'Bad-Name', noncurrentVersionExpiration: Duration.hours(1), accessLogsExpiration: Duration.hours(2) });
    } catch (e) { error = e; }
    expect(error.message).toMatch(/^3 problems with DataLake input:/);
    expect(error.codes).toEqual(['DataLake.InvalidLifecycle', 'DataLake.InvalidLifecycle', 'DataLake.InvalidDatabaseName']);
    expect(error.message.split('\n').slice(1).every((l: string) => l.endsWith('(at Platform/Lake)'))).toBe(true);
  });

  test('skips values that are unresolved tokens', () => {
    const app = new App();
    const stack = new Stack(app, 'Platform');
    const name = new CfnParameter(stack, 'DbName').valueAsString;
    const days = new CfnParameter(stack, 'Days', { type: 'Number' }).valueAsNumber;
    expect(() => new DataLake(stack, 'Lake', { databaseName: name, noncurrentVersionExpiration: Duration.days(days) })).not.toThrow();
  });

  test('rejects key prefixes with wildcards or a leading slash', () => {
    const { lake } = lakeStack();
    const role = new iam.Role(lake, 'R', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
    expect(() => lake.grantRead(DataZone.RAW, role, 'data/*')).toThrow(/\[DataLake\.InvalidKeyPrefix\].*got 'data\/\*'.*\(at Platform\/Lake\)/);
    expect(() => lake.uri(DataZone.RAW, '/abs')).toThrow(/\[DataLake\.InvalidKeyPrefix\]/);
    expect(() => lake.grantWrite(DataZone.RAW, role, 'a?')).toThrow(/\[DataLake\.InvalidKeyPrefix\]/);
  });
});

describe('DataLake grants', () => {
  function grantStack(grant: (lake: DataLake, role: iam.Role) => void) {
    const app = new App();
    const stack = new Stack(app, 'Platform');
    const lake = new DataLake(stack, 'Lake');
    const role = new iam.Role(stack, 'Trainer', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
    grant(lake, role);
    const template = Template.fromStack(stack);
    const policies = template.findResources('AWS::IAM::Policy');
    const statements = Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    return { template, statements };
  }
  const zoneArn = (id: string) => ({ 'Fn::GetAtt': [expect.stringMatching(new RegExp(`^Lake${id}`)), 'Arn'] });
  const viaS3 = { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } };
  const keyArn = { 'Fn::GetAtt': [expect.stringMatching(/^LakeKey/), 'Arn'] };

  test('grantRead: object reads, listing and KMS decrypt through S3 only, on that zone only', () => {
    const { statements } = grantStack((lake, role) => lake.grantRead(DataZone.CURATED, role));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging'],
        Resource: { 'Fn::Join': ['', [zoneArn('CuratedZone'), '/*']] },
      },
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:ListBucketVersions'], Resource: zoneArn('CuratedZone') },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: keyArn, Condition: viaS3 },
    ]);
  });

  test('grantWrite: puts only, no reads, no deletes; KMS data keys', () => {
    const { statements } = grantStack((lake, role) => lake.grantWrite(DataZone.MODELS, role, 'artifacts/'));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:PutObjectTagging', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: { 'Fn::Join': ['', [zoneArn('ModelsZone'), '/artifacts/*']] },
      },
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: keyArn, Condition: viaS3 },
    ]);
  });

  test('grantReadWrite: deletes only add delete markers (no DeleteObjectVersion)', () => {
    const { statements } = grantStack((lake, role) => lake.grantReadWrite(DataZone.RAW, role));
    const actions = statements.flatMap((s: any) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 'kms:GenerateDataKey']));
    expect(actions).not.toContain('s3:DeleteObjectVersion');
    expect(actions.filter((a: string) => a.includes('*'))).toEqual([]);
  });

  test('a key prefix also confines listing', () => {
    const { statements } = grantStack((lake, role) => lake.grantRead(DataZone.MONITORING, role, 'capture/fraud/'));
    expect(statements[1]).toEqual({
      Effect: 'Allow',
      Action: ['s3:ListBucket', 's3:ListBucketVersions'],
      Resource: zoneArn('MonitoringZone'),
      Condition: { StringLike: { 's3:prefix': ['capture/fraud/*'] } },
    });
  });

  test('a principal in another account is admitted by the bucket policy and the key policy', () => {
    const app = new App();
    const stack = new Stack(app, 'Platform', { env: { account: '111111111111', region: 'eu-west-1' } });
    const lake = new DataLake(stack, 'Lake');
    lake.grantRead(DataZone.MODELS, new iam.AccountPrincipal('222222222222'));
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: Match.stringLikeRegexp('^LakeModelsZone') },
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Allow',
          Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:root']] } },
          Action: Match.arrayWith(['s3:GetObject']),
        })]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: 'kms:Decrypt',
          Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
          Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:root']] } },
        })]),
      },
    });
  });
});

describe('DataLake accessors and import', () => {
  test('bucket(zone) and uri(zone, prefix)', () => {
    const { lake, stack } = lakeStack();
    expect(lake.bucket(DataZone.FEATURES)).toBe(stack.node.findChild('Lake').node.findChild('FeaturesZone'));
    expect(stack.resolve(lake.uri(DataZone.MODELS, 'fraud/'))).toEqual({
      'Fn::Join': ['', ['s3://', { Ref: expect.stringMatching(/^LakeModelsZone/) }, '/fraud/']],
    });
    expect(stack.resolve(lake.uri(DataZone.RAW))).toEqual({ 'Fn::Join': ['', ['s3://', { Ref: expect.stringMatching(/^LakeRawZone/) }, '/']] });
  });

  test('fromDataLakeAttributes: accessors and grants use the given buckets and key', () => {
    const app = new App();
    const stack = new Stack(app, 'Consumer');
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const b = (id: string) => s3.Bucket.fromBucketName(stack, id, `lake-${id.toLowerCase()}`);
    const lake = DataLake.fromDataLakeAttributes(stack, 'Lake', {
      rawBucket: b('Raw'),
      curatedBucket: b('Curated'),
      featuresBucket: b('Features'),
      modelsBucket: b('Models'),
      monitoringBucket: b('Monitoring'),
      encryptionKey: key,
      glueDatabaseName: 'fraud_lake',
    });
    expect(lake.glueDatabaseName).toBe('fraud_lake');
    expect(lake.uri(DataZone.CURATED, 'v1/')).toBe('s3://lake-curated/v1/');
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
    lake.grantRead(DataZone.CURATED, role);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::S3::Bucket', 0);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(['s3:GetObject']), Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::lake-curated/*']] } }),
          Match.objectLike({ Action: 'kms:Decrypt', Resource: key.keyArn }),
        ]),
      },
    });
  });
});

describe('DataLake compliance', () => {
  test('passes AwsSolutions and NIST 800-53 R5 with default props', () => {
    expect(nagFindingsFor(stack => new DataLake(stack, 'Lake'))).toEqual([]);
  });

  test('passes AwsSolutions and NIST 800-53 R5 with every option set and grants in use', () => {
    expect(nagFindingsFor(stack => {
      const lake = new DataLake(stack, 'Lake', {
        curatedObjectLock: s3.ObjectLockRetention.governance(Duration.days(30)),
        monitoringTransition: { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
        monitoringExpiration: Duration.days(365),
        accessLogsExpiration: Duration.days(730),
        databaseName: 'fraud_lake',
      });
      lake.grantRead(DataZone.CURATED, new iam.AccountPrincipal('222222222222'));
    })).toEqual([]);
  });

  test('the harness reports what it finds (a bare bucket fails)', () => {
    const findings = nagFindingsFor(stack => new s3.Bucket(stack, 'Bare'));
    expect(findings).toEqual(expect.arrayContaining([
      { pack: 'AwsSolutions', rule: 'AwsSolutions-S1', severity: 'error', constructPath: 'NagTest/Bare/Resource' },
      expect.objectContaining({ pack: 'NIST.800.53.R5', rule: 'NIST.800.53.R5-S3DefaultEncryptionKMS' }),
    ]));
  });
});
