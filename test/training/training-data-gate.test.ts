import * as fs from 'fs';
import * as path from 'path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand, CreateModelPackageCommandInput, CreateModelPackageGroupCommand, CreatePipelineCommand, DescribeModelPackageCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  DataLake, DataZone, GpuInstanceType, GpuTrainingPipeline, ModelApprovalStatus,
  ModelRegistry, Objective, PipelineStepNames, TrainingData, TrainingImage,
} from '../../src';
import { GateReport, SnapshotEvent, snapshotDataset } from '../../src/training/data-snapshot.lambda';
import { StepJson, allSteps } from '../../src/training/pipeline-definition';
import { writeDefinition } from '../../src/training/pipeline-definition.lambda';
import { TrainingDataGate } from '../../src/training/training-data-gate';
import { MotoServer, motoClientConfig, startMoto } from '../support/moto';

/**
 * The training-data gate end to end against moto_server: the synthesized definition is rendered into S3 and
 * accepted by CreatePipeline; the DataSnapshot step's Arguments (as Pipelines evaluates them) drive the snapshot
 * handler, whose outputs feed the RegisterChallenger request or the RejectTrainingData message.
 */
const ACCOUNT = '123456789012';
const GROUP = 'fraud-detector';
let moto: MotoServer;
let s3: S3Client;
let sm: SageMakerClient;

beforeAll(async () => {
  moto = await startMoto();
  s3 = new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true });
  sm = new SageMakerClient(motoClientConfig(moto.endpoint));
  for (const bucket of ['assets', 'models', 'curated']) {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
  await sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: GROUP }));
});
afterAll(async () => { s3?.destroy(); sm?.destroy(); await moto?.stop(); });

/** Deploy-time values CloudFormation would fill in, faked: pseudo parameters, Refs and GetAtts. */
function fakeResolve(v: any): string {
  if (typeof v === 'string') { return v; }
  if (v.Ref === 'AWS::Region') { return 'us-east-1'; }
  if (v.Ref === 'AWS::AccountId') { return ACCOUNT; }
  if (v.Ref === 'AWS::Partition') { return 'aws'; }
  if (v.Ref === 'AWS::URLSuffix') { return 'amazonaws.com'; }
  if (v.Ref) { return v.Ref.toLowerCase().includes('models') ? 'models' : v.Ref.toLowerCase().includes('curated') ? 'curated' : `ref-${v.Ref.toLowerCase()}`; }
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
function evaluate(expr: any, values: Record<string, unknown>): any {
  if (expr === null || typeof expr !== 'object') { return expr; }
  if (Array.isArray(expr)) { return expr.map(e => evaluate(e, values)); }
  if (typeof expr.Get === 'string') {
    if (!(expr.Get in values)) { throw new Error(`no value for ${expr.Get}`); }
    return values[expr.Get];
  }
  if (expr['Std:Join']) { return expr['Std:Join'].Values.map((x: any) => evaluate(x, values)).join(expr['Std:Join'].On); }
  return Object.fromEntries(Object.entries(expr).map(([k, x]) => [k, evaluate(x, values)]));
}

/** Synthesizes a pipeline with `gate`, renders its definition into moto's S3, creates it in moto, returns the definition. */
async function deployedDefinition(pipelineName: string, gate: TrainingDataGate, modelApprovalStatus?: ModelApprovalStatus): Promise<any> {
  const app = new App();
  const stack = new Stack(app, 'Platform');
  const lake = new DataLake(stack, 'Lake');
  const pipeline = new GpuTrainingPipeline(stack, 'Training', {
    dataLake: lake,
    registry: new ModelRegistry(stack, 'Registry', { modelPackageGroupName: GROUP }),
    pipelineName,
    image: TrainingImage.fromUri(`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2`),
    instanceType: GpuInstanceType.ML_G5_2XLARGE,
    objective: Objective.maximize('validation:auc'),
    trainingData: TrainingData.fromDataLake(lake, DataZone.CURATED, 'datasets/fraud/train/'),
    trainingDataGate: gate,
    modelApprovalStatus,
  });
  const assembly = app.synth();
  const template = Template.fromJSON(assembly.getStackByName('Platform').template);
  const [resource] = Object.values(template.findResources('Custom::PipelineDefinition')) as any[];
  const assetFile = fs.readdirSync(assembly.directory).find(f => f.startsWith('asset.') && f.endsWith('.json'))!;
  const templateKey = `${pipelineName}/definition.template.json`;
  await s3.send(new PutObjectCommand({ Bucket: 'assets', Key: templateKey, Body: fs.readFileSync(path.join(assembly.directory, assetFile)) }));
  const written = await writeDefinition({
    TemplateBucket: 'assets',
    TemplateKey: templateKey,
    Substitutions: Object.fromEntries(Object.entries(resource.Properties.Substitutions).map(([k, v]) => [k, fakeResolve(v)])),
    TargetBucket: 'models',
    TargetPrefix: resource.Properties.TargetPrefix,
  }, s3);
  await sm.send(new CreatePipelineCommand({
    PipelineName: pipeline.pipelineName, RoleArn: `arn:aws:iam::${ACCOUNT}:role/pipeline`, PipelineDefinitionS3Location: { Bucket: written.Bucket, ObjectKey: written.Key },
  }));
  const object = await s3.send(new GetObjectCommand({ Bucket: written.Bucket, Key: written.Key }));
  return JSON.parse(await object.Body!.transformToString());
}

const stepOf = (definition: any, name: string): StepJson => allSteps(definition.Steps).find((s: StepJson) => s.Name === name)!;

/** Rows of a fraud dataset: amounts spread over 0..99 (+ shift), a merchant category. */
function fraudCsv(shift = 0, merchant?: string): string {
  const rows = ['amount,merchant,label'];
  for (let i = 0; i < 300; i++) { rows.push(`${(i * 31) % 100 + shift},${merchant ?? ['grocery', 'travel', 'online'][i % 3]},${i % 7 === 0 ? 1 : 0}`); }
  return rows.join('\n') + '\n';
}

/** Runs the DataSnapshot step of `definition` for execution `exec` on data written under `prefix`. */
async function runSnapshot(definition: any, exec: string, prefix: string, csv: string) {
  await s3.send(new PutObjectCommand({ Bucket: 'curated', Key: `${prefix}part-0.csv`, Body: csv }));
  const args = evaluate(stepOf(definition, PipelineStepNames.DATA_SNAPSHOT).Arguments, {
    'Parameters.InputDataUri': `s3://curated/${prefix}`,
    'Parameters.CodeVersion': 'git-1',
    'Execution.PipelineExecutionId': exec,
  }) as SnapshotEvent;
  return snapshotDataset(args, { s3, sagemaker: sm, sleep: async () => undefined });
}

/** The RegisterChallenger request as Pipelines evaluates it after `snapshot`, registered in moto. */
async function register(definition: any, exec: string, snapshot: Record<string, unknown>) {
  const outputs = Object.fromEntries(Object.entries(snapshot).map(([k, v]) => [`Steps.DataSnapshot.OutputParameters['${k}']`, v]));
  const request = evaluate(stepOf(definition, PipelineStepNames.REGISTER).Arguments, {
    ...outputs,
    'Parameters.CodeVersion': 'git-1',
    'Execution.PipelineExecutionId': exec,
    'Execution.PipelineExecutionArn': `arn:aws:sagemaker:us-east-1:${ACCOUNT}:pipeline/x/execution/${exec}`,
    'Steps.Train.ModelArtifacts.S3ModelArtifacts': `s3://models/artifacts/${exec}/model.tar.gz`,
    "Steps.CompareWithChampion.OutputParameters['challenger_value']": '0.9',
    "Steps.CompareWithChampion.OutputParameters['champion_package_arn']": 'none',
  }) as CreateModelPackageCommandInput;
  const { ModelPackageArn } = await sm.send(new CreateModelPackageCommand(request));
  return sm.send(new DescribeModelPackageCommand({ ModelPackageName: ModelPackageArn }));
}

test('requireApproval end to end: the first model is approved; poisoned data registers its model for a human, with the reason', async () => {
  // A team that releases better models directly (modelApprovalStatus APPROVED) unless the data gate objects.
  const definition = await deployedDefinition('fraud-gated', TrainingDataGate.requireApproval(), ModelApprovalStatus.APPROVED);

  // First run: no champion yet, the gate passes and the model is registered Approved with its baseline.
  const first = await runSnapshot(definition, 'exec-1', 'datasets/fraud/train/', fraudCsv());
  expect(first).toMatchObject({ gate_passed: true, model_approval_status: 'Approved', gate_reason: `no champion baseline: no Approved model package in ${GROUP}` });
  const champion = await register(definition, 'exec-1', { ...first });
  expect(champion.ModelApprovalStatus).toBe('Approved');
  expect(champion.CustomerMetadataProperties).toMatchObject({
    baseline_uri: 's3://models/pipelines/fraud-gated/snapshots/exec-1/baseline.json',
    training_data_gate: first.gate_reason,
    training_data_gate_report: 's3://models/pipelines/fraud-gated/snapshots/exec-1/gate.json',
  });

  // Second run: shifted amounts and one merchant; the gate fails against the champion's baseline.
  const second = await runSnapshot(definition, 'exec-2', 'datasets/fraud/poisoned/', fraudCsv(500, 'online'));
  expect(second).toMatchObject({ gate_passed: false, model_approval_status: 'PendingManualApproval' });
  expect(second.gate_reason).toMatch(/^training data drifted from the champion's baseline: PSI above 0\.25 on amount \([\d.]+\), merchant \([\d.]+\)$/);
  const challenger = await register(definition, 'exec-2', { ...second });
  expect(challenger.ModelApprovalStatus).toBe('PendingManualApproval');
  expect(challenger.CustomerMetadataProperties).toMatchObject({
    training_data_gate: second.gate_reason,
    training_data_gate_report: 's3://models/pipelines/fraud-gated/snapshots/exec-2/gate.json',
  });
  const report: GateReport = JSON.parse(await (await s3.send(new GetObjectCommand({
    Bucket: 'models', Key: 'pipelines/fraud-gated/snapshots/exec-2/gate.json',
  }))).Body!.transformToString());
  expect(report).toMatchObject({
    mode: 'require_approval',
    championPackageArn: champion.ModelPackageArn,
    championBaselineUri: champion.CustomerMetadataProperties!.baseline_uri,
    decision: 'fail',
    driftedFeatures: ['amount', 'merchant'],
    modelApprovalStatus: 'PendingManualApproval',
  });
});

test('stop end to end: the condition sees gate_passed false and the Fail step carries the reason and the report', async () => {
  const definition = await deployedDefinition('fraud-stopped', TrainingDataGate.stop());
  const failed = await runSnapshot(definition, 'exec-9', 'datasets/fraud/poisoned-2/', fraudCsv(500, 'online'));
  expect(failed.gate_passed).toBe(false);
  const outputs = Object.fromEntries(Object.entries(failed).map(([k, v]) => [`Steps.DataSnapshot.OutputParameters['${k}']`, v]));
  const gate = stepOf(definition, PipelineStepNames.TRAINING_DATA_GATE).Arguments as any;
  const [condition] = evaluate(gate.Conditions, outputs);
  expect(condition.LeftValue === condition.RightValue).toBe(false); // Equals false: the else branch runs
  expect(gate.IfSteps.map((s: StepJson) => s.Name)).toContain(PipelineStepNames.TRAIN);
  expect(evaluate(stepOf(definition, PipelineStepNames.REJECT_TRAINING_DATA).Arguments, outputs)).toEqual({
    ErrorMessage: `Training data rejected by the training-data gate, nothing was trained: ${failed.gate_reason} ` +
      '(report: s3://models/pipelines/fraud-stopped/snapshots/exec-9/gate.json)',
  });
});
