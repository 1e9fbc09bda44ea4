import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, NestedStack, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { createExamplesApp } from '../examples';
import { cfnLint, findTemplates } from './support/cfn-lint';
import { KUBECTL_MANIFEST_LIMIT_BYTES, Manifest, manifestsOfTemplate, validateManifests } from './support/manifests';
import { EksKubeflowPlatformStack } from '../examples/eks-kubeflow-platform/platform-stack';
import { SageMakerPlatformStack } from '../examples/sagemaker-platform/platform-stack';
import { MlOpsChecks, PlatformModel } from '../src';
import { allSteps, StepJson } from '../src/training/pipeline-definition';

process.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = '20';

/**
 * The examples as `npx cdk synth` builds them (cdk-nag plugins included), synthesized once.
 * Synthesis itself fails on any unacknowledged AwsSolutions or NIST 800-53 R5 finding.
 */
let outdir: string;
let assembly: CloudAssembly;
let app: App;
let sagemaker: SageMakerPlatformStack;
let eks: EksKubeflowPlatformStack;

beforeAll(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'examples-'));
  // Frozen lock: the committed feature-schemas.lock.json must match, as in `cdk synth` on CI.
  // The code version comes from git under `cdk synth`; jest turns that fallback off, so name one here.
  app = createExamplesApp({ outdir, context: { 'cdk-ml-platform:frozenFeatureSchemas': 'true', 'cdk-ml-platform:codeVersion': 'examples-test' } });
  assembly = app.synth();
  sagemaker = app.node.findChild('SageMakerPlatform') as SageMakerPlatformStack;
  eks = app.node.findChild('EksKubeflowPlatform') as EksKubeflowPlatformStack;
});

afterAll(() => {
  fs.rmSync(outdir, { recursive: true, force: true });
});

/** The template of a top-level stack. */
function template(stackName: string): any {
  return assembly.getStackByName(stackName).template;
}

/** The template of the nested stack a platform model lives in (read from the assembly synthesized above). */
function modelTemplate(model: PlatformModel): Template {
  return Template.fromStack(NestedStack.of(model.pipeline) as NestedStack);
}

/** `[logical id, resource]` of every resource of `type` in a template. */
function resourcesOf(t: Template, type: string): Array<[string, any]> {
  return Object.entries<any>(t.findResources(type));
}

/** A step of the model's pipeline definition, wherever it is (condition branches included), with tokens resolved. */
function step(model: PlatformModel, name: string): StepJson {
  const found = allSteps(model.pipeline._definition.Steps).find(s => s.Name === name);
  expect(found).toBeDefined();
  return Stack.of(model).resolve(found);
}

describe('examples', () => {
  test('synthesize every example stack, environment-agnostic, each model in a nested stack of its own', () => {
    expect(assembly.stacks.map(s => s.stackName).sort()).toEqual(['EksKubeflowPlatform', 'SageMakerPlatform']);
    for (const stack of assembly.stacks) {
      expect(stack.environment.account).toBe('unknown-account');
      expect(stack.environment.region).toBe('unknown-region');
    }
    for (const [stack, model] of [[sagemaker, sagemaker.model], [eks, eks.model]] as Array<[Stack, PlatformModel]>) {
      Template.fromStack(stack).resourceCountIs('AWS::CloudFormation::Stack', 1);
      expect(Stack.of(model.pipeline)).toBeInstanceOf(NestedStack);
      expect(Stack.of(model.pipeline).nestedStackParent).toBe(stack);
    }
    expect(sagemaker.platform.model('scoring')).toBe(sagemaker.model);
    expect(eks.platform.model('scoring')).toBe(eks.model);
  });

  test('are clean under MlOpsChecks (the pack runs over the synthesized tree and finds nothing)', () => {
    const report = new MlOpsChecks().validateScope(app);
    expect(report.violations).toEqual([]);
    expect(report.success).toBe(true);
  });

  test('are clean under cdk-nag AwsSolutions and NIST 800-53 R5 (and MlOpsChecks, registered by the app)', () => {
    const report = path.join(outdir, 'validation-report.json');
    // The plugins ran (a report is written) and found nothing; synth would have thrown otherwise.
    expect(fs.existsSync(report)).toBe(true);
    const parsed = JSON.parse(fs.readFileSync(report, 'utf8'));
    // A pack appears in the report only when it found something (acknowledged or not).
    for (const plugin of parsed.pluginReports) {
      expect([plugin.pluginName, plugin.conclusion, plugin.violations]).toEqual([plugin.pluginName, 'success', []]);
      for (const suppressed of plugin.suppressedViolations) {
        expect(suppressed.reason.length).toBeGreaterThan(30);
      }
    }
  });

  test('sagemaker-platform holds the lake: buckets, key, policies and Glue database', () => {
    const all = Object.entries(template('SageMakerPlatform').Resources) as Array<[string, any]>;
    const lake = all.filter(([id]) => id.startsWith('PlatformDataLake')).map(([, r]) => r);
    const count = (type: string) => lake.filter(r => r.Type === type).length;
    expect(count('AWS::S3::Bucket')).toBe(6);
    expect(count('AWS::S3::BucketPolicy')).toBe(6);
    expect(count('AWS::KMS::Key')).toBe(1);
    expect(count('AWS::Glue::Database')).toBe(1);
    const curated = lake.find(r => r.Type === 'AWS::S3::Bucket' && r.Properties.ObjectLockEnabled);
    expect(curated.Properties.ObjectLockConfiguration.Rule.DefaultRetention).toEqual({ Mode: 'GOVERNANCE', Days: 365 });
    // The monitoring zone: capture moves to Infrequent Access after 30 days and expires after two years.
    const rules = lake.filter(r => r.Type === 'AWS::S3::Bucket').flatMap(r => r.Properties.LifecycleConfiguration?.Rules ?? []);
    expect(rules).toEqual(expect.arrayContaining([expect.objectContaining({
      ExpirationInDays: 730,
      Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
    })]));
  });

  test('sagemaker-platform keeps an audit trail (platform stack) and a model card (model stack)', () => {
    const all = Object.entries(template('SageMakerPlatform').Resources) as Array<[string, any]>;
    const of = (type: string) => all.filter(([, r]) => r.Type === type);
    // CloudTrail: validated, encrypted log files in the Object Lock audit bucket, with the lake's data events.
    const [[, trail]] = of('AWS::CloudTrail::Trail');
    expect(trail.Properties).toMatchObject({ IsLogging: true, EnableLogFileValidation: true, IsMultiRegionTrail: true });
    expect(trail.Properties.KMSKeyId).toBeDefined();
    const selectors = JSON.stringify(trail.Properties.AdvancedEventSelectors);
    expect(selectors).toContain('AWS::S3::Object');
    expect(selectors).toContain('AWS::SageMaker::FeatureGroup');
    const auditBucket = all.find(([id, r]) => id.startsWith('PlatformAudit') && r.Type === 'AWS::S3::Bucket' && r.Properties.ObjectLockEnabled)![1];
    expect(auditBucket.Properties.ObjectLockConfiguration.Rule.DefaultRetention).toEqual({ Mode: 'GOVERNANCE', Days: 365 });
    // Registry, pipeline, endpoint and loop decisions go to an archive and into the audit bucket.
    expect(of('AWS::Events::Archive')).toHaveLength(1);
    const auditRule = of('AWS::Events::Rule').map(([, r]) => r).find(r => JSON.stringify(r.Properties.EventPattern ?? {}).includes('Continuous training decision'));
    expect(auditRule.Properties.EventPattern['detail-type']).toEqual(expect.arrayContaining([
      'SageMaker Model Package State Change', 'SageMaker Model Building Pipeline Execution Status Change', 'SageMaker Endpoint State Change',
    ]));
    // The model card: intended use and risk from the app, lineage from the constructs.
    expect(sagemaker.model.modelCard).toBeDefined();
    const [[, card]] = resourcesOf(modelTemplate(sagemaker.model), 'AWS::SageMaker::ModelCard');
    expect(card.Properties.ModelCardStatus).toBe('Draft');
    expect(card.Properties.Content.IntendedUses).toMatchObject({ RiskRating: 'High' });
    expect(JSON.stringify(card.Properties.Content)).toContain('examples-test');
    expect(JSON.stringify(card.Properties.Content)).toContain('fraud review queue');
  });

  test('sagemaker-platform holds the transaction feature group, online and offline, and its lock entry', () => {
    expect(sagemaker.platform.featureStores).toEqual([sagemaker.features]);
    const resources = Object.values(template('SageMakerPlatform').Resources) as any[];
    const groups = resources.filter(r => r.Type === 'AWS::SageMaker::FeatureGroup');
    expect(groups).toHaveLength(1);
    expect(groups[0].Properties.OnlineStoreConfig.TtlDuration).toEqual({ Unit: 'Days', Value: 30 });
    expect(groups[0].Properties.OfflineStoreConfig.TableFormat).toBe('Iceberg');
    // The committed lock file records this group, so CI (frozen lock) can synthesize it.
    const lock = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'feature-schemas.lock.json'), 'utf8'));
    expect(lock.featureGroups['SageMakerPlatform/Platform/TransactionFeatures'].featureGroupName).toBe(groups[0].Properties.FeatureGroupName);
  });

  test('sagemaker-platform trains from the feature store\'s offline data on spot GPUs into the registry', () => {
    const model = modelTemplate(sagemaker.model);
    model.resourceCountIs('AWS::SageMaker::Pipeline', 1);
    model.resourceCountIs('AWS::SageMaker::ModelPackageGroup', 1);
    model.hasResourceProperties('AWS::SageMaker::ModelPackageGroup', { ModelPackageGroupName: 'fraud-scoring' });
    model.hasResourceProperties('Custom::PipelineDefinition', { TargetPrefix: Match.stringLikeRegexp('^pipelines/.+/definitions$') });
    expect(JSON.stringify(model.toJSON())).not.toContain('PipelineDefinitionBody');
    // The run's input defaults to the feature group's offline store.
    const input = sagemaker.model.pipeline._definition.Parameters.find(p => p.Name === 'InputDataUri');
    expect(JSON.stringify(Stack.of(sagemaker.model).resolve(input))).toContain(`/feature-groups/${Stack.of(sagemaker).resolve(sagemaker.features.featureGroupName)}`);
    // A SageMaker training step on managed spot g5.2xlarge, gated on validation AUC (+0.005) on held-out data.
    const train = step(sagemaker.model, 'Train');
    expect(train.Type).toBe('Training');
    expect(train.Arguments).toMatchObject({
      ResourceConfig: { InstanceType: 'ml.g5.2xlarge' },
      EnableManagedSpotTraining: true,
      StoppingCondition: { MaxRuntimeInSeconds: 6 * 3600 },
      HyperParameters: { 'epochs': '20', 'batch-size': '1024' },
    });
    expect(JSON.stringify(train.Arguments)).toContain('@sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef');
    expect(step(sagemaker.model, 'ChallengerBeatsChampion').Type).toBe('Condition');
    const evaluation = sagemaker.model.pipeline._definition.Parameters.find(p => p.Name === 'EvaluationDataUri');
    expect(JSON.stringify(Stack.of(sagemaker.model).resolve(evaluation))).toContain('datasets/fraud/holdout/');
  });

  test('sagemaker-platform serves the approved model with capture and a canary rollout', () => {
    const model = modelTemplate(sagemaker.model);
    model.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({ InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 2 })],
      DataCaptureConfig: Match.objectLike({ EnableCapture: true, InitialSamplingPercentage: 100 }),
    });
    model.hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointName: 'fraud-scoring',
      DeploymentConfig: Match.objectLike({
        BlueGreenUpdatePolicy: Match.objectLike({ TrafficRoutingConfiguration: Match.objectLike({ Type: 'CANARY' }) }),
      }),
    });
    model.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 6 });
    model.resourceCountIs('Custom::VerifyEndpointDeployment', 1);
  });

  test('sagemaker-platform closes the loop: drift and health monitors, the continuous-training state machine and its triggers', () => {
    const model = modelTemplate(sagemaker.model);
    expect(resourcesOf(model, 'AWS::StepFunctions::StateMachine').filter(([id]) => id.startsWith('ModelLoopStateMachine'))).toHaveLength(1);
    const alarms = resourcesOf(model, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    expect(alarms.some(a => a.Namespace === 'MlPlatform/Drift' && a.MetricName === 'DriftScore' && a.Threshold === 0.2)).toBe(true);
    expect(alarms.some(a => a.Namespace === 'MlPlatform/Drift' && a.MetricName === 'PSI' && a.Threshold === 0.15)).toBe(true);
    expect(alarms.some(a => a.Namespace === 'MlPlatform/PredictionHealth' && a.MetricName === 'NonFiniteRate')).toBe(true);
    const rules = resourcesOf(model, 'AWS::Events::Rule').map(([, r]) => r.Properties);
    expect(rules.some(r => r.EventPattern?.['detail-type']?.[0] === 'CloudWatch Alarm State Change')).toBe(true);
    expect(rules.some(r => r.ScheduleExpression === 'rate(7 days)')).toBe(true);
    expect(rules.some(r => r.EventPattern?.['detail-type']?.[0] === 'Retrain requested')).toBe(true);
    // the prediction-health alarms guard the endpoint's deployments
    const [[, endpoint]] = resourcesOf(model, 'AWS::SageMaker::Endpoint');
    expect(endpoint.Properties.DeploymentConfig.AutoRollbackConfiguration.Alarms.length).toBeGreaterThanOrEqual(4);
  });

  test('eks-kubeflow-platform: an encrypted 1.33 cluster with a Karpenter spot GPU pool in the platform stack; every manifest valid, under the kubectl limit', () => {
    expect(eks.platform.cluster).toBeDefined();
    expect(eks.platform.trainingPool?.poolName).toBe('fraud-training');
    const parent = Template.fromStack(eks);
    parent.hasResourceProperties('AWS::EKS::Cluster', {
      Version: '1.33',
      EncryptionConfig: [Match.objectLike({ Resources: ['secrets'], Provider: { KeyArn: Match.anyValue() } })],
      ResourcesVpcConfig: Match.objectLike({ EndpointPublicAccess: true, EndpointPrivateAccess: true, PublicAccessCidrs: ['203.0.113.0/24'] }),
    });
    const { objects, payloadBytes } = manifestsOfTemplate(template('EksKubeflowPlatform'));
    const kinds = objects.map(o => `${o.apiVersion} ${o.kind}`);
    expect(kinds).toEqual(expect.arrayContaining(['karpenter.sh/v1 NodePool', 'karpenter.k8s.aws/v1 EC2NodeClass', 'apps/v1 DaemonSet']));
    // Spot g6.xlarge and g6.12xlarge, at most 16 GPUs.
    const nodePool = objects.find(o => o.kind === 'NodePool')!;
    expect(nodePool.spec.limits['nvidia.com/gpu']).toBe(16);
    const requirements = JSON.stringify(nodePool.spec.template.spec.requirements);
    expect(requirements).toContain('spot');
    expect(requirements).toContain('g6.xlarge');
    expect(requirements).toContain('g6.12xlarge');
    // the training operator is a Helm chart asset (its CRD alone is over the kubectl payload limit)
    parent.hasResourceProperties('Custom::AWSCDK-EKS-HelmChart', { Release: 'kubeflow-training-operator', ChartAssetURL: Match.anyValue() });
    expect(validateManifests(objects)).toEqual([]);
    for (const bytes of payloadBytes) { expect(bytes).toBeLessThan(KUBECTL_MANIFEST_LIMIT_BYTES); }
    for (const file of findTemplates(outdir)) { expect(fs.statSync(file).size).toBeLessThan(1024 * 1024); }
  });

  test('eks-kubeflow-platform: the pipeline\'s Train step is a Callback step answered by the launcher (encrypted queue, Lambda in the VPC, access entry, RBAC on pytorchjobs only)', () => {
    const { model } = eks;
    expect(model.launcher).toBeDefined();
    expect(model.kubeflowTraining).toBeDefined();
    expect(model.endpoint).toBeUndefined();
    const train = step(model, 'Train');
    expect(train.Type).toBe('Callback');
    expect(train.SqsQueueUrl).toEqual(Stack.of(model).resolve(model.launcher!.queue.queueUrl));
    // No SageMaker training job anywhere in the definition (condition branches included).
    expect(allSteps(model.pipeline._definition.Steps).filter(s => s.Type === 'Training')).toEqual([]);
    const evaluation = model.pipeline._definition.Parameters.find(p => p.Name === 'EvaluationDataUri');
    expect(JSON.stringify(Stack.of(model).resolve(evaluation))).toContain('datasets/fraud-holdout/');

    const t = modelTemplate(model);
    const queueKey = Stack.of(model).resolve(model.launcher!.queue.encryptionMasterKey!.keyArn);
    t.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: queueKey, RedrivePolicy: Match.objectLike({ maxReceiveCount: Match.anyValue() }) });
    const fnId = Stack.of(model).getLogicalId(model.launcher!.launcherFunction.node.defaultChild as any);
    const vpcConfig = t.toJSON().Resources[fnId].Properties.VpcConfig;
    expect(vpcConfig.SubnetIds.length).toBeGreaterThanOrEqual(2);
    expect(vpcConfig.SecurityGroupIds).toHaveLength(1);
    t.hasResourceProperties('AWS::EKS::AccessEntry', { KubernetesGroups: ['cdk-ml-platform:kubeflow-launcher'], Type: 'STANDARD' });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { EventSourceArn: Stack.of(model).resolve(model.launcher!.queue.queueArn) });
    const { objects } = manifestsOfTemplate(t.toJSON());
    const role = objects.find(o => o.apiVersion === 'rbac.authorization.k8s.io/v1' && o.kind === 'Role')!;
    expect(role.metadata.namespace).toBe(model.launcher!.namespace);
    expect(role.rules).toEqual([expect.objectContaining({ apiGroups: ['kubeflow.org'], resources: ['pytorchjobs'] })]);
    expect(role.rules[0].verbs).not.toContain('*');
    const binding = objects.find(o => o.kind === 'RoleBinding')!;
    expect(binding.subjects).toEqual([expect.objectContaining({ kind: 'Group', name: 'cdk-ml-platform:kubeflow-launcher' })]);
  });

  test('eks-kubeflow-platform: the PyTorchJob template (3 workers x 4 GPUs, 12 h deadline) is valid and never applied at deploy', () => {
    const job: Manifest = eks.model.kubeflowTraining!.job.apiObject.toJson();
    expect(`${job.apiVersion} ${job.kind}`).toBe('kubeflow.org/v1 PyTorchJob');
    const worker = job.spec.pytorchReplicaSpecs.Worker;
    expect(worker.replicas).toBe(3);
    expect(worker.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe(4);
    expect(worker.template.spec.containers[0].command).toEqual(['torchrun']);
    expect(worker.template.spec.containers[0].args).toEqual(expect.arrayContaining(['$(ML_PLATFORM_INPUT_URI)', '$(ML_PLATFORM_OUTPUT_URI)']));
    expect(job.spec.runPolicy.activeDeadlineSeconds).toBe(12 * 3600);
    expect(JSON.stringify(job)).toContain('fraud-training');
    expect(validateManifests([job])).toEqual([]);
    // The launcher submits one job per pipeline run; no stack applies the template itself.
    for (const t of [template('EksKubeflowPlatform'), modelTemplate(eks.model).toJSON()]) {
      expect(manifestsOfTemplate(t).objects.filter(o => o.kind === 'PyTorchJob')).toEqual([]);
    }
  });

  test('eks-kubeflow-platform: a model server on the on-demand serving pool, watched by drift and health monitors, the loop, and the promoter that rolls approved versions out', () => {
    const { model, platform } = eks;
    expect(model.server).toBeDefined();
    expect(platform.servingPool).toBeDefined();
    expect(platform.servingPool!.poolName).toBe('fraud-serving');
    Template.fromStack(eks).hasResourceProperties('AWS::EKS::Nodegroup', { InstanceTypes: ['g5.xlarge'], CapacityType: 'ON_DEMAND' });
    const t = modelTemplate(model);
    t.resourceCountIs('AWS::SageMaker::Endpoint', 0);
    const { objects, payloadBytes } = manifestsOfTemplate(t.toJSON());
    const kinds = objects.map(o => `${o.apiVersion} ${o.kind}`);
    expect(kinds).toEqual(expect.arrayContaining([
      'apps/v1 Deployment', 'v1 Service', 'autoscaling/v2 HorizontalPodAutoscaler', 'policy/v1 PodDisruptionBudget',
      'rbac.authorization.k8s.io/v1 Role', 'rbac.authorization.k8s.io/v1 RoleBinding',
    ]));
    const deployment = objects.find(o => o.kind === 'Deployment')!;
    const server = deployment.spec.template.spec.containers.find((c: any) => c.image.includes('fraud-serve@sha256:'));
    expect(server).toBeDefined();
    expect(server.readinessProbe.httpGet.path).toBe('/ping');
    expect(validateManifests(objects)).toEqual([]);
    for (const bytes of payloadBytes) { expect(bytes).toBeLessThan(KUBECTL_MANIFEST_LIMIT_BYTES); }
    // the model server's capture lands where the drift check reads
    expect(model.driftMonitor).toBeDefined();
    expect(model.predictionHealth).toBeDefined();
    const [[, driftFn]] = resourcesOf(t, 'AWS::Lambda::Function').filter(([, r]) => r.Properties.Environment?.Variables?.CHECK_KIND === 'drift');
    expect(driftFn.Properties.Environment.Variables.CHECK_CAPTURE_PREFIX).toMatch(/^capture\/.+\/$/);
    const alarms = resourcesOf(t, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    expect(alarms.some(a => a.Namespace === 'MlPlatform/Drift' && a.MetricName === 'DriftScore')).toBe(true);
    expect(alarms.some(a => a.Namespace === 'MlPlatform/PredictionHealth' && a.MetricName === 'OutOfRangeRate')).toBe(true);
    // the loop retrains on drift, weekly and on request
    expect(model.loop).toBeDefined();
    expect(resourcesOf(t, 'AWS::StepFunctions::StateMachine').filter(([id]) => id.startsWith('ModelLoopStateMachine'))).toHaveLength(1);
    const rules = resourcesOf(t, 'AWS::Events::Rule').map(([, r]) => r.Properties);
    expect(rules.some(r => r.EventPattern?.['detail-type']?.[0] === 'CloudWatch Alarm State Change')).toBe(true);
    expect(rules.some(r => r.ScheduleExpression === 'rate(7 days)')).toBe(true);
    expect(rules.some(r => r.EventPattern?.['detail-type']?.[0] === 'Retrain requested')).toBe(true);
    // approved versions reach the server: the promoter follows the group's package state changes and patches only
    // this Deployment
    expect(model.promoter).toBeDefined();
    expect(rules.some(r => r.EventPattern?.['detail-type']?.[0] === 'SageMaker Model Package State Change'
      && r.EventPattern.detail.ModelPackageGroupName[0] === 'fraud-scoring')).toBe(true);
    expect(objects.filter(o => o.kind === 'Role').flatMap(o => o.rules)).toEqual(expect.arrayContaining([
      { apiGroups: ['apps'], resources: ['deployments'], resourceNames: [model.server!.serverName], verbs: ['get', 'patch'] },
    ]));
    // the platform's governance comes with it
    expect(platform.auditTrail).toBeDefined();
    expect(platform.personas).toBeDefined();
    expect(platform.costReport).toBeDefined();
  });

  test('report their idle monthly cost and maximum GPU exposure at synth (cdk.out/ml-platform-cost.json)', () => {
    const report = JSON.parse(fs.readFileSync(path.join(outdir, 'ml-platform-cost.json'), 'utf8'));
    const sm = report.stacks.SageMakerPlatform;
    const eksCost = report.stacks.EksKubeflowPlatform;
    // 2 x ml.g5.xlarge always on; up to 6 under load
    expect(sm.idleMonthlyUsd).toBeGreaterThan(2 * 1.4 * 730);
    expect(sm.maxGpuHourlyUsd).toBeGreaterThanOrEqual(6 * 1.4);
    // EKS control plane idle; the GPU pools bound the hourly exposure
    expect(eksCost.idleMonthlyUsd).toBeGreaterThan(0.1 * 730);
    expect(eksCost.maxGpuHourlyUsd).toBeGreaterThan(0);
  });

  test('are clean under cfn-lint (every template, nested stacks included)', () => {
    const templates = findTemplates(outdir);
    // two platform stacks and one nested stack per model
    expect(templates.filter(f => f.endsWith('.nested.template.json'))).toHaveLength(2);
    expect(templates.length).toBe(4);
    expect(cfnLint(templates)).toEqual([]);
  });
});
