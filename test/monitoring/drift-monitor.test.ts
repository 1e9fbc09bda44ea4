import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  DataLake, DataZone, DriftBaseline, DriftMonitor, DriftMonitorProps, EndpointVariant, ModelEndpoint, ModelRegistry, ModelSource,
  PredictionHealthMonitor, PredictionHealthMonitorProps,
} from '../../src';
import { cfnLint } from '../support/cfn-lint';
import { nagFindings } from '../support/nag';

interface BuildOptions {
  readonly capture?: boolean;
  readonly registry?: boolean;
  readonly health?: Partial<PredictionHealthMonitorProps>;
}

function build(drift: Partial<DriftMonitorProps> = {}, opts: BuildOptions = {}) {
  const app = new App();
  const stack = new Stack(app, 'Platform', { env: { account: '123456789012', region: 'us-east-1' } });
  const lake = new DataLake(stack, 'Lake');
  const registry = new ModelRegistry(stack, 'Registry', { modelPackageGroupName: 'fraud' });
  const endpoint = new ModelEndpoint(stack, 'Endpoint', {
    dataLake: lake,
    model: opts.registry === false ? ModelSource.fromModelPackage('arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/1') : ModelSource.fromLatestApproved(registry),
    dataCaptureEnabled: opts.capture,
  });
  const monitor = new DriftMonitor(stack, 'Drift', { endpoint, ...drift });
  const health = opts.health ? new PredictionHealthMonitor(stack, 'Health', { endpoint, ...opts.health }) : undefined;
  return { app, stack, lake, registry, endpoint, monitor, health, template: () => Template.fromStack(stack) };
}

function fnEnv(t: Template, kind: string): Record<string, unknown> {
  const fns = Object.values(t.findResources('AWS::Lambda::Function')) as any[];
  const fn = fns.find(f => f.Properties.Environment?.Variables?.CHECK_KIND === kind);
  return fn.Properties.Environment.Variables;
}

describe('DriftMonitor', () => {
  test('an hourly, single-concurrency check of the endpoint capture against the champion baseline', () => {
    const { template, endpoint } = build();
    const t = template();
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)', State: 'ENABLED' });
    t.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 1, Timeout: 900, MemorySize: 1024, Runtime: 'nodejs24.x',
    });
    expect(fnEnv(t, 'drift')).toEqual(expect.objectContaining({
      CHECK_KIND: 'drift',
      CHECK_CAPTURE_PREFIX: `capture/${endpoint.endpointName}/`,
      CHECK_ENDPOINT_NAME: endpoint.endpointName,
      CHECK_STATE_KEY: `drift/${endpoint.endpointName}/state.json`,
      CHECK_REPORT_PREFIX: `drift/${endpoint.endpointName}/reports/`,
      CHECK_GRACE_SECONDS: '900',
      CHECK_MAX_OBJECTS: '500',
      DRIFT_PSI_ALARM: '0.2',
      DRIFT_MODEL_PACKAGE_GROUP: expect.anything(),
      CHECK_BUCKET: { Ref: expect.stringMatching(/^LakeMonitoring/) },
    }));
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  test('alarms: overall drift score at 0.2 and 0.1 (max statistic, hourly), per-feature PSI, and the check failing', () => {
    const { template, endpoint, monitor } = build({ featureThresholds: [{ feature: 'amount', psiAlarm: 0.15, psiWarning: 0.05 }, { feature: 'country' }] });
    const t = template();
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'MlPlatform/Drift',
      MetricName: 'DriftScore',
      Statistic: 'Maximum',
      Period: 3600,
      Threshold: 0.2,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      Dimensions: [{ Name: 'EndpointName', Value: endpoint.endpointName }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'DriftScore', Threshold: 0.1 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'PSI', Threshold: 0.15, Dimensions: Match.arrayWith([{ Name: 'Feature', Value: 'amount' }]),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'PSI', Threshold: 0.05, Dimensions: Match.arrayWith([{ Name: 'Feature', Value: 'amount' }]) });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'PSI', Threshold: 0.2, Dimensions: Match.arrayWith([{ Name: 'Feature', Value: 'country' }]) });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/Lambda', MetricName: 'Errors', Threshold: 1, EvaluationPeriods: 2 });
    expect(monitor.featureAlarms).toHaveLength(2);
    // unnamed alarms and dashboard: replacing them never clashes
    for (const a of Object.values(t.findResources('AWS::CloudWatch::Alarm')) as any[]) { expect(a.Properties.AlarmName).toBeUndefined(); }
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect((Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0] as any).Properties.DashboardName).toBeUndefined();
  });

  test('metrics: drift score, feature PSI, malformed records', () => {
    const { monitor, stack } = build({ interval: Duration.minutes(30) });
    const score = monitor.metricDriftScore();
    expect([score.namespace, score.metricName, score.statistic, score.period.toSeconds()]).toEqual(['MlPlatform/Drift', 'DriftScore', 'Maximum', 1800]);
    expect(stack.resolve(monitor.metricDriftScore('amount').dimensions)).toEqual({ EndpointName: monitor.endpointName, Feature: 'amount' });
    expect(monitor.metricMalformedRecords().statistic).toBe('Sum');
    expect(monitor.metricRecordsAnalyzed().metricName).toBe('RecordsAnalyzed');
  });

  test('dashboard: drift score with thresholds, PSI per feature via SEARCH, records and malformed', () => {
    const { template, stack, endpoint } = build();
    const body = JSON.stringify(stack.resolve((Object.values(template().findResources('AWS::CloudWatch::Dashboard'))[0] as any).Properties.DashboardBody));
    expect(body).toContain('SEARCH(');
    expect(body).toContain(`EndpointName=\\\\\\"${endpoint.endpointName}\\\\\\"`);
    expect(body).toContain('MalformedRecords');
    expect(body).toContain('RecordsAnalyzed');
  });

  test('least privilege: reads the capture prefix, writes only its own folder, reads the registry', () => {
    const { template, endpoint } = build();
    const policies = JSON.stringify(Object.values(template().findResources('AWS::IAM::Policy')).map((p: any) => p.Properties.PolicyDocument));
    expect(policies).toContain(`capture/${endpoint.endpointName}/*`);
    expect(policies).toContain(`drift/${endpoint.endpointName}/*`);
    expect(policies).toContain('sagemaker:ListModelPackages');
    const drift = (Object.values(template().findResources('AWS::IAM::Policy')) as any[])
      .filter(p => JSON.stringify(p.Properties.PolicyDocument).includes(`drift/${endpoint.endpointName}/*`));
    for (const p of drift) {
      for (const s of p.Properties.PolicyDocument.Statement) {
        expect([s.Action].flat().some((a: string) => a.endsWith('*') && !a.startsWith('kms:'))).toBe(false);
      }
    }
  });

  test('a fixed baseline in S3 instead of the champion', () => {
    const { template } = build({}, {});
    void template;
    const app = new App();
    const stack = new Stack(app, 'S');
    const lake = new DataLake(stack, 'Lake');
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { dataLake: lake, model: ModelSource.fromModelPackage('arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/1') });
    const bucket = s3.Bucket.fromBucketName(stack, 'B', 'baselines');
    new DriftMonitor(stack, 'Drift', { endpoint, baseline: DriftBaseline.fromS3(bucket, 'fraud/baseline.json') });
    expect(fnEnv(Template.fromStack(stack), 'drift')).toEqual(expect.objectContaining({
      DRIFT_BASELINE_URI: 's3://baselines/fraud/baseline.json',
    }));
  });

  test('nag-clean (AwsSolutions, NIST 800-53 R5) and cfn-lint clean with prediction health too', () => {
    const { app } = build({ featureThresholds: [{ feature: 'amount' }], modelMonitor: {} }, { health: { minScore: 0, maxScore: 1, alarmOnClassCollapse: true } });
    expect(nagFindings(app)).toEqual([]);
    const assembly = app.synth();
    expect(cfnLint([path.join(assembly.directory, assembly.getStackByName('Platform').templateFile)])).toEqual([]);
  });

  test('optional SageMaker Model Monitor: unnamed data-quality job definition, encrypted and isolated, hourly schedule', () => {
    const { template, endpoint, monitor } = build({ modelMonitor: { baselineConstraintsUri: 's3://mm/constraints.json' } });
    const t = template();
    t.hasResourceProperties('AWS::SageMaker::DataQualityJobDefinition', {
      DataQualityAppSpecification: { ImageUri: '156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer' },
      DataQualityJobInput: { EndpointInput: Match.objectLike({ EndpointName: endpoint.endpointName }) },
      NetworkConfig: { EnableNetworkIsolation: true, EnableInterContainerTrafficEncryption: true },
      JobResources: { ClusterConfig: Match.objectLike({ InstanceType: 'ml.m5.xlarge', VolumeKmsKeyId: Match.anyValue() }) },
      DataQualityBaselineConfig: { ConstraintsResource: { S3Uri: 's3://mm/constraints.json' } },
    });
    const def = Object.values(t.findResources('AWS::SageMaker::DataQualityJobDefinition'))[0] as any;
    expect(def.Properties.JobDefinitionName).toBeUndefined();
    t.hasResourceProperties('AWS::SageMaker::MonitoringSchedule', {
      EndpointName: endpoint.endpointName,
      MonitoringScheduleConfig: Match.objectLike({ MonitoringType: 'DataQuality', ScheduleConfig: { ScheduleExpression: 'cron(0 * ? * * *)' } }),
    });
    expect(monitor.monitoringSchedule).toBeDefined();
    // off by default
    expect(build().template().findResources('AWS::SageMaker::MonitoringSchedule')).toEqual({});
  });

  test('Model Monitor image of an environment-agnostic stack: a mapping by AWS::Region', () => {
    const app = new App();
    const stack = new Stack(app, 'Agnostic');
    const lake = new DataLake(stack, 'Lake');
    const registry = new ModelRegistry(stack, 'Registry');
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { dataLake: lake, model: ModelSource.fromLatestApproved(registry) });
    new DriftMonitor(stack, 'Drift', { endpoint, modelMonitor: {} });
    const t = Template.fromStack(stack);
    expect(t.toJSON().Mappings.CdkMlPlatformModelMonitorAnalyzer['eu-west-1']).toEqual({ account: '468650794304' });
    const def = Object.values(t.findResources('AWS::SageMaker::DataQualityJobDefinition'))[0] as any;
    expect(JSON.stringify(def.Properties.DataQualityAppSpecification.ImageUri)).toContain('Fn::FindInMap');
  });

  describe('validation', () => {
    const fail = (props: Partial<DriftMonitorProps>, code: string, opts = {}) =>
      expect(() => build(props, opts)).toThrow(new RegExp(`\\[DriftMonitor\\.${code}\\].*\\(at Platform/Drift\\)`));
    test('capture off', () => fail({}, 'CaptureDisabled', { capture: false }));
    test('no baseline and no registry', () => fail({}, 'NoBaseline', { registry: false }));
    test('interval out of range or not whole minutes', () => {
      fail({ interval: Duration.minutes(1) }, 'InvalidInterval');
      fail({ interval: Duration.days(2) }, 'InvalidInterval');
      fail({ interval: Duration.seconds(390) }, 'InvalidInterval');
    });
    test('thresholds', () => {
      fail({ psiAlarm: 0 }, 'InvalidThreshold');
      fail({ psiWarning: NaN }, 'InvalidThreshold');
      fail({ psiWarning: 0.3, psiAlarm: 0.2 }, 'InvalidThreshold');
      fail({ featureThresholds: [{ feature: 'a', psiAlarm: -1 }] }, 'InvalidThreshold');
    });
    test('features', () => {
      fail({ featureThresholds: [{ feature: ' ' }] }, 'InvalidFeature');
      fail({ featureThresholds: [{ feature: 'a' }, { feature: 'a' }] }, 'DuplicateFeature');
      fail({ csvColumns: ['a,b'] }, 'InvalidCsvColumns');
    });
    test('Model Monitor needs a SageMaker endpoint', () => {
      expect(() => {
        const app = new App();
        const stack = new Stack(app, 'Platform', { env: { account: '123456789012', region: 'us-east-1' } });
        const lake = new DataLake(stack, 'Lake');
        // any capturing endpoint that is not a ModelEndpoint (e.g. a KubernetesModelServer)
        const server = new Construct(stack, 'Server') as Construct & { endpointName: string; dataLake: DataLake; captureKeyPrefix: string };
        Object.assign(server, { endpointName: 'fraud-k8s', dataLake: lake, captureKeyPrefix: 'capture/fraud-k8s/' });
        new DriftMonitor(stack, 'Drift', { endpoint: server, baseline: DriftBaseline.fromS3(lake.bucket(DataZone.MODELS), 'b.json'), modelMonitor: {} });
      }).toThrow(/\[DriftMonitor\.ModelMonitorNeedsSageMaker\]/);
    });
    test('Model Monitor options', () => {
      fail({ modelMonitor: { scheduleExpression: 'rate(5 minutes)' } }, 'InvalidModelMonitorSchedule');
      fail({ modelMonitor: { baselineStatisticsUri: 'https://x' } }, 'InvalidModelMonitorBaseline');
      fail({ modelMonitor: { maxRuntime: Duration.hours(2) } }, 'InvalidModelMonitorRuntime');
      expect(() => {
        const app = new App();
        const stack = new Stack(app, 'Platform', { env: { region: 'xx-moon-1', account: '123456789012' } });
        const lake = new DataLake(stack, 'Lake');
        const registry = new ModelRegistry(stack, 'Registry');
        const endpoint = new ModelEndpoint(stack, 'Endpoint', { dataLake: lake, model: ModelSource.fromLatestApproved(registry) });
        new DriftMonitor(stack, 'Drift', { endpoint, modelMonitor: {} });
      }).toThrow(/\[DriftMonitor\.NoModelMonitorImage\].*xx-moon-1/);
    });
    test('limits', () => {
      fail({ maxObjectsPerRun: 0 }, 'InvalidMaxObjects');
      fail({ memorySize: 128 }, 'InvalidMemorySize');
      fail({ captureDeliveryGrace: Duration.days(2) }, 'InvalidGrace');
    });
  });
});

describe('PredictionHealthMonitor', () => {
  test('alarms on NaN/Inf, constant outputs, out-of-range scores; they become rollback alarms of the endpoint', () => {
    const { template, health, endpoint } = build({}, { health: { minScore: 0, maxScore: 1 } });
    const t = template();
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(10 minutes)' });
    expect(fnEnv(t, 'prediction-health')).toEqual(expect.objectContaining({
      HEALTH_MIN_SCORE: '0', HEALTH_MAX_SCORE: '1', CHECK_STATE_KEY: `prediction-health/${endpoint.endpointName}/state.json`,
    }));
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'MlPlatform/PredictionHealth', MetricName: 'NonFiniteRate', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', Period: 600,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ConstantPredictions', Threshold: 1 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'OutOfRangeRate', Threshold: 0.01 });
    expect(health!.alarms).toHaveLength(3);
    expect(health!.classCollapseAlarm).toBeUndefined();
    const alarms = (Object.values(t.findResources('AWS::SageMaker::Endpoint'))[0] as any).Properties.DeploymentConfig.AutoRollbackConfiguration.Alarms;
    expect(alarms).toHaveLength(2 + 3);
    expect(endpoint.allRollbackAlarms()).toHaveLength(5);
  });

  test('class collapse is opt-in; rollBackOnUnhealthy false keeps the guardrails as they were', () => {
    const { template, health } = build({}, { health: { alarmOnClassCollapse: true, rollBackOnUnhealthy: false } });
    const t = template();
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ClassCollapse', Threshold: 1 });
    expect(health!.outOfRangeAlarm).toBeUndefined();
    const alarms = (Object.values(t.findResources('AWS::SageMaker::Endpoint'))[0] as any).Properties.DeploymentConfig.AutoRollbackConfiguration.Alarms;
    expect(alarms).toHaveLength(2);
  });

  describe('validation', () => {
    const fail = (health: Partial<PredictionHealthMonitorProps>, code: string, capture?: boolean) =>
      expect(() => build({}, { health, capture })).toThrow(new RegExp(`\\[PredictionHealthMonitor\\.${code}\\].*\\(at Platform/Health\\)`));
    test('each branch', () => {
      fail({ interval: Duration.minutes(2) }, 'InvalidInterval');
      fail({ minScore: 1, maxScore: 0 }, 'InvalidScoreRange');
      fail({ minScore: Infinity }, 'InvalidScoreRange');
      fail({ maxNonFiniteRate: 1 }, 'InvalidRate');
      fail({ maxOutOfRangeRate: 0.1 }, 'OutOfRangeWithoutRange');
      fail({ classThreshold: NaN }, 'InvalidClassThreshold');
      fail({ minPredictions: 1 }, 'InvalidMinPredictions');
      fail({ maxObjectsPerRun: 20_000 }, 'InvalidMaxObjects');
      fail({ captureDeliveryGrace: Duration.days(3) }, 'InvalidGrace');
    });
    test('capture off', () => {
      expect(() => {
        const app = new App();
        const stack = new Stack(app, 'Platform');
        const lake = new DataLake(stack, 'Lake');
        const endpoint = new ModelEndpoint(stack, 'Endpoint', {
          dataLake: lake,
          model: ModelSource.fromModelPackage('arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/1'),
          dataCaptureEnabled: false,
          variants: [EndpointVariant.instance({ instanceType: 'ml.m5.xlarge' })],
        });
        new PredictionHealthMonitor(stack, 'Health', { endpoint });
      }).toThrow(/\[PredictionHealthMonitor\.CaptureDisabled\]/);
    });
  });
});
