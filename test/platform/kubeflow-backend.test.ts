import { App, Duration, NestedStack, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import {
  ClusterEndpoint, DataZone, Feature, FeatureType, GpuCluster, GpuInstanceType, MlPlatform, NodeProvisioner, Objective, PlatformModel,
  PlatformModelOptions, TrainingBackend, TrainingData, TrainingImage,
} from '../../src';
import { OUTPUT_JOB_NAME, OUTPUT_MODEL_ARTIFACTS, parseMessage, runArguments } from '../../src/automation/kubeflow-launcher.lambda';
import { MlPlatformError } from '../../src/core/errors';
import { CALLBACK_ARGUMENTS, CALLBACK_OUTPUTS } from '../../src/training/callback-contract';
import { allSteps, StepJson } from '../../src/training/pipeline-definition';
import { cfnLint, findTemplates } from '../support/cfn-lint';
import { manifestsOfTemplate, validateManifests } from '../support/manifests';
import { addAllPacks, nagFindings } from '../support/nag';

process.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = '20';

const TRAIN_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train@sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';
const SERVE_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serve@sha256:0d1e7a4c5b9f3e2d6a8b7c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f';

function kubeflowModel(platform: MlPlatform, dataset = 'fraud'): PlatformModelOptions {
  return {
    image: TrainingImage.fromUri(TRAIN_IMAGE),
    objective: Objective.maximize('validation:auc', 0.005),
    trainingData: TrainingData.fromDataLake(platform.dataLake, DataZone.CURATED, `datasets/${dataset}/`),
    kubeflowJob: { workerReplicas: 3, gpusPerWorker: 4, command: ['torchrun'], args: ['train.py'] },
  };
}

function build(backend = TrainingBackend.kubeflow(), name = 'fraud') {
  const app = new App({ context: { 'cdk-ml-platform:codeVersion': 'v1.0.0' } });
  const stack = new Stack(app, 'Ml');
  const platform = new MlPlatform(stack, 'Platform', { name, backend });
  return { app, stack, platform };
}

const nested = (model: PlatformModel) => Template.fromStack(NestedStack.of(model.pipeline) as NestedStack);
const step = (model: PlatformModel, name: string): StepJson => allSteps(model.pipeline._definition.Steps).find(s => s.Name === name)!;
const resolve = (model: PlatformModel, v: unknown) => Stack.of(model).resolve(v);

describe('MlPlatform with TrainingBackend.kubeflow()', () => {
  test('creates a private-endpoint GPU cluster and a Karpenter spot training pool in the platform stack', () => {
    const { stack, platform } = build();
    platform.addModel('scoring', kubeflowModel(platform));
    expect(platform.cluster).toBeInstanceOf(GpuCluster);
    expect(Stack.of(platform.cluster!)).toBe(stack);
    expect(platform.trainingPool?.poolName).toBe('fraud-training');
    expect(platform.servingPool).toBeUndefined();
    const parent = Template.fromStack(stack);
    // Private-only API endpoint (MlOps-EKS3 passes without an allow-list).
    parent.hasResourceProperties('AWS::EKS::Cluster', { ResourcesVpcConfig: Match.objectLike({ EndpointPublicAccess: false, EndpointPrivateAccess: true }) });
    const karpenter = JSON.stringify(parent.findResources('Custom::AWSCDK-EKS-KubernetesResource'));
    expect(karpenter).toContain('NodePool');
    expect(karpenter).toContain('spot');
  });

  test('the pipeline\'s Train step is a Callback step answered by the model\'s KubeflowJobLauncher', () => {
    const { platform } = build();
    const model = platform.addModel('scoring', kubeflowModel(platform));
    expect(model.launcher).toBeDefined();
    expect(model.pipeline.callbackTrainer).toBe(model.launcher);
    const train = step(model, 'Train');
    expect(train.Type).toBe('Callback');
    expect(resolve(model, train.SqsQueueUrl)).toEqual(resolve(model, model.launcher!.queue.queueUrl));
    expect(train.OutputParameters).toEqual([
      { OutputName: OUTPUT_MODEL_ARTIFACTS, OutputType: 'String' },
      { OutputName: OUTPUT_JOB_NAME, OutputType: 'String' },
    ]);
    expect(Object.keys(train.Arguments!).sort()).toEqual(Object.values(CALLBACK_ARGUMENTS).sort());
    // Evaluation and registration read the model the job wrote, from the Callback step's output.
    const artifacts = { Get: `Steps.Train.OutputParameters['${CALLBACK_OUTPUTS.MODEL_ARTIFACTS}']` };
    expect(JSON.stringify(step(model, 'Evaluate').Arguments)).toContain(JSON.stringify(artifacts));
    expect((step(model, 'RegisterChallenger').Arguments as any).InferenceSpecification.Containers[0].ModelDataUrl).toEqual(artifacts);
    expect(JSON.stringify(model.pipeline._definition)).not.toContain('ModelArtifacts.S3ModelArtifacts');
  });

  test('the Callback step\'s message passes the launcher\'s own parsing and argument checks (the contract both sides keep)', () => {
    const { platform } = build();
    const model = platform.addModel('scoring', kubeflowModel(platform));
    const args = step(model, 'Train').Arguments as Record<string, unknown>;
    // What SageMaker sends at run time: the arguments with their Get/Join expressions evaluated.
    const output = resolve(model, (args[CALLBACK_ARGUMENTS.OUTPUT] as any)['Std:Join']);
    expect(output.On).toBe('/');
    expect(JSON.stringify(output.Values)).toContain('pipelines/fraud-scoring/artifacts');
    const bucket = 'models-bucket-123';
    const message = JSON.stringify({
      token: 'Ab12Cd34Ef',
      pipelineExecutionArn: 'arn:aws:sagemaker:us-east-1:123456789012:pipeline/fraud-scoring/execution/abc123',
      arguments: {
        [CALLBACK_ARGUMENTS.INPUT]: 's3://curated-bucket-123/datasets/fraud/',
        [CALLBACK_ARGUMENTS.OUTPUT]: `s3://${bucket}/pipelines/fraud-scoring/artifacts/abc123`,
        [CALLBACK_ARGUMENTS.CODE_VERSION]: 'v1.0.0',
      },
      status: 'Executing',
    });
    const parsed = parseMessage(message);
    expect(runArguments(parsed.arguments, `s3://${bucket}/`)).toEqual(expect.objectContaining({
      inputDataUri: 's3://curated-bucket-123/datasets/fraud/',
      outputUri: `s3://${bucket}/pipelines/fraud-scoring/artifacts/abc123`,
    }));
  });

  test('the pipeline role sends to the launch queue (no wildcard KMS actions) and no longer starts SageMaker training jobs', () => {
    const { platform } = build();
    const model = platform.addModel('scoring', kubeflowModel(platform));
    const t = nested(model);
    const pipelineRole = Stack.of(model).resolve((model.pipeline.pipelineRole.node.defaultChild as any).logicalId);
    const policies = Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p: any) => JSON.stringify(p.Properties.Roles).includes(pipelineRole));
    const statements = policies.flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((s: any) => [].concat(s.Action));
    const resolved = (v: unknown) => JSON.stringify(Stack.of(model).resolve(v));
    // Exactly these grants on the launcher's queue and its key (the lake key grants are separate statements).
    const queueKeyArn = resolved(model.launcher!.queue.encryptionMasterKey!.keyArn);
    const onQueueKey = statements.filter((s: any) => JSON.stringify(s.Resource) === queueKeyArn);
    expect(onQueueKey.flatMap((s: any) => [].concat(s.Action)).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    const onQueue = statements.filter((s: any) => JSON.stringify(s.Resource) === resolved(model.launcher!.queue.queueArn));
    expect(onQueue.flatMap((s: any) => [].concat(s.Action))).toContain('sqs:SendMessage');
    expect(actions).not.toContain('sagemaker:CreateTrainingJob');
    expect(actions.filter((a: string) => /^kms:.*\*$/.test(a))).toEqual([]);
  });

  test('the job template is not applied to the cluster; its service account reads the training data and writes the pipeline\'s artifacts', () => {
    const { platform } = build();
    const model = platform.addModel('scoring', kubeflowModel(platform));
    expect(model.kubeflowTraining?.manifests).toBeUndefined();
    const t = nested(model);
    // No PyTorchJob among the model stack's manifests: the launcher submits one per run.
    const manifests = JSON.stringify(t.findResources('Custom::AWSCDK-EKS-KubernetesResource'));
    expect(manifests).not.toContain('PyTorchJob');
    expect(manifests).toContain('pytorchjobs');
    t.resourceCountIs('AWS::EKS::PodIdentityAssociation', 1);
    t.hasResourceProperties('AWS::EKS::AccessEntry', { KubernetesGroups: ['cdk-ml-platform:kubeflow-launcher'], Type: 'STANDARD' });
    const saRole = Stack.of(model).resolve((model.kubeflowTraining!.serviceAccount.role.node.defaultChild as any).logicalId);
    const saStatements = JSON.stringify(Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p: any) => JSON.stringify(p.Properties.Roles).includes(saRole)));
    expect(saStatements).toContain('datasets/fraud/*');
    expect(saStatements).toContain('pipelines/fraud-scoring/artifacts/*');
    // The job template carries the model's image and shape.
    const job = model.kubeflowTraining!.job.apiObject.toJson();
    expect(job.spec.pytorchReplicySpecs ?? job.spec.pytorchReplicaSpecs).toBeDefined();
    expect(JSON.stringify(job)).toContain(TRAIN_IMAGE);
    expect(job.spec.pytorchReplicaSpecs.Worker.replicas).toBe(3);
  });

  test('serving.kubernetes: a model server on a serving pool created once, watched by the same monitors; the loop approves', () => {
    const { platform } = build();
    const a = platform.addModel('scoring', { ...kubeflowModel(platform), serving: { kubernetes: { image: SERVE_IMAGE, healthPath: '/ping' } } });
    const b = platform.addModel('chargeback', { ...kubeflowModel(platform, 'chargeback'), serving: { kubernetes: { image: SERVE_IMAGE, minReplicas: 3 } } });
    expect(platform.servingPool).toBeDefined();
    expect(platform.servingPool!.poolName).toBe('fraud-serving');
    expect(a.server).toBeDefined();
    expect(a.endpoint).toBeUndefined();
    expect(a.driftMonitor).toBeDefined();
    expect(a.predictionHealth).toBeDefined();
    expect(a.loop).toBeDefined();
    expect(a.server!.serverName).toBe('fraud-scoring');
    // The loop approves; the promoter rolls the newest approved version out to the server (from serving/<model>/).
    expect(a.promoter).toBeDefined();
    expect(a.server!.modelKey).toBe('serving/fraud-scoring/');
    nested(a).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MODEL_PACKAGE_GROUP: 'fraud-scoring', TARGET_PREFIX: 'serving/fraud-scoring/', SERVER_DEPLOYMENT: 'fraud-scoring' }) },
    });
    expect(b.server!.serverName).toBe('fraud-chargeback');
    const t = nested(a);
    t.resourceCountIs('AWS::SageMaker::Endpoint', 0);
    expect(JSON.stringify(t.findResources('Custom::AWSCDK-EKS-KubernetesResource'))).toContain('Deployment');
    // One serving node group for both models (besides the cluster's system node group).
    const groups = Object.values(Template.fromStack(Stack.of(platform)).findResources('AWS::EKS::Nodegroup'));
    expect(groups.filter((g: any) => JSON.stringify(g.Properties.InstanceTypes ?? []).includes('g5.xlarge'))).toHaveLength(1);
    expect(groups).toHaveLength(2);
  });

  test('an existing cluster and pools of the platform stack are used as given', () => {
    const app = new App({ context: { 'cdk-ml-platform:codeVersion': 'v1' } });
    const stack = new Stack(app, 'Ml');
    const cluster = new GpuCluster(stack, 'Shared', { endpoint: ClusterEndpoint.privateOnly() });
    const pool = cluster.addGpuNodePool('Big', { instanceTypes: [new ec2.InstanceType('p4d.24xlarge')], provisioner: NodeProvisioner.karpenter({ maxGpus: 32 }) });
    const platform = new MlPlatform(stack, 'Platform', { name: 'llm', backend: TrainingBackend.kubeflow({ cluster, trainingPool: pool, namespace: 'llm-training', watchInterval: Duration.minutes(1) }) });
    const model = platform.addModel('tune', { ...kubeflowModel(platform), kubeflowJob: { gpusPerWorker: 8 } });
    expect(platform.cluster).toBe(cluster);
    expect(platform.trainingPool).toBe(pool);
    expect(model.launcher!.namespace).toBe('llm-training');
    Template.fromStack(stack).resourceCountIs('AWS::EKS::Cluster', 1);
  });

  test('[MlPlatform.PoolNotInCluster] a pool of another cluster; [MlPlatform.BackendOptionsIgnored] an object and its options', () => {
    const app = new App();
    const stack = new Stack(app, 'Ml');
    const cluster = new GpuCluster(stack, 'A', { endpoint: ClusterEndpoint.privateOnly() });
    const other = new GpuCluster(stack, 'B', { endpoint: ClusterEndpoint.privateOnly() });
    const foreignPool = other.addGpuNodePool('Pool');
    expect(() => new MlPlatform(stack, 'P1', { backend: TrainingBackend.kubeflow({ cluster, trainingPool: foreignPool }) }))
      .toThrow(/\[MlPlatform\.PoolNotInCluster\].*trainingPool.*Ml\/P1/s);
    // (one platform per stack: its cost report covers the stack)
    const stack2 = new Stack(app, 'Ml2');
    const cluster2 = new GpuCluster(stack2, 'A', { endpoint: ClusterEndpoint.privateOnly() });
    const foreign2 = new GpuCluster(stack2, 'B', { endpoint: ClusterEndpoint.privateOnly() }).addGpuNodePool('Pool');
    expect(() => new MlPlatform(stack2, 'P2', { backend: TrainingBackend.kubeflow({ cluster: cluster2, servingPool: foreign2 }) }))
      .toThrow(/\[MlPlatform\.PoolNotInCluster\].*servingPool/s);
    const stack3 = new Stack(app, 'Ml3');
    const cluster3 = new GpuCluster(stack3, 'A', { endpoint: ClusterEndpoint.privateOnly() });
    expect(() => new MlPlatform(stack3, 'P3', { backend: TrainingBackend.kubeflow({ cluster: cluster3, clusterOptions: {} }) }))
      .toThrow(/\[MlPlatform\.BackendOptionsIgnored\].*cluster \+ clusterOptions/s);
  });

  test('serving turned off: no serving pool even with Kubernetes options', () => {
    const { platform } = build();
    expect(() => platform.addModel('quiet', { ...kubeflowModel(platform), serving: { enabled: false, kubernetes: { image: SERVE_IMAGE } } })).not.toThrow();
    expect(platform.servingPool).toBeUndefined();
    expect(platform.model('quiet').server).toBeUndefined();
  });

  test('a cluster of another stack is refused with the fix', () => {
    const app = new App();
    const other = new Stack(app, 'Other');
    const cluster = new GpuCluster(other, 'Gpu', { endpoint: ClusterEndpoint.privateOnly() });
    const stack = new Stack(app, 'Ml');
    expect(() => new MlPlatform(stack, 'Platform', { backend: TrainingBackend.kubeflow({ cluster }) })).toThrow(/\[MlPlatform\.ForeignCluster\].*Ml\/Platform/s);
  });

  test('is clean under AwsSolutions, NIST 800-53 R5, MlOpsChecks and cfn-lint, and every manifest is valid', () => {
    const { app, platform } = build();
    platform.addModel('scoring', kubeflowModel(platform));
    platform.addModel('served', { ...kubeflowModel(platform), serving: { kubernetes: { image: SERVE_IMAGE } } });
    expect(nagFindings(app, addAllPacks)).toEqual([]);
    const assembly = app.synth();
    expect(cfnLint(findTemplates(assembly.directory))).toEqual([]);
    for (const m of platform.models) {
      const { objects } = manifestsOfTemplate(nested(m).toJSON());
      // RBAC of the launcher (and, when served on the cluster, the server and its promoter's RBAC).
      expect(objects.some(o => o.kind === 'Role')).toBe(true);
      expect(validateManifests(objects)).toEqual([]);
    }
    const { objects } = manifestsOfTemplate(Template.fromStack(Stack.of(platform)).toJSON());
    expect(objects.map(o => o.kind)).toEqual(expect.arrayContaining(['NodePool', 'EC2NodeClass']));
    expect(validateManifests(objects)).toEqual([]);
  });
});

describe('MlPlatform.addFeatureStore', () => {
  test('adds a feature group on the platform lake in the platform stack; personas get its grants', () => {
    const { stack, platform } = build(TrainingBackend.sagemaker());
    const store = platform.addFeatureStore('Transactions', {
      recordIdentifier: 'transaction_id',
      eventTime: 'event_time',
      features: [Feature.string('transaction_id'), Feature.string('event_time'), Feature.fractional('amount')],
    });
    expect(store.dataLake).toBe(platform.dataLake);
    expect(platform.featureStores).toEqual([store]);
    expect(Stack.of(store)).toBe(stack);
    const policies = JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Policy'));
    expect(policies).toContain('sagemaker:PutRecord');
    expect(() => platform.addFeatureStore('Transactions', {
      recordIdentifier: 'id', eventTime: 't', features: [Feature.string('id'), Feature.string('t')],
    })).toThrow(/\[MlPlatform\.DuplicateFeatureStore\].*Ml\/Platform/s);
    void FeatureType;
  });
});

describe('coded errors of the backends', () => {
  const code = (fn: () => unknown) => {
    try { fn(); } catch (e) {
      expect(e).toBeInstanceOf(MlPlatformError);
      return (e as MlPlatformError).message;
    }
    throw new Error('expected an error');
  };

  test('[PlatformModel.SageMakerOnlyOption] SageMaker job options on a Kubeflow model', () => {
    const { platform } = build();
    expect(code(() => platform.addModel('scoring', { ...kubeflowModel(platform), instanceType: GpuInstanceType.ML_G5_2XLARGE, spot: true })))
      .toMatch(/\[PlatformModel\.SageMakerOnlyOption\].*instanceType, spot.*Ml\/Platform\/scoring\/Model/s);
  });

  test('[PlatformModel.KubeflowOnlyOption] and [PlatformModel.NoInstanceType] on a SageMaker model', () => {
    const { platform } = build(TrainingBackend.sagemaker());
    const { kubeflowJob, ...withoutJob } = kubeflowModel(platform);
    expect(code(() => platform.addModel('a', { ...withoutJob, instanceType: GpuInstanceType.ML_G5_2XLARGE, kubeflowJob })))
      .toMatch(/\[PlatformModel\.KubeflowOnlyOption\].*Ml\/Platform\/a\/Model/s);
    expect(code(() => platform.addModel('b', withoutJob))).toMatch(/\[PlatformModel\.NoInstanceType\]/);
  });

  test('[PlatformModel.KubernetesServingWithoutCluster] Kubernetes serving on the SageMaker backend', () => {
    const { platform } = build(TrainingBackend.sagemaker());
    const { kubeflowJob: _, ...options } = kubeflowModel(platform);
    expect(code(() => platform.addModel('a', {
      ...options, instanceType: GpuInstanceType.ML_G5_2XLARGE, serving: { kubernetes: { image: SERVE_IMAGE } },
    }))).toMatch(/\[PlatformModel\.KubernetesServingWithoutCluster\].*TrainingBackend\.kubeflow/s);
  });

  test('[PlatformModel.SageMakerServingOption] endpoint options with Kubernetes serving', () => {
    const { platform } = build();
    expect(code(() => platform.addModel('a', {
      ...kubeflowModel(platform), serving: { kubernetes: { image: SERVE_IMAGE }, rollbackThresholds: { maxErrorRate: 0.01 } as any },
    }))).toMatch(/\[PlatformModel\.SageMakerServingOption\].*rollbackThresholds/s);
  });

  test('[PlatformModel.NoCluster] a Kubeflow PlatformModel built outside MlPlatform without a cluster', () => {
    const { stack, platform } = build();
    expect(code(() => new PlatformModel(stack, 'Loose', {
      ...kubeflowModel(platform), dataLake: platform.dataLake, backend: TrainingBackend.kubeflow(), name: 'fraud-loose', namePrefix: 'fraud',
    }))).toMatch(/\[PlatformModel\.NoCluster\].*Ml\/Loose/s);
  });
});
