import * as fs from 'fs';
import * as path from 'path';
import { App, NestedStack, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import {
  DataZone, GpuInstanceType, MlPlatform, ModelCardRiskRating, Objective, PlatformModelOptions, RetrainTrigger, TrainingData, TrainingImage,
} from '../../src';
import { MlPlatformError } from '../../src/core/errors';
import { cfnLint, findTemplates } from '../support/cfn-lint';
import { addAllPacks, nagFindings } from '../support/nag';

process.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = '20';

const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train@sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

function modelOptions(platform: MlPlatform, name = 'fraud'): PlatformModelOptions {
  return {
    image: TrainingImage.fromUri(IMAGE),
    instanceType: GpuInstanceType.ML_G5_2XLARGE,
    objective: Objective.maximize('validation:auc', 0.005),
    trainingData: TrainingData.fromDataLake(platform.dataLake, DataZone.CURATED, `datasets/${name}/train/`),
  };
}

function build(props: ConstructorParameters<typeof MlPlatform>[2] = {}, context: Record<string, unknown> = {}) {
  const app = new App({ context: { 'cdk-ml-platform:codeVersion': 'v1.0.0', ...context } });
  const stack = new Stack(app, 'Ml');
  const platform = new MlPlatform(stack, 'Platform', props);
  return { app, stack, platform };
}

const nestedTemplate = (model: { node: any }) => Template.fromStack(NestedStack.of(model as any) as NestedStack);

describe('MlPlatform', () => {
  test('defaults: lake, audit trail, personas and cost report in the stack; each model in a nested stack of its own', () => {
    const { stack, platform } = build();
    const fraud = platform.addModel('fraud', modelOptions(platform));
    const parent = Template.fromStack(stack);
    parent.resourceCountIs('AWS::CloudFormation::Stack', 1);
    parent.resourceCountIs('AWS::CloudTrail::Trail', 1);
    parent.resourceCountIs('AWS::Glue::Database', 1);
    // Three persona roles with the model's grants.
    expect(Object.keys(parent.findResources('AWS::IAM::Role')).filter(id => /^PlatformPersonas/.test(id))).toHaveLength(3);
    // The model's parts, in the nested stack.
    expect(Stack.of(fraud.pipeline)).toBeInstanceOf(NestedStack);
    expect(Stack.of(fraud.pipeline)).not.toBe(stack);
    const model = nestedTemplate(fraud.pipeline);
    model.resourceCountIs('AWS::SageMaker::ModelPackageGroup', 1);
    model.resourceCountIs('AWS::SageMaker::Pipeline', 1);
    model.resourceCountIs('AWS::SageMaker::Endpoint', 1);
    expect(Object.keys(model.findResources('AWS::StepFunctions::StateMachine')).filter(id => id.includes('LoopStateMachine'))).toHaveLength(1);
    model.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({ InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 2 })],
      DataCaptureConfig: Match.objectLike({ EnableCapture: true }),
    });
    model.hasResourceProperties('AWS::SageMaker::Endpoint', {
      DeploymentConfig: Match.objectLike({ BlueGreenUpdatePolicy: Match.objectLike({ TrafficRoutingConfiguration: Match.objectLike({ Type: 'CANARY' }) }) }),
    });
    expect(fraud.driftMonitor).toBeDefined();
    expect(fraud.predictionHealth).toBeDefined();
    expect(fraud.loop).toBeDefined();
    expect(platform.model('fraud')).toBe(fraud);
    expect(platform.models).toEqual([fraud]);
  });

  test('addModel: another model gets its own nested stack and the personas get its grants', () => {
    const { stack, platform } = build();
    platform.addModel('fraud', modelOptions(platform));
    const churn = platform.addModel('churn', { ...modelOptions(platform, 'churn'), serving: { enabled: false } });
    Template.fromStack(stack).resourceCountIs('AWS::CloudFormation::Stack', 2);
    expect(churn.endpoint).toBeUndefined();
    expect(churn.loop).toBeUndefined();
    nestedTemplate(churn.pipeline).resourceCountIs('AWS::SageMaker::Endpoint', 0);
    // The data scientist may start both pipelines.
    const policies = JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Policy'));
    expect(policies).toContain('sagemaker:StartPipelineExecution');
    expect(platform.models.map(m => m.node.scope!.node.id)).toEqual(['fraud', 'churn']);
  });

  test('every default can be overridden and every part is reachable', () => {
    const { platform } = build({ auditTrail: false, personas: false, modelStacks: false, dataLake: {} });
    const fraud = platform.addModel('fraud', {
      ...modelOptions(platform),
      serving: { deployment: undefined, variants: undefined, rollbackThresholds: { maxP99LatencyMs: 150 } },
      monitoring: { drift: false, minScore: 0, maxScore: 1 },
      retraining: { triggers: [RetrainTrigger.manual()], maxRunsPerPeriod: 2 },
      modelCard: { intendedUses: { intendedUses: 'Ranking for review' }, riskRating: ModelCardRiskRating.LOW },
    });
    expect(platform.auditTrail).toBeUndefined();
    expect(platform.personas).toBeUndefined();
    expect(Stack.of(fraud.pipeline)).toBe(Stack.of(platform));
    expect(fraud.driftMonitor).toBeUndefined();
    expect(fraud.predictionHealth).toBeDefined();
    expect(fraud.modelCard).toBeDefined();
  });

  test('coded errors with the construct path', () => {
    const { platform } = build();
    platform.addModel('fraud', modelOptions(platform));
    const expectCode = (fn: () => unknown, code: string, at: string) => {
      let error: unknown;
      try { fn(); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(MlPlatformError);
      expect((error as MlPlatformError).codes).toContain(code);
      expect((error as MlPlatformError).constructPath).toBe(at);
    };
    expectCode(() => platform.addModel('fraud', modelOptions(platform)), 'MlPlatform.DuplicateModel', 'Ml/Platform');
    expectCode(() => platform.addModel('9lives', modelOptions(platform)), 'MlPlatform.InvalidModelId', 'Ml/Platform');
    expectCode(() => platform.model('nope'), 'MlPlatform.UnknownModel', 'Ml/Platform');
    expectCode(() => platform.addModel('trained-only', { ...modelOptions(platform), serving: { enabled: false }, retraining: { enabled: true } }),
      'PlatformModel.RetrainingWithoutServing', 'Ml/Platform/trained-only/Model');
    expectCode(() => platform.addModel('no-serving', { ...modelOptions(platform), serving: { enabled: false }, monitoring: { drift: true } }),
      'PlatformModel.MonitoringWithoutServing', 'Ml/Platform/no-serving/Model');
    expectCode(() => platform.addModel('no-drift', { ...modelOptions(platform), monitoring: { drift: false } }),
      'PlatformModel.NoDriftTrigger', 'Ml/Platform/no-drift/Model');
  });

  test('clean under AwsSolutions, NIST 800-53 R5 and MlOpsChecks; cfn-lint clean (nested stacks included)', () => {
    const { app, platform } = build();
    platform.addModel('fraud', modelOptions(platform));
    expect(nagFindings(app, addAllPacks)).toEqual([]);
    const templates = findTemplates(app.outdir);
    expect(templates.length).toBeGreaterThanOrEqual(2);
    expect(cfnLint(templates)).toEqual([]);
  });
});

describe('MlPlatform scale', () => {
  test('100 models synthesize with every template under 500 resources and 1 MB', () => {
    const { app, platform } = build({ auditTrail: true });
    for (let i = 0; i < 100; i++) {
      platform.addModel(`model-${i}`, { ...modelOptions(platform, `m${i}`), serving: { enabled: i % 2 === 0 } });
    }
    const assembly = app.synth();
    const templates = findTemplates(assembly.directory);
    expect(templates.length).toBe(101);
    // The personas' grants do not grow with the models: no overflow policies, inline policies far below IAM's
    // 10,240-character limit per role.
    const parent = assembly.getStackByName('Ml').template;
    const personaPolicies = Object.entries<any>(parent.Resources).filter(([id, r]) => id.startsWith('PlatformPersonas')
      && (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy'));
    expect(personaPolicies.filter(([, r]) => r.Type === 'AWS::IAM::ManagedPolicy')).toEqual([]);
    for (const [, policy] of personaPolicies) {
      expect(JSON.stringify(policy.Properties.PolicyDocument).length).toBeLessThan(6000);
    }
    for (const file of templates) {
      const text = fs.readFileSync(file, 'utf8');
      const resources = Object.keys(JSON.parse(text).Resources ?? {}).length;
      expect({ file: path.basename(file), resources, tooMany: resources > 500, tooLarge: Buffer.byteLength(text) > 1_000_000 })
        .toEqual({ file: path.basename(file), resources, tooMany: false, tooLarge: false });
    }
  });
});
