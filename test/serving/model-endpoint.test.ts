import * as path from 'path';
import { App, Duration, Size, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  DataLake, DeploymentStrategy, EndpointVariant, MlPlatformContext, ModelEndpoint, ModelEndpointProps, ModelRegistry, ModelSource, TrainingImage,
} from '../../src';
import { CODE_VERSION_TAG, COMPONENT_TAG, DATA_VERSION_TAG, IMAGE_TAG, MODEL_PACKAGE_TAG } from '../../src/core/lineage';
import { cfnLint } from '../support/cfn-lint';
import { nagFindings } from '../support/nag';

const PACKAGE = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detector/3';
type Props = Partial<ModelEndpointProps>;

function build(props: Props = {}, extra?: (stack: Stack) => Props, context?: Record<string, unknown>) {
  const app = new App({ context });
  const stack = new Stack(app, 'Platform');
  const lake = new DataLake(stack, 'Lake');
  const endpoint = new ModelEndpoint(stack, 'Endpoint', {
    dataLake: lake, model: ModelSource.fromModelPackage(PACKAGE), ...props, ...extra?.(stack),
  });
  return { app, stack, lake, endpoint, template: () => Template.fromStack(stack) };
}

function config(template: Template): any {
  return (Object.values(template.findResources('AWS::SageMaker::EndpointConfig'))[0] as any).Properties;
}
function deploymentConfig(template: Template): any {
  return (Object.values(template.findResources('AWS::SageMaker::Endpoint'))[0] as any).Properties.DeploymentConfig;
}

describe('ModelEndpoint variants', () => {
  test('default: one CPU instance variant ×2 from a model package, KMS on volumes, capture on, unnamed config', () => {
    const { template, endpoint } = build();
    const t = template();
    t.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: { ModelPackageName: PACKAGE }, EnableNetworkIsolation: true,
    });
    const c = config(t);
    expect(c.EndpointConfigName).toBeUndefined();
    expect(c.ProductionVariants).toEqual([{
      VariantName: 'primary',
      ModelName: { 'Fn::GetAtt': [expect.stringMatching(/^EndpointModel/), 'ModelName'] },
      InstanceType: 'ml.m5.xlarge',
      InitialInstanceCount: 2,
      InitialVariantWeight: 1,
    }]);
    expect(c.KmsKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^LakeKey/), 'Arn'] });
    t.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: endpoint.endpointName, RetainAllVariantProperties: true });
    // The model waits for every policy of its role; it may pull this account's images (model packages name theirs).
    expect((Object.values(t.findResources('AWS::SageMaker::Model'))[0] as any).DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^EndpointRoleDefaultPolicy/)]));
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'] })]) },
    });
    expect(endpoint.endpointName).toMatch(/^platform-endpoint-[0-9a-f]{8}$/);
  });

  test('GPU instances with local NVMe: no volume key (SageMaker rejects it)', () => {
    const { template } = build({ variants: [EndpointVariant.instance({ instanceType: 'ml.g5.2xlarge', initialInstanceCount: 2 })] });
    expect(config(template()).KmsKeyId).toBeUndefined();
  });

  test('serverless: memory and concurrency, no capture, no volume key, all at once', () => {
    const { template } = build({
      variants: [EndpointVariant.serverless({ memorySize: Size.mebibytes(4096), maxConcurrency: 20, provisionedConcurrency: 2 })],
      deployment: DeploymentStrategy.allAtOnce(),
    });
    const c = config(template());
    expect(c.ProductionVariants[0].ServerlessConfig).toEqual({ MemorySizeInMB: 4096, MaxConcurrency: 20, ProvisionedConcurrency: 2 });
    expect(c.DataCaptureConfig).toBeUndefined();
    expect(c.KmsKeyId).toBeUndefined();
    template().resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    // Serverless inference supports no network isolation.
    template().hasResourceProperties('AWS::SageMaker::Model', { EnableNetworkIsolation: false });
  });

  test('asynchronous: results in the lake, encrypted topics, scale to zero on backlog', () => {
    const { template, endpoint } = build({ asyncInference: { maxConcurrentInvocationsPerInstance: 4 } });
    const t = template();
    const c = config(t);
    expect(c.AsyncInferenceConfig).toEqual({
      ClientConfig: { MaxConcurrentInvocationsPerInstance: 4 },
      OutputConfig: {
        S3OutputPath: { 'Fn::Join': ['', ['s3://', { Ref: expect.stringMatching(/^LakeMonitoringZone/) }, '/async/output']] },
        S3FailurePath: { 'Fn::Join': ['', ['s3://', { Ref: expect.stringMatching(/^LakeMonitoringZone/) }, '/async/failure']] },
        KmsKeyId: expect.anything(),
        NotificationConfig: { SuccessTopic: { Ref: expect.stringMatching(/^EndpointAsyncSuccessTopic/) }, ErrorTopic: { Ref: expect.stringMatching(/^EndpointAsyncErrorTopic/) } },
      },
    });
    t.resourcePropertiesCountIs('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() }, 2);
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 0, MaxCapacity: 4 });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        TargetValue: 5, CustomizedMetricSpecification: Match.objectLike({ MetricName: 'ApproximateBacklogSizePerInstance' }),
      }),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'HasBacklogWithoutCapacity' });
    expect(endpoint.asyncSuccessTopic).toBeDefined();
  });

  test('image + model data source', () => {
    const { template } = build({ model: ModelSource.fromImage(TrainingImage.fromUri('123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1'), 's3://models/m.tar.gz') });
    template().hasResourceProperties('AWS::SageMaker::Model', { PrimaryContainer: { Image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1', ModelDataUrl: 's3://models/m.tar.gz' } });
  });

  test('latest approved package of a registry: resolved by a custom resource at deployment', () => {
    const { template } = build({}, s => ({ model: ModelSource.fromLatestApproved(new ModelRegistry(s, 'Registry')) }));
    const t = template();
    t.hasResourceProperties('Custom::LatestApprovedModelPackage', { ModelPackageGroupName: Match.stringLikeRegexp('^platform-registry-') });
    t.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: { ModelPackageName: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EndpointLatestApprovedModelPackage'), 'ModelPackageArn'] } },
    });
  });
});

describe('ModelEndpoint lineage', () => {
  function tagsOf(t: Template, type: string): Record<string, unknown> {
    const [resource] = Object.values(t.findResources(type)) as any[];
    return Object.fromEntries((resource.Properties.Tags ?? []).map((tag: any) => [tag.Key, tag.Value]));
  }
  const RESOURCES = ['AWS::SageMaker::Model', 'AWS::SageMaker::EndpointConfig'];

  test('registry: image, data version and package of the resolved package tag the model and the endpoint config', () => {
    const { template } = build({}, s => ({ model: ModelSource.fromLatestApproved(new ModelRegistry(s, 'Registry')) }));
    const t = template();
    // Attributes: resources deployed by earlier versions are updated, so they return image and data version too.
    t.hasResourceProperties('Custom::LatestApprovedModelPackage', { Attributes: 'ModelPackageArn,Image,DataVersion' });
    const att = (name: string) => ({ 'Fn::GetAtt': [expect.stringMatching(/^EndpointLatestApprovedModelPackage/), name] });
    for (const type of RESOURCES) {
      expect(tagsOf(t, type)).toEqual({
        [COMPONENT_TAG]: 'model-endpoint',
        [IMAGE_TAG]: att('Image'),
        [DATA_VERSION_TAG]: att('DataVersion'),
        [MODEL_PACKAGE_TAG]: att('ModelPackageArn'),
      });
    }
  });

  test('model package: its lineage is read by the same custom resource, which may describe exactly that package', () => {
    const { template } = build({}, undefined, { [MlPlatformContext.CODE_VERSION]: 'v1.4.2' });
    const t = template();
    t.hasResourceProperties('Custom::ModelPackageLineage', { ModelPackageArn: PACKAGE, Attributes: 'ModelPackageArn,Image,DataVersion' });
    t.resourceCountIs('Custom::LatestApprovedModelPackage', 0);
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'sagemaker:DescribeModelPackage', Resource: PACKAGE })]) },
      Roles: [{ Ref: Match.stringLikeRegexp('^CdkMlPlatformLatestApprovedProviderHandlerServiceRole') }],
    });
    const att = (name: string) => ({ 'Fn::GetAtt': [expect.stringMatching(/^EndpointModelPackageLineage/), name] });
    for (const type of RESOURCES) {
      expect(tagsOf(t, type)).toEqual({
        [COMPONENT_TAG]: 'model-endpoint', [CODE_VERSION_TAG]: 'v1.4.2', [IMAGE_TAG]: att('Image'), [DATA_VERSION_TAG]: att('DataVersion'), [MODEL_PACKAGE_TAG]: PACKAGE,
      });
    }
  });

  test('image: the image URI and the model data URL (a digest when it is no valid tag value); "unknown" without data', () => {
    const image = TrainingImage.fromUri('123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1');
    const withData = build({ model: ModelSource.fromImage(image, 's3://models/fraud/model.tar.gz') }).template();
    for (const type of RESOURCES) {
      expect(tagsOf(withData, type)).toEqual({
        [COMPONENT_TAG]: 'model-endpoint', [IMAGE_TAG]: '123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1', [DATA_VERSION_TAG]: 's3://models/fraud/model.tar.gz',
      });
    }
    withData.resourceCountIs('Custom::ModelPackageLineage', 0);
    const odd = build({ model: ModelSource.fromImage(image, 's3://models/fraud (v2)/model.tar.gz') }).template();
    expect(tagsOf(odd, 'AWS::SageMaker::Model')[DATA_VERSION_TAG]).toMatch(/^sha256:[0-9a-f]{64}$/);
    const bare = build({ model: ModelSource.fromImage(image) }).template();
    expect(tagsOf(bare, 'AWS::SageMaker::EndpointConfig')).toEqual({
      [COMPONENT_TAG]: 'model-endpoint', [IMAGE_TAG]: '123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1', [DATA_VERSION_TAG]: 'unknown',
    });
  });

  test('an ECR image: the URI token is the tag value', () => {
    const { template } = build({}, s => ({ model: ModelSource.fromImage(TrainingImage.fromEcrRepository(new ecr.Repository(s, 'Repo'), 'v7')) }));
    expect(JSON.stringify(tagsOf(template(), 'AWS::SageMaker::Model')[IMAGE_TAG])).toMatch(/Repo.*v7/);
  });
});

describe('ModelEndpoint capture and autoscaling', () => {
  test('data capture into the monitoring zone with KMS, input and output, JSON and CSV as text', () => {
    const { template, endpoint, stack } = build({ dataCapture: { samplingPercentage: 25 } });
    expect(config(template()).DataCaptureConfig).toEqual({
      EnableCapture: true,
      InitialSamplingPercentage: 25,
      DestinationS3Uri: { 'Fn::Join': ['', ['s3://', { Ref: expect.stringMatching(/^LakeMonitoringZone/) }, '/capture']] },
      KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^LakeKey/), 'Arn'] },
      CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
      CaptureContentTypeHeader: { JsonContentTypes: ['application/json'], CsvContentTypes: ['text/csv'] },
    });
    expect(stack.resolve(endpoint.captureUri)).toEqual({ 'Fn::Join': ['', ['s3://', { Ref: expect.stringMatching(/^LakeMonitoringZone/) }, '/capture']] });
  });

  test('capture can be turned off', () => {
    const { template } = build({ dataCaptureEnabled: false });
    expect(config(template()).DataCaptureConfig).toBeUndefined();
  });

  test('target tracking on invocations per instance between min and max', () => {
    const { template, endpoint } = build({ variants: [EndpointVariant.instance({ instanceType: 'ml.g5.xlarge', minCapacity: 2, maxCapacity: 6, targetInvocationsPerInstance: 300 })] });
    const t = template();
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ServiceNamespace: 'sagemaker',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      MinCapacity: 2,
      MaxCapacity: 6,
      ResourceId: `endpoint/${endpoint.endpointName}/variant/primary`,
    });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 300, PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' } }),
    });
  });

  test('a single instance warns', () => {
    const { stack } = build({ variants: [EndpointVariant.instance({ instanceType: 'ml.m5.large', initialInstanceCount: 1, maxCapacity: 1 })] });
    Annotations.fromStack(stack).hasWarning('/Platform/Endpoint', Match.stringLikeRegexp('runs on one instance'));
  });
});

describe('ModelEndpoint deployment strategies and rollback', () => {
  test('canary (default 10 %, 10 min bake) with 5xx and p99 latency alarms', () => {
    const { template, endpoint } = build({ rollbackThresholds: { maxP99LatencyMs: 250 } });
    const t = template();
    expect(deploymentConfig(t)).toEqual({
      AutoRollbackConfiguration: { Alarms: [{ AlarmName: { Ref: expect.stringMatching(/^EndpointprimaryErrors5xx/) } }, { AlarmName: { Ref: expect.stringMatching(/^EndpointprimaryLatencyP99/) } }] },
      BlueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: { Type: 'CANARY', WaitIntervalInSeconds: 600, CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 } },
        TerminationWaitInSeconds: 600,
      },
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ModelLatency',
      Namespace: 'AWS/SageMaker',
      ExtendedStatistic: 'p99',
      Threshold: 250000,
      Period: 60,
      Dimensions: Match.arrayWith([{ Name: 'EndpointName', Value: endpoint.endpointName }, { Name: 'VariantName', Value: 'primary' }]),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Invocation5XXErrors', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(endpoint.rollbackAlarms).toHaveLength(2);
  });

  test('canary by instances', () => {
    const { template } = build({ deployment: DeploymentStrategy.canary({ instances: 1, bake: Duration.minutes(5) }) });
    expect(deploymentConfig(template()).BlueGreenUpdatePolicy.TrafficRoutingConfiguration.CanarySize).toEqual({ Type: 'INSTANCE_COUNT', Value: 1 });
  });

  test('linear', () => {
    const { template } = build({ deployment: DeploymentStrategy.linear({ stepPercent: 20, interval: Duration.minutes(3) }) });
    expect(deploymentConfig(template()).BlueGreenUpdatePolicy.TrafficRoutingConfiguration).toEqual({
      Type: 'LINEAR', WaitIntervalInSeconds: 180, LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 20 },
    });
  });

  test('all at once', () => {
    const { template } = build({ deployment: DeploymentStrategy.allAtOnce({ bake: Duration.minutes(15) }) });
    expect(deploymentConfig(template()).BlueGreenUpdatePolicy).toEqual({
      TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 900 }, TerminationWaitInSeconds: 900,
    });
  });

  test('rolling', () => {
    const { template } = build({ deployment: DeploymentStrategy.rolling({ batchPercent: 25, rollbackBatchPercent: 50 }) });
    expect(deploymentConfig(template()).RollingUpdatePolicy).toEqual({
      MaximumBatchSize: { Type: 'CAPACITY_PERCENT', Value: 25 },
      WaitIntervalInSeconds: 300,
      RollbackMaximumBatchSize: { Type: 'CAPACITY_PERCENT', Value: 50 },
    });
  });

  test('user alarms join the rollback alarms, also when added later', () => {
    const { stack, endpoint, template } = build();
    const alarm = new cloudwatch.Alarm(stack, 'NaNRate', {
      metric: new cloudwatch.Metric({ namespace: 'MlPlatform/PredictionHealth', metricName: 'NaNRate' }), threshold: 0.01, evaluationPeriods: 1,
    });
    endpoint.addRollbackAlarm(alarm);
    expect(deploymentConfig(template()).AutoRollbackConfiguration.Alarms).toContainEqual({ AlarmName: { Ref: expect.stringMatching(/^NaNRate/) } });
  });

  test('every deployment is verified by a custom resource that waits for the endpoint on this config', () => {
    const { template } = build();
    const t = template();
    t.hasResourceProperties('Custom::VerifyEndpointDeployment', {
      EndpointName: Match.anyValue(), EndpointConfigName: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EndpointEndpointConfig'), 'EndpointConfigName'] },
    });
    // The async Provider pattern: a waiter state machine polls until the deployment settles or an hour passes.
    t.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
  });
});

describe('ModelEndpoint grants, metrics, compliance', () => {
  test('grantInvoke and metrics (ModelLatency in microseconds, GPU metrics per instance)', () => {
    const { stack, endpoint } = build();
    const role = new iam.Role(stack, 'Caller', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    endpoint.grantInvoke(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Caller') }],
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync'], Resource: { Ref: Match.stringLikeRegexp('^Endpoint') } }] },
    });
    expect([endpoint.metricModelLatency().namespace, endpoint.metricModelLatency().statistic]).toEqual(['AWS/SageMaker', 'p99']);
    expect(endpoint.metricInvocations().statistic).toBe('Sum');
    expect(endpoint.metricInvocation4XXErrors().metricName).toBe('Invocation4XXErrors');
    expect(endpoint.metricGpuUtilization().namespace).toBe('/aws/sagemaker/Endpoints');
    expect(endpoint.metricGpuMemoryUtilization().metricName).toBe('GPUMemoryUtilization');
    expect(endpoint.metricCpuUtilization().dimensions).toEqual({ EndpointName: endpoint.endpointName, VariantName: 'primary' });
  });

  test('grantDeploy: new model and config named after the endpoint, UpdateEndpoint of this endpoint, PassRole of its role to SageMaker only', () => {
    const { stack, endpoint } = build({ endpointName: 'fraud' });
    const role = new iam.Role(stack, 'Engineer', { assumedBy: new iam.AccountRootPrincipal() });
    endpoint.grantDeploy(role);
    const t = Template.fromStack(stack);
    const arn = (resource: string, name: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${resource}/${name}`]] });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Engineer') }],
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: ['sagemaker:DescribeEndpoint', 'sagemaker:UpdateEndpoint', 'sagemaker:UpdateEndpointWeightsAndCapacities'], Resource: { Ref: Match.stringLikeRegexp('^Endpoint') } },
          {
            Effect: 'Allow',
            Action: ['sagemaker:DescribeEndpointConfig', 'sagemaker:DescribeModel', 'sagemaker:ListTags'],
            Resource: [arn('endpoint-config', 'fraud*'), { Ref: Match.stringLikeRegexp('^EndpointEndpointConfig') }, arn('model', 'fraud*'), { Ref: Match.stringLikeRegexp('^EndpointModel') }],
          },
          { Effect: 'Allow', Action: ['sagemaker:CreateEndpointConfig', 'sagemaker:CreateModel', 'sagemaker:AddTags'], Resource: [arn('endpoint-config', 'fraud*'), arn('model', 'fraud*')] },
          {
            Effect: 'Allow',
            Action: 'iam:PassRole',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EndpointRole'), 'Arn'] },
            Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
          },
          { Effect: 'Allow', Action: 'kms:DescribeKey', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LakeKey'), 'Arn'] } },
          {
            Effect: 'Allow',
            Action: 'kms:CreateGrant',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LakeKey'), 'Arn'] },
            Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
          },
        ],
      },
    });
    const actions = JSON.stringify(t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Engineer') }] } }));
    expect(actions).not.toMatch(/sagemaker:(CreateEndpoint|DeleteEndpoint)"|sagemaker:\*|CreateModelPackage|UpdateModelPackage/);
  });

  test('nag-clean and cfn-lint clean: GPU canary, async, serverless and registry-backed endpoints', () => {
    const app = new App();
    const stack = new Stack(app, 'Platform');
    const lake = new DataLake(stack, 'Lake');
    const registry = new ModelRegistry(stack, 'Registry');
    new ModelEndpoint(stack, 'Gpu', { dataLake: lake, model: ModelSource.fromLatestApproved(registry), variants: [EndpointVariant.instance({ instanceType: 'ml.g5.xlarge' })] });
    new ModelEndpoint(stack, 'Async', { dataLake: lake, model: ModelSource.fromModelPackage(PACKAGE), asyncInference: {} });
    new ModelEndpoint(stack, 'Serverless', {
      dataLake: lake,
      model: ModelSource.fromModelPackage(PACKAGE),
      deployment: DeploymentStrategy.allAtOnce(),
      variants: [EndpointVariant.serverless({ memorySize: Size.mebibytes(2048), maxConcurrency: 10 })],
    });
    expect(nagFindings(app)).toEqual([]);
    const assembly = app.synth();
    expect(cfnLint([path.join(assembly.directory, assembly.getStackByName('Platform').templateFile)])).toEqual([]);
  });
});

describe('ModelEndpoint validation', () => {
  const fail = (props: Props, code: string, message?: RegExp) => {
    const when = () => build(props);
    expect(when).toThrow(new RegExp(`\\[ModelEndpoint\\.${code}\\]`));
    expect(when).toThrow(/\(at Platform\/Endpoint\)/);
    if (message) { expect(when).toThrow(message); }
  };
  const sl = () => EndpointVariant.serverless({ memorySize: Size.mebibytes(2048), maxConcurrency: 10 });
  const inst = (o: object = {}) => EndpointVariant.instance({ instanceType: 'ml.m5.xlarge', ...o });

  test('CanaryTooLarge (percent)', () => fail({ deployment: DeploymentStrategy.canary({ percent: 60 }) }, 'CanaryTooLarge', /got '60 %'/));
  test('CanaryTooLarge (instances)', () => fail({ deployment: DeploymentStrategy.canary({ instances: 2 }) }, 'CanaryTooLarge', /2 of 2 instances/));
  test('CanarySize', () => fail({ deployment: DeploymentStrategy.canary({ percent: 10, instances: 1 }) }, 'CanarySize'));
  test('InvalidLinearStep', () => fail({ deployment: DeploymentStrategy.linear({ stepPercent: 75 }) }, 'InvalidLinearStep'));
  test('InvalidRollingBatch', () => fail({ deployment: DeploymentStrategy.rolling({ batchPercent: 2 }) }, 'InvalidRollingBatch'));
  test('RollingAsync', () => fail({ deployment: DeploymentStrategy.rolling({ batchPercent: 25 }), asyncInference: {} }, 'RollingAsync'));
  test('InvalidBake', () => fail({ deployment: DeploymentStrategy.canary({ bake: Duration.hours(2) }) }, 'InvalidBake'));
  test('ServerlessMultipleVariants', () => fail({ variants: [sl(), inst({ variantName: 'b' })], deployment: DeploymentStrategy.allAtOnce() }, 'ServerlessMultipleVariants'));
  test('ServerlessVpc', () => {
    expect(() => build({ variants: [sl()], deployment: DeploymentStrategy.allAtOnce() }, s => ({ vpc: new ec2.Vpc(s, 'Vpc') }))).toThrow(/\[ModelEndpoint\.ServerlessVpc\]/);
  });
  test('ServerlessDataCapture', () => fail({ variants: [sl()], deployment: DeploymentStrategy.allAtOnce(), dataCapture: { samplingPercentage: 10 } }, 'ServerlessDataCapture'));
  test('AsyncServerless', () => fail({ variants: [sl()], deployment: DeploymentStrategy.allAtOnce(), asyncInference: {} }, 'AsyncServerless'));
  test('serverless with capture switched off takes capture options without complaint', () => {
    const props = { variants: [sl()], deployment: DeploymentStrategy.allAtOnce(), dataCaptureEnabled: false, dataCapture: { samplingPercentage: 5 } };
    expect(() => build(props)).not.toThrow();
  });
  test('ServerlessNetworkIsolation', () => fail({ variants: [sl()], deployment: DeploymentStrategy.allAtOnce(), networkIsolation: true }, 'ServerlessNetworkIsolation'));
  test('RollingMultipleVariants', () => fail({ variants: [inst({ variantName: 'a' }), inst({ variantName: 'b' })], deployment: DeploymentStrategy.rolling({ batchPercent: 25 }) }, 'RollingMultipleVariants'));
  test('InvalidRollingBatch: rollback batch', () => fail({ deployment: DeploymentStrategy.rolling({ batchPercent: 25, rollbackBatchPercent: 0 }) }, 'InvalidRollingBatch'));
  test('DeploymentTooLong', () => fail({ deployment: DeploymentStrategy.linear({ stepPercent: 10, interval: Duration.hours(1), bake: Duration.hours(1) }) }, 'DeploymentTooLong', /10 steps × 3600 s \+ 3600 s = 39600 s/));
  test('InvalidVerifyTimeout', () => fail({ verifyTimeout: Duration.hours(2) }, 'InvalidVerifyTimeout'));
  test('MixedVolumeEncryption', () => fail({ variants: [inst({ variantName: 'a', instanceType: 'ml.g5.xlarge' }), inst({ variantName: 'b', instanceType: 'ml.p3.2xlarge' })] }, 'MixedVolumeEncryption'));
  test('TooManyRollbackAlarms counts alarms added later, at synth', () => {
    const { stack, endpoint, app } = build();
    for (let i = 0; i < 9; i++) {
      endpoint.addRollbackAlarm(new cloudwatch.Alarm(stack, `L${i}`, { metric: new cloudwatch.Metric({ namespace: 'N', metricName: 'M' }), threshold: 1, evaluationPeriods: 1 }));
    }
    expect(() => app.synth()).toThrow(/\[ModelEndpoint\.TooManyRollbackAlarms\].*got 11.*\(at Platform\/Endpoint\)/s);
  });
  test('ServerlessDeployment', () => fail({ variants: [sl()] }, 'ServerlessDeployment', /got 'CANARY'/));
  test('VariantCount', () => fail({ variants: Array.from({ length: 11 }, (_, i) => inst({ variantName: `v${i}` })), rollbackAlarms: [] }, 'VariantCount'));
  test('DuplicateVariant', () => fail({ variants: [inst({ variantName: 'a' }), inst({ variantName: 'a' })] }, 'DuplicateVariant'));
  test('InvalidVariantName', () => fail({ variants: [inst({ variantName: 'a_b' })] }, 'InvalidVariantName'));
  test('InvalidInstanceType', () => fail({ variants: [EndpointVariant.instance({ instanceType: 'g5.xlarge' })] }, 'InvalidInstanceType'));
  test('TrainingOnlyInstance', () => fail({ variants: [EndpointVariant.instance({ instanceType: 'ml.trn1.2xlarge' })] }, 'TrainingOnlyInstance'));
  test('InvalidInstanceCount', () => fail({ variants: [inst({ initialInstanceCount: 0 })] }, 'InvalidInstanceCount'));
  test('MinAboveMax', () => fail({ variants: [inst({ minCapacity: 4, maxCapacity: 2 })] }, 'MinAboveMax', /min 4 > max 2/));
  test('InvalidCapacity', () => fail({ variants: [inst({ minCapacity: 1.5, maxCapacity: 3 })] }, 'InvalidCapacity'));
  test('ZeroMinCapacity', () => fail({ variants: [inst({ minCapacity: 0 })] }, 'ZeroMinCapacity'));
  test('InvalidServerlessMemory', () => fail({ variants: [EndpointVariant.serverless({ memorySize: Size.mebibytes(1500), maxConcurrency: 5 })], deployment: DeploymentStrategy.allAtOnce() }, 'InvalidServerlessMemory'));
  test('InvalidServerlessConcurrency', () => fail({ variants: [EndpointVariant.serverless({ memorySize: Size.mebibytes(1024), maxConcurrency: 201 })], deployment: DeploymentStrategy.allAtOnce() }, 'InvalidServerlessConcurrency'));
  test('InvalidSampling', () => fail({ dataCapture: { samplingPercentage: 101 } }, 'InvalidSampling'));
  test('NothingCaptured', () => fail({ dataCapture: { captureInput: false, captureOutput: false } }, 'NothingCaptured'));
  test('TooManyRollbackAlarms', () => {
    expect(() => build({}, s => ({
      rollbackAlarms: Array.from({ length: 9 }, (_, i) => new cloudwatch.Alarm(s, `A${i}`, { metric: new cloudwatch.Metric({ namespace: 'N', metricName: 'M' }), threshold: 1, evaluationPeriods: 1 })),
    }))).toThrow(/\[ModelEndpoint\.TooManyRollbackAlarms\].*got 11/);
  });
  test('InvalidName', () => fail({ endpointName: 'a'.repeat(64) }, 'InvalidName'));
  test('SubnetsWithoutVpc', () => fail({ vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } }, 'SubnetsWithoutVpc'));
  test('InvalidModelData', () => fail({ model: ModelSource.fromImage(TrainingImage.fromUri('img:1'), 'https://bucket/m.tar.gz') }, 'InvalidModelData'));
});
