import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  ContinuousTraining, ContinuousTrainingProps, ContinuousTrainingStates, DataLake, DataZone, DriftMonitor, GpuInstanceType, GpuTrainingPipeline,
  ModelApprovalStatus, ModelEndpoint, ModelRegistry, ModelSource, Objective,
  PredictionHealthMonitor, PromotionApproval, RetrainTrigger, TrainingData, TrainingImage,
} from '../../src';
import { cfnLint } from '../support/cfn-lint';
import { nagFindings } from '../support/nag';

const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2';

function build(props: Partial<ContinuousTrainingProps> = {}, opts: { endpoint?: boolean } = {}) {
  const app = new App();
  const stack = new Stack(app, 'Platform', { env: { account: '123456789012', region: 'us-east-1' } });
  const lake = new DataLake(stack, 'Lake');
  const registry = new ModelRegistry(stack, 'Registry', { modelPackageGroupName: 'fraud' });
  const pipeline = new GpuTrainingPipeline(stack, 'Training', {
    dataLake: lake,
    registry,
    image: TrainingImage.fromUri(IMAGE),
    instanceType: GpuInstanceType.ML_G5_2XLARGE,
    objective: Objective.maximize('validation:auc', 0.005),
    trainingData: TrainingData.fromDataLake(lake, DataZone.CURATED, 'datasets/fraud/train/'),
  });
  const endpoint = opts.endpoint === false ? undefined : new ModelEndpoint(stack, 'Endpoint', { dataLake: lake, model: ModelSource.fromLatestApproved(registry) });
  const drift = endpoint ? new DriftMonitor(stack, 'Drift', { endpoint }) : undefined;
  const health = endpoint ? new PredictionHealthMonitor(stack, 'Health', { endpoint, minScore: 0, maxScore: 1 }) : undefined;
  const loop = new ContinuousTraining(stack, 'Loop', {
    pipeline,
    endpoint,
    triggers: [...drift ? [RetrainTrigger.onDrift(drift)] : [], RetrainTrigger.every(Duration.days(7)), RetrainTrigger.manual()],
    ...props,
  });
  return { app, stack, lake, registry, pipeline, endpoint, drift, health, loop, template: () => Template.fromStack(stack) };
}

function definition(t: Template): any {
  const [, sm] = Object.entries<any>(t.findResources('AWS::StepFunctions::StateMachine')).find(([logicalId]) => logicalId.startsWith('LoopStateMachine'))!;
  const body = sm.Properties.DefinitionString;
  // Fn::Join of strings and tokens: replace the tokens by a marker to parse the JSON.
  const text = typeof body === 'string' ? body : body['Fn::Join'][1].map((p: unknown) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  return JSON.parse(text);
}
function envOf(t: Template, description: RegExp): Record<string, unknown> {
  const fn = (Object.values(t.findResources('AWS::Lambda::Function')) as any[]).find(f => description.test(f.Properties.Description ?? ''));
  return fn.Properties.Environment.Variables;
}

describe('ContinuousTraining state machine', () => {
  test('states: admit → start → poll → evaluate → promote → deployment → bake → finish, with rollback and error paths', () => {
    const { template } = build();
    const def = definition(template());
    const S = ContinuousTrainingStates;
    expect(def.StartAt).toBe(S.INIT);
    expect(def.TimeoutSeconds).toBe(86400 + 6 * 3600 + 3600);
    expect(def.States[S.INIT]).toMatchObject({ Type: 'Pass', Parameters: { 'runId.$': '$$.Execution.Id', 'startedAt.$': '$$.Execution.StartTime', 'event.$': '$' }, Next: S.ADMIT });
    expect(def.States[S.ADMIT]).toMatchObject({
      Type: 'Task',
      Next: 'Admitted?',
      TimeoutSeconds: 180,
      ResultPath: '$',
      Parameters: { 'task': 'admit', 'state.$': '$' },
      Resource: 'TOKEN',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: S.FINISH_AFTER_ERROR }],
    });
    expect(def.States[S.ADMIT].Retry).toEqual(expect.arrayContaining([
      expect.objectContaining({ ErrorEquals: expect.arrayContaining(['Lambda.ServiceException']), MaxAttempts: 6 }),
      expect.objectContaining({
        ErrorEquals: ['ThrottledError', 'Lambda.TooManyRequestsException', 'States.Timeout'], IntervalSeconds: 30, MaxAttempts: 4, BackoffRate: 2, JitterStrategy: 'FULL',
      }),
    ]));
    expect(def.States['Admitted?']).toEqual({
      Type: 'Choice', Choices: [{ Variable: '$.admitted', BooleanEquals: true, Next: S.START_PIPELINE }], Default: S.FINISH,
    });
    expect(def.States[S.START_PIPELINE].Next).toBe(S.WAIT_PIPELINE);
    expect(def.States[S.WAIT_PIPELINE]).toEqual({ Type: 'Wait', Seconds: 300, Next: S.PIPELINE_STATUS });
    expect(def.States['PipelineDone?'].Choices[0]).toEqual({
      Or: [{ Variable: '$.pipelineStatus', StringEquals: 'Executing' }, { Variable: '$.pipelineStatus', StringEquals: 'Stopping' }], Next: S.WAIT_PIPELINE,
    });
    expect(def.States['PipelineDone?'].Default).toBe(S.EVALUATE);
    expect(def.States['Promote?']).toEqual({ Type: 'Choice', Choices: [{ Variable: '$.decision', StringEquals: 'promote', Next: S.PROMOTE }], Default: S.FINISH });
    expect(def.States[S.PROMOTE].Retry).toEqual(expect.arrayContaining([
      expect.objectContaining({ ErrorEquals: ['EndpointBusyError'], IntervalSeconds: 300, MaxAttempts: 12 }),
    ]));
    expect(def.States['Deployed?'].Choices).toEqual([
      { Variable: '$.deploymentStatus', StringEquals: 'deploying', Next: S.WAIT_DEPLOYMENT },
      { Variable: '$.deploymentStatus', StringEquals: 'in-service', Next: S.WAIT_BAKE },
    ]);
    expect(def.States['Deployed?'].Default).toBe(S.FINISH);
    expect(def.States['Healthy?'].Choices[0]).toEqual({ Variable: '$.alarm', IsPresent: true, Next: S.ROLLBACK });
    expect(def.States['Healthy?'].Default).toBe(S.WAIT_BAKE);
    expect(def.States[S.ROLLBACK].Next).toBe(S.FINISH);
    expect(def.States[S.FINISH].Next).toBe(S.DONE);
    expect(def.States[S.FINISH_AFTER_ERROR].Next).toBe(S.FAILED);
    expect(def.States[S.FINISH_AFTER_ERROR].Catch).toBeUndefined();
    expect(def.States[S.FAILED]).toMatchObject({ Type: 'Fail', Error: 'ContinuousTrainingRunFailed' });
    // every task but the error path's finish is caught
    for (const [name, state] of Object.entries<any>(def.States)) {
      if (state.Type === 'Task' && name !== S.FINISH_AFTER_ERROR) { expect(state.Catch?.[0]?.Next).toBe(S.FINISH_AFTER_ERROR); }
    }
  });

  test('without an endpoint there is no promotion, no deploy function', () => {
    const { template, loop } = build({}, { endpoint: false });
    const def = definition(template());
    expect(def.States[ContinuousTrainingStates.PROMOTE]).toBeUndefined();
    expect(def.States['Promote?'].Choices).toBeUndefined();
    expect(loop.deployFunction).toBeUndefined();
  });

  test('the state machine logs (ALL) and traces; its table is encrypted, point-in-time recoverable and retained', () => {
    const t = build().template();
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true }, LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
    t.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        SSESpecification: Match.objectLike({ SSEEnabled: true, SSEType: 'KMS' }),
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect((Object.values(t.findResources('AWS::DynamoDB::Table'))[0] as any).Properties.TableName).toBeUndefined();
  });
});

describe('ContinuousTraining configuration of the handlers', () => {
  test('environment: loop name, pipeline, group, objective, debounce, budget, bake, endpoint and its rollback alarms', () => {
    const { template, loop, endpoint } = build({ minInterval: Duration.hours(2), maxRunsPerPeriod: 3, budgetPeriod: Duration.days(1), codeVersion: 'v1.2.3' });
    const t = template();
    const env = envOf(t, /continuous-training control/);
    expect(env).toMatchObject({
      LOOP_NAME: 'Platform/Loop',
      LOOP_MODEL_PACKAGE_GROUP: 'fraud',
      LOOP_OBJECTIVE_METRIC: 'validation:auc',
      LOOP_OBJECTIVE_DIRECTION: 'Maximize',
      LOOP_MIN_IMPROVEMENT: '0.005',
      LOOP_MIN_INTERVAL_SECONDS: '7200',
      LOOP_MAX_RUNS_PER_PERIOD: '3',
      LOOP_BUDGET_PERIOD_SECONDS: '86400',
      LOOP_APPROVAL: 'automatic',
      LOOP_CODE_VERSION: 'v1.2.3',
      LOOP_BAKE_SECONDS: '3600',
      LOOP_ENDPOINT_NAME: endpoint!.endpointName,
      LOOP_AUDIT_PREFIX: 'audit/continuous-training/Platform/Loop/',
    });
    // 2 built-in + 3 prediction health alarms, by name
    const alarms = JSON.stringify(env.LOOP_ROLLBACK_ALARMS);
    expect((alarms.match(/Ref/g) ?? []).length).toBe(5);
    expect(loop.loopName).toBe('Platform/Loop');
  });

  test('manual approval', () => {
    const env = envOf(build({ approval: PromotionApproval.MANUAL }).template(), /continuous-training control/);
    expect(env.LOOP_APPROVAL).toBe('manual');
  });

  test('least privilege: the control role starts the pipeline and approves; the deploy role updates only this endpoint and passes only its role', () => {
    const t = build().template();
    const policies = (Object.values(t.findResources('AWS::IAM::Policy')) as any[]);
    const of = (re: RegExp) => JSON.stringify(policies
      .filter(p => re.test(JSON.stringify(p.Properties.Roles))).map(p => p.Properties.PolicyDocument));
    const control = of(/LoopControlFunction/);
    expect(control).toContain('sagemaker:StartPipelineExecution');
    expect(control).toContain('sagemaker:UpdateModelPackage');
    expect(control).not.toContain('sagemaker:UpdateEndpoint');
    const deploy = of(/LoopDeployFunction/);
    expect(deploy).toContain('sagemaker:UpdateEndpoint');
    expect(deploy).toContain('iam:PassRole');
    expect(deploy).toContain('cloudwatch:DescribeAlarms');
    expect(deploy).not.toContain('sagemaker:StartPipelineExecution');
    expect(control).toContain('"events:source":"cdk-ml-platform.continuous-training"');
  });

  test('triggers: the drift alarm, a weekly schedule and manual requests for this loop start the state machine', () => {
    const { template, drift } = build();
    const t = template();
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'source': ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'], 'detail': { state: { value: ['ALARM'] } } },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('LoopStateMachine') }, RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 } })],
    });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(7 days)', Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('LoopStateMachine') } })] });
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'source': ['cdk-ml-platform.continuous-training'], 'detail-type': ['Retrain requested'], 'detail': { loop: ['Platform/Loop'] } },
    });
    expect(drift).toBeDefined();
  });

  test('onDecision and grantRequestRetrain', () => {
    const { stack, loop } = build();
    loop.onDecision('Decisions');
    const user = new iam.Role(stack, 'Scientist', { assumedBy: new iam.AccountRootPrincipal() });
    loop.grantRequestRetrain(user);
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'source': ['cdk-ml-platform.continuous-training'], 'detail-type': ['Continuous training decision'], 'detail': { loop: ['Platform/Loop'] } },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('Scientist') }],
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'events:PutEvents', Condition: { StringEquals: { 'events:source': 'cdk-ml-platform.continuous-training', 'events:detail-type': 'Retrain requested' } } })] },
    });
    void events;
  });

  test('nag-clean and cfn-lint clean', () => {
    const { app } = build();
    expect(nagFindings(app)).toEqual([]);
    const assembly = app.synth();
    expect(cfnLint([path.join(assembly.directory, assembly.getStackByName('Platform').templateFile)])).toEqual([]);
  });
});

describe('ContinuousTraining validation', () => {
  const fail = (props: Partial<ContinuousTrainingProps>, code: string) =>
    expect(() => build(props)).toThrow(new RegExp(`\\[ContinuousTraining\\.${code}\\].*\\(at Platform/Loop\\)`));
  test('each branch', () => {
    fail({ triggers: [] }, 'NoTriggers');
    fail({ triggers: [RetrainTrigger.manual(), RetrainTrigger.manual()] }, 'DuplicateTrigger');
    fail({ triggers: [RetrainTrigger.every(Duration.minutes(30))] }, 'InvalidSchedule');
    fail({ maxRunsPerPeriod: 0 }, 'InvalidBudget');
    fail({ budgetPeriod: Duration.minutes(10) }, 'InvalidBudget');
    fail({ bakeTime: Duration.seconds(10) }, 'InvalidBakeTime');
    fail({ pipelinePollInterval: Duration.hours(2) }, 'InvalidPollInterval');
    fail({ maxPipelineDuration: Duration.days(60) }, 'InvalidMaxPipelineDuration');
    fail({ codeVersion: 'bad;value' }, 'InvalidCodeVersion');
    fail({ registry: ModelRegistry.fromModelRegistryAttributes(new Stack(), 'Other', { modelPackageGroupArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package-group/other' }) }, 'RegistryMismatch');
  });
  test('PipelineApprovesItself: the loop needs challengers registered pending approval', () => {
    const stack = new Stack(new App(), 'Platform', { env: { account: '123456789012', region: 'us-east-1' } });
    const lake = new DataLake(stack, 'Lake');
    const pipeline = new GpuTrainingPipeline(stack, 'Training', {
      dataLake: lake,
      registry: new ModelRegistry(stack, 'Registry', { modelPackageGroupName: 'fraud' }),
      image: TrainingImage.fromUri(IMAGE),
      instanceType: GpuInstanceType.ML_G5_2XLARGE,
      objective: Objective.maximize('validation:auc', 0.005),
      trainingData: TrainingData.fromDataLake(lake, DataZone.CURATED, 'datasets/fraud/train/'),
      modelApprovalStatus: ModelApprovalStatus.APPROVED,
    });
    expect(() => new ContinuousTraining(stack, 'Loop', { pipeline, triggers: [RetrainTrigger.manual()] }))
      .toThrow(/\[ContinuousTraining\.PipelineApprovesItself\].*\(at Platform\/Loop\)/);
  });
});
