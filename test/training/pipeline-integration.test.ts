import * as fs from 'fs';
import * as path from 'path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand, CreateModelPackageCommandInput, CreateModelPackageGroupCommand, CreatePipelineCommand, DescribeModelPackageCommand,
  DescribePipelineCommand, DescribePipelineExecutionCommand, ListModelPackagesCommand, SageMakerClient, StartPipelineExecutionCommand,
  UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DataLake, DataZone, GpuInstanceType, GpuTrainingPipeline, ModelRegistry, Objective, PipelineStepNames, TrainingData, TrainingImage } from '../../src';
import { compareWithChampion } from '../../src/training/compare-with-champion.lambda';
import { StepJson, allSteps } from '../../src/training/pipeline-definition';
import { writeDefinition } from '../../src/training/pipeline-definition.lambda';
import { MotoServer, motoClientConfig, startMoto } from '../support/moto';

/**
 * The synthesized pipeline against moto_server through the real AWS SDK clients: the definition template
 * (the asset) is rendered by the definition handler into S3, SageMaker CreatePipeline reads it from there,
 * an execution starts, and a challenger is registered, approved and then compared by the step handler.
 */
const ACCOUNT = '123456789012';
let moto: MotoServer;
let s3: S3Client;
let sm: SageMakerClient;

beforeAll(async () => {
  moto = await startMoto();
  s3 = new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true });
  sm = new SageMakerClient(motoClientConfig(moto.endpoint));
});
afterAll(async () => { s3?.destroy(); sm?.destroy(); await moto?.stop(); });

/** Deploy-time values CloudFormation would fill in, faked: pseudo parameters, Refs and GetAtts. */
function fakeResolve(v: any): string {
  if (typeof v === 'string') { return v; }
  if (v.Ref === 'AWS::Region') { return 'us-east-1'; }
  if (v.Ref === 'AWS::AccountId') { return ACCOUNT; }
  if (v.Ref === 'AWS::Partition') { return 'aws'; }
  if (v.Ref === 'AWS::URLSuffix') { return 'amazonaws.com'; }
  if (v.Ref) { return v.Ref.toLowerCase().includes('zone') ? 'models' : `ref-${v.Ref.toLowerCase()}`; }
  if (v['Fn::GetAtt']) {
    const [id, attr] = v['Fn::GetAtt'];
    if (attr === 'Arn' && /Role/.test(id)) { return `arn:aws:iam::${ACCOUNT}:role/${id}`; }
    if (attr === 'Arn' && /Function/.test(id)) { return `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${id}`; }
    if (attr === 'Arn' && /Key/.test(id)) { return `arn:aws:kms:us-east-1:${ACCOUNT}:key/${id}`; }
    return `arn:aws:sagemaker:us-east-1:${ACCOUNT}:${attr.toLowerCase()}/${id.toLowerCase()}`;
  }
  if (v['Fn::Join']) { const [sep, parts] = v['Fn::Join']; return parts.map(fakeResolve).join(sep); }
  throw new Error(`cannot fake ${JSON.stringify(v)}`);
}

/** What SageMaker Pipelines does to expressions at run time, for the values this test knows. */
function evaluate(expr: any, values: Record<string, string>): any {
  if (expr === null || typeof expr !== 'object') { return expr; }
  if (Array.isArray(expr)) { return expr.map(e => evaluate(e, values)); }
  if (typeof expr.Get === 'string') {
    if (!(expr.Get in values)) { throw new Error(`no value for ${expr.Get}`); }
    return values[expr.Get];
  }
  if (expr['Std:Join']) { return expr['Std:Join'].Values.map((x: any) => evaluate(x, values)).join(expr['Std:Join'].On); }
  return Object.fromEntries(Object.entries(expr).map(([k, x]) => [k, evaluate(x, values)]));
}

test('CreatePipeline with the synthesized definition, StartPipelineExecution, register, approve, compare', async () => {
  // GIVEN the synthesized app
  const app = new App();
  const stack = new Stack(app, 'Platform');
  const lake = new DataLake(stack, 'Lake');
  const registry = new ModelRegistry(stack, 'Registry', { modelPackageGroupName: 'fraud-detector' });
  const pipeline = new GpuTrainingPipeline(stack, 'Training', {
    dataLake: lake,
    registry,
    pipelineName: 'fraud-training',
    image: TrainingImage.fromUri(`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2`),
    instanceType: GpuInstanceType.ML_G5_2XLARGE,
    objective: Objective.maximize('validation:auc', 0.01),
    trainingData: TrainingData.fromDataLake(lake, DataZone.CURATED, 'datasets/fraud/train/'),
    spot: true,
  });
  const assembly = app.synth();
  const template = Template.fromJSON(assembly.getStackByName('Platform').template);
  const [definitionResource] = Object.values(template.findResources('Custom::PipelineDefinition')) as any[];
  const assetFile = fs.readdirSync(assembly.directory).find(f => f.startsWith('asset.') && f.endsWith('.json'))!;

  // WHEN the definition handler renders the asset into the models bucket (as the custom resource does)
  await s3.send(new CreateBucketCommand({ Bucket: 'assets' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'models' }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: 'models', VersioningConfiguration: { Status: 'Enabled' } }));
  await s3.send(new PutObjectCommand({ Bucket: 'assets', Key: 'definition.template.json', Body: fs.readFileSync(path.join(assembly.directory, assetFile)) }));
  const substitutions = Object.fromEntries(Object.entries(definitionResource.Properties.Substitutions).map(([k, v]) => [k, fakeResolve(v)]));
  const written = await writeDefinition({
    TemplateBucket: 'assets',
    TemplateKey: 'definition.template.json',
    Substitutions: substitutions,
    TargetBucket: 'models',
    TargetPrefix: definitionResource.Properties.TargetPrefix,
  }, s3);

  // THEN SageMaker accepts it from S3, as CloudFormation's PipelineDefinitionS3Location hands it over
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/pipeline`;
  await sm.send(new CreatePipelineCommand({
    PipelineName: pipeline.pipelineName,
    RoleArn: roleArn,
    PipelineDefinitionS3Location: { Bucket: written.Bucket, ObjectKey: written.Key },
  }));
  const described = await sm.send(new DescribePipelineCommand({ PipelineName: pipeline.pipelineName }));
  expect(described.PipelineArn).toMatch(/:pipeline\/fraud-training$/);
  expect(described.RoleArn).toBe(roleArn);
  // moto parses the S3 object as JSON at CreatePipeline (so it is valid JSON) but returns it as an object,
  // not the string SageMaker returns; read what it was given from S3 instead.
  const object = await s3.send(new GetObjectCommand({ Bucket: written.Bucket, Key: written.Key }));
  const definition = JSON.parse(await object.Body!.transformToString());
  expect(definition.Version).toBe('2020-12-01');
  expect(allSteps(definition.Steps).map((s: StepJson) => s.Name)).toEqual([
    'DataSnapshot', 'TrainingDataGate', 'Train', 'Evaluate', 'CompareWithChampion', 'ChallengerBeatsChampion', 'RegisterChallenger', 'KeepChampion',
    'RejectTrainingData',
  ]);
  expect(JSON.stringify(definition)).not.toMatch(/@@cdkml:|\$\{Token/);
  const train = allSteps(definition.Steps).find((s: StepJson) => s.Name === PipelineStepNames.TRAIN)!.Arguments as any;
  expect(train.RoleArn).toMatch(/^arn:aws:iam::123456789012:role\/TrainingJobRole/);
  expect(train.EnableManagedSpotTraining).toBe(true);

  const execution = await sm.send(new StartPipelineExecutionCommand({
    PipelineName: pipeline.pipelineName, PipelineParameters: [{ Name: 'CodeVersion', Value: 'git-9f8e7d6' }],
  }));
  expect(execution.PipelineExecutionArn).toMatch(/pipeline\/fraud-training\/execution\//);
  const status = await sm.send(new DescribePipelineExecutionCommand({ PipelineExecutionArn: execution.PipelineExecutionArn }));
  expect(status.PipelineExecutionStatus).toBeDefined();

  // AND the register step's request, as Pipelines evaluates it, registers a model package that can be approved
  await sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: 'fraud-detector' }));
  const evaluationUri = (exec: string) => `s3://models/pipelines/fraud-training/evaluations/${exec}/evaluation.json`;
  const putEvaluation = (exec: string, auc: number) => s3.send(new PutObjectCommand({
    Bucket: 'models', Key: `pipelines/fraud-training/evaluations/${exec}/evaluation.json`, Body: JSON.stringify({ metrics: { 'validation:auc': { value: auc } } }),
  }));
  await putEvaluation('exec-1', 0.91);
  const register = allSteps(definition.Steps).find((s: StepJson) => s.Name === PipelineStepNames.REGISTER)!.Arguments;
  const request = evaluate(register, {
    'Parameters.CodeVersion': 'git-9f8e7d6',
    'Execution.PipelineExecutionId': 'exec-1',
    'Execution.PipelineExecutionArn': execution.PipelineExecutionArn!,
    'Steps.Train.ModelArtifacts.S3ModelArtifacts': 's3://models/pipelines/fraud-training/artifacts/exec-1/output/model.tar.gz',
    "Steps.DataSnapshot.OutputParameters['dataset_uri']": 's3://curated/datasets/fraud/train/',
    "Steps.DataSnapshot.OutputParameters['manifest_uri']": 's3://models/pipelines/fraud-training/snapshots/exec-1/manifest.json',
    "Steps.DataSnapshot.OutputParameters['manifest_sha256']": 'e'.repeat(64),
    "Steps.DataSnapshot.OutputParameters['baseline_uri']": 's3://models/pipelines/fraud-training/snapshots/exec-1/baseline.json',
    "Steps.DataSnapshot.OutputParameters['gate_reason']": 'no champion baseline: no Approved model package in fraud-detector',
    "Steps.DataSnapshot.OutputParameters['gate_report_uri']": 's3://models/pipelines/fraud-training/snapshots/exec-1/gate.json',
    "Steps.CompareWithChampion.OutputParameters['challenger_value']": '0.91',
    "Steps.CompareWithChampion.OutputParameters['champion_package_arn']": 'none',
  }) as CreateModelPackageCommandInput;
  expect(request.ModelMetrics!.ModelQuality!.Statistics!.S3Uri).toBe(evaluationUri('exec-1'));
  const created = await sm.send(new CreateModelPackageCommand(request));
  const pkg = await sm.send(new DescribeModelPackageCommand({ ModelPackageName: created.ModelPackageArn }));
  expect(pkg.CustomerMetadataProperties).toMatchObject({ code_version: 'git-9f8e7d6', dataset_manifest_sha256: 'e'.repeat(64) });
  await sm.send(new UpdateModelPackageCommand({ ModelPackageArn: created.ModelPackageArn, ModelApprovalStatus: 'Approved' }));
  const approved = await sm.send(new ListModelPackagesCommand({ ModelPackageGroupName: 'fraud-detector', ModelApprovalStatus: 'Approved' }));
  expect(approved.ModelPackageSummaryList!.map(p => p.ModelPackageArn)).toEqual([created.ModelPackageArn]);

  // AND the compare step measures the next challengers against this registered champion
  const compareArgs = allSteps(definition.Steps).find((s: StepJson) => s.Name === PipelineStepNames.COMPARE)!.Arguments as any;
  const compare = async (exec: string, auc: number) => {
    await putEvaluation(exec, auc);
    return compareWithChampion(evaluate(compareArgs, { 'Execution.PipelineExecutionId': exec }), { sagemaker: sm, s3 });
  };
  expect(await compare('exec-2', 0.95)).toMatchObject({ is_better: true, champion_value: '0.91', champion_package_arn: created.ModelPackageArn });
  expect(await compare('exec-3', 0.915)).toMatchObject({ is_better: false });
  expect(await compare('exec-4', Number.NaN)).toMatchObject({ is_better: false });
});
