import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AUDIT_EVENT_DETAIL_TYPE, AUDIT_EVENT_SOURCE } from '../../src/automation/loop-state';
import { MlPlatformContext } from '../../src/core/context';
import { DataLake } from '../../src/data/data-lake';
import { AuditObjectLockMode, AuditTrail, AuditTrailProps } from '../../src/governance/audit-trail';
import { cfnLint, findTemplates } from '../support/cfn-lint';
import { nagFindingsFor } from '../support/nag';

const SAGEMAKER_TYPES = [
  'SageMaker Model Package State Change',
  'SageMaker Model Building Pipeline Execution Status Change',
  'SageMaker Model Building Pipeline Execution Step Status Change',
  'SageMaker Endpoint State Change',
  'SageMaker Endpoint Deployment State Change',
];

function build(props: (stack: Stack) => AuditTrailProps = () => ({})) {
  const stack = new Stack();
  const audit = new AuditTrail(stack, 'Audit', props(stack));
  // Synthesized on first use, so tests can still add constructs before reading the template.
  return { stack, audit, get template() { return Template.fromStack(stack); } };
}

/** The single resource of `type` in the template, by logical id and properties. */
function only(template: Template, type: string): [string, any] {
  const all = Object.entries(template.findResources(type));
  expect(all).toHaveLength(1);
  return [all[0][0], all[0][1].Properties];
}

describe('AuditTrail: audit bucket', () => {
  test('Object Lock GOVERNANCE 365 days, versioning, SSE-KMS with a bucket key, TLS only, no public access', () => {
    const { template } = build();
    const [keyId] = only(template, 'AWS::KMS::Key');
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } } },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] } },
        }],
      },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'audit/' }),
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('COMPLIANCE mode and a custom retention', () => {
    const { template } = build(() => ({ objectLockMode: AuditObjectLockMode.COMPLIANCE, retention: Duration.days(2555) }));
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2555 } } },
    });
  });

  test('every bucket is retained and the lifecycle never expires current versions', () => {
    const { template } = build();
    const buckets = template.findResources('AWS::S3::Bucket');
    expect(Object.keys(buckets)).toHaveLength(2);
    for (const b of Object.values(buckets)) {
      expect(b.DeletionPolicy).toBe('Retain');
      for (const rule of b.Properties.LifecycleConfiguration.Rules) {
        expect(rule.ExpirationInDays).toBeUndefined();
        expect(rule.ExpirationDate).toBeUndefined();
      }
    }
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      LifecycleConfiguration: { Rules: [Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 365 }, Status: 'Enabled' })] },
    });
  });

  test('bucket policy lets only trails of this account and Region deliver, under cloudtrail/AWSLogs/<account>/', () => {
    const { template } = build();
    const [bucketId] = Object.entries(template.findResources('AWS::S3::Bucket', { Properties: { ObjectLockEnabled: true } }))[0];
    const trailArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudtrail:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':trail/*']] };
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AWSCloudTrailAclCheck',
            Action: 's3:GetBucketAcl',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnLike: { 'aws:SourceArn': trailArn } },
          }),
          Match.objectLike({
            Sid: 'AWSCloudTrailWrite',
            Action: 's3:PutObject',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/cloudtrail/AWSLogs/', { Ref: 'AWS::AccountId' }, '/*']] },
            Condition: {
              StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': trailArn },
            },
          }),
        ]),
      },
    });
  });

  test('key policy lets CloudTrail encrypt with its encryption context and CloudWatch Logs use the key', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowCloudTrailEncrypt',
            Action: 'kms:GenerateDataKey*',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Condition: Match.objectLike({
              StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudtrail:*:', { Ref: 'AWS::AccountId' }, ':trail/*']] } },
            }),
          }),
          Match.objectLike({ Sid: 'AllowCloudTrailDescribeAndBucketKey', Action: ['kms:DescribeKey', 'kms:Decrypt'] }),
          Match.objectLike({
            Sid: 'AllowCloudWatchLogs',
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
          }),
          Match.objectLike({ Sid: 'Allow EventBridge to use kms operations', Principal: { Service: 'events.amazonaws.com' } }),
        ]),
      },
    });
  });

  test('an imported key gets a warning listing the key-policy statements it needs', () => {
    const { stack } = build(s => ({ encryptionKey: kms.Key.fromKeyArn(s, 'Key', 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab') }));
    Annotations.fromStack(stack).hasWarning('/Default/Audit', Match.stringLikeRegexp('imported encryptionKey.*cloudtrail.amazonaws.com'));
    Template.fromStack(stack).resourceCountIs('AWS::KMS::Key', 0);
  });
});

describe('AuditTrail: trail', () => {
  test('logs management events, validates log files, encrypts with the key, streams to encrypted CloudWatch Logs', () => {
    const { template } = build();
    const [keyId] = only(template, 'AWS::KMS::Key');
    const [, trail] = only(template, 'AWS::CloudTrail::Trail');
    expect(trail).toMatchObject({
      IsLogging: true,
      EnableLogFileValidation: true,
      IsMultiRegionTrail: true,
      IncludeGlobalServiceEvents: true,
      S3KeyPrefix: 'cloudtrail',
      KMSKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
    expect(trail.EventSelectors).toBeUndefined();
    // CloudTrail checks its bucket policy and logs role when the trail is created: both must exist first.
    const [trailId] = only(template, 'AWS::CloudTrail::Trail');
    const dependsOn: string[] = template.toJSON().Resources[trailId].DependsOn;
    expect(dependsOn).toEqual(expect.arrayContaining([
      expect.stringMatching(/^AuditBucketPolicy/), expect.stringMatching(/^AuditTrailLogsRole[0-9A-F]{8}$/),
      expect.stringMatching(/^AuditTrailLogsRoleDefaultPolicy/),
    ]));
    expect(trail.TrailName).toBeUndefined();
    expect(trail.CloudWatchLogsLogGroupArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^AuditTrailLogs/), 'Arn'] });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    // Default: management events (read and write) plus SageMaker data events, no S3 data events.
    expect(trail.AdvancedEventSelectors).toEqual([
      { Name: 'Management events', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
      {
        Name: 'SageMaker endpoint invocations',
        FieldSelectors: [{ Field: 'eventCategory', Equals: ['Data'] }, { Field: 'resources.type', Equals: ['AWS::SageMaker::Endpoint'] }],
      },
      {
        Name: 'SageMaker feature group records',
        FieldSelectors: [{ Field: 'eventCategory', Equals: ['Data'] }, { Field: 'resources.type', Equals: ['AWS::SageMaker::FeatureGroup'] }],
      },
    ]);
  });

  test('S3 data events (read and write) for every lake zone and additional buckets; no SageMaker when turned off', () => {
    const { template, stack } = build(s => ({
      dataLake: new DataLake(s, 'Lake'),
      additionalDataEventBuckets: [s3.Bucket.fromBucketName(s, 'Extra', 'extra-bucket')],
      sageMakerDataEvents: false,
      isMultiRegionTrail: false,
      cloudWatchLogsRetention: logs.RetentionDays.TWO_YEARS,
    }));
    void stack;
    const [, trail] = only(template, 'AWS::CloudTrail::Trail');
    expect(trail.IsMultiRegionTrail).toBe(false);
    const lakeBuckets = Object.keys(template.findResources('AWS::S3::Bucket'))
      .filter(id => /^Lake(Raw|Curated|Features|Models|Monitoring)Zone/.test(id));
    expect(lakeBuckets).toHaveLength(5);
    expect(trail.AdvancedEventSelectors).toEqual([
      { Name: 'Management events', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
      {
        Name: 'S3 object reads and writes of traced buckets',
        FieldSelectors: [
          { Field: 'eventCategory', Equals: ['Data'] },
          { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
          {
            Field: 'resources.ARN',
            StartsWith: [
              ...['Raw', 'Curated', 'Features', 'Models', 'Monitoring'].map(zone => ({
                'Fn::Join': ['', [{ 'Fn::GetAtt': [lakeBuckets.find(id => id.startsWith(`Lake${zone}Zone`)), 'Arn'] }, '/']],
              })),
              { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::extra-bucket/']] },
            ],
          },
        ],
      },
    ]);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 731 });
  });

  test('addDataEventBucket adds a bucket once and refuses the audit bucket itself', () => {
    const { stack, audit } = build();
    const extra = new s3.Bucket(stack, 'Extra');
    audit.addDataEventBucket(extra);
    audit.addDataEventBucket(extra);
    const [, trail] = only(Template.fromStack(stack), 'AWS::CloudTrail::Trail');
    const s3Selector = trail.AdvancedEventSelectors.find((s: any) => s.Name.startsWith('S3'));
    expect(s3Selector.FieldSelectors[2].StartsWith).toHaveLength(1);
    expect(() => audit.addDataEventBucket(audit.bucket)).toThrow(/\[AuditTrail\.RecursiveDataEvents\]/);
    expect(() => audit.addDataEventBucket(audit.accessLogsBucket)).toThrow(/\[AuditTrail\.RecursiveDataEvents\]/);
  });

  test('fails when the data-event buckets exceed CloudTrail\'s 500 selector values', () => {
    // 1 management + 2 S3 fields + 4 SageMaker = 7 fixed values: 493 buckets fit, 494 do not.
    const stack = new Stack();
    const buckets = (n: number) => Array.from({ length: n }, (_, i) => s3.Bucket.fromBucketName(stack, `B${n}-${i}`, `bucket-${n}-${i}`));
    expect(() => new AuditTrail(stack, 'Fits', { additionalDataEventBuckets: buckets(493) })).not.toThrow();
    expect(() => new AuditTrail(stack, 'TooMany', { additionalDataEventBuckets: buckets(494) }))
      .toThrow(/\[AuditTrail\.TooManyDataEventValues\] CloudTrail allows at most 500 values.*494 data-event buckets need 501.*at most 493 buckets/);
    // Without SageMaker selectors, four more buckets fit.
    expect(() => new AuditTrail(stack, 'NoSageMaker', { additionalDataEventBuckets: buckets(497), sageMakerDataEvents: false })).not.toThrow();
  });
});

describe('AuditTrail: event records', () => {
  test('one rule on the default bus for the SageMaker state changes and the loop decisions, targeting the writer with a DLQ', () => {
    const { template } = build();
    const [ruleId, rule] = only(template, 'AWS::Events::Rule');
    void ruleId;
    expect(rule.EventBusName).toBeUndefined();
    expect(rule.EventPattern).toEqual({
      'source': ['aws.sagemaker', AUDIT_EVENT_SOURCE],
      'detail-type': [...SAGEMAKER_TYPES, AUDIT_EVENT_DETAIL_TYPE],
    });
    const [queueId, queue] = only(template, 'AWS::SQS::Queue');
    expect(queue.SqsManagedSseEnabled).toBe(true);
    const [fnId, fn] = only(template, 'AWS::Lambda::Function');
    expect(rule.Targets).toEqual([expect.objectContaining({
      Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
      RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
    })]);
    expect(fn).toMatchObject({
      ReservedConcurrentExecutions: 5,
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
      Environment: { Variables: expect.objectContaining({ AUDIT_BUCKET: { Ref: expect.stringMatching(/^AuditBucket/) } }) },
    });
    expect(JSON.parse(fn.Environment.Variables.AUDIT_KNOWN_EVENTS)).toEqual([
      ...SAGEMAKER_TYPES.map(detailType => ({ source: 'aws.sagemaker', detailType })),
      { source: AUDIT_EVENT_SOURCE, detailType: AUDIT_EVENT_DETAIL_TYPE },
    ]);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 2 });
  });

  test('the writer may only put objects under events/ and other/, encrypting through S3', () => {
    const { template } = build();
    const [bucketId] = Object.entries(template.findResources('AWS::S3::Bucket', { Properties: { ObjectLockEnabled: true } }))[0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter(p => JSON.stringify(p.Properties.Roles).includes('AuditWriter'));
    expect(policies).toHaveLength(1);
    const statements = policies[0].Properties.PolicyDocument.Statement;
    const s3Statements = statements.filter((s: any) => JSON.stringify(s.Action).includes('s3:'));
    expect(s3Statements).toEqual(['events', 'other'].map(prefix => expect.objectContaining({
      Action: 's3:PutObject',
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${prefix}/*`]] },
    })));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: 'kms:GenerateDataKey',
      Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
    }));
  });

  test('the archive keeps the same events, encrypted, for the archive retention', () => {
    const { template } = build(() => ({ archiveRetention: Duration.days(90) }));
    const [keyId] = only(template, 'AWS::KMS::Key');
    const [, archive] = only(template, 'AWS::Events::Archive');
    expect(archive).toMatchObject({
      RetentionDays: 90,
      KmsKeyIdentifier: { 'Fn::GetAtt': [keyId, 'Arn'] },
      EventPattern: { 'source': ['aws.sagemaker', AUDIT_EVENT_SOURCE], 'detail-type': [...SAGEMAKER_TYPES, AUDIT_EVENT_DETAIL_TYPE] },
    });
    expect(JSON.stringify(archive.SourceArn)).toContain(':event-bus/default');
  });

  test('alarms on the dead-letter queue depth and on writer errors', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda', Statistic: 'Sum', Period: 300 });
  });

  test('grantRead lets an auditor list and read every version and decrypt through S3, but not write', () => {
    const { stack, audit } = build();
    const auditor = new iam.Role(stack, 'Auditor', { assumedBy: new iam.AccountRootPrincipal() });
    audit.grantRead(auditor);
    const doc = JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: stack.getLogicalId(auditor.node.defaultChild as any) }] },
    }));
    for (const action of ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectRetention', 's3:ListBucketVersions', 'kms:Decrypt']) {
      expect(doc).toContain(action);
    }
    expect(doc).not.toMatch(/s3:PutObject|s3:Delete|BypassGovernance/);
    expect(audit.metricWriteErrors().metricName).toBe('Errors');
  });
});

describe('AuditTrail: validation', () => {
  test.each([
    ['zero days', Duration.days(0)],
    ['part days', Duration.hours(36)],
    ['over 100 years', Duration.days(36501)],
  ])('rejects an Object Lock retention of %s', (_, retention) => {
    expect(() => build(() => ({ retention }))).toThrow(/\[AuditTrail\.InvalidRetention\] retention \(the Object Lock default retention\) must be a whole number of days from 1 to 36500/);
  });

  test('accepts the Object Lock limits 1 and 36500 days', () => {
    expect(() => build(() => ({ retention: Duration.days(1) }))).not.toThrow();
    expect(() => build(() => ({ retention: Duration.days(36500) }))).not.toThrow();
  });

  test.each([Duration.days(0), Duration.hours(12)])('rejects archiveRetention %s', archiveRetention => {
    expect(() => build(() => ({ archiveRetention }))).toThrow(/\[AuditTrail\.InvalidArchiveRetention\]/);
  });

  test('rejects DESTROY in COMPLIANCE mode even with the data-removal opt-in', () => {
    const app = new App({ context: { [MlPlatformContext.REMOVE_DATA_ON_DESTROY]: true } });
    const stack = new Stack(app);
    expect(() => new AuditTrail(stack, 'Audit', { objectLockMode: AuditObjectLockMode.COMPLIANCE, removalPolicy: RemovalPolicy.DESTROY }))
      .toThrow(/\[AuditTrail\.DestroyWithObjectLock\] removalPolicy DESTROY cannot delete an audit bucket in COMPLIANCE mode: no one, not even the account root user/);
  });

  test('rejects DESTROY in GOVERNANCE mode too, and SNAPSHOT', () => {
    expect(() => build(() => ({ removalPolicy: RemovalPolicy.DESTROY }))).toThrow(/\[AuditTrail\.DestroyWithObjectLock\].*GOVERNANCE/);
    expect(() => build(() => ({ removalPolicy: RemovalPolicy.SNAPSHOT }))).toThrow(/\[AuditTrail\.SnapshotNotSupported\]/);
  });

  test('collects several problems into one error', () => {
    expect(() => build(() => ({ retention: Duration.days(0), archiveRetention: Duration.days(0) })))
      .toThrow(/2 problems with AuditTrail input:\n {2}- \[AuditTrail\.InvalidRetention\][^\n]*\n {2}- \[AuditTrail\.InvalidArchiveRetention\]/);
  });
});

describe('AuditTrail: compliance checks', () => {
  test('passes AwsSolutions and NIST 800-53 R5 with default props', () => {
    expect(nagFindingsFor(stack => { new AuditTrail(stack, 'Audit'); })).toEqual([]);
  });

  test('passes AwsSolutions and NIST 800-53 R5 with a data lake and COMPLIANCE mode', () => {
    expect(nagFindingsFor(stack => {
      new AuditTrail(stack, 'Audit', { dataLake: new DataLake(stack, 'Lake'), objectLockMode: AuditObjectLockMode.COMPLIANCE });
    })).toEqual([]);
  });

  test('the synthesized template is cfn-lint clean', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-trail-'));
    const app = new App({ outdir });
    const stack = new Stack(app, 'AuditLint');
    new AuditTrail(stack, 'Audit', { dataLake: new DataLake(stack, 'Lake') });
    app.synth();
    expect(cfnLint(findTemplates(outdir))).toEqual([]);
  });
});
