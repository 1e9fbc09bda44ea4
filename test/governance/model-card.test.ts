import * as path from 'path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import {
  DataLake, DataZone, GpuInstanceType, GpuTrainingPipeline, MlPlatformContext, ModelEndpoint, ModelRegistry, ModelSource, Objective, TrainingData,
  TrainingImage,
} from '../../src';
import { CODE_VERSION_TAG, COMPONENT_TAG } from '../../src/core/lineage';
import { ModelCard, ModelCardProps, ModelCardRiskRating, ModelCardStatus } from '../../src/governance/model-card';
import { cfnLint } from '../support/cfn-lint';
import { nagFindings } from '../support/nag';

const TRAIN_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2';
const SERVE_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serve:1.4.2';
const USES = { intendedUses: 'Scores card transactions for manual fraud review; not for automatic declines.' };
type Props = Partial<ModelCardProps>;

function build(props: Props = {}, context?: Record<string, unknown>) {
  const app = new App({ context });
  const stack = new Stack(app, 'Governance');
  const card = new ModelCard(stack, 'FraudCard', { intendedUses: USES, riskRating: ModelCardRiskRating.MEDIUM, ...props });
  return { app, stack, card, template: () => Template.fromStack(stack) };
}

/** A platform: lake, registry, training pipeline and endpoint, and a card over them. */
function platform(props: Props = {}, context?: Record<string, unknown>) {
  const app = new App({ context });
  const stack = new Stack(app, 'Platform');
  const lake = new DataLake(stack, 'Lake');
  const registry = new ModelRegistry(stack, 'Registry');
  const pipeline = new GpuTrainingPipeline(stack, 'Training', {
    dataLake: lake,
    registry,
    image: TrainingImage.fromUri(TRAIN_IMAGE),
    inferenceImage: TrainingImage.fromUri(SERVE_IMAGE),
    instanceType: GpuInstanceType.ML_G5_2XLARGE,
    objective: Objective.maximize('validation:auc', 0.005),
    trainingData: TrainingData.fromDataLake(lake, DataZone.CURATED, 'datasets/fraud/train/'),
    evaluationData: TrainingData.fromDataLake(lake, DataZone.CURATED, 'datasets/fraud/test/'),
  });
  const endpoint = new ModelEndpoint(stack, 'Endpoint', { dataLake: lake, model: ModelSource.fromLatestApproved(registry) });
  const card = new ModelCard(stack, 'Card', {
    modelName: 'fraud-detector',
    description: 'Gradient-boosted trees over transaction features.',
    owner: 'fraud-ml team',
    intendedUses: { ...USES, purpose: 'Reduce fraud losses.', factors: 'Trained on EU card-present transactions only.' },
    riskRating: ModelCardRiskRating.HIGH,
    riskRatingExplanation: 'Wrong scores delay legitimate payments; every decline is reviewed by a person.',
    problemType: 'Binary classification',
    algorithmType: 'XGBoost',
    ethicalConsiderations: 'No protected attributes are features; disparate impact is monitored monthly.',
    caveatsAndRecommendations: 'Retrain when the drift alarm fires.',
    pipeline,
    endpoint,
    ...props,
  });
  return { app, stack, lake, registry, pipeline, endpoint, card, template: () => Template.fromStack(stack) };
}

function cardResource(t: Template): any {
  const [resource] = Object.values(t.findResources('AWS::SageMaker::ModelCard')) as any[];
  return resource;
}

describe('ModelCard content', () => {
  test('what the user supplies: intended uses and risk rating; a draft by default, retained, tagged', () => {
    const { template, card } = build();
    const resource = cardResource(template());
    expect(resource.Properties.ModelCardStatus).toBe('Draft');
    expect(resource.Properties.Content).toEqual({
      IntendedUses: { IntendedUses: USES.intendedUses, RiskRating: 'Medium' },
    });
    expect(resource.Properties.SecurityConfig).toBeUndefined();
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(resource.UpdateReplacePolicy).toBe('Retain');
    expect(resource.Properties.Tags).toEqual([{ Key: COMPONENT_TAG, Value: 'model-card' }]);
    expect(card.status).toBe(ModelCardStatus.DRAFT);
  });

  test('what it derives: pipeline images, data and objective, the registry\'s group, the endpoint, the code version', () => {
    const { template, stack, pipeline, registry, endpoint } = platform({}, { [MlPlatformContext.CODE_VERSION]: 'v1.4.2' });
    const t = template();
    const content = stack.resolve(cardResource(t).Properties.Content);
    expect(content).toEqual({
      ModelOverview: {
        ModelName: 'fraud-detector',
        ModelDescription: 'Gradient-boosted trees over transaction features.',
        ModelOwner: 'fraud-ml team',
        ProblemType: 'Binary classification',
        AlgorithmType: 'XGBoost',
        InferenceEnvironment: { ContainerImage: [SERVE_IMAGE] },
      },
      IntendedUses: {
        PurposeOfModel: 'Reduce fraud losses.',
        IntendedUses: USES.intendedUses,
        FactorsAffectingModelEfficiency: 'Trained on EU card-present transactions only.',
        RiskRating: 'High',
        ExplanationsForRiskRating: 'Wrong scores delay legitimate payments; every decline is reviewed by a person.',
      },
      TrainingDetails: {
        ObjectiveFunction: {
          Function: { Function: 'Maximize', Facet: 'validation:auc' },
          Notes: expect.stringMatching(/^Maximize validation:auc .*better by more than 0\.005\.$/),
        },
        TrainingJobDetails: {
          TrainingDatasets: [{ 'Fn::Join': ['', ['s3://', { Ref: expect.stringMatching(/^LakeCuratedZone/) }, '/datasets/fraud/train/']] }],
          TrainingEnvironment: { ContainerImage: [TRAIN_IMAGE] },
        },
      },
      ModelPackageDetails: { ModelPackageGroupName: stack.resolve(registry.modelPackageGroupName) },
      AdditionalInformation: {
        EthicalConsiderations: 'No protected attributes are features; disparate impact is monitored monthly.',
        CaveatsAndRecommendations: 'Retrain when the drift alarm fires.',
        CustomDetails: { code_version: 'v1.4.2', training_pipeline: pipeline.pipelineName, endpoint_name: endpoint.endpointName },
      },
    });
    expect(cardResource(t).Properties.Tags).toEqual(expect.arrayContaining([{ Key: CODE_VERSION_TAG, Value: 'v1.4.2' }]));
  });

  test('the registry defaults to the endpoint\'s and names the model; an explicit registry wins', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const lake = new DataLake(stack, 'Lake');
    const registry = new ModelRegistry(stack, 'Registry');
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { dataLake: lake, model: ModelSource.fromLatestApproved(registry) });
    new ModelCard(stack, 'Card', { intendedUses: USES, riskRating: ModelCardRiskRating.LOW, endpoint });
    const other = new ModelRegistry(stack, 'Other');
    new ModelCard(stack, 'OtherCard', { intendedUses: USES, riskRating: ModelCardRiskRating.LOW, endpoint, registry: other });
    const cards = Template.fromStack(stack).findResources('AWS::SageMaker::ModelCard') as any;
    const byId = (prefix: string) => stack.resolve((Object.entries(cards).find(([id]) => id.startsWith(prefix))![1] as any).Properties.Content);
    expect(byId('Card').ModelPackageDetails).toEqual({ ModelPackageGroupName: stack.resolve(registry.modelPackageGroupName) });
    expect(byId('Card').ModelOverview.ModelName).toEqual(stack.resolve(registry.modelPackageGroupName));
    expect(byId('OtherCard').ModelPackageDetails).toEqual({ ModelPackageGroupName: stack.resolve(other.modelPackageGroupName) });
  });

  test('a long objective metric stays out of Facet (at most 63 characters) and in the notes', () => {
    const metric = `validation:${'m'.repeat(60)}`;
    const app = new App();
    const stack = new Stack(app, 'S');
    const lake = new DataLake(stack, 'Lake');
    const pipeline = new GpuTrainingPipeline(stack, 'Training', {
      dataLake: lake,
      registry: new ModelRegistry(stack, 'Registry'),
      image: TrainingImage.fromUri(TRAIN_IMAGE),
      instanceType: GpuInstanceType.ML_G5_2XLARGE,
      objective: Objective.minimize(metric),
      evaluation: { metrics: [metric] },
      trainingData: TrainingData.fromDataLake(lake, DataZone.CURATED, 'train/'),
    });
    new ModelCard(stack, 'Card', { intendedUses: USES, riskRating: ModelCardRiskRating.LOW, pipeline });
    const fn = cardResource(Template.fromStack(stack)).Properties.Content.TrainingDetails.ObjectiveFunction;
    expect(fn.Function).toEqual({ Function: 'Minimize' });
    expect(fn.Notes).toContain(metric);
  });

  test('encryption key: SecurityConfig (create-only)', () => {
    const { template, stack } = build({}, undefined);
    const key = new kms.Key(stack, 'CardKey', { enableKeyRotation: true });
    new ModelCard(stack, 'Encrypted', { intendedUses: USES, riskRating: ModelCardRiskRating.LOW, encryptionKey: key });
    template().hasResourceProperties('AWS::SageMaker::ModelCard', { SecurityConfig: { KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CardKey'), 'Arn'] } } });
  });

  test('name: generated from the construct path (valid, at most 63 characters, stable), or given', () => {
    const { template, card } = build();
    const name = cardResource(template()).Properties.ModelCardName;
    expect(name).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toBe(cardResource(build().template()).Properties.ModelCardName);
    expect(card.modelCardName).toEqual(expect.any(String));
    // A long path still fits.
    const app = new App();
    const deep = new Stack(app, 'A-very-long-stack-name-for-the-fraud-detection-platform-governance');
    const card2 = new ModelCard(deep, 'TheModelCardOfTheFraudDetectorThatScoresEveryCardTransaction', { intendedUses: USES, riskRating: ModelCardRiskRating.LOW });
    const long = cardResource(Template.fromStack(deep)).Properties.ModelCardName;
    expect(long).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
    expect(card2.node.path.length).toBeGreaterThan(63);
    // Renaming the construct gives a new name (a new card).
    const renamed = new App();
    const s = new Stack(renamed, 'Governance');
    new ModelCard(s, 'Renamed', { intendedUses: USES, riskRating: ModelCardRiskRating.MEDIUM });
    expect(cardResource(Template.fromStack(s)).Properties.ModelCardName).not.toBe(name);
    const given = build({ modelCardName: 'fraud-detector-card' });
    expect(cardResource(given.template()).Properties.ModelCardName).toBe('fraud-detector-card');
  });

  test('status approved with owner and rating; archived warns and stops recording the code version', () => {
    const approved = build({ status: ModelCardStatus.APPROVED, owner: 'fraud-ml team' });
    approved.template().hasResourceProperties('AWS::SageMaker::ModelCard', { ModelCardStatus: 'Approved' });
    const archived = build({ status: ModelCardStatus.ARCHIVED }, { [MlPlatformContext.CODE_VERSION]: 'v9' });
    const resource = cardResource(archived.template());
    expect(resource.Properties.ModelCardStatus).toBe('Archived');
    expect(resource.Properties.Content.AdditionalInformation).toBeUndefined();
    Annotations.fromStack(archived.stack).hasWarning('/Governance/FraudCard', Match.stringLikeRegexp('archived: SageMaker rejects any later change'));
  });

  test('removal policy: DESTROY needs the second key', () => {
    expect(() => build({ removalPolicy: RemovalPolicy.DESTROY })).toThrow(/\[ModelCard\.DestroyRequiresOptIn\]/);
    const { template } = build({ removalPolicy: RemovalPolicy.DESTROY }, { [MlPlatformContext.REMOVE_DATA_ON_DESTROY]: true });
    expect(cardResource(template()).DeletionPolicy).toBe('Delete');
  });
});

describe('ModelCard compliance', () => {
  test('nag-clean and cfn-lint clean (the schema validates Content)', () => {
    const { app } = platform({ status: ModelCardStatus.PENDING_REVIEW }, { [MlPlatformContext.CODE_VERSION]: 'v1.4.2' });
    const plain = new Stack(app, 'Plain');
    new ModelCard(plain, 'Card', {
      intendedUses: USES, riskRating: ModelCardRiskRating.LOW, encryptionKey: new kms.Key(plain, 'Key', { enableKeyRotation: true }),
    });
    expect(nagFindings(app)).toEqual([]);
    const assembly = app.synth();
    expect(cfnLint(['Platform', 'Plain'].map(s => path.join(assembly.directory, assembly.getStackByName(s).templateFile)))).toEqual([]);
  });
});

describe('ModelCard validation', () => {
  const fail = (props: Props, code: string, message?: RegExp) => {
    const when = () => build(props);
    expect(when).toThrow(new RegExp(`\\[ModelCard\\.${code}\\]`));
    if (message) { expect(when).toThrow(message); }
  };
  test('MissingIntendedUse: empty text', () => fail({ intendedUses: { intendedUses: '  ' } }, 'MissingIntendedUse', /got '  '.*\(at Governance\/FraudCard\)/));
  test('MissingIntendedUse: no intendedUses at all (JavaScript callers)', () => fail({ intendedUses: undefined as any }, 'MissingIntendedUse', /got 'no intendedUses'/));
  test('MissingIntendedUse: an approved card without intended uses', () => fail({ status: ModelCardStatus.APPROVED, owner: 'team', intendedUses: { intendedUses: '' } }, 'MissingIntendedUse'));
  test('HighRiskWithoutExplanation', () => fail({ riskRating: ModelCardRiskRating.HIGH }, 'HighRiskWithoutExplanation'));
  test('HighRiskWithoutExplanation: blank explanation', () => fail({ riskRating: ModelCardRiskRating.HIGH, riskRatingExplanation: ' ' }, 'HighRiskWithoutExplanation'));
  test('InvalidRiskRating', () => fail({ riskRating: 'Severe' as any }, 'InvalidRiskRating', /got 'Severe'/));
  test('InvalidStatus', () => fail({ status: 'Published' as any }, 'InvalidStatus'));
  test.each([ModelCardStatus.PENDING_REVIEW, ModelCardStatus.APPROVED])('UnratedForReview: %s with risk UNKNOWN', status =>
    fail({ status, owner: 'team', riskRating: ModelCardRiskRating.UNKNOWN }, 'UnratedForReview'));
  test('NoOwnerForReview: approved without owner', () => fail({ status: ModelCardStatus.APPROVED }, 'NoOwnerForReview'));
  test('a draft may be unrated and unowned', () => expect(() => build({ riskRating: ModelCardRiskRating.UNKNOWN })).not.toThrow());
  test.each([
    ['intendedUses.intendedUses', { intendedUses: { intendedUses: 'x'.repeat(2049) } }],
    ['intendedUses.purpose', { intendedUses: { ...USES, purpose: 'x'.repeat(2049) } }],
    ['intendedUses.factors', { intendedUses: { ...USES, factors: 'x'.repeat(2049) } }],
    ['riskRatingExplanation', { riskRatingExplanation: 'x'.repeat(2049) }],
    ['ethicalConsiderations', { ethicalConsiderations: 'x'.repeat(2049) }],
    ['caveatsAndRecommendations', { caveatsAndRecommendations: 'x'.repeat(2049) }],
    ['modelName', { modelName: 'x'.repeat(1025) }],
    ['description', { description: 'x'.repeat(1025) }],
    ['owner', { owner: 'x'.repeat(1025) }],
    ['problemType', { problemType: 'x'.repeat(1025) }],
    ['algorithmType', { algorithmType: 'x'.repeat(1025) }],
  ] as Array<[string, Props]>)('TextTooLong: %s', (field, props) =>
    fail(props, 'TextTooLong', new RegExp(`${field.replace('.', '\\.')} is at most \\d+ characters, got \\d+;`)));
  test('texts at their maximum length are accepted', () => {
    expect(() => build({ intendedUses: { intendedUses: 'x'.repeat(2048) }, description: 'd'.repeat(1024) })).not.toThrow();
  });
  test('InvalidName', () => fail({ modelCardName: 'fraud_card' }, 'InvalidName'));
  test('reports every problem at once', () => {
    expect(() => build({ intendedUses: { intendedUses: '' }, riskRating: ModelCardRiskRating.HIGH, owner: 'x'.repeat(1025) }))
      .toThrow(/3 problems with ModelCard input:[\s\S]*MissingIntendedUse[\s\S]*HighRiskWithoutExplanation[\s\S]*TextTooLong/);
  });
});
