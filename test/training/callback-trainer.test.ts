import { App, Duration, Size, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  DataLake, DataZone, GpuInstanceType, GpuTrainingPipeline, GpuTrainingPipelineProps, ICallbackTrainer, MlPlatformContext, ModelRegistry,
  Objective, PipelineStepNames, TrainingData, TrainingImage,
} from '../../src';
import { allSteps, checkDefinition } from '../../src/training/pipeline-definition';
import { cfnLint, findTemplates } from '../support/cfn-lint';

const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train@sha256:' + 'a'.repeat(64);

/** A trainer of our own: a queue, and a grant on it (what any ICallbackTrainer must offer). */
class QueueTrainer implements ICallbackTrainer {
  public readonly callbackQueueUrl: string;
  public readonly trainerDescription = 'an external trainer';
  constructor(private readonly queue: sqs.Queue) { this.callbackQueueUrl = queue.queueUrl; }
  public grantSendMessages(grantee: iam.IGrantable): iam.Grant { return this.queue.grantSendMessages(grantee); }
}

function build(props: Partial<GpuTrainingPipelineProps> = {}) {
  const app = new App({ context: { [MlPlatformContext.CODE_VERSION]: 'abc1234' } });
  const stack = new Stack(app, 'Platform');
  const lake = new DataLake(stack, 'Lake');
  const queue = new sqs.Queue(stack, 'Queue', { enforceSSL: true });
  const trainer = new QueueTrainer(queue);
  const pipeline = new GpuTrainingPipeline(stack, 'Training', {
    dataLake: lake,
    registry: new ModelRegistry(stack, 'Registry'),
    image: TrainingImage.fromUri(IMAGE),
    objective: Objective.maximize('validation:auc', 0.005),
    trainingData: TrainingData.fromDataLake(lake, DataZone.CURATED, 'datasets/fraud/train/'),
    callbackTrainer: trainer,
    ...props,
  });
  return { app, stack, pipeline, queue, trainer };
}

describe('GpuTrainingPipeline with a callbackTrainer', () => {
  test('Train is a Callback step to the trainer\'s queue; the rest of the graph is unchanged and consistent', () => {
    const { stack, pipeline, queue } = build();
    expect(checkDefinition(pipeline._definition)).toEqual([]);
    const steps = allSteps(pipeline._definition.Steps);
    expect(steps.map(s => [s.Name, s.Type])).toEqual([
      ['DataSnapshot', 'Lambda'], ['TrainingDataGate', 'Condition'], ['Train', 'Callback'], ['Evaluate', 'Processing'],
      ['CompareWithChampion', 'Lambda'], ['ChallengerBeatsChampion', 'Condition'], ['RegisterChallenger', 'RegisterModel'],
      ['KeepChampion', 'Fail'], ['RejectTrainingData', 'Fail'],
    ]);
    const train = steps.find(s => s.Name === PipelineStepNames.TRAIN)!;
    expect(stack.resolve(train.SqsQueueUrl)).toEqual(stack.resolve(queue.queueUrl));
    expect(train.Arguments).toEqual({
      InputDataUri: { Get: "Steps.DataSnapshot.OutputParameters['dataset_uri']" },
      OutputUri: expect.objectContaining({ 'Std:Join': expect.objectContaining({ On: '/' }) }),
      CodeVersion: { Get: 'Parameters.CodeVersion' },
    });
    expect(pipeline.callbackTrainer).toBeDefined();
    // The queue URL is a deploy-time value: it travels as a substitution of the definition asset.
    Template.fromStack(stack).hasResourceProperties('AWS::SageMaker::Pipeline', {
      PipelineDescription: 'GPU training on an external trainer with a challenger/champion gate on validation:auc (cdk-ml-platform)',
    });
  });

  test('the pipeline role may send to the queue and may not start SageMaker training jobs; cfn-lint is clean', () => {
    const { app, stack, pipeline, queue } = build();
    const t = Template.fromStack(stack);
    const roleId = stack.resolve((pipeline.pipelineRole.node.defaultChild as any).logicalId);
    const policies = Object.values(t.findResources('AWS::IAM::Policy')).filter((p: any) => JSON.stringify(p.Properties.Roles).includes(roleId));
    const statements = policies.flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const onQueue = statements.filter((s: any) => JSON.stringify(s.Resource) === JSON.stringify(stack.resolve(queue.queueArn)));
    expect(onQueue.flatMap((s: any) => [].concat(s.Action))).toContain('sqs:SendMessage');
    const json = JSON.stringify(policies);
    expect(json).toContain('sqs:SendMessage');
    expect(json).not.toContain('sagemaker:CreateTrainingJob');
    expect(json).toContain('sagemaker:CreateProcessingJob');
    expect(cfnLint(findTemplates(app.synth().directory))).toEqual([]);
  });

  test('checkDefinition: a step property that the referenced kind of step does not have is a problem', () => {
    const { pipeline } = build();
    const def = pipeline._definition;
    const withRef = (ref: string) => ({ ...def, Steps: [...def.Steps, { Name: 'Probe', Type: 'Fail' as const, Arguments: { ErrorMessage: { Get: ref } } }] });
    expect(checkDefinition(withRef("Steps.Train.OutputParameters['ModelArtifacts']"))).toEqual([]);
    expect(checkDefinition(withRef('Steps.Train.ModelArtifacts.S3ModelArtifacts')))
      .toEqual([expect.stringMatching(/reads ModelArtifacts of Callback step 'Train', which only Training steps have/)]);
    expect(checkDefinition(withRef("Steps.Train.OutputParameters['Nope']")))
      .toEqual([expect.stringMatching(/reads output 'Nope' that Callback step 'Train' does not declare/)]);
    expect(checkDefinition(withRef("Steps.Evaluate.OutputParameters['x']")))
      .toEqual([expect.stringMatching(/Processing step 'Evaluate' does not declare/)]);
  });

  test('[GpuTrainingPipeline.TrainerConflict] SageMaker job settings with a callbackTrainer, all named', () => {
    expect(() => build({
      instanceType: GpuInstanceType.ML_G5_2XLARGE, spot: true, volumeSize: Size.gibibytes(50), maxRuntime: Duration.hours(2),
    })).toThrow(/\[GpuTrainingPipeline\.TrainerConflict\].*instanceType, spot, volumeSize, maxRuntime.*Platform\/Training/s);
  });

  test('[GpuTrainingPipeline.NoInstanceType] neither instanceType nor callbackTrainer', () => {
    expect(() => build({ callbackTrainer: undefined })).toThrow(/\[GpuTrainingPipeline\.NoInstanceType\].*Platform\/Training/s);
  });
});
