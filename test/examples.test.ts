import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { createExamplesApp } from '../examples';
import { MlOpsChecks } from '../src';
import { cfnLint, findTemplates } from './support/cfn-lint';
import { KUBECTL_MANIFEST_LIMIT_BYTES, manifestsOfTemplate, validateManifests } from './support/manifests';

/**
 * The examples as `npx cdk synth` builds them (cdk-nag plugins included), synthesized once.
 * Synthesis itself fails on any unacknowledged AwsSolutions or NIST 800-53 R5 finding.
 */
let outdir: string;
let assembly: CloudAssembly;
let app: App;

beforeAll(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'examples-'));
  // Frozen lock: the committed feature-schemas.lock.json must match, as in `cdk synth` on CI.
  // The code version comes from git under `cdk synth`; jest turns that fallback off, so name one here.
  app = createExamplesApp({ outdir, context: { 'cdk-ml-platform:frozenFeatureSchemas': 'true', 'cdk-ml-platform:codeVersion': 'examples-test' } });
  assembly = app.synth();
});

afterAll(() => {
  fs.rmSync(outdir, { recursive: true, force: true });
});

function template(stackName: string): any {
  return assembly.getStackByName(stackName).template;
}

describe('examples', () => {
  test('synthesize every example stack, environment-agnostic', () => {
    expect(assembly.stacks.map(s => s.stackName).sort()).toEqual(['EksKubeflowPlatform', 'SageMakerPlatform']);
    for (const stack of assembly.stacks) {
      expect(stack.environment.account).toBe('unknown-account');
      expect(stack.environment.region).toBe('unknown-region');
    }
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
    const lake = all.filter(([id]) => id.startsWith('Lake')).map(([, r]) => r);
    const count = (type: string) => lake.filter(r => r.Type === type).length;
    expect(count('AWS::S3::Bucket')).toBe(6);
    expect(count('AWS::S3::BucketPolicy')).toBe(6);
    expect(count('AWS::KMS::Key')).toBe(1);
    expect(count('AWS::Glue::Database')).toBe(1);
    const curated = lake.find(r => r.Type === 'AWS::S3::Bucket' && r.Properties.ObjectLockEnabled);
    expect(curated.Properties.ObjectLockConfiguration.Rule.DefaultRetention).toEqual({ Mode: 'GOVERNANCE', Days: 365 });
  });

  test('sagemaker-platform keeps an audit trail and a model card', () => {
    const all = Object.entries(template('SageMakerPlatform').Resources) as Array<[string, any]>;
    const of = (type: string) => all.filter(([, r]) => r.Type === type);
    // CloudTrail: validated, encrypted log files in the Object Lock audit bucket, with the lake's data events.
    const [[, trail]] = of('AWS::CloudTrail::Trail');
    expect(trail.Properties).toMatchObject({ IsLogging: true, EnableLogFileValidation: true, IsMultiRegionTrail: true });
    expect(trail.Properties.KMSKeyId).toBeDefined();
    const selectors = JSON.stringify(trail.Properties.AdvancedEventSelectors);
    expect(selectors).toContain('AWS::S3::Object');
    expect(selectors).toContain('AWS::SageMaker::FeatureGroup');
    const auditBucket = all.find(([id, r]) => id.startsWith('Audit') && r.Type === 'AWS::S3::Bucket' && r.Properties.ObjectLockEnabled)![1];
    expect(auditBucket.Properties.ObjectLockConfiguration.Rule.DefaultRetention).toEqual({ Mode: 'GOVERNANCE', Days: 365 });
    // Registry, pipeline, endpoint and loop decisions go to an archive and into the audit bucket.
    expect(of('AWS::Events::Archive')).toHaveLength(1);
    const auditRule = of('AWS::Events::Rule').map(([, r]) => r).find(r => JSON.stringify(r.Properties.EventPattern ?? {}).includes('Continuous training decision'));
    expect(auditRule.Properties.EventPattern['detail-type']).toEqual(expect.arrayContaining([
      'SageMaker Model Package State Change', 'SageMaker Model Building Pipeline Execution Status Change', 'SageMaker Endpoint State Change',
    ]));
    // The model card: intended use and risk from the app, lineage from the constructs.
    const [[, card]] = of('AWS::SageMaker::ModelCard');
    expect(card.Properties.ModelCardStatus).toBe('Draft');
    expect(card.Properties.Content.IntendedUses).toMatchObject({ RiskRating: 'High' });
    expect(JSON.stringify(card.Properties.Content)).toContain('examples-test');
  });

  test('sagemaker-platform holds the transaction feature group, online and offline, and its lock entry', () => {
    const resources = Object.values(template('SageMakerPlatform').Resources) as any[];
    const groups = resources.filter(r => r.Type === 'AWS::SageMaker::FeatureGroup');
    expect(groups).toHaveLength(1);
    expect(groups[0].Properties.OnlineStoreConfig.TtlDuration).toEqual({ Unit: 'Days', Value: 30 });
    expect(groups[0].Properties.OfflineStoreConfig.TableFormat).toBe('Iceberg');
    // The committed lock file records this group, so CI (frozen lock) can synthesize it.
    const lock = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'feature-schemas.lock.json'), 'utf8'));
    expect(lock.featureGroups['SageMakerPlatform/TransactionFeatures'].featureGroupName).toBe(groups[0].Properties.FeatureGroupName);
  });

  test('sagemaker-platform trains from the feature store\'s offline data into the registry', () => {
    const resources = Object.values(template('SageMakerPlatform').Resources) as any[];
    expect(resources.filter(r => r.Type === 'AWS::SageMaker::Pipeline')).toHaveLength(1);
    expect(resources.filter(r => r.Type === 'AWS::SageMaker::ModelPackageGroup')).toHaveLength(1);
    const [definition] = resources.filter(r => r.Type === 'Custom::PipelineDefinition');
    expect(definition.Properties.TargetPrefix).toMatch(/^pipelines\/.+\/definitions$/);
    expect(JSON.stringify(template('SageMakerPlatform'))).not.toContain('PipelineDefinitionBody');
  });

  test('sagemaker-platform serves the approved model with capture and a canary rollout', () => {
    const resources = Object.values(template('SageMakerPlatform').Resources) as any[];
    const [config] = resources.filter(r => r.Type === 'AWS::SageMaker::EndpointConfig');
    expect(config.Properties.DataCaptureConfig.EnableCapture).toBe(true);
    const [endpoint] = resources.filter(r => r.Type === 'AWS::SageMaker::Endpoint');
    expect(endpoint.Properties.DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.Type).toBe('CANARY');
    expect(resources.filter(r => r.Type === 'Custom::VerifyEndpointDeployment')).toHaveLength(1);
  });

  test('sagemaker-platform closes the loop: drift and health monitors, the continuous-training state machine and its triggers', () => {
    const resources = Object.entries<any>(template('SageMakerPlatform').Resources);
    const of = (type: string) => resources.filter(([, r]) => r.Type === type);
    expect(of('AWS::StepFunctions::StateMachine').filter(([id]) => id.startsWith('LoopStateMachine'))).toHaveLength(1);
    const alarms = of('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    expect(alarms.some(a => a.Namespace === 'MlPlatform/Drift' && a.MetricName === 'DriftScore' && a.Threshold === 0.2)).toBe(true);
    expect(alarms.some(a => a.Namespace === 'MlPlatform/Drift' && a.MetricName === 'PSI' && a.Threshold === 0.15)).toBe(true);
    expect(alarms.some(a => a.Namespace === 'MlPlatform/PredictionHealth' && a.MetricName === 'NonFiniteRate')).toBe(true);
    const rules = of('AWS::Events::Rule').map(([, r]) => r.Properties);
    expect(rules.some(r => r.EventPattern?.['detail-type']?.[0] === 'CloudWatch Alarm State Change')).toBe(true);
    expect(rules.some(r => r.ScheduleExpression === 'rate(7 days)')).toBe(true);
    expect(rules.some(r => r.EventPattern?.['detail-type']?.[0] === 'Retrain requested')).toBe(true);
    // the prediction-health alarms guard the endpoint's deployments
    const [[, endpoint]] = of('AWS::SageMaker::Endpoint');
    expect(endpoint.Properties.DeploymentConfig.AutoRollbackConfiguration.Alarms.length).toBeGreaterThanOrEqual(4);
  });

  test('eks-kubeflow-platform: an encrypted 1.33 cluster, GPU pools, a PyTorchJob, a model server with monitors; every manifest valid, under the kubectl limit', () => {
    const t = template('EksKubeflowPlatform');
    const cluster = Object.values<any>(t.Resources).find(r => r.Type === 'AWS::EKS::Cluster');
    expect(cluster.Properties.Version).toBe('1.33');
    const { objects, payloadBytes } = manifestsOfTemplate(t);
    const kinds = objects.map(o => `${o.apiVersion} ${o.kind}`);
    expect(kinds).toEqual(expect.arrayContaining([
      'karpenter.sh/v1 NodePool', 'karpenter.k8s.aws/v1 EC2NodeClass', 'kubeflow.org/v1 PyTorchJob', 'apps/v1 DaemonSet',
      'apps/v1 Deployment', 'v1 Service', 'autoscaling/v2 HorizontalPodAutoscaler', 'policy/v1 PodDisruptionBudget',
    ]));
    // the training operator is a Helm chart asset (its CRD alone is over the kubectl payload limit)
    expect(Object.values<any>(t.Resources).some(r => r.Type === 'Custom::AWSCDK-EKS-HelmChart' && r.Properties.Chart === undefined)).toBe(true);
    // the model server's capture lands where the drift check reads
    const driftFn = Object.values<any>(t.Resources).find(r => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.CHECK_KIND === 'drift');
    expect(driftFn.Properties.Environment.Variables.CHECK_CAPTURE_PREFIX).toMatch(/^capture\/.+\/$/);
    const job = objects.find(o => o.kind === 'PyTorchJob')!;
    expect(job.spec.pytorchReplicaSpecs.Worker.replicas).toBe(3);
    expect(job.spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe(4);
    expect(validateManifests(objects)).toEqual([]);
    for (const bytes of payloadBytes) { expect(bytes).toBeLessThan(KUBECTL_MANIFEST_LIMIT_BYTES); }
    for (const file of findTemplates(outdir)) { expect(fs.statSync(file).size).toBeLessThan(1024 * 1024); }
  });

  test('report their idle monthly cost and maximum GPU exposure at synth (cdk.out/ml-platform-cost.json)', () => {
    const report = JSON.parse(fs.readFileSync(path.join(outdir, 'ml-platform-cost.json'), 'utf8'));
    const sm = report.stacks.SageMakerPlatform;
    const eks = report.stacks.EksKubeflowPlatform;
    // 2 x ml.g5.xlarge always on; up to 6 under load
    expect(sm.idleMonthlyUsd).toBeGreaterThan(2 * 1.4 * 730);
    expect(sm.maxGpuHourlyUsd).toBeGreaterThanOrEqual(6 * 1.4);
    // EKS control plane idle; the GPU pools bound the hourly exposure
    expect(eks.idleMonthlyUsd).toBeGreaterThan(0.1 * 730);
    expect(eks.maxGpuHourlyUsd).toBeGreaterThan(0);
  });

  test('are clean under cfn-lint (every template, nested stacks included)', () => {
    const templates = findTemplates(outdir);
    expect(templates.length).toBeGreaterThanOrEqual(assembly.stacks.length);
    expect(cfnLint(templates)).toEqual([]);
  });
});
