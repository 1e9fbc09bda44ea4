import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Size, Stack, Token, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  DataLake, DataZone, ExperimentTracking, Feature, FeatureStore, GpuInstanceType, GpuTrainingPipeline, GpuTrainingPipelineProps,
  MlPlatformContext, ModelApprovalStatus, ModelRegistry, Objective, PipelineStepNames, TrackingServerSize, TrainingData,
  TrainingDistribution, TrainingImage,
} from '../../src';
import { CODE_VERSION_TAG, DATA_VERSION_TAG, IMAGE_TAG } from '../../src/core/lineage';
import { StepJson, allSteps, checkDefinition } from '../../src/training/pipeline-definition';
import { TrainingDataGate, TrainingDataGateMode } from '../../src/training/training-data-gate';
import { cfnLint } from '../support/cfn-lint';
import { nagFindings } from '../support/nag';

const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train@sha256:' + 'a'.repeat(64);
type Props = Partial<GpuTrainingPipelineProps>;

function build(props: Props = {}, extra?: (stack: Stack, lake: DataLake) => Props) {
  const app = new App({ context: { [MlPlatformContext.CODE_VERSION]: 'abc1234' } });
  const stack = new Stack(app, 'Platform');
  const lake = new DataLake(stack, 'Lake');
  const registry = new ModelRegistry(stack, 'Registry');
  const pipeline = new GpuTrainingPipeline(stack, 'Training', {
    dataLake: lake,
    registry,
    image: TrainingImage.fromUri(IMAGE),
    instanceType: GpuInstanceType.ML_G5_2XLARGE,
    objective: Objective.maximize('validation:auc', 0.005),
    trainingData: TrainingData.fromDataLake(lake, DataZone.CURATED, 'datasets/fraud/train/'),
    ...props,
    ...extra?.(stack, lake),
  });
  return { app, stack, lake, registry, pipeline };
}

function step(pipeline: GpuTrainingPipeline, name: string): StepJson {
  return allSteps(pipeline._definition.Steps).find(s => s.Name === name)!;
}
function trainArgs(pipeline: GpuTrainingPipeline): any {
  return step(pipeline, PipelineStepNames.TRAIN).Arguments;
}

describe('GpuTrainingPipeline step graph', () => {
  test('snapshot → gate → (train → evaluate → compare → condition | reject); register only on the better branch, else an explicit fail', () => {
    const { pipeline } = build();
    const def = pipeline._definition;
    expect(def.Version).toBe('2020-12-01');
    expect(checkDefinition(def)).toEqual([]);
    expect(def.Steps.map(s => [s.Name, s.Type, s.DependsOn])).toEqual([
      ['DataSnapshot', 'Lambda', undefined],
      ['TrainingDataGate', 'Condition', ['DataSnapshot']],
    ]);
    const gate = step(pipeline, 'TrainingDataGate').Arguments as any;
    expect(gate.IfSteps.map((s: StepJson) => [s.Name, s.Type, s.DependsOn])).toEqual([
      ['Train', 'Training', ['DataSnapshot']],
      ['Evaluate', 'Processing', ['Train']],
      ['CompareWithChampion', 'Lambda', ['Evaluate']],
      ['ChallengerBeatsChampion', 'Condition', ['CompareWithChampion']],
    ]);
    expect(gate.ElseSteps.map((s: StepJson) => [s.Name, s.Type])).toEqual([['RejectTrainingData', 'Fail']]);
    const condition = step(pipeline, 'ChallengerBeatsChampion').Arguments as any;
    expect(condition.Conditions).toEqual([{
      Type: 'Equals', LeftValue: { Get: "Steps.CompareWithChampion.OutputParameters['is_better']" }, RightValue: true,
    }]);
    expect(condition.IfSteps.map((s: StepJson) => [s.Name, s.Type])).toEqual([['RegisterChallenger', 'RegisterModel']]);
    expect(condition.ElseSteps.map((s: StepJson) => [s.Name, s.Type])).toEqual([['KeepChampion', 'Fail']]);
    expect(def.Steps.some(s => s.Type === 'RegisterModel')).toBe(false);
    expect(JSON.stringify(condition.ElseSteps[0].Arguments.ErrorMessage)).toContain("OutputParameters['reason']");
  });

  test('disabled gate: snapshot → train → evaluate → compare → condition at the top level', () => {
    const { pipeline } = build({ trainingDataGate: TrainingDataGate.disabled() });
    expect(checkDefinition(pipeline._definition)).toEqual([]);
    expect(pipeline._definition.Steps.map(s => [s.Name, s.Type, s.DependsOn])).toEqual([
      ['DataSnapshot', 'Lambda', undefined],
      ['Train', 'Training', ['DataSnapshot']],
      ['Evaluate', 'Processing', ['Train']],
      ['CompareWithChampion', 'Lambda', ['Evaluate']],
      ['ChallengerBeatsChampion', 'Condition', ['CompareWithChampion']],
    ]);
  });

  test('parameters: input data, evaluation data, code version from context; the approval status is no parameter', () => {
    const { pipeline, stack } = build({ modelApprovalStatus: ModelApprovalStatus.PENDING_MANUAL_APPROVAL });
    expect(stack.resolve(pipeline._definition.Parameters)).toEqual([
      { Name: 'InputDataUri', Type: 'String', DefaultValue: { 'Fn::Join': ['', ['s3://', { Ref: expect.stringMatching(/^LakeCuratedZone/) }, '/datasets/fraud/train/']] } },
      { Name: 'EvaluationDataUri', Type: 'String', DefaultValue: expect.anything() },
      { Name: 'CodeVersion', Type: 'String', DefaultValue: 'abc1234' },
    ]);
  });

  test('registration status: PendingManualApproval by default, a literal of the definition (whoever starts a run cannot choose Approved)', () => {
    const registerArgs = (pipeline: GpuTrainingPipeline) => step(pipeline, PipelineStepNames.REGISTER).Arguments as any;
    expect(registerArgs(build().pipeline).ModelApprovalStatus).toBe('PendingManualApproval');
    const approving = build({ modelApprovalStatus: ModelApprovalStatus.APPROVED }).pipeline;
    expect(approving.modelApprovalStatus).toBe(ModelApprovalStatus.APPROVED);
    expect(registerArgs(approving).ModelApprovalStatus).toBe('Approved');
  });

  test('the compare step gets the objective, direction, margin and registry; training reads the snapshot', () => {
    const { pipeline, registry } = build();
    expect(step(pipeline, 'CompareWithChampion').Arguments).toMatchObject({
      metric: 'validation:auc', direction: 'Maximize', min_improvement: 0.005, model_package_group: registry.modelPackageGroupName,
    });
    expect(trainArgs(pipeline).InputDataConfig[0].DataSource.S3DataSource.S3Uri).toEqual({ Get: "Steps.DataSnapshot.OutputParameters['dataset_uri']" });
  });

  test('registration carries metrics and lineage: image, dataset manifest + hash, baseline, code version', () => {
    const { pipeline } = build();
    const args = step(pipeline, 'RegisterChallenger').Arguments as any;
    expect(args.ModelApprovalStatus).toBe('PendingManualApproval');
    expect(args.InferenceSpecification.Containers[0]).toEqual({ Image: IMAGE, ModelDataUrl: { Get: 'Steps.Train.ModelArtifacts.S3ModelArtifacts' } });
    expect(args.ModelMetrics.ModelQuality.Statistics.ContentType).toBe('application/json');
    expect(args.CustomerMetadataProperties).toMatchObject({
      code_version: { Get: 'Parameters.CodeVersion' },
      training_image: IMAGE,
      dataset_manifest_uri: { Get: "Steps.DataSnapshot.OutputParameters['manifest_uri']" },
      dataset_manifest_sha256: { Get: "Steps.DataSnapshot.OutputParameters['manifest_sha256']" },
      baseline_uri: { Get: "Steps.DataSnapshot.OutputParameters['baseline_uri']" },
    });
  });
});

describe('GpuTrainingPipeline lineage of runs', () => {
  const lineage = (image: string) => [
    { Key: CODE_VERSION_TAG, Value: { Get: 'Parameters.CodeVersion' } },
    { Key: IMAGE_TAG, Value: image },
    { Key: DATA_VERSION_TAG, Value: { Get: "Steps.DataSnapshot.OutputParameters['manifest_sha256']" } },
  ];
  const SERVE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serve:2.0.1';
  const EVAL = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-eval:1.0.0';

  test('every run tags its training and evaluation jobs and its model package with code version, image and data version', () => {
    const { pipeline } = build({ inferenceImage: TrainingImage.fromUri(SERVE), evaluation: { image: TrainingImage.fromUri(EVAL) } });
    expect(trainArgs(pipeline).Tags).toEqual(lineage(IMAGE));
    expect((step(pipeline, PipelineStepNames.EVALUATE).Arguments as any).Tags).toEqual(lineage(EVAL));
    expect((step(pipeline, PipelineStepNames.REGISTER).Arguments as any).Tags).toEqual(lineage(SERVE));
    // The package metadata names the same three: what the endpoint's latest-approved resource reads back.
    expect((step(pipeline, PipelineStepNames.REGISTER).Arguments as any).CustomerMetadataProperties).toMatchObject({
      code_version: { Get: 'Parameters.CodeVersion' },
      training_image: IMAGE,
      inference_image: SERVE,
      dataset_manifest_sha256: { Get: "Steps.DataSnapshot.OutputParameters['manifest_sha256']" },
    });
    expect(pipeline.image.imageUri).toBe(IMAGE);
    expect(pipeline.inferenceImage.imageUri).toBe(SERVE);
    // Each execution's parameters hold its code version and data (the loop passes CodeVersion and InputDataUri).
    expect(pipeline._definition.Parameters.map(p => p.Name)).toEqual(expect.arrayContaining(['CodeVersion', 'InputDataUri']));
  });

  test('an image URI that is no valid tag value is sanitized in the tags only', () => {
    const odd = `123456789012.dkr.ecr.us-east-1.amazonaws.com/${'team/'.repeat(55)}train:1`;
    const { pipeline } = build({ image: TrainingImage.fromUri(odd) });
    const tag = trainArgs(pipeline).Tags.find((t: any) => t.Key === IMAGE_TAG).Value;
    expect(Array.from(tag)).toHaveLength(256);
    expect(tag).toMatch(/\+sha256:[0-9a-f]{64}$/);
    expect(trainArgs(pipeline).AlgorithmSpecification.TrainingImage).toBe(odd);
  });

  test('without a code version (no context, git fallback off in tests) the CodeVersion default is "unversioned"', () => {
    const app = new App();
    const stack = new Stack(app, 'Platform');
    const lake = new DataLake(stack, 'Lake');
    const pipeline = new GpuTrainingPipeline(stack, 'Training', {
      dataLake: lake,
      registry: new ModelRegistry(stack, 'Registry'),
      image: TrainingImage.fromUri(IMAGE),
      instanceType: GpuInstanceType.ML_G5_2XLARGE,
      objective: Objective.maximize('validation:auc'),
      trainingData: TrainingData.fromDataLake(lake, DataZone.CURATED, 'datasets/fraud/train/'),
    });
    expect(pipeline._definition.Parameters.find(p => p.Name === 'CodeVersion')!.DefaultValue).toBe('unversioned');
  });
});

describe('GpuTrainingPipeline training settings', () => {
  test('GPU type, KMS on outputs; no volume key on instance types with local NVMe (g5)', () => {
    const { pipeline, stack } = build();
    const args = stack.resolve(trainArgs(pipeline));
    expect(args.ResourceConfig).toEqual({ InstanceType: 'ml.g5.2xlarge', InstanceCount: 1, VolumeSizeInGB: 100 });
    expect(args.OutputDataConfig.KmsKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^LakeKey/), 'Arn'] });
    expect(args.EnableManagedSpotTraining).toBe(false);
    expect(args.CheckpointConfig).toBeUndefined();
    expect(args.EnableNetworkIsolation).toBe(true);
    expect(args.EnableInterContainerTrafficEncryption).toBe(false);
    expect(args.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 86400 });
  });

  test('EBS-only instance types get the volume key (p3)', () => {
    const { pipeline, stack } = build({ instanceType: GpuInstanceType.ML_P3_2XLARGE, volumeSize: Size.gibibytes(250) });
    expect(stack.resolve(trainArgs(pipeline).ResourceConfig)).toEqual({
      InstanceType: 'ml.p3.2xlarge',
      InstanceCount: 1,
      VolumeSizeInGB: 250,
      VolumeKmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^LakeKey/), 'Arn'] },
    });
  });

  test('managed spot: checkpoints per execution and max wait twice the runtime', () => {
    const { pipeline, stack } = build({ spot: true, maxRuntime: Duration.hours(4) });
    const args = stack.resolve(trainArgs(pipeline));
    expect(args.EnableManagedSpotTraining).toBe(true);
    expect(args.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 14400, MaxWaitTimeInSeconds: 28800 });
    expect(args.CheckpointConfig.LocalPath).toBe('/opt/ml/checkpoints');
    expect(JSON.stringify(args.CheckpointConfig.S3Uri)).toContain('checkpoints');
    expect(JSON.stringify(args.CheckpointConfig.S3Uri)).toContain('Execution.PipelineExecutionId');
  });

  test('distributed: several instances, sharded data, encrypted traffic between them', () => {
    const { pipeline } = build({
      instanceType: GpuInstanceType.ML_P4D_24XLARGE, instanceCount: 4, distribution: TrainingDistribution.SHARDED_BY_S3_KEY,
    });
    const args = trainArgs(pipeline);
    expect(args.ResourceConfig.InstanceCount).toBe(4);
    expect(args.EnableInterContainerTrafficEncryption).toBe(true);
    expect(args.InputDataConfig[0].DataSource.S3DataSource.S3DataDistributionType).toBe('ShardedByS3Key');
  });

  test('VPC: jobs run in private subnets with a security group that admits only themselves', () => {
    const { pipeline, stack } = build({}, s => ({ vpc: new ec2.Vpc(s, 'Vpc', { maxAzs: 2 }) }));
    const vpcConfig = stack.resolve(trainArgs(pipeline).VpcConfig);
    expect(vpcConfig.Subnets).toHaveLength(2);
    expect(vpcConfig.SecurityGroupIds).toHaveLength(1);
    expect((step(pipeline, 'Evaluate').Arguments as any).NetworkConfig.VpcConfig).toBe(trainArgs(pipeline).VpcConfig);
  });

  test('experiment tracking: server ARN in the environment, logging permissions, no network isolation', () => {
    const { pipeline, stack } = build({}, (s, lake) => ({ experimentTracking: new ExperimentTracking(s, 'Tracking', { dataLake: lake }) }));
    const args = stack.resolve(trainArgs(pipeline));
    expect(args.Environment.MLFLOW_TRACKING_ARN).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Tracking/), 'TrackingServerArn'] });
    expect(args.EnableNetworkIsolation).toBe(false);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['sagemaker-mlflow:LogMetric']) })]) },
    });
  });
});

describe('GpuTrainingPipeline resources', () => {
  test('the definition ships as an S3 object written by a custom resource, never inline', () => {
    const { app, stack, pipeline } = build();
    const template = Template.fromStack(stack);
    expect(JSON.stringify(template.toJSON())).not.toContain('PipelineDefinitionBody');
    template.hasResourceProperties('AWS::SageMaker::Pipeline', {
      PipelineName: pipeline.pipelineName,
      RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TrainingPipelineRole'), 'Arn'] },
      PipelineDefinition: {
        PipelineDefinitionS3Location: {
          Bucket: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TrainingDefinition'), 'Bucket'] },
          Key: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TrainingDefinition'), 'Key'] },
        },
      },
    });
    template.hasResourceProperties('Custom::PipelineDefinition', {
      TemplateBucket: Match.anyValue(),
      TemplateKey: Match.stringLikeRegexp('\\.json$'),
      TargetPrefix: `pipelines/${pipeline.pipelineName}/definitions`,
      Substitutions: Match.objectLike({ m0: Match.anyValue() }),
    });
    // The asset holds the template: markers instead of tokens.
    const assembly = app.synth();
    const assetFile = fs.readdirSync(assembly.directory).find(f => f.startsWith('asset.') && f.endsWith('.json'))!;
    const text = fs.readFileSync(path.join(assembly.directory, assetFile), 'utf8');
    expect(text).not.toContain('${Token');
    expect(text).toContain('@@cdkml:');
    expect(JSON.parse(text).Steps.map((s: StepJson) => s.Name)).toEqual(pipeline._definition.Steps.map(s => s.Name));
  });

  test('separation of duties: the pipeline may register but not approve; jobs cannot register', () => {
    const { stack } = build();
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
    const statementsOf = (prefix: string) => Object.entries(policies).filter(([id]) => id.startsWith(prefix))
      .flatMap(([, p]: any) => p.Properties.PolicyDocument.Statement as any[]);
    const actionsOf = (prefix: string) => statementsOf(prefix).filter(s => s.Effect === 'Allow').flatMap((s: any) => [s.Action].flat());
    // The registering identity is denied approval explicitly: a later, broader policy cannot undo it.
    expect(statementsOf('TrainingPipelineRole')).toContainEqual({ Sid: 'RegistersNeverApproves', Effect: 'Deny', Action: 'sagemaker:UpdateModelPackage', Resource: '*' });
    const pipelineActions = actionsOf('TrainingPipelineRole');
    const jobActions = actionsOf('TrainingJobRole');
    expect(pipelineActions).toEqual(expect.arrayContaining(['sagemaker:CreateModelPackage', 'sagemaker:CreateTrainingJob', 'iam:PassRole', 'lambda:InvokeFunction']));
    expect(pipelineActions).not.toContain('sagemaker:UpdateModelPackage');
    expect(jobActions).not.toContain('sagemaker:CreateModelPackage');
    expect([...pipelineActions, ...jobActions].filter((a: string) => a.endsWith('*') || a === '*')).toEqual([]);
  });

  test('grantRead: describe the pipeline and its executions, read its outputs; no start, no writes', () => {
    const { stack, pipeline } = build({ pipelineName: 'fraud-training' });
    const role = new iam.Role(stack, 'Reviewer', { assumedBy: new iam.AccountRootPrincipal() });
    pipeline.grantRead(role);
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Reviewer') }] } });
    const statements = (Object.values(policies)[0] as any).Properties.PolicyDocument.Statement;
    const describe = statements.find((s: any) => [s.Action].flat().includes('sagemaker:DescribePipelineExecution'));
    expect(describe.Resource).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':pipeline/fraud-training']] },
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':pipeline/fraud-training/execution/*']] },
    ]);
    const objects = statements.find((s: any) => [s.Action].flat().includes('s3:GetObject'));
    expect(objects.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^LakeModelsZone/), 'Arn'] }, '/pipelines/fraud-training/*']] });
    const all = JSON.stringify(statements);
    expect(all).not.toMatch(/StartPipelineExecution|StopPipelineExecution|s3:PutObject|s3:DeleteObject/);
    expect(all).toContain('kms:Decrypt');
  });

  test('grantStartExecution, onExecutionStatusChange, metrics', () => {
    const { stack, pipeline } = build();
    const role = new iam.Role(stack, 'Scheduler', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
    pipeline.grantStartExecution(role);
    pipeline.onExecutionStatusChange('Status');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Scheduler') }],
      PolicyDocument: { Statement: [Match.objectLike({ Action: Match.arrayWith(['sagemaker:StartPipelineExecution']) })] },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'source': ['aws.sagemaker'], 'detail-type': ['SageMaker Model Building Pipeline Execution Status Change'] },
    });
    const m = pipeline.metricExecutionsFailed();
    expect([m.namespace, m.metricName, m.statistic]).toEqual(['AWS/Sagemaker/ModelBuildingPipeline', 'ExecutionFailed', 'Sum']);
    expect(m.dimensions).toEqual({ PipelineName: pipeline.pipelineName });
    expect(pipeline.metricExecutionsSucceeded().metricName).toBe('ExecutionSucceeded');
    expect(pipeline.metricExecutionsStarted().metricName).toBe('ExecutionStarted');
    expect(pipeline.metricExecutionDuration().statistic).toBe('Maximum');
  });

  test('baseline location is the snapshots prefix in the models zone', () => {
    const { pipeline, lake } = build();
    expect(pipeline.baseline.bucket).toBe(lake.bucket(DataZone.MODELS));
    expect(pipeline.baseline.keyPrefix).toBe(`pipelines/${pipeline.pipelineName}/snapshots/`);
  });

  test('trains from a feature store\'s offline store', () => {
    const lock = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lock-')), 'l.json');
    const app = new App({ context: { [MlPlatformContext.FEATURE_SCHEMA_LOCK_FILE]: lock, [MlPlatformContext.FROZEN_FEATURE_SCHEMAS]: 'false' } });
    const stack = new Stack(app, 'Platform');
    const lake = new DataLake(stack, 'Lake');
    const store = new FeatureStore(stack, 'Features', {
      dataLake: lake, recordIdentifier: 'id', eventTime: 't', features: [Feature.string('id'), Feature.string('t'), Feature.fractional('x')],
    });
    const pipeline = new GpuTrainingPipeline(stack, 'Training', {
      dataLake: lake,
      registry: new ModelRegistry(stack, 'Registry'),
      image: TrainingImage.fromUri(IMAGE),
      instanceType: GpuInstanceType.ML_G6_XLARGE,
      objective: Objective.minimize('validation:rmse'),
      trainingData: TrainingData.fromFeatureStore(store),
    });
    expect(stack.resolve(pipeline._definition.Parameters[0].DefaultValue)).toEqual({
      'Fn::Join': ['', ['s3://', { Ref: expect.stringMatching(/^LakeFeaturesZone/) }, `/feature-groups/${store.featureGroupName}/`]],
    });
    expect(nagFindings(app)).toEqual([]);
  });

  test('nag-clean and cfn-lint clean (with VPC, spot, distributed training and experiment tracking)', () => {
    const { app, stack } = build({ spot: true, instanceType: GpuInstanceType.ML_G5_12XLARGE, instanceCount: 2 }, (s, lake) => ({
      vpc: new ec2.Vpc(s, 'Vpc', { maxAzs: 2, restrictDefaultSecurityGroup: false }),
      experimentTracking: new ExperimentTracking(s, 'Tracking', { dataLake: lake, size: TrackingServerSize.MEDIUM }),
    }));
    const vpc = stack.node.findChild('Vpc');
    // The VPC is the test's, not ours: silence its own findings.
    Validations.of(vpc).acknowledge(
      { id: 'AwsSolutions::AwsSolutions-VPC7', reason: 'test VPC' },
      { id: 'NIST.800.53.R5::NIST.800.53.R5-VPCFlowLogsEnabled', reason: 'test VPC' },
      { id: 'NIST.800.53.R5::NIST.800.53.R5-VPCDefaultSecurityGroupClosed', reason: 'test VPC' },
      { id: 'NIST.800.53.R5::NIST.800.53.R5-VPCSubnetAutoAssignPublicIpDisabled', reason: 'test VPC' },
      { id: 'NIST.800.53.R5::NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW', reason: 'test VPC' },
    );
    expect(nagFindings(app)).toEqual([]);
    const assembly = app.synth();
    expect(cfnLint([path.join(assembly.directory, assembly.getStackByName('Platform').templateFile)])).toEqual([]);
  });

  test('nag-clean with defaults', () => {
    const { app } = build();
    expect(nagFindings(app)).toEqual([]);
  });
});

describe('GpuTrainingPipeline validation', () => {
  const fail = (props: Props, code: string, message?: RegExp) => {
    const when = () => build(props);
    expect(when).toThrow(new RegExp(`\\[GpuTrainingPipeline\\.${code}\\]`));
    expect(when).toThrow(/\(at Platform\/Training\)/);
    if (message) { expect(when).toThrow(message); }
  };

  test('InvalidInstanceType', () => fail({ instanceType: GpuInstanceType.of('g5.2xlarge') }, 'InvalidInstanceType'));
  test('NotAGpuInstance: CPU type', () => fail({ instanceType: GpuInstanceType.of('ml.m5.xlarge') }, 'NotAGpuInstance', /got 'ml\.m5\.xlarge'/));
  test('NotAGpuInstance: Inferentia', () => fail({ instanceType: GpuInstanceType.ML_INF2_XLARGE }, 'NotAGpuInstance', /Inferentia/));
  test('UnknownInstanceType: unknown size of a GPU family', () => fail({ instanceType: GpuInstanceType.of('ml.g5.3xlarge') }, 'UnknownInstanceType'));
  test('skipInstanceTypeCheck accepts an unlisted type with a warning and keeps the volume key', () => {
    const { stack, pipeline } = build({ instanceType: GpuInstanceType.of('ml.g7.2xlarge'), skipInstanceTypeCheck: true });
    Annotations.fromStack(stack).hasWarning('/Platform/Training', Match.stringLikeRegexp('ml.g7.2xlarge is not in the catalog'));
    expect(trainArgs(pipeline).ResourceConfig.VolumeKmsKeyId).toBeDefined();
  });
  test.each([0, 101, 1.5])('InvalidInstanceCount %p', n => fail({ instanceCount: n }, 'InvalidInstanceCount'));
  test('DistributedOnOneInstance: sharding', () => fail({ distribution: TrainingDistribution.SHARDED_BY_S3_KEY }, 'DistributedOnOneInstance', /ShardedByS3Key/));
  test('DistributedOnOneInstance: encryption', () => fail({ interContainerEncryption: true }, 'DistributedOnOneInstance', /interContainerEncryption/));
  test('InvalidMaxRuntime', () => fail({ maxRuntime: Duration.days(29) }, 'InvalidMaxRuntime'));
  test('SpotWithoutCheckpoints', () => fail({ spot: true, checkpoints: false }, 'SpotWithoutCheckpoints'));
  test('MaxWaitBelowRuntime', () => fail({ spot: true, maxRuntime: Duration.hours(4), maxWait: Duration.hours(3) }, 'MaxWaitBelowRuntime', /maxWait 3 hours < maxRuntime 4 hours/));
  test('MaxWaitWithoutSpot', () => fail({ maxWait: Duration.hours(3) }, 'MaxWaitWithoutSpot'));
  test('InvalidVolumeSize', () => fail({ volumeSize: Size.mebibytes(1536) }, 'InvalidVolumeSize'));
  test('ObjectiveNotEvaluated', () => fail({ evaluation: { metrics: ['validation:f1'] } }, 'ObjectiveNotEvaluated', /'validation:auc'.*got 'validation:f1'/));
  test('InvalidMinImprovement', () => fail({ objective: Objective.maximize('validation:auc', -0.1) }, 'InvalidMinImprovement'));
  test('InvalidMetricName', () => fail({ objective: Objective.maximize('bad metric'), evaluation: { metrics: ['bad metric'] } }, 'InvalidMetricName'));
  test('InvalidName', () => fail({ pipelineName: 'under_score' }, 'InvalidName'));
  test('TooManyHyperparameters', () => fail({ hyperparameters: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`h${i}`, '1'])) }, 'TooManyHyperparameters'));
  test('InvalidHyperparameter', () => fail({ hyperparameters: { big: 'x'.repeat(2501) } }, 'InvalidHyperparameter'));
  test('InvalidMetricDefinition', () => fail({ metricDefinitions: [{ name: 'loss', regex: '' }] }, 'InvalidMetricDefinition'));
  test('SubnetsWithoutVpc', () => fail({ vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } }, 'SubnetsWithoutVpc'));
  test('IsolatedTracking', () => {
    expect(() => build({ networkIsolation: true }, (s, lake) => ({ experimentTracking: new ExperimentTracking(s, 'Tracking', { dataLake: lake }) })))
      .toThrow(/\[GpuTrainingPipeline\.IsolatedTracking\]/);
  });
  test('NoOfflineStore', () => {
    const lock = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lock-')), 'l.json');
    const app = new App({ context: { [MlPlatformContext.FEATURE_SCHEMA_LOCK_FILE]: lock } });
    const stack = new Stack(app, 'Platform');
    const lake = new DataLake(stack, 'Lake');
    const store = new FeatureStore(stack, 'Features', {
      dataLake: lake, recordIdentifier: 'id', eventTime: 't', features: [Feature.string('id'), Feature.string('t')], offlineStoreEnabled: false,
    });
    expect(() => new GpuTrainingPipeline(stack, 'Training', {
      dataLake: lake,
      registry: new ModelRegistry(stack, 'Registry'),
      image: TrainingImage.fromUri(IMAGE),
      instanceType: GpuInstanceType.ML_G5_XLARGE,
      objective: Objective.maximize('auc'),
      trainingData: TrainingData.fromFeatureStore(store),
    })).toThrow(/\[GpuTrainingPipeline\.NoOfflineStore\].*\(at Platform\/Training\)/);
  });
  test('reports every problem at once', () => {
    let error: any;
    try { build({ instanceCount: 0, spot: true, checkpoints: false, pipelineName: '_x' }); } catch (e) { error = e; }
    expect(error.codes).toEqual(['GpuTrainingPipeline.InvalidInstanceCount', 'GpuTrainingPipeline.SpotWithoutCheckpoints', 'GpuTrainingPipeline.InvalidName']);
  });
});

describe('ExperimentTracking', () => {
  test('MLflow server on the lake, automatic registration off, its own role', () => {
    const app = new App();
    const stack = new Stack(app, 'Platform');
    const lake = new DataLake(stack, 'Lake');
    const tracking = new ExperimentTracking(stack, 'Tracking', { dataLake: lake, mlflowVersion: '2.16', weeklyMaintenanceWindowStart: 'Sun:03:00' });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SageMaker::MlflowTrackingServer', {
      TrackingServerName: tracking.trackingServerName,
      ArtifactStoreUri: { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('^LakeModelsZone') }, '/mlflow']] },
      AutomaticModelRegistration: false,
      TrackingServerSize: 'Small',
      MlflowVersion: '2.16',
      WeeklyMaintenanceWindowStart: 'Sun:03:00',
    });
    expect(nagFindings(app)).toEqual([]);
  });

  test.each([
    [{ trackingServerName: 'bad_name' }, 'InvalidName'],
    [{ mlflowVersion: 'latest' }, 'InvalidMlflowVersion'],
    [{ weeklyMaintenanceWindowStart: 'Sunday 3am' }, 'InvalidMaintenanceWindow'],
  ])('validation %p → %s', (props, code) => {
    const stack = new Stack(new App(), 'Platform');
    const lake = new DataLake(stack, 'Lake');
    expect(() => new ExperimentTracking(stack, 'Tracking', { dataLake: lake, ...props })).toThrow(new RegExp(`\\[ExperimentTracking\\.${code}\\]`));
  });
});

describe('GpuTrainingPipeline training-data gate', () => {
  const snapshotArgs = (pipeline: GpuTrainingPipeline) => step(pipeline, PipelineStepNames.DATA_SNAPSHOT).Arguments as any;
  const snapshotOutputs = (pipeline: GpuTrainingPipeline) =>
    (step(pipeline, PipelineStepNames.DATA_SNAPSHOT).OutputParameters as any[]).map(o => [o.OutputName, o.OutputType]);
  const registerArgs = (pipeline: GpuTrainingPipeline) => step(pipeline, PipelineStepNames.REGISTER).Arguments as any;
  const BASE_OUTPUTS = [['manifest_uri', 'String'], ['manifest_sha256', 'String'], ['baseline_uri', 'String'], ['dataset_uri', 'String'], ['record_count', 'Integer']];
  const GATE_OUTPUTS = [['gate_passed', 'Boolean'], ['gate_reason', 'String'], ['gate_report_uri', 'String']];

  test('defaults: stop, drift score 0.25, missing-rate rise 0.1', () => {
    const gate = TrainingDataGate.stop();
    expect([gate.mode, gate.maxDriftScore, gate.maxMissingRateIncrease]).toEqual([TrainingDataGateMode.STOP, 0.25, 0.1]);
    const { pipeline, registry } = build();
    expect(snapshotArgs(pipeline)).toMatchObject({
      gate_mode: 'stop', model_package_group: registry.modelPackageGroupName, max_drift_score: 0.25, max_missing_rate_increase: 0.1,
    });
    expect(snapshotArgs(pipeline).approval_status).toBeUndefined();
    expect(snapshotOutputs(pipeline)).toEqual([...BASE_OUTPUTS, ...GATE_OUTPUTS]);
  });

  test('stop: the condition tests gate_passed; the else branch fails with the reason and the report', () => {
    const { pipeline } = build({ trainingDataGate: TrainingDataGate.stop({ maxDriftScore: 0.1, maxMissingRateIncrease: 0.05 }) });
    expect(snapshotArgs(pipeline)).toMatchObject({ gate_mode: 'stop', max_drift_score: 0.1, max_missing_rate_increase: 0.05 });
    const gate = step(pipeline, PipelineStepNames.TRAINING_DATA_GATE).Arguments as any;
    expect(gate.Conditions).toEqual([{ Type: 'Equals', LeftValue: { Get: "Steps.DataSnapshot.OutputParameters['gate_passed']" }, RightValue: true }]);
    expect(step(pipeline, PipelineStepNames.REJECT_TRAINING_DATA).Arguments).toEqual({
      ErrorMessage: {
        'Std:Join': {
          On: '',
          Values: [
            'Training data rejected by the training-data gate, nothing was trained: ',
            { Get: "Steps.DataSnapshot.OutputParameters['gate_reason']" },
            ' (report: ',
            { Get: "Steps.DataSnapshot.OutputParameters['gate_report_uri']" },
            ')',
          ],
        },
      },
    });
    // Registration keeps the parameter (a failed gate never gets there) and records the gate's decision.
    expect(registerArgs(pipeline).ModelApprovalStatus).toBe('PendingManualApproval');
    expect(registerArgs(pipeline).CustomerMetadataProperties).toMatchObject({
      training_data_gate: { Get: "Steps.DataSnapshot.OutputParameters['gate_reason']" },
      training_data_gate_report: { Get: "Steps.DataSnapshot.OutputParameters['gate_report_uri']" },
    });
  });

  test('requireApproval: no gate step; a failed gate registers PendingManualApproval through the snapshot step', () => {
    const { pipeline } = build({ trainingDataGate: TrainingDataGate.requireApproval({ maxDriftScore: 0.4 }) });
    const def = pipeline._definition;
    expect(checkDefinition(def)).toEqual([]);
    expect(def.Steps.map(s => s.Name)).toEqual(['DataSnapshot', 'Train', 'Evaluate', 'CompareWithChampion', 'ChallengerBeatsChampion']);
    expect(allSteps(def.Steps).map(s => s.Name)).not.toContain(PipelineStepNames.REJECT_TRAINING_DATA);
    expect(snapshotArgs(pipeline)).toMatchObject({
      gate_mode: 'require_approval', max_drift_score: 0.4, max_missing_rate_increase: 0.1, approval_status: 'PendingManualApproval',
    });
    expect(snapshotOutputs(pipeline)).toEqual([...BASE_OUTPUTS, ...GATE_OUTPUTS, ['model_approval_status', 'String']]);
    expect(registerArgs(pipeline).ModelApprovalStatus).toEqual({ Get: "Steps.DataSnapshot.OutputParameters['model_approval_status']" });
    expect(registerArgs(pipeline).CustomerMetadataProperties).toMatchObject({
      training_data_gate: { Get: "Steps.DataSnapshot.OutputParameters['gate_reason']" },
      training_data_gate_report: { Get: "Steps.DataSnapshot.OutputParameters['gate_report_uri']" },
    });
  });

  test('disabled: no gate arguments, outputs or metadata, and no champion lookup permissions', () => {
    const { pipeline, stack } = build({ trainingDataGate: TrainingDataGate.disabled() });
    expect(Object.keys(snapshotArgs(pipeline)).sort()).toEqual(['code_version', 'execution_id', 'input_uri', 'output_uri']);
    expect(snapshotOutputs(pipeline)).toEqual(BASE_OUTPUTS);
    expect(registerArgs(pipeline).ModelApprovalStatus).toBe('PendingManualApproval');
    expect(Object.keys(registerArgs(pipeline).CustomerMetadataProperties)).not.toContain('training_data_gate');
    expect(snapshotRoleActions(stack)).not.toContain('sagemaker:ListModelPackages');
    expect(JSON.stringify(snapshotRolePolicies(stack))).not.toContain('baseline.json');
  });

  function snapshotRolePolicies(stack: Stack): any[] {
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
    return Object.entries(policies).filter(([id]) => id.startsWith('TrainingDataSnapshotFunction')).map(([, p]) => p);
  }
  function snapshotRoleActions(stack: Stack): string[] {
    return snapshotRolePolicies(stack).flatMap((p: any) => p.Properties.PolicyDocument.Statement.flatMap((st: any) => [st.Action].flat()));
  }

  test('the snapshot function may look the champion up and read only snapshot baselines of the models zone', () => {
    const { stack } = build();
    const statements = snapshotRolePolicies(stack).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['sagemaker:DescribeModelPackageGroup', 'sagemaker:ListModelPackages', 'sagemaker:DescribeModelPackage'],
      Resource: [
        { 'Fn::GetAtt': [expect.stringMatching(/^Registry/), 'ModelPackageGroupArn'] },
        { 'Fn::Join': ['', expect.arrayContaining([expect.stringMatching(/:model-package\/platform-registry-[0-9a-f]+\/\*$/)])] },
      ],
    }));
    const read = statements.find((st: any) => st.Action === 's3:GetObject' && JSON.stringify(st.Resource).includes('baseline.json'));
    expect(read.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^LakeModelsZone/), 'Arn'] }, '/pipelines/*/snapshots/*/baseline.json']] });
    expect(snapshotRoleActions(stack)).not.toContain('sagemaker:UpdateModelPackage');
  });

  test.each([
    ['requireApproval', TrainingDataGate.requireApproval()],
    ['disabled', TrainingDataGate.disabled()],
  ])('nag-clean with the gate %s', (_what, trainingDataGate) => {
    const { app } = build({ trainingDataGate });
    expect(nagFindings(app)).toEqual([]);
  });

  const failGate = (trainingDataGate: TrainingDataGate, message: RegExp) => {
    const when = () => build({ trainingDataGate });
    expect(when).toThrow(/\[GpuTrainingPipeline\.InvalidTrainingDataGate\]/);
    expect(when).toThrow(/\(at Platform\/Training\)/);
    expect(when).toThrow(message);
  };
  test.each([-0.1, Number.NaN, Number.POSITIVE_INFINITY])('InvalidTrainingDataGate: maxDriftScore %p', maxDriftScore => {
    failGate(TrainingDataGate.stop({ maxDriftScore }), /maxDriftScore .* must be a literal, finite number >= 0/);
  });
  test.each([-0.01, 1.5, Number.NaN])('InvalidTrainingDataGate: maxMissingRateIncrease %p', maxMissingRateIncrease => {
    failGate(TrainingDataGate.requireApproval({ maxMissingRateIncrease }), /maxMissingRateIncrease .* must be a literal number from 0 to 1/);
  });
  test('InvalidTrainingDataGate: a token threshold cannot ship in the definition asset', () => {
    failGate(TrainingDataGate.stop({ maxDriftScore: Token.asNumber({ Ref: 'Threshold' }) }), /got '\(an unresolved token\)'/);
  });
  test('both thresholds wrong: two problems at once; boundary values are accepted', () => {
    let error: any;
    try { build({ trainingDataGate: TrainingDataGate.stop({ maxDriftScore: -1, maxMissingRateIncrease: 2 }) }); } catch (e) { error = e; }
    expect(error.codes).toEqual(['GpuTrainingPipeline.InvalidTrainingDataGate', 'GpuTrainingPipeline.InvalidTrainingDataGate']);
    expect(() => build({ trainingDataGate: TrainingDataGate.stop({ maxDriftScore: 0, maxMissingRateIncrease: 1 }) })).not.toThrow();
    expect(() => build({ trainingDataGate: TrainingDataGate.stop({ maxMissingRateIncrease: 0 }) })).not.toThrow();
  });
});
