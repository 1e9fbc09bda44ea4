import * as fs from 'fs';
import * as path from 'path';
import { App, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import {
  DataLake, DataZone, DriftMonitor, GpuInstanceType, GpuTrainingPipeline, ModelEndpoint, ModelRegistry, ModelSource, Objective,
  PredictionHealthMonitor, TrainingData, TrainingImage,
} from '../../src';
import { requireCapture } from '../../src/core/capture-requirements';
import { MlOpsChecks } from '../../src/governance/mlops-checks';
import { NagFinding, pluginFindings } from '../support/nag';

process.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = '20';

// Tests in cdk-nag's own style: each rule gets a non-compliant and a compliant case built from L1 resources
// (so the rule, not our constructs, is under test), plus our constructs' output where they are the subject.

enum TestType { NON_COMPLIANT, COMPLIANT }

const KEY = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';
const ROLE = 'arn:aws:iam::123456789012:role/sagemaker';
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2';

function findings(build: (stack: Stack) => void, context?: Record<string, unknown>): NagFinding[] {
  const app = new App({ context });
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'us-east-1' } });
  build(stack);
  return pluginFindings(app, new MlOpsChecks(app));
}

/** Findings of one rule: `MlOps-SM1` and its per-item forms `MlOps-SM1[...]`. */
function ruleFindings(all: NagFinding[], rule: string): NagFinding[] {
  return all.filter(f => f.rule === rule || f.rule.startsWith(`${rule}[`));
}

function validate(build: (stack: Stack) => void, rule: string, type: TestType, items?: string[]): void {
  const mine = ruleFindings(findings(build), rule);
  if (type === TestType.COMPLIANT) {
    expect(mine).toEqual([]);
    return;
  }
  expect(mine.length).toBeGreaterThan(0);
  if (items) {
    expect(mine.map(f => f.rule).sort()).toEqual(items.map(i => `${rule}[${i}]`).sort());
  }
}

function endpointConfig(stack: Stack, id: string, props: Partial<sagemaker.CfnEndpointConfigProps>, variants?: any[]): sagemaker.CfnEndpointConfig {
  return new sagemaker.CfnEndpointConfig(stack, id, {
    productionVariants: variants ?? [{ variantName: 'primary', modelName: 'm', instanceType: 'ml.m5.xlarge', initialInstanceCount: 2 }],
    ...props,
  });
}

const CAPTURE = (kmsKeyId?: string, modes = ['Input', 'Output'], sampling = 100) => ({
  enableCapture: true,
  initialSamplingPercentage: sampling,
  destinationS3Uri: 's3://bucket/capture',
  kmsKeyId,
  captureOptions: modes.map(captureMode => ({ captureMode })),
});

describe('MlOpsChecks pack', () => {
  test('at least 12 rules, each documented with NIST AI RMF and EU AI Act references', () => {
    const rules = MlOpsChecks.rules();
    expect(rules.length).toBeGreaterThanOrEqual(12);
    expect(new Set(rules.map(r => r.id)).size).toBe(rules.length);
    for (const rule of rules) {
      expect(rule.id).toMatch(/^MlOps-[A-Z]+\d+$/);
      expect(rule.nistAiRmf.length).toBeGreaterThan(0);
      rule.nistAiRmf.forEach(r => expect(r).toMatch(/^(GOVERN|MAP|MEASURE|MANAGE) \d+\.\d+$/));
      expect(rule.euAiAct.length).toBeGreaterThan(0);
      rule.euAiAct.forEach(a => expect(a).toMatch(/^Art\. \d+$/));
      expect(rule.resourceTypes.length).toBeGreaterThan(0);
    }
  });

  test('the README documents every rule with its mappings', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    for (const rule of MlOpsChecks.rules()) {
      const row = readme.split('\n').find(line => line.startsWith(`| \`${rule.id}\``));
      expect(row).toBeDefined();
      rule.nistAiRmf.forEach(r => expect(row).toContain(r));
      rule.euAiAct.forEach(a => expect(row).toContain(a));
    }
  });

  test('a finding is reported under the pack name and can be acknowledged with a reason', () => {
    const all = findings(stack => { new sagemaker.CfnModel(stack, 'Model', { executionRoleArn: ROLE, primaryContainer: { image: IMAGE } }); });
    expect(all.some(f => f.pack === 'MlOps' || f.pack === 'unknown')).toBe(true);
    validate(stack => {
      const model = new sagemaker.CfnModel(stack, 'Model', { executionRoleArn: ROLE, primaryContainer: { image: IMAGE } });
      Validations.of(model).acknowledge({ id: 'MlOps::MlOps-SM5', reason: 'test' });
    }, 'MlOps-SM5', TestType.COMPLIANT);
  });
});

describe('MlOps-SM1: endpoint config KMS (instance-store aware)', () => {
  test('Noncompliance: EBS-backed instance type without a key', () => {
    validate(stack => endpointConfig(stack, 'Config', {}), 'MlOps-SM1', TestType.NON_COMPLIANT);
  });
  test('Noncompliance: a local-storage variant next to an EBS-backed one, no key', () => {
    validate(stack => endpointConfig(stack, 'Config', {}, [
      { variantName: 'a', modelName: 'm', instanceType: 'ml.g5.xlarge', initialInstanceCount: 1 },
      { variantName: 'b', modelName: 'm', instanceType: 'ml.m5.xlarge', initialInstanceCount: 1 },
    ]), 'MlOps-SM1', TestType.NON_COMPLIANT);
  });
  test('Noncompliance: an instance type that is not a literal cannot be checked', () => {
    validate(stack => {
      const type = new CfnResource(stack, 'Param', { type: 'AWS::SSM::Parameter', properties: { Type: 'String', Value: 'ml.m5.xlarge' } });
      endpointConfig(stack, 'Config', {}, [{ variantName: 'a', modelName: 'm', instanceType: type.getAtt('Value').toString(), initialInstanceCount: 1 }]);
    }, 'MlOps-SM1', TestType.NON_COMPLIANT);
  });
  test('Compliance: a KMS key; or only NVMe / serverless variants (SageMaker rejects a key there)', () => {
    validate(stack => endpointConfig(stack, 'Config', { kmsKeyId: KEY }), 'MlOps-SM1', TestType.COMPLIANT);
    validate(stack => endpointConfig(stack, 'Config', {}, [{ variantName: 'a', modelName: 'm', instanceType: 'ml.g5.2xlarge', initialInstanceCount: 1 }]),
      'MlOps-SM1', TestType.COMPLIANT);
    validate(stack => endpointConfig(stack, 'Config', {}, [{ variantName: 'a', modelName: 'm', instanceType: 'ml.m5d.xlarge', initialInstanceCount: 1 }]),
      'MlOps-SM1', TestType.COMPLIANT);
    validate(stack => endpointConfig(stack, 'Config', {}, [{ variantName: 'a', modelName: 'm', serverlessConfig: { memorySizeInMb: 2048, maxConcurrency: 5 } }]),
      'MlOps-SM1', TestType.COMPLIANT);
  });
});

describe('MlOps-SM2: inference data KMS', () => {
  test('Noncompliance: capture and async output without a key', () => {
    validate(stack => endpointConfig(stack, 'Config', {
      kmsKeyId: KEY,
      dataCaptureConfig: CAPTURE(undefined),
      asyncInferenceConfig: { outputConfig: { s3OutputPath: 's3://bucket/async' } },
    }), 'MlOps-SM2', TestType.NON_COMPLIANT, ['DataCaptureConfig.KmsKeyId', 'AsyncInferenceConfig.OutputConfig.KmsKeyId']);
  });
  test('Compliance: capture and async output with a key; no capture at all is not applicable', () => {
    validate(stack => endpointConfig(stack, 'Config', {
      kmsKeyId: KEY,
      dataCaptureConfig: CAPTURE(KEY),
      asyncInferenceConfig: { outputConfig: { s3OutputPath: 's3://bucket/async', kmsKeyId: KEY } },
    }), 'MlOps-SM2', TestType.COMPLIANT);
    validate(stack => endpointConfig(stack, 'Config', { kmsKeyId: KEY }), 'MlOps-SM2', TestType.COMPLIANT);
  });
});

describe('MlOps-SM3: deployment guardrails with auto-rollback', () => {
  test('Noncompliance: no deployment config', () => {
    validate(stack => { new sagemaker.CfnEndpoint(stack, 'Endpoint', { endpointConfigName: 'c' }); }, 'MlOps-SM3', TestType.NON_COMPLIANT,
      ['DeploymentConfig.UpdatePolicy', 'DeploymentConfig.AutoRollbackConfiguration.Alarms']);
  });
  test('Noncompliance: blue/green without rollback alarms', () => {
    validate(stack => {
      new sagemaker.CfnEndpoint(stack, 'Endpoint', {
        endpointConfigName: 'c',
        deploymentConfig: { blueGreenUpdatePolicy: { trafficRoutingConfiguration: { type: 'ALL_AT_ONCE' } } },
      });
    }, 'MlOps-SM3', TestType.NON_COMPLIANT, ['DeploymentConfig.AutoRollbackConfiguration.Alarms']);
  });
  test('Compliance: blue/green (or rolling) with rollback alarms', () => {
    validate(stack => {
      new sagemaker.CfnEndpoint(stack, 'Endpoint', {
        endpointConfigName: 'c',
        deploymentConfig: {
          blueGreenUpdatePolicy: { trafficRoutingConfiguration: { type: 'ALL_AT_ONCE' } },
          autoRollbackConfiguration: { alarms: [{ alarmName: 'errors' }] },
        },
      });
    }, 'MlOps-SM3', TestType.COMPLIANT);
  });
  test('Compliance: acknowledged on a development endpoint', () => {
    validate(stack => {
      const e = new sagemaker.CfnEndpoint(stack, 'Endpoint', { endpointConfigName: 'c' });
      Validations.of(e).acknowledge({ id: 'MlOps::MlOps-SM3[DeploymentConfig.UpdatePolicy]', reason: 'development endpoint' });
      Validations.of(e).acknowledge({ id: 'MlOps::MlOps-SM3[DeploymentConfig.AutoRollbackConfiguration.Alarms]', reason: 'development endpoint' });
    }, 'MlOps-SM3', TestType.COMPLIANT);
  });
});

describe('MlOps-SM4: capture on monitored endpoints', () => {
  function monitored(stack: Stack, capture: any, monitor: 'DataQuality' | 'ModelQuality') {
    const config = endpointConfig(stack, 'Config', { kmsKeyId: KEY, dataCaptureConfig: capture });
    const endpoint = new sagemaker.CfnEndpoint(stack, 'Endpoint', { endpointConfigName: config.attrEndpointConfigName });
    const common = {
      jobResources: { clusterConfig: { instanceCount: 1, instanceType: 'ml.m5.xlarge', volumeSizeInGb: 20, volumeKmsKeyId: KEY } },
      roleArn: ROLE,
    };
    const output = { monitoringOutputs: [{ s3Output: { localPath: '/opt/ml/processing/output', s3Uri: 's3://bucket/monitor' } }], kmsKeyId: KEY };
    if (monitor === 'DataQuality') {
      new sagemaker.CfnDataQualityJobDefinition(stack, 'Monitor', {
        ...common,
        dataQualityAppSpecification: { imageUri: IMAGE },
        dataQualityJobInput: { endpointInput: { endpointName: endpoint.attrEndpointName, localPath: '/opt/ml/processing/input' } },
        dataQualityJobOutputConfig: output,
      });
    } else {
      new sagemaker.CfnModelQualityJobDefinition(stack, 'Monitor', {
        ...common,
        modelQualityAppSpecification: { imageUri: IMAGE, problemType: 'BinaryClassification' },
        modelQualityJobInput: {
          endpointInput: { endpointName: endpoint.attrEndpointName, localPath: '/opt/ml/processing/input' },
          groundTruthS3Input: { s3Uri: 's3://bucket/truth' },
        },
        modelQualityJobOutputConfig: output,
      });
    }
  }

  test('Noncompliance: a Model Monitor job reads an endpoint without capture', () => {
    validate(stack => monitored(stack, undefined, 'DataQuality'), 'MlOps-SM4', TestType.NON_COMPLIANT, ['DataCaptureConfig.EnableCapture']);
  });
  test('Noncompliance: model quality needs outputs, the endpoint captures inputs only', () => {
    validate(stack => monitored(stack, CAPTURE(KEY, ['Input']), 'ModelQuality'), 'MlOps-SM4', TestType.NON_COMPLIANT, ['DataCaptureConfig.CaptureOptions.Output']);
  });
  test('Noncompliance: a monitor of this library recorded its need on a construct whose config captures nothing', () => {
    validate(stack => {
      const owner = new Construct(stack, 'Owner');
      endpointConfig(stack, 'Unrelated', { kmsKeyId: KEY });
      new sagemaker.CfnEndpointConfig(owner, 'Config', {
        kmsKeyId: KEY,
        productionVariants: [{ variantName: 'a', modelName: 'm', instanceType: 'ml.m5.xlarge', initialInstanceCount: 2 }],
        dataCaptureConfig: CAPTURE(KEY, ['Input'], 0),
      });
      requireCapture(owner, new Construct(stack, 'Monitor'), ['Input', 'Output']);
    }, 'MlOps-SM4', TestType.NON_COMPLIANT, ['DataCaptureConfig.InitialSamplingPercentage', 'DataCaptureConfig.CaptureOptions.Output']);
  });
  test('Compliance: the endpoint captures what the monitor reads; unmonitored endpoints are not applicable', () => {
    validate(stack => monitored(stack, CAPTURE(KEY, ['Input']), 'DataQuality'), 'MlOps-SM4', TestType.COMPLIANT);
    validate(stack => monitored(stack, CAPTURE(KEY), 'ModelQuality'), 'MlOps-SM4', TestType.COMPLIANT);
    validate(stack => endpointConfig(stack, 'Config', { kmsKeyId: KEY }), 'MlOps-SM4', TestType.COMPLIANT);
  });
  test('Compliance: ModelEndpoint watched by DriftMonitor and PredictionHealthMonitor', () => {
    validate(stack => {
      const lake = new DataLake(stack, 'Lake');
      const registry = new ModelRegistry(stack, 'Registry', { modelPackageGroupName: 'fraud' });
      const endpoint = new ModelEndpoint(stack, 'Endpoint', { dataLake: lake, model: ModelSource.fromLatestApproved(registry) });
      new DriftMonitor(stack, 'Drift', { endpoint });
      new PredictionHealthMonitor(stack, 'Health', { endpoint, minScore: 0, maxScore: 1 });
    }, 'MlOps-SM4', TestType.COMPLIANT);
  });
});

describe('MlOps-SM5: model network isolation', () => {
  test('Noncompliance: neither isolated nor in a VPC', () => {
    validate(stack => { new sagemaker.CfnModel(stack, 'Model', { executionRoleArn: ROLE, primaryContainer: { image: IMAGE } }); },
      'MlOps-SM5', TestType.NON_COMPLIANT);
  });
  test('Compliance: isolated, or in a VPC', () => {
    validate(stack => {
      new sagemaker.CfnModel(stack, 'Model', { executionRoleArn: ROLE, primaryContainer: { image: IMAGE }, enableNetworkIsolation: true });
    }, 'MlOps-SM5', TestType.COMPLIANT);
    validate(stack => {
      new sagemaker.CfnModel(stack, 'Model', {
        executionRoleArn: ROLE, primaryContainer: { image: IMAGE }, vpcConfig: { securityGroupIds: ['sg-1'], subnets: ['subnet-1'] },
      });
    }, 'MlOps-SM5', TestType.COMPLIANT);
  });
});

/** A pipeline with an inline definition body. */
function pipeline(stack: Stack, steps: any[], parameters: any[] = []): sagemaker.CfnPipeline {
  return new sagemaker.CfnPipeline(stack, 'Pipeline', {
    pipelineName: 'p',
    roleArn: ROLE,
    pipelineDefinition: { PipelineDefinitionBody: JSON.stringify({ Version: '2020-12-01', Parameters: parameters, Steps: steps }) },
  });
}

const TRAIN = (over: Record<string, unknown> = {}, resources: Record<string, unknown> = {}) => ({
  Name: 'Train',
  Type: 'Training',
  Arguments: {
    AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File' },
    OutputDataConfig: { S3OutputPath: 's3://bucket/models', KmsKeyId: KEY },
    ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30, VolumeKmsKeyId: KEY, ...resources },
    EnableNetworkIsolation: true,
    EnableInterContainerTrafficEncryption: true,
    ...over,
  },
});
const PROCESS = (over: Record<string, unknown> = {}) => ({
  Name: 'Evaluate',
  Type: 'Processing',
  Arguments: {
    ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30, VolumeKmsKeyId: KEY } },
    ProcessingOutputConfig: { Outputs: [], KmsKeyId: KEY },
    NetworkConfig: { EnableNetworkIsolation: true, EnableInterContainerTrafficEncryption: true },
    ...over,
  },
});

describe('MlOps-TR1: job volume and output encryption (instance-store aware)', () => {
  test('Noncompliance: training without a volume key and processing without an output key, also inside a condition branch', () => {
    validate(stack => pipeline(stack, [
      TRAIN({}, { VolumeKmsKeyId: undefined }),
      { Name: 'Check', Type: 'Condition', Arguments: { Conditions: [], IfSteps: [PROCESS({ ProcessingOutputConfig: { Outputs: [] } })], ElseSteps: [] } },
    ]), 'MlOps-TR1', TestType.NON_COMPLIANT, ['Train:VolumeKmsKeyId', 'Evaluate:OutputKmsKeyId']);
  });
  test('Noncompliance: a monitoring job definition without keys', () => {
    validate(stack => {
      new sagemaker.CfnDataQualityJobDefinition(stack, 'Monitor', {
        jobResources: { clusterConfig: { instanceCount: 1, instanceType: 'ml.m5.xlarge', volumeSizeInGb: 20 } },
        roleArn: ROLE,
        dataQualityAppSpecification: { imageUri: IMAGE },
        dataQualityJobInput: { endpointInput: { endpointName: 'e', localPath: '/in' } },
        dataQualityJobOutputConfig: { monitoringOutputs: [{ s3Output: { localPath: '/out', s3Uri: 's3://b/m' } }] },
        networkConfig: { enableNetworkIsolation: true, enableInterContainerTrafficEncryption: true },
      });
    }, 'MlOps-TR1', TestType.NON_COMPLIANT, ['JobDefinition:VolumeKmsKeyId', 'JobDefinition:OutputKmsKeyId']);
  });
  test('Noncompliance: a definition in S3 that this library did not build cannot be checked', () => {
    validate(stack => {
      new sagemaker.CfnPipeline(stack, 'Pipeline', {
        pipelineName: 'p', roleArn: ROLE, pipelineDefinition: { PipelineDefinitionS3Location: { Bucket: 'b', Key: 'k' } },
      });
    }, 'MlOps-TR1', TestType.NON_COMPLIANT);
  });
  test('Compliance: keys everywhere; NVMe training instances need no volume key', () => {
    validate(stack => pipeline(stack, [TRAIN(), PROCESS()]), 'MlOps-TR1', TestType.COMPLIANT);
    validate(stack => pipeline(stack, [TRAIN({}, { InstanceType: 'ml.p4d.24xlarge', VolumeKmsKeyId: undefined })]), 'MlOps-TR1', TestType.COMPLIANT);
  });
});

describe('MlOps-TR2: job network isolation', () => {
  test('Noncompliance: training and processing without isolation', () => {
    const steps = [TRAIN({ EnableNetworkIsolation: false }), PROCESS({ NetworkConfig: { EnableInterContainerTrafficEncryption: true } })];
    validate(stack => pipeline(stack, steps),
      'MlOps-TR2', TestType.NON_COMPLIANT, ['Train:EnableNetworkIsolation', 'Evaluate:EnableNetworkIsolation']);
  });
  test('Compliance: isolated, or decided by a pipeline parameter', () => {
    validate(stack => pipeline(stack, [TRAIN(), PROCESS()]), 'MlOps-TR2', TestType.COMPLIANT);
    validate(stack => pipeline(stack, [TRAIN({ EnableNetworkIsolation: { Get: 'Parameters.Isolate' } })],
      [{ Name: 'Isolate', Type: 'Boolean', DefaultValue: true }]), 'MlOps-TR2', TestType.COMPLIANT);
  });
});

describe('MlOps-TR3: inter-container traffic encryption', () => {
  test('Noncompliance: distributed training without encryption', () => {
    validate(stack => pipeline(stack, [TRAIN({ EnableInterContainerTrafficEncryption: false }, { InstanceCount: 4 })]),
      'MlOps-TR3', TestType.NON_COMPLIANT, ['Train:EnableInterContainerTrafficEncryption']);
  });
  test('Compliance: encrypted, or one instance (no inter-container traffic)', () => {
    validate(stack => pipeline(stack, [TRAIN({}, { InstanceCount: 4 })]), 'MlOps-TR3', TestType.COMPLIANT);
    validate(stack => pipeline(stack, [TRAIN({ EnableInterContainerTrafficEncryption: false })]), 'MlOps-TR3', TestType.COMPLIANT);
  });
});

describe('MlOps-TR1..TR3 and RG1 on GpuTrainingPipeline (definition stored in S3, checked from the construct)', () => {
  function training(stack: Stack, props: { instanceCount?: number } = {}) {
    const lake = new DataLake(stack, 'Lake');
    const registry = new ModelRegistry(stack, 'Registry', { modelPackageGroupName: 'fraud' });
    return new GpuTrainingPipeline(stack, 'Training', {
      dataLake: lake,
      registry,
      image: TrainingImage.fromUri(IMAGE),
      instanceType: GpuInstanceType.ML_G5_2XLARGE,
      instanceCount: props.instanceCount,
      objective: Objective.maximize('validation:auc', 0.005),
      trainingData: TrainingData.fromDataLake(lake, DataZone.CURATED, 'datasets/fraud/train/'),
    });
  }
  test('Compliance: the default pipeline passes every job rule and registers pending approval', () => {
    const all = findings(stack => training(stack, { instanceCount: 2 }));
    for (const rule of ['MlOps-TR1', 'MlOps-TR2', 'MlOps-TR3', 'MlOps-RG1']) { expect(ruleFindings(all, rule)).toEqual([]); }
  });
});

describe('MlOps-FS1 / FS2: feature group encryption', () => {
  function featureGroup(stack: Stack, online?: string, offline?: string) {
    new sagemaker.CfnFeatureGroup(stack, 'Features', {
      featureGroupName: 'fraud',
      recordIdentifierFeatureName: 'id',
      eventTimeFeatureName: 'ts',
      featureDefinitions: [{ featureName: 'id', featureType: 'String' }, { featureName: 'ts', featureType: 'String' }],
      // Typed as JSON in aws-cdk-lib: written in CloudFormation's own casing.
      onlineStoreConfig: { EnableOnlineStore: true, SecurityConfig: online ? { KmsKeyId: online } : undefined },
      offlineStoreConfig: { S3StorageConfig: { S3Uri: 's3://bucket/offline', KmsKeyId: offline } },
      roleArn: ROLE,
    });
  }
  test('Noncompliance: online and offline stores without keys', () => {
    validate(stack => featureGroup(stack), 'MlOps-FS1', TestType.NON_COMPLIANT);
    validate(stack => featureGroup(stack), 'MlOps-FS2', TestType.NON_COMPLIANT);
  });
  test('Compliance: both stores with keys', () => {
    validate(stack => featureGroup(stack, KEY, KEY), 'MlOps-FS1', TestType.COMPLIANT);
    validate(stack => featureGroup(stack, KEY, KEY), 'MlOps-FS2', TestType.COMPLIANT);
  });
});

describe('MlOps-RG1: approval gate', () => {
  const REGISTER = (status: unknown) => ({ Name: 'Register', Type: 'RegisterModel', Arguments: { ModelPackageGroupName: 'g', ModelApprovalStatus: status } });
  test('Noncompliance: a pipeline registers Approved (literally or by its parameter default)', () => {
    validate(stack => pipeline(stack, [TRAIN(), REGISTER('Approved')]), 'MlOps-RG1', TestType.NON_COMPLIANT, ['Register:ModelApprovalStatus']);
    validate(stack => pipeline(stack, [TRAIN(), REGISTER({ Get: 'Parameters.ModelApprovalStatus' })],
      [{ Name: 'ModelApprovalStatus', Type: 'String', DefaultValue: 'Approved' }]), 'MlOps-RG1', TestType.NON_COMPLIANT, ['Register:ModelApprovalStatus']);
  });
  test('Noncompliance: a model package created Approved', () => {
    validate(stack => {
      new sagemaker.CfnModelPackage(stack, 'Package', { modelPackageGroupName: 'g', modelApprovalStatus: 'Approved' });
    }, 'MlOps-RG1', TestType.NON_COMPLIANT);
  });
  test('Compliance: pending approval, by literal, parameter default or SageMaker\'s default', () => {
    validate(stack => pipeline(stack, [TRAIN(), REGISTER('PendingManualApproval')]), 'MlOps-RG1', TestType.COMPLIANT);
    validate(stack => pipeline(stack, [TRAIN(), REGISTER({ Get: 'Parameters.Status' })],
      [{ Name: 'Status', Type: 'String', DefaultValue: 'PendingManualApproval' }]), 'MlOps-RG1', TestType.COMPLIANT);
    validate(stack => pipeline(stack, [TRAIN(), REGISTER(undefined)]), 'MlOps-RG1', TestType.COMPLIANT);
    validate(stack => {
      new sagemaker.CfnModelPackage(stack, 'Package', { modelPackageGroupName: 'g', modelApprovalStatus: 'PendingManualApproval' });
    }, 'MlOps-RG1', TestType.COMPLIANT);
  });
});

function nodegroup(stack: Stack, props: Partial<eks.CfnNodegroupProps>, metadata?: Record<string, unknown>) {
  const template = metadata === undefined ? undefined : new CfnResource(stack, 'LaunchTemplate', {
    type: 'AWS::EC2::LaunchTemplate', properties: { LaunchTemplateData: { MetadataOptions: metadata } },
  });
  new eks.CfnNodegroup(stack, 'Nodes', {
    clusterName: 'c',
    nodeRole: ROLE,
    subnets: ['subnet-1'],
    launchTemplate: template ? { id: template.ref, version: template.getAtt('LatestVersionNumber').toString() } : undefined,
    ...props,
  });
}

function manifest(stack: Stack, objects: unknown[]) {
  new CfnResource(stack, 'Manifest', {
    type: 'Custom::AWSCDK-EKS-KubernetesResource',
    properties: { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:kubectl', ClusterName: 'c', Manifest: JSON.stringify(objects) },
  });
}

const NODE_CLASS = (metadataOptions?: Record<string, unknown>) => ({
  apiVersion: 'karpenter.k8s.aws/v1', kind: 'EC2NodeClass', metadata: { name: 'gpu' }, spec: { amiSelectorTerms: [{ alias: 'al2023@v20260512' }], metadataOptions },
});
const NODE_POOL = (taints?: unknown[]) => ({
  apiVersion: 'karpenter.sh/v1',
  kind: 'NodePool',
  metadata: { name: 'gpu' },
  spec: {
    template: {
      spec: {
        nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'gpu' },
        requirements: [{ key: 'karpenter.k8s.aws/instance-gpu-count', operator: 'Gt', values: ['0'] }],
        taints,
      },
    },
  },
});

describe('MlOps-EKS1: IMDSv2 with hop limit 1 on nodes', () => {
  test('Noncompliance: a managed node group without a launch template (EKS default allows IMDSv1)', () => {
    validate(stack => nodegroup(stack, {}), 'MlOps-EKS1', TestType.NON_COMPLIANT, ['LaunchTemplate']);
  });
  test('Noncompliance: a launch template with optional tokens and hop limit 2', () => {
    validate(stack => nodegroup(stack, {}, { HttpTokens: 'optional', HttpPutResponseHopLimit: 2 }), 'MlOps-EKS1', TestType.NON_COMPLIANT,
      ['HttpTokens', 'HttpPutResponseHopLimit']);
  });
  test('Noncompliance: a Karpenter EC2NodeClass that weakens the defaults', () => {
    validate(stack => manifest(stack, [NODE_CLASS({ httpTokens: 'optional', httpPutResponseHopLimit: 1 })]), 'MlOps-EKS1', TestType.NON_COMPLIANT,
      ['gpu:HttpTokens']);
  });
  test('Compliance: launch template requires tokens with hop limit 1; Karpenter defaults or explicit settings', () => {
    validate(stack => nodegroup(stack, {}, { HttpTokens: 'required', HttpPutResponseHopLimit: 1 }), 'MlOps-EKS1', TestType.COMPLIANT);
    validate(stack => manifest(stack, [NODE_CLASS()]), 'MlOps-EKS1', TestType.COMPLIANT);
    validate(stack => manifest(stack, [NODE_CLASS({ httpTokens: 'required', httpPutResponseHopLimit: 1 })]), 'MlOps-EKS1', TestType.COMPLIANT);
  });
});

describe('MlOps-EKS2: taints on GPU node pools', () => {
  test('Noncompliance: GPU AMI or GPU instance types without a taint; Karpenter GPU NodePool without taints', () => {
    validate(stack => nodegroup(stack, { amiType: 'AL2023_x86_64_NVIDIA' }), 'MlOps-EKS2', TestType.NON_COMPLIANT);
    validate(stack => nodegroup(stack, { instanceTypes: ['g5.2xlarge'] }), 'MlOps-EKS2', TestType.NON_COMPLIANT);
    validate(stack => manifest(stack, [NODE_POOL()]), 'MlOps-EKS2', TestType.NON_COMPLIANT, ['gpu:taints']);
  });
  test('Compliance: tainted GPU pools; CPU pools are not applicable', () => {
    validate(stack => nodegroup(stack, { amiType: 'AL2023_x86_64_NVIDIA', taints: [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NO_SCHEDULE' }] }),
      'MlOps-EKS2', TestType.COMPLIANT);
    validate(stack => nodegroup(stack, { instanceTypes: ['m6i.large'] }), 'MlOps-EKS2', TestType.COMPLIANT);
    validate(stack => manifest(stack, [NODE_POOL([{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }])]), 'MlOps-EKS2', TestType.COMPLIANT);
  });
});

describe('MlOps-EKS3: public endpoint allow-list', () => {
  function cluster(stack: Stack, vpc: Partial<eks.CfnCluster.ResourcesVpcConfigProperty>) {
    new eks.CfnCluster(stack, 'Cluster', { roleArn: ROLE, resourcesVpcConfig: { subnetIds: ['subnet-1'], ...vpc } });
  }
  test('Noncompliance: public by default, or open to every address', () => {
    validate(stack => cluster(stack, {}), 'MlOps-EKS3', TestType.NON_COMPLIANT);
    validate(stack => cluster(stack, { endpointPublicAccess: true, publicAccessCidrs: ['203.0.113.0/24', '0.0.0.0/0'] }), 'MlOps-EKS3', TestType.NON_COMPLIANT);
  });
  test('Compliance: private only, or an allow-list', () => {
    validate(stack => cluster(stack, { endpointPublicAccess: false, endpointPrivateAccess: true }), 'MlOps-EKS3', TestType.COMPLIANT);
    validate(stack => cluster(stack, { endpointPublicAccess: true, publicAccessCidrs: ['203.0.113.0/24'] }), 'MlOps-EKS3', TestType.COMPLIANT);
  });
});

describe('MlOps-LN1: lineage tags', () => {
  test('Noncompliance: a model and an endpoint config without lineage tags', () => {
    validate(stack => {
      new sagemaker.CfnModel(stack, 'Model', { executionRoleArn: ROLE, primaryContainer: { image: IMAGE }, enableNetworkIsolation: true });
    }, 'MlOps-LN1', TestType.NON_COMPLIANT, ['Tag::ml-platform:code-version', 'Tag::ml-platform:image', 'Tag::ml-platform:data-version']);
  });
  test('Compliance: every lineage tag set', () => {
    validate(stack => {
      new sagemaker.CfnModel(stack, 'Model', {
        executionRoleArn: ROLE,
        primaryContainer: { image: IMAGE },
        enableNetworkIsolation: true,
        tags: [
          { key: 'ml-platform:code-version', value: 'abc123' }, { key: 'ml-platform:image', value: IMAGE }, { key: 'ml-platform:data-version', value: 'sha256-1' },
        ],
      });
    }, 'MlOps-LN1', TestType.COMPLIANT);
  });
  test('Compliance: ModelEndpoint and GpuTrainingPipeline tag their lineage when the code version is known', () => {
    const all = findings(stack => {
      const lake = new DataLake(stack, 'Lake');
      const registry = new ModelRegistry(stack, 'Registry', { modelPackageGroupName: 'fraud' });
      new ModelEndpoint(stack, 'Endpoint', { dataLake: lake, model: ModelSource.fromLatestApproved(registry) });
      new GpuTrainingPipeline(stack, 'Training', {
        dataLake: lake,
        registry,
        image: TrainingImage.fromUri(IMAGE),
        instanceType: GpuInstanceType.ML_G5_2XLARGE,
        objective: Objective.maximize('validation:auc', 0.005),
        trainingData: TrainingData.fromDataLake(lake, DataZone.CURATED, 'datasets/fraud/train/'),
      });
    }, { 'cdk-ml-platform:codeVersion': 'v1.2.3' });
    expect(ruleFindings(all, 'MlOps-LN1')).toEqual([]);
  });
});
