import { App, Arn, ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  ContinuousTraining, DataLake, DataZone, Feature, FeatureStore, GpuInstanceType, GpuTrainingPipeline,
  ModelEndpoint, ModelRegistry, ModelSource, Objective, RetrainTrigger, TrainingData, TrainingImage,
} from '../../src';
import { Personas, PersonasProps } from '../../src/governance/personas';
import { Decision, RequestContext, arnOf, evaluate, roleLogicalId, statementsForRole } from '../support/iam-eval';
import { nagFindingsFor } from '../support/nag';

const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2';
const PACKAGE = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detector/3';

/** A whole platform in `stack`: lake, feature store, registry, pipeline, endpoint, continuous training, personas. */
function definePlatform(stack: Stack, props: Partial<PersonasProps> = {}, opts: { personas?: boolean } = {}) {
  const lake = new DataLake(stack, 'Lake');
  const features = new FeatureStore(stack, 'Features', {
    dataLake: lake,
    recordIdentifier: 'transaction_id',
    eventTime: 'event_time',
    features: [Feature.string('transaction_id'), Feature.string('event_time'), Feature.fractional('amount')],
  });
  const registry = new ModelRegistry(stack, 'Registry', { modelPackageGroupName: 'fraud' });
  const pipeline = new GpuTrainingPipeline(stack, 'Training', {
    dataLake: lake,
    registry,
    pipelineName: 'fraud-training',
    image: TrainingImage.fromUri(IMAGE),
    instanceType: GpuInstanceType.ML_G5_2XLARGE,
    objective: Objective.maximize('validation:auc', 0.005),
    trainingData: TrainingData.fromDataLake(lake, DataZone.CURATED, 'datasets/fraud/train/'),
  });
  const endpoint = new ModelEndpoint(stack, 'Endpoint', { dataLake: lake, endpointName: 'fraud', model: ModelSource.fromLatestApproved(registry) });
  const loop = new ContinuousTraining(stack, 'Loop', { pipeline, endpoint, triggers: [RetrainTrigger.every(Duration.days(7)), RetrainTrigger.manual()] });
  const personas = opts.personas === false ? undefined : new Personas(stack, 'Personas', {
    dataLake: lake, featureStores: [features], pipelines: [pipeline], endpoints: [endpoint], continuousTraining: [loop], ...props,
  });
  return { lake, features, registry, pipeline, endpoint, loop, personas: personas! };
}

function build(props: Partial<PersonasProps> = {}, opts: { personas?: boolean } = {}) {
  const app = new App();
  const stack = new Stack(app, 'Platform', { env: { account: '123456789012', region: 'us-east-1' } });
  return { app, stack, ...definePlatform(stack, props, opts) };
}

type Platform = ReturnType<typeof build>;

/** Stable names of the platform's resources, as the evaluator renders them. */
function resources(p: Platform) {
  const arn = (value: string) => arnOf(p.stack, value);
  const sagemaker = (resource: string, name: string) => arn(p.stack.formatArn({ service: 'sagemaker', resource, resourceName: name }));
  const machineName = Arn.split(p.loop.stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName;
  return {
    rawObject: arn(p.lake.bucket(DataZone.RAW).arnForObjects('events/2026/11/30/batch.json')),
    curatedObject: arn(p.lake.bucket(DataZone.CURATED).arnForObjects('datasets/fraud/train/part-0.parquet')),
    curatedBucket: arn(p.lake.bucket(DataZone.CURATED).bucketArn),
    featuresObject: arn(p.lake.bucket(DataZone.FEATURES).arnForObjects('feature-groups/any/data.parquet')),
    monitoringObject: arn(p.lake.bucket(DataZone.MONITORING).arnForObjects('capture/fraud/primary/2026/11/30/10/a.jsonl')),
    pipelineOutput: arn(p.lake.bucket(DataZone.MODELS).arnForObjects('pipelines/fraud-training/exec-1/evaluation/evaluation.json')),
    otherModelsObject: arn(p.lake.bucket(DataZone.MODELS).arnForObjects('pipelines/other/exec-1/model.tar.gz')),
    lakeKey: arn(p.lake.encryptionKey.keyArn),
    featureGroup: arn(p.features.featureGroupArn),
    otherFeatureGroup: sagemaker('feature-group', 'someone-elses'),
    pipeline: arn(p.pipeline.pipelineArn),
    execution: `${arn(p.pipeline.pipelineArn)}/execution/abc123`,
    group: arn(p.registry.modelPackageGroupArn),
    modelPackage: sagemaker('model-package', 'fraud/3'),
    otherGroupPackage: sagemaker('model-package', 'other/1'),
    endpoint: arn(p.endpoint.endpointArn),
    otherEndpoint: sagemaker('endpoint', 'other'),
    newConfig: sagemaker('endpoint-config', 'fraud-run42'),
    cfnConfig: arn((p.endpoint.node.findChild('EndpointConfig') as any).ref),
    otherConfig: sagemaker('endpoint-config', 'other-run42'),
    newModel: sagemaker('model', 'fraud-run42'),
    endpointRole: arn(p.endpoint.role.roleArn),
    jobRole: arn(p.pipeline.role.roleArn),
    eventBus: arn(p.stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })),
    loopExecution: `${arn(p.stack.formatArn({ service: 'states', resource: 'execution', resourceName: machineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME }))}:run-1`,
  };
}

type Persona = 'dataScientist' | 'mlEngineer' | 'dataEngineer';
type Row = [Persona, string, keyof ReturnType<typeof resources>, Decision, RequestContext?];

const VIA_S3: RequestContext = { 'kms:ViaService': 's3.us-east-1.amazonaws.com' };
const RETRAIN: RequestContext = { 'events:source': 'cdk-ml-platform.continuous-training', 'events:detail-type': 'Retrain requested' };
const TO_SAGEMAKER: RequestContext = { 'iam:PassedToService': 'sagemaker.amazonaws.com' };

const TABLE: Row[] = [
  // --- DataScientist: read curated/features, start pipelines, read the registry; cannot approve or deploy ---
  ['dataScientist', 's3:GetObject', 'curatedObject', 'allow'],
  ['dataScientist', 's3:ListBucket', 'curatedBucket', 'allow'],
  ['dataScientist', 's3:GetObject', 'featuresObject', 'allow'],
  ['dataScientist', 'kms:Decrypt', 'lakeKey', 'allow', VIA_S3],
  ['dataScientist', 'sagemaker:GetRecord', 'featureGroup', 'allow'],
  ['dataScientist', 'sagemaker:StartPipelineExecution', 'pipeline', 'allow'],
  ['dataScientist', 'sagemaker:DescribePipelineExecution', 'execution', 'allow'],
  ['dataScientist', 's3:GetObject', 'pipelineOutput', 'allow'],
  ['dataScientist', 'sagemaker:DescribeModelPackage', 'modelPackage', 'allow'],
  ['dataScientist', 'sagemaker:ListModelPackages', 'group', 'allow'],
  ['dataScientist', 'events:PutEvents', 'eventBus', 'allow', RETRAIN],
  ['dataScientist', 'states:GetExecutionHistory', 'loopExecution', 'allow'],
  ['dataScientist', 's3:PutObject', 'curatedObject', 'implicitDeny'],
  ['dataScientist', 's3:GetObject', 'rawObject', 'implicitDeny'],
  ['dataScientist', 's3:GetObject', 'monitoringObject', 'implicitDeny'],
  ['dataScientist', 's3:GetObject', 'otherModelsObject', 'implicitDeny'],
  ['dataScientist', 'sagemaker:PutRecord', 'featureGroup', 'implicitDeny'],
  ['dataScientist', 'events:PutEvents', 'eventBus', 'implicitDeny', { 'events:source': 'aws.sagemaker', 'events:detail-type': 'Retrain requested' }],
  ['dataScientist', 'sagemaker:UpdateModelPackage', 'modelPackage', 'explicitDeny'],
  ['dataScientist', 'sagemaker:CreateModelPackage', 'group', 'explicitDeny'],
  ['dataScientist', 'sagemaker:DeleteModelPackage', 'modelPackage', 'explicitDeny'],
  ['dataScientist', 'sagemaker:UpdateEndpoint', 'endpoint', 'explicitDeny'],
  ['dataScientist', 'sagemaker:CreateEndpoint', 'otherEndpoint', 'explicitDeny'],
  ['dataScientist', 'sagemaker:DeleteEndpoint', 'endpoint', 'explicitDeny'],
  ['dataScientist', 'sagemaker:UpdateEndpointWeightsAndCapacities', 'endpoint', 'explicitDeny'],
  ['dataScientist', 'sagemaker:InvokeEndpoint', 'endpoint', 'implicitDeny'],
  ['dataScientist', 'iam:PassRole', 'endpointRole', 'implicitDeny', TO_SAGEMAKER],

  // --- MlEngineer: approve, deploy, roll back; cannot register or change training data ---
  ['mlEngineer', 'sagemaker:UpdateModelPackage', 'modelPackage', 'allow'],
  ['mlEngineer', 'sagemaker:DescribeModelPackage', 'modelPackage', 'allow'],
  ['mlEngineer', 's3:GetObject', 'pipelineOutput', 'allow'],
  ['mlEngineer', 'sagemaker:DescribePipelineExecution', 'execution', 'allow'],
  ['mlEngineer', 'sagemaker:CreateModel', 'newModel', 'allow'],
  ['mlEngineer', 'sagemaker:CreateEndpointConfig', 'newConfig', 'allow'],
  ['mlEngineer', 'iam:PassRole', 'endpointRole', 'allow', TO_SAGEMAKER],
  ['mlEngineer', 'sagemaker:UpdateEndpoint', 'endpoint', 'allow'],
  ['mlEngineer', 'sagemaker:DescribeEndpointConfig', 'cfnConfig', 'allow'],
  ['mlEngineer', 'sagemaker:UpdateEndpointWeightsAndCapacities', 'endpoint', 'allow'],
  ['mlEngineer', 'sagemaker:InvokeEndpoint', 'endpoint', 'allow'],
  ['mlEngineer', 'kms:CreateGrant', 'lakeKey', 'allow', { 'kms:GrantIsForAWSResource': 'true' }],
  ['mlEngineer', 'states:GetExecutionHistory', 'loopExecution', 'allow'],
  ['mlEngineer', 'iam:PassRole', 'endpointRole', 'implicitDeny', { 'iam:PassedToService': 'ec2.amazonaws.com' }],
  ['mlEngineer', 'iam:PassRole', 'jobRole', 'implicitDeny', TO_SAGEMAKER],
  ['mlEngineer', 'sagemaker:UpdateEndpoint', 'otherEndpoint', 'implicitDeny'],
  ['mlEngineer', 'sagemaker:CreateEndpoint', 'otherEndpoint', 'implicitDeny'],
  ['mlEngineer', 'sagemaker:DeleteEndpoint', 'endpoint', 'implicitDeny'],
  ['mlEngineer', 'sagemaker:CreateEndpointConfig', 'otherConfig', 'implicitDeny'],
  ['mlEngineer', 'sagemaker:UpdateModelPackage', 'otherGroupPackage', 'implicitDeny'],
  ['mlEngineer', 'sagemaker:StartPipelineExecution', 'pipeline', 'implicitDeny'],
  ['mlEngineer', 's3:GetObject', 'curatedObject', 'implicitDeny'],
  ['mlEngineer', 'sagemaker:CreateModelPackage', 'group', 'explicitDeny'],
  ['mlEngineer', 's3:PutObject', 'curatedObject', 'explicitDeny'],
  ['mlEngineer', 's3:PutObject', 'rawObject', 'explicitDeny'],
  ['mlEngineer', 's3:DeleteObjectVersion', 'curatedObject', 'explicitDeny'],
  ['mlEngineer', 's3:BypassGovernanceRetention', 'curatedObject', 'explicitDeny'],
  ['mlEngineer', 'sagemaker:PutRecord', 'featureGroup', 'explicitDeny'],

  // --- DataEngineer: write raw/curated, manage feature ingestion; cannot approve or deploy ---
  ['dataEngineer', 's3:PutObject', 'rawObject', 'allow'],
  ['dataEngineer', 's3:PutObject', 'curatedObject', 'allow'],
  ['dataEngineer', 's3:GetObject', 'curatedObject', 'allow'],
  ['dataEngineer', 's3:DeleteObject', 'curatedObject', 'allow'],
  ['dataEngineer', 'kms:GenerateDataKey', 'lakeKey', 'allow', VIA_S3],
  ['dataEngineer', 'sagemaker:PutRecord', 'featureGroup', 'allow'],
  ['dataEngineer', 'sagemaker:DeleteRecord', 'featureGroup', 'allow'],
  ['dataEngineer', 'sagemaker:GetRecord', 'featureGroup', 'allow'],
  ['dataEngineer', 'kms:GenerateDataKey', 'lakeKey', 'implicitDeny'],
  ['dataEngineer', 's3:DeleteObjectVersion', 'curatedObject', 'implicitDeny'],
  ['dataEngineer', 's3:PutObject', 'featuresObject', 'implicitDeny'],
  ['dataEngineer', 'sagemaker:PutRecord', 'otherFeatureGroup', 'implicitDeny'],
  ['dataEngineer', 'sagemaker:StartPipelineExecution', 'pipeline', 'implicitDeny'],
  ['dataEngineer', 'sagemaker:UpdateModelPackage', 'modelPackage', 'explicitDeny'],
  ['dataEngineer', 'sagemaker:CreateModelPackage', 'group', 'explicitDeny'],
  ['dataEngineer', 'sagemaker:UpdateEndpoint', 'endpoint', 'explicitDeny'],
  ['dataEngineer', 'sagemaker:UpdateEndpointWeightsAndCapacities', 'endpoint', 'explicitDeny'],
];

function statementsOf(p: Platform, role: iam.IRole, template = Template.fromStack(p.stack)) {
  return statementsForRole(template, roleLogicalId(p.stack, role));
}

describe('Personas: what each role can and cannot do', () => {
  const p = build();
  const res = resources(p);
  const template = Template.fromStack(p.stack);
  const statements: Record<Persona, ReturnType<typeof statementsOf>> = {
    dataScientist: statementsOf(p, p.personas.dataScientist, template),
    mlEngineer: statementsOf(p, p.personas.mlEngineer, template),
    dataEngineer: statementsOf(p, p.personas.dataEngineer, template),
  };

  test.each(['dataScientist', 'mlEngineer', 'dataEngineer'] as Persona[])('%s: every row of the table', persona => {
    const rows = TABLE.filter(row => row[0] === persona);
    expect(rows.length).toBeGreaterThan(10);
    const actual = rows.map(([, action, resource, , context]) =>
      [persona, action, resource, evaluate(statements[persona], action, res[resource], context)]);
    expect(actual).toEqual(rows.map(([who, action, resource, expected]) => [who, action, resource, expected]));
  });
});

describe('Personas: separation of duties', () => {
  const p = build();
  const res = resources(p);
  const template = Template.fromStack(p.stack);
  const decide = (role: iam.IRole, action: string, resource: string) => evaluate(statementsOf(p, role, template), action, resource);

  test('the pipeline registers but cannot approve: neither its SageMaker Pipelines role nor its job role', () => {
    expect(decide(p.pipeline.pipelineRole, 'sagemaker:CreateModelPackage', res.group)).toBe('allow');
    // Explicitly: the registering identity is denied approval whatever is attached to it later.
    expect(decide(p.pipeline.pipelineRole, 'sagemaker:UpdateModelPackage', res.modelPackage)).toBe('explicitDeny');
    expect(decide(p.pipeline.role, 'sagemaker:UpdateModelPackage', res.modelPackage)).not.toBe('allow');
    expect(decide(p.pipeline.role, 'sagemaker:CreateModelPackage', res.group)).not.toBe('allow');
  });

  test('starting a pipeline cannot release a model: the registration status is no run parameter', () => {
    expect(decide(p.personas.dataScientist, 'sagemaker:StartPipelineExecution', res.pipeline)).toBe('allow');
    expect(p.pipeline._definition.Parameters.map(param => param.Name)).not.toContain('ModelApprovalStatus');
    expect(JSON.stringify(p.pipeline._definition)).not.toContain('Parameters.ModelApprovalStatus');
  });

  test('the loop approves and promotes but cannot register: neither its control role nor its deploy role', () => {
    for (const fn of [p.loop.controlFunction, p.loop.deployFunction!]) {
      expect(decide(fn.role!, 'sagemaker:UpdateModelPackage', res.modelPackage)).toBe('allow');
      expect(decide(fn.role!, 'sagemaker:CreateModelPackage', res.group)).not.toBe('allow');
    }
  });

  test('no role of the platform can both register and approve', () => {
    const roles = Object.entries(template.findResources('AWS::IAM::Role'));
    expect(roles.length).toBeGreaterThan(10);
    const both = roles.map(([id]) => id).filter(id => {
      const s = statementsForRole(template, id);
      return evaluate(s, 'sagemaker:CreateModelPackage', res.group) === 'allow'
        && evaluate(s, 'sagemaker:UpdateModelPackage', res.modelPackage) === 'allow';
    });
    expect(both).toEqual([]);
  });

  test('explicit denies win over a broad policy attached later (AdministratorAccess-like allow * on *)', () => {
    const q = build();
    const r = resources(q);
    new iam.Policy(q.stack, 'Admin', {
      statements: [new iam.PolicyStatement({ actions: ['*'], resources: ['*'] })],
      roles: [q.personas.dataScientist, q.personas.dataEngineer],
    });
    new iam.ManagedPolicy(q.stack, 'AdminManaged', {
      statements: [new iam.PolicyStatement({ actions: ['*'], resources: ['*'] })],
      roles: [q.personas.mlEngineer],
    });
    const t = Template.fromStack(q.stack);
    for (const persona of [q.personas.dataScientist, q.personas.dataEngineer]) {
      const s = statementsOf(q, persona, t);
      expect(evaluate(s, 'sagemaker:UpdateModelPackage', r.modelPackage)).toBe('explicitDeny');
      expect(evaluate(s, 'sagemaker:CreateModelPackage', r.group)).toBe('explicitDeny');
      expect(evaluate(s, 'sagemaker:UpdateEndpoint', r.endpoint)).toBe('explicitDeny');
      expect(evaluate(s, 'sagemaker:CreateEndpoint', r.otherEndpoint)).toBe('explicitDeny');
      expect(evaluate(s, 'sagemaker:UpdateEndpointWeightsAndCapacities', r.endpoint)).toBe('explicitDeny');
      // The broad policy works otherwise: the denies are targeted, not a lock-out.
      expect(evaluate(s, 'sagemaker:InvokeEndpoint', r.endpoint)).toBe('allow');
    }
    const engineer = statementsOf(q, q.personas.mlEngineer, t);
    expect(evaluate(engineer, 'sagemaker:CreateModelPackage', r.group)).toBe('explicitDeny');
    expect(evaluate(engineer, 's3:PutObject', r.curatedObject)).toBe('explicitDeny');
    expect(evaluate(engineer, 'sagemaker:PutRecord', r.featureGroup)).toBe('explicitDeny');
    expect(evaluate(engineer, 's3:PutObject', r.monitoringObject)).toBe('allow');
    expect(evaluate(engineer, 'sagemaker:UpdateModelPackage', r.modelPackage)).toBe('allow');
  });

  test('the denies are inline in each role (created with it, not a detachable policy)', () => {
    const roles = template.findResources('AWS::IAM::Role', {
      Properties: { Policies: [Match.objectLike({ PolicyName: 'SeparationOfDuties' })] },
    });
    expect(Object.keys(roles).sort()).toEqual([
      roleLogicalId(p.stack, p.personas.dataEngineer),
      roleLogicalId(p.stack, p.personas.dataScientist),
      roleLogicalId(p.stack, p.personas.mlEngineer),
    ].sort());
    for (const role of Object.values<any>(roles)) {
      expect(role.Properties.Policies[0].PolicyDocument.Statement.every((s: any) => s.Effect === 'Deny')).toBe(true);
    }
  });
});

describe('Personas: roles and later additions', () => {
  test('three roles without physical names, assumable by the account root, 1-hour sessions', () => {
    const { stack } = build();
    const t = Template.fromStack(stack);
    for (const persona of ['DataScientist', 'MlEngineer', 'DataEngineer']) {
      t.hasResourceProperties('AWS::IAM::Role', {
        Description: Match.stringLikeRegexp('\\(Platform/Personas\\)$'),
        MaxSessionDuration: 3600,
        RoleName: Match.absent(),
        AssumeRolePolicyDocument: {
          Statement: [{
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::123456789012:root']] } },
          }],
        },
      });
      expect(Object.keys(t.findResources('AWS::IAM::Role')).some(id => id.startsWith(`Personas${persona}`))).toBe(true);
    }
  });

  test('principals and session duration are configurable', () => {
    const { stack } = build({
      dataScientistPrincipal: new iam.ArnPrincipal('arn:aws:iam::123456789012:role/sso-data-science'),
      mlEngineerPrincipal: new iam.ArnPrincipal('arn:aws:iam::123456789012:role/sso-ml-engineering'),
      maxSessionDuration: Duration.hours(4),
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::IAM::Role', {
      MaxSessionDuration: 14400,
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { AWS: 'arn:aws:iam::123456789012:role/sso-data-science' } })] },
    });
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { AWS: 'arn:aws:iam::123456789012:role/sso-ml-engineering' } })] },
    });
  });

  test('add* after construction: a platform adds a model later', () => {
    const p = build({}, { personas: false });
    const personas = new Personas(p.stack, 'Personas', { dataLake: p.lake });
    const shadow = new ModelEndpoint(p.stack, 'Shadow', { dataLake: p.lake, endpointName: 'fraud-shadow', model: ModelSource.fromModelPackage(PACKAGE) });
    personas.addPipeline(p.pipeline);
    personas.addEndpoint(shadow);
    personas.addFeatureStore(p.features);
    personas.addContinuousTraining(p.loop);
    personas.addRegistry(p.registry); // already included as the pipeline's registry: no duplicate grants
    const t = Template.fromStack(p.stack);
    const r = resources(p);
    const engineer = statementsForRole(t, roleLogicalId(p.stack, personas.mlEngineer));
    expect(evaluate(engineer, 'sagemaker:UpdateEndpoint', arnOf(p.stack, shadow.endpointArn))).toBe('allow');
    expect(evaluate(engineer, 'sagemaker:UpdateEndpoint', r.endpoint)).toBe('implicitDeny');
    expect(evaluate(engineer, 'sagemaker:UpdateModelPackage', r.modelPackage)).toBe('allow');
    const approvals = engineer.filter(s => s.Effect === 'Allow' && s.Action?.includes('sagemaker:UpdateModelPackage'));
    expect(approvals).toHaveLength(1);
    const scientist = statementsForRole(t, roleLogicalId(p.stack, personas.dataScientist));
    expect(evaluate(scientist, 'sagemaker:StartPipelineExecution', r.pipeline)).toBe('allow');
    expect(evaluate(scientist, 'events:PutEvents', r.eventBus, RETRAIN)).toBe('allow');
  });

  test('nag-clean (AwsSolutions and NIST 800-53 R5)', () => {
    expect(nagFindingsFor(stack => { definePlatform(stack); })).toEqual([]);
    // An imported feature group (default offline prefix) is acknowledged too.
    expect(nagFindingsFor(stack => {
      const lake = new DataLake(stack, 'Lake');
      const imported = FeatureStore.fromFeatureStoreAttributes(stack, 'Imported', {
        featureGroupArn: 'arn:aws:sagemaker:us-east-1:123456789012:feature-group/transactions', dataLake: lake,
      });
      new Personas(stack, 'Personas', { dataLake: lake, featureStores: [imported] });
    })).toEqual([]);
  });
});

describe('Personas: name-prefixed models (a platform of any size)', () => {
  const app = new App();
  const stack = new Stack(app, 'Platform', { env: { account: '123456789012', region: 'us-east-1' } });
  const lake = new DataLake(stack, 'Lake');
  const personas = new Personas(stack, 'Personas', { dataLake: lake });
  personas.addNamePrefix('fraud-ml');
  const template = Template.fromStack(stack);
  const sm = (resource: string, name: string) => arnOf(stack, stack.formatArn({ service: 'sagemaker', resource, resourceName: name }));
  const can = (role: iam.IRole, action: string, resource: string, context: RequestContext = {}) =>
    evaluate(statementsForRole(template, roleLogicalId(stack, role)), action, resource, context);
  const toSageMaker = { 'iam:PassedToService': 'sagemaker.amazonaws.com' };

  test('one set of statements covers every model named <prefix>-…, and nothing else', () => {
    expect(can(personas.dataScientist, 'sagemaker:StartPipelineExecution', sm('pipeline', 'fraud-ml-model-7'))).toBe('allow');
    expect(can(personas.dataScientist, 'sagemaker:StartPipelineExecution', sm('pipeline', 'other-model'))).not.toBe('allow');
    expect(can(personas.dataScientist, 'sagemaker:DescribeModelPackage', sm('model-package', 'fraud-ml-model-7/3'))).toBe('allow');
    expect(can(personas.dataScientist, 'sagemaker:UpdateModelPackage', sm('model-package', 'fraud-ml-model-7/3'))).toBe('explicitDeny');
    expect(can(personas.mlEngineer, 'sagemaker:UpdateModelPackage', sm('model-package', 'fraud-ml-model-7/3'))).toBe('allow');
    expect(can(personas.mlEngineer, 'sagemaker:UpdateEndpoint', sm('endpoint', 'fraud-ml-model-7'))).toBe('allow');
    expect(can(personas.mlEngineer, 'sagemaker:CreateModel', sm('model', 'fraud-ml-model-7-0a1b2c3d4e5f'))).toBe('allow');
    expect(can(personas.mlEngineer, 'sagemaker:UpdateEndpoint', sm('endpoint', 'payments-model'))).not.toBe('allow');
    expect(can(personas.mlEngineer, 'sagemaker:CreateModelPackage', sm('model-package-group', 'fraud-ml-model-7'))).toBe('explicitDeny');
    const role = (name: string) => arnOf(stack, stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: name }));
    expect(can(personas.mlEngineer, 'iam:PassRole', role(`${Personas.rolePathFor('fraud-ml').slice(1)}EndpointRole1234`), toSageMaker)).toBe('allow');
    expect(can(personas.mlEngineer, 'iam:PassRole', role(`${Personas.rolePathFor('fraud-ml').slice(1)}EndpointRole1234`), { 'iam:PassedToService': 'ec2.amazonaws.com' }))
      .not.toBe('allow');
    expect(can(personas.mlEngineer, 'iam:PassRole', role('admin'), toSageMaker)).not.toBe('allow');
  });

  test('bad or repeated prefixes are coded errors', () => {
    expect(() => personas.addNamePrefix('Fraud_ML')).toThrow(/\[Personas\.InvalidNamePrefix\].*\(at Platform\/Personas\)/);
    expect(() => personas.addNamePrefix('fraud-ml')).toThrow(/\[Personas\.Duplicate\].*\(at Platform\/Personas\)/);
  });
});

describe('Personas validation', () => {
  const code = (c: string) => new RegExp(`\\[Personas\\.${c}\\].*\\(at Platform/Personas\\)`);

  test('maxSessionDuration outside 1..12 hours', () => {
    expect(() => build({ maxSessionDuration: Duration.minutes(30) })).toThrow(code('InvalidMaxSessionDuration'));
    expect(() => build({ maxSessionDuration: Duration.hours(13) })).toThrow(code('InvalidMaxSessionDuration'));
    expect(() => build({ maxSessionDuration: Duration.hours(12) })).not.toThrow();
  });

  test('the same principal for two personas voids separation of duties', () => {
    const sso = 'arn:aws:iam::123456789012:role/sso-team';
    expect(() => build({ dataScientistPrincipal: new iam.ArnPrincipal(sso), mlEngineerPrincipal: new iam.ArnPrincipal(sso) }))
      .toThrow(code('SharedPrincipal'));
    expect(() => build({ dataEngineerPrincipal: new iam.ArnPrincipal(sso), mlEngineerPrincipal: new iam.ArnPrincipal(sso) }))
      .toThrow(/dataEngineerPrincipal and mlEngineerPrincipal|mlEngineerPrincipal and dataEngineerPrincipal/);
    // The account root only delegates: each persona is still assumed by separately authorised identities.
    const root = new iam.AccountRootPrincipal();
    expect(() => build({ dataScientistPrincipal: root, mlEngineerPrincipal: new iam.AccountRootPrincipal() })).not.toThrow();
  });

  test('a pipeline or endpoint on another data lake', () => {
    const p = build();
    const otherLake = new DataLake(p.stack, 'OtherLake');
    const registry = new ModelRegistry(p.stack, 'OtherRegistry');
    const pipeline = new GpuTrainingPipeline(p.stack, 'OtherTraining', {
      dataLake: otherLake,
      registry,
      image: TrainingImage.fromUri(IMAGE),
      instanceType: GpuInstanceType.ML_G5_2XLARGE,
      objective: Objective.maximize('validation:auc'),
      trainingData: TrainingData.fromDataLake(otherLake, DataZone.CURATED, 'datasets/x/'),
    });
    const endpoint = new ModelEndpoint(p.stack, 'OtherEndpoint', { dataLake: otherLake, model: ModelSource.fromModelPackage(PACKAGE) });
    expect(() => p.personas.addPipeline(pipeline)).toThrow(code('ForeignDataLake'));
    expect(() => p.personas.addEndpoint(endpoint)).toThrow(code('ForeignDataLake'));
    const features = new FeatureStore(p.stack, 'OtherFeatures', {
      dataLake: otherLake, recordIdentifier: 'id', eventTime: 'ts', features: [Feature.string('id'), Feature.string('ts')],
    });
    expect(() => p.personas.addFeatureStore(features)).toThrow(code('ForeignDataLake'));
  });

  test('duplicate add*', () => {
    const p = build();
    expect(() => p.personas.addPipeline(p.pipeline)).toThrow(code('Duplicate'));
    expect(() => p.personas.addEndpoint(p.endpoint)).toThrow(code('Duplicate'));
    expect(() => p.personas.addFeatureStore(p.features)).toThrow(code('Duplicate'));
    expect(() => p.personas.addContinuousTraining(p.loop)).toThrow(code('Duplicate'));
    p.personas.addRegistry(p.registry);
    expect(() => p.personas.addRegistry(p.registry)).toThrow(code('Duplicate'));
  });
});
