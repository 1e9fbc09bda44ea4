import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnResource, NestedStack, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { DataLake, EndpointVariant, ModelEndpoint, ModelSource } from '../../src';
import { GpuCluster } from '../../src/compute/gpu-cluster';
import { GpuCapacityType, NodeProvisioner } from '../../src/compute/gpu-node-pool';
import { MlPlatformError } from '../../src/core/errors';
import { EC2_HOURLY_USD, FIXED_PRICES_USD, HOURS_PER_MONTH, PRICES_AS_OF, SAGEMAKER_HOSTING_HOURLY_USD } from '../../src/core/price-table';
import { CostReport, CostReportProps } from '../../src/governance/cost-report';

process.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = '20';

/** Synth output directories of this file, removed after the tests. */
const outdirs: string[] = [];
afterAll(() => { for (const dir of outdirs) { fs.rmSync(dir, { recursive: true, force: true }); } });

function newApp(): App {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cost-'));
  outdirs.push(outdir);
  return new App({ outdir });
}

function readReport(app: App): any {
  app.synth();
  return JSON.parse(fs.readFileSync(path.join(app.outdir, 'ml-platform-cost.json'), 'utf8'));
}

// The prices the expected figures below are computed from. If the table is refreshed, these fail first.
test('price table: dated, and the prices these tests use', () => {
  expect(PRICES_AS_OF).toMatch(/^\d{4}-\d{2}$/);
  expect(HOURS_PER_MONTH).toBe(730);
  expect(SAGEMAKER_HOSTING_HOURLY_USD['ml.g5.xlarge']).toBe(1.408);
  expect(SAGEMAKER_HOSTING_HOURLY_USD['ml.m5.large']).toBe(0.115);
  expect(EC2_HOURLY_USD['g5.2xlarge']).toBe(1.212);
  expect(EC2_HOURLY_USD['g5.12xlarge']).toBe(5.672);
  expect(EC2_HOURLY_USD['m6i.large']).toBe(0.096);
  expect(EC2_HOURLY_USD['g6.xlarge']).toBe(0.8048);
  expect(EC2_HOURLY_USD['g6.12xlarge']).toBe(4.6016);
  expect(FIXED_PRICES_USD).toMatchObject({
    eksControlPlaneHourly: 0.1, natGatewayHourly: 0.045, kmsKeyMonthly: 1, alarmStandardMetricMonthly: 0.1, dashboardMonthly: 3,
  });
  expect(EC2_HOURLY_USD['p5.48xlarge']).toBeUndefined();
});

/** A SageMaker endpoint from L1s: GPU variant 2 × ml.g5.xlarge (autoscaling 2..4), CPU variant 1 × ml.m5.large (no autoscaling). */
function endpointStack(app: App, props: CostReportProps = {}) {
  const stack = new Stack(app, 'Serving');
  const config = new sagemaker.CfnEndpointConfig(stack, 'Config', {
    productionVariants: [
      { variantName: 'Gpu', modelName: 'm', instanceType: 'ml.g5.xlarge', initialInstanceCount: 2, initialVariantWeight: 1 },
      { variantName: 'Cpu', modelName: 'm', instanceType: 'ml.m5.large', initialInstanceCount: 1, initialVariantWeight: 1 },
    ],
  });
  const endpoint = new sagemaker.CfnEndpoint(stack, 'Endpoint', { endpointConfigName: config.attrEndpointConfigName });
  new appscaling.CfnScalableTarget(stack, 'GpuScaling', {
    serviceNamespace: 'sagemaker',
    scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
    resourceId: `endpoint/${endpoint.attrEndpointName}/variant/Gpu`,
    minCapacity: 2,
    maxCapacity: 4,
  });
  const report = new CostReport(stack, 'Cost', props);
  return { stack, report };
}

/** EKS from L1s: control plane, GPU node group 0..3 × g5.2xlarge, system node group 2..4 × m6i.large, plus KMS, alarm, dashboard, NAT. */
function eksStack(app: App, props: CostReportProps = {}) {
  const stack = new Stack(app, 'Eks');
  const cluster = new eks.CfnCluster(stack, 'Cluster', { roleArn: 'arn:aws:iam::123456789012:role/eks', resourcesVpcConfig: { subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'] } });
  const common = { clusterName: cluster.ref, nodeRole: 'arn:aws:iam::123456789012:role/node', subnets: ['subnet-0123456789abcdef0'] };
  new eks.CfnNodegroup(stack, 'GpuNodes', { ...common, instanceTypes: ['g5.2xlarge'], scalingConfig: { minSize: 0, maxSize: 3, desiredSize: 0 } });
  new eks.CfnNodegroup(stack, 'SystemNodes', { ...common, instanceTypes: ['m6i.large'], scalingConfig: { minSize: 2, maxSize: 4, desiredSize: 2 } });
  new kms.CfnKey(stack, 'Key', {});
  new cloudwatch.CfnAlarm(stack, 'Alarm', {
    comparisonOperator: 'GreaterThanThreshold', evaluationPeriods: 1, threshold: 1, metricName: 'Errors', namespace: 'ML', period: 300, statistic: 'Sum',
  });
  new cloudwatch.CfnDashboard(stack, 'Dashboard', { dashboardBody: '{"widgets":[]}' });
  new ec2.CfnNatGateway(stack, 'Nat', { subnetId: 'subnet-0123456789abcdef0' });
  const report = new CostReport(stack, 'Cost', props);
  return { stack, report };
}

describe('CostReport figures', () => {
  test('endpoint: idle at the autoscaling minimum, GPU exposure at the maximum; CPU variants idle only', () => {
    const app = newApp();
    endpointStack(app);
    const doc = readReport(app);
    const s = doc.stacks.Serving;
    expect(s.idleMonthlyUsd).toBeCloseTo(2 * 1.408 * 730 + 1 * 0.115 * 730, 6);
    expect(s.maxGpuHourlyUsd).toBeCloseTo(4 * 1.408, 6);
    expect(s.lines).toEqual(expect.arrayContaining([
      expect.objectContaining({ type: 'AWS::SageMaker::Endpoint', quantity: 2, unitUsd: 1.408, monthlyUsd: expect.closeTo(2 * 1.408 * 730, 6) }),
      expect.objectContaining({ type: 'AWS::SageMaker::Endpoint', quantity: 4, unitUsd: 1.408, hourlyUsd: expect.closeTo(4 * 1.408, 6) }),
      expect.objectContaining({ type: 'AWS::SageMaker::Endpoint', quantity: 1, unitUsd: 0.115, monthlyUsd: expect.closeTo(0.115 * 730, 6) }),
    ]));
    expect(s.lines.filter((l: any) => l.hourlyUsd !== undefined)).toHaveLength(1); // the CPU variant is not GPU exposure
    expect(s.unknown).toEqual([]);
  });

  test('EKS: control plane and system nodes idle, GPU node group at max size, KMS, alarm, dashboard, NAT', () => {
    const app = newApp();
    eksStack(app);
    const s = readReport(app).stacks.Eks;
    const expectedIdle = 0.1 * 730 // control plane
      + 0 * 1.212 * 730 // GPU node group at min 0
      + 2 * 0.096 * 730 // system node group at min 2
      + 1 // KMS key
      + 0.1 // alarm
      + 3 // dashboard
      + 0.045 * 730; // NAT gateway
    expect(s.idleMonthlyUsd).toBeCloseTo(expectedIdle, 6);
    expect(s.maxGpuHourlyUsd).toBeCloseTo(3 * 1.212, 6);
    const idleOf = (type: string) => s.lines.filter((l: any) => l.type === type && l.monthlyUsd !== undefined).map((l: any) => l.monthlyUsd);
    expect(idleOf('AWS::EKS::Cluster')).toEqual([expect.closeTo(73, 6)]);
    expect(idleOf('AWS::EKS::Nodegroup')).toEqual([expect.closeTo(140.16, 6)]);
    expect(idleOf('AWS::KMS::Key')).toEqual([1]);
    expect(idleOf('AWS::CloudWatch::Alarm')).toEqual([0.1]);
    expect(idleOf('AWS::CloudWatch::Dashboard')).toEqual([3]);
    expect(idleOf('AWS::EC2::NatGateway')).toEqual([expect.closeTo(32.85, 6)]);
    expect(s.lines).toContainEqual(expect.objectContaining({ path: 'Eks/GpuNodes', quantity: 3, unitUsd: 1.212, hourlyUsd: expect.closeTo(3.636, 6) }));
  });

  test('nested stacks count toward their parent\'s report and budgets (a platform puts each model in one)', () => {
    const app = newApp();
    const stack = new Stack(app, 'Platform');
    new kms.CfnKey(stack, 'Key', {});
    for (const name of ['ModelA', 'ModelB']) {
      const nested = new NestedStack(stack, name);
      const config = new sagemaker.CfnEndpointConfig(nested, 'Config', {
        productionVariants: [{ variantName: 'Gpu', modelName: 'm', instanceType: 'ml.g5.xlarge', initialInstanceCount: 1, initialVariantWeight: 1 }],
      });
      new sagemaker.CfnEndpoint(nested, 'Endpoint', { endpointConfigName: config.attrEndpointConfigName });
    }
    new CostReport(stack, 'Cost', { maxIdleMonthlyUsd: 2 * 1.408 * 730 + 1 });
    const s = readReport(app).stacks.Platform;
    // Two endpoints of 1 × ml.g5.xlarge (one per nested stack) and the parent's key.
    expect(s.idleMonthlyUsd).toBeCloseTo(2 * 1.408 * 730 + 1, 6);
    expect(s.maxGpuHourlyUsd).toBeCloseTo(2 * 1.408, 6);
    expect(s.lines.filter((l: any) => l.type === 'AWS::SageMaker::Endpoint' && l.monthlyUsd !== undefined).map((l: any) => l.path).sort())
      .toEqual(['Platform/ModelA/Endpoint', 'Platform/ModelB/Endpoint']);
    // The budget sees the nested endpoints: one dollar less fails.
    const app2 = newApp();
    const parent = new Stack(app2, 'Platform');
    const nested = new NestedStack(parent, 'Model');
    const config = new sagemaker.CfnEndpointConfig(nested, 'Config', {
      productionVariants: [{ variantName: 'Gpu', modelName: 'm', instanceType: 'ml.g5.xlarge', initialInstanceCount: 1, initialVariantWeight: 1 }],
    });
    new sagemaker.CfnEndpoint(nested, 'Endpoint', { endpointConfigName: config.attrEndpointConfigName });
    new CostReport(parent, 'Cost', { maxIdleMonthlyUsd: 1.408 * 730 - 1 });
    expect(() => app2.synth()).toThrow(/\[CostReport\.IdleBudgetExceeded\]/);
  });

  test('hoursPerMonth changes monthly figures only', () => {
    const app = newApp();
    endpointStack(app, { hoursPerMonth: 720 });
    const s = readReport(app).stacks.Serving;
    expect(s.hoursPerMonth).toBe(720);
    expect(s.idleMonthlyUsd).toBeCloseTo(2 * 1.408 * 720 + 0.115 * 720, 6);
    expect(s.maxGpuHourlyUsd).toBeCloseTo(4 * 1.408, 6);
  });

  test('unpriced instance types are listed as unknown, never counted as 0 silently', () => {
    const app = newApp();
    const stack = new Stack(app, 'Big');
    const cluster = new eks.CfnCluster(stack, 'Cluster', { roleArn: 'arn:aws:iam::123456789012:role/eks', resourcesVpcConfig: { subnetIds: ['subnet-0123456789abcdef0'] } });
    new eks.CfnNodegroup(stack, 'H100', {
      clusterName: cluster.ref,
      nodeRole: 'arn:aws:iam::123456789012:role/node',
      subnets: ['subnet-0123456789abcdef0'],
      instanceTypes: ['p5.48xlarge'],
      scalingConfig: { minSize: 1, maxSize: 2, desiredSize: 1 },
    });
    const config = new sagemaker.CfnEndpointConfig(stack, 'Config', {
      productionVariants: [{ variantName: 'AllTraffic', modelName: 'm', instanceType: 'ml.g7.2xlarge', initialInstanceCount: 1 }],
    });
    new sagemaker.CfnEndpoint(stack, 'Endpoint', { endpointConfigName: config.attrEndpointConfigName });
    new CostReport(stack, 'Cost');
    const s = readReport(app).stacks.Big;
    expect(s.unknown).toEqual(expect.arrayContaining([
      expect.objectContaining({ path: 'Big/H100', what: expect.stringContaining('p5.48xlarge'), reason: expect.stringContaining('no EC2 price') }),
      expect.objectContaining({ path: 'Big/Endpoint', what: expect.stringContaining('ml.g7.2xlarge'), reason: expect.stringContaining('no SageMaker hosting price') }),
    ]));
    expect(s.idleMonthlyUsd).toBeCloseTo(0.1 * 730, 6); // the control plane only
    expect(s.maxGpuHourlyUsd).toBe(0);
    Annotations.fromStack(stack).hasInfo('/Big', Match.stringLikeRegexp('2 item\\(s\\) without a price'));
  });

  test('Karpenter NodePool inside a Kubernetes manifest with tokens: the costliest single-type fleet within the GPU limit', () => {
    const app = newApp();
    const stack = new Stack(app, 'Karp');
    const nodePool = {
      apiVersion: 'karpenter.sh/v1',
      kind: 'NodePool',
      metadata: { name: 'batch', labels: { stack: stack.stackName, account: stack.account } }, // tokens → Fn::Join
      spec: {
        template: { spec: { requirements: [{ key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['g5.2xlarge', 'g5.12xlarge'] }] } },
        limits: { 'nvidia.com/gpu': 10 },
      },
    };
    const manifest = new CfnResource(stack, 'Pool', {
      type: 'Custom::AWSCDK-EKS-KubernetesResource',
      properties: { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:kubectl', Manifest: stack.toJsonString([nodePool]) },
    });
    expect(JSON.stringify(stack.resolve(manifest._toCloudFormation()))).toContain('Fn::Join');
    new CostReport(stack, 'Cost');
    const s = readReport(app).stacks.Karp;
    // g5.12xlarge (4 GPUs): ceil(10 / 4) = 3 nodes × 5.672 = 17.016; g5.2xlarge (1 GPU): 10 × 1.212 = 12.12 → 17.016
    expect(s.maxGpuHourlyUsd).toBeCloseTo(Math.ceil(10 / 4) * 5.672, 6);
    expect(s.lines).toContainEqual(expect.objectContaining({ path: 'Karp/Pool', quantity: 3, unitUsd: 5.672, what: expect.stringContaining('Karpenter NodePool batch') }));
    expect(s.idleMonthlyUsd).toBe(0);
  });

  test('a Karpenter NodePool without a GPU limit is reported as unbounded', () => {
    const app = newApp();
    const stack = new Stack(app, 'Karp');
    new CfnResource(stack, 'Pool', {
      type: 'Custom::AWSCDK-EKS-KubernetesResource',
      properties: {
        Manifest: JSON.stringify([{
          apiVersion: 'karpenter.sh/v1',
          kind: 'NodePool',
          metadata: { name: 'open' },
          spec: { template: { spec: { requirements: [{ key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['g5.xlarge'] }] } } },
        }]),
      },
    });
    new CostReport(stack, 'Cost');
    expect(readReport(app).stacks.Karp.unknown).toContainEqual(expect.objectContaining({ reason: expect.stringContaining('unbounded') }));
  });

  test('serverless and async-to-zero variants cost nothing idle; provisioned DynamoDB and on-demand tables', () => {
    const app = newApp();
    const stack = new Stack(app, 'Misc');
    const config = new sagemaker.CfnEndpointConfig(stack, 'Config', {
      productionVariants: [
        { variantName: 'Serverless', modelName: 'm', serverlessConfig: { memorySizeInMb: 2048, maxConcurrency: 5 } },
        { variantName: 'Async', modelName: 'm', instanceType: 'ml.g5.xlarge', initialInstanceCount: 1 },
      ],
    });
    new sagemaker.CfnEndpoint(stack, 'Endpoint', { endpointName: 'scoring', endpointConfigName: config.attrEndpointConfigName });
    new appscaling.CfnScalableTarget(stack, 'AsyncScaling', {
      serviceNamespace: 'sagemaker',
      scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      resourceId: 'endpoint/scoring/variant/Async',
      minCapacity: 0,
      maxCapacity: 2,
    });
    new dynamodb.CfnTable(stack, 'OnDemand', { keySchema: [{ attributeName: 'id', keyType: 'HASH' }], attributeDefinitions: [{ attributeName: 'id', attributeType: 'S' }], billingMode: 'PAY_PER_REQUEST' });
    new dynamodb.CfnTable(stack, 'Provisioned', {
      keySchema: [{ attributeName: 'id', keyType: 'HASH' }],
      attributeDefinitions: [{ attributeName: 'id', attributeType: 'S' }],
      provisionedThroughput: { readCapacityUnits: 5, writeCapacityUnits: 5 },
    });
    new CostReport(stack, 'Cost');
    const s = readReport(app).stacks.Misc;
    expect(s.idleMonthlyUsd).toBeCloseTo(5 * 0.00013 * 730 + 5 * 0.00065 * 730, 6);
    expect(s.maxGpuHourlyUsd).toBeCloseTo(2 * 1.408, 6);
    expect(s.unknown).toEqual([]);
  });
});

describe('CostReport output', () => {
  test('one JSON file per app with every stack, totals, date, region and sources of figures', () => {
    const app = newApp();
    endpointStack(app);
    eksStack(app);
    const doc = readReport(app);
    expect(doc).toMatchObject({
      format: 'cdk-ml-platform/cost-report', version: 1, pricesAsOf: PRICES_AS_OF, region: 'us-east-1', currency: 'USD',
    });
    expect(Object.keys(doc.stacks).sort()).toEqual(['Eks', 'Serving']);
    expect(doc.idleMonthlyUsd).toBeCloseTo(doc.stacks.Eks.idleMonthlyUsd + doc.stacks.Serving.idleMonthlyUsd, 6);
    expect(doc.maxGpuHourlyUsd).toBeCloseTo(4 * 1.408 + 3 * 1.212, 6);
    expect(doc.stacks.Eks.notPriced).toEqual([]);
  });

  test('info annotation on the stack with both totals', () => {
    const app = newApp();
    const { stack } = endpointStack(app);
    app.synth();
    const idle = (2 * 1.408 * 730 + 0.115 * 730).toFixed(2);
    const gpu = (4 * 1.408).toFixed(2);
    Annotations.fromStack(stack).hasInfo('/Serving', Match.stringLikeRegexp(`idle \\$${idle}/month, max GPU exposure \\$${gpu}/hour`));
  });

  test('a real ModelEndpoint is read through its ScalableTarget', () => {
    const app = newApp();
    const stack = new Stack(app, 'Platform');
    const lake = new DataLake(stack, 'Lake');
    new ModelEndpoint(stack, 'Endpoint', {
      dataLake: lake,
      model: ModelSource.fromModelPackage('arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/3'),
      variants: [EndpointVariant.instance({ instanceType: 'ml.g5.xlarge', minCapacity: 2, maxCapacity: 6 })],
    });
    new CostReport(stack, 'Cost');
    const s = readReport(app).stacks.Platform;
    const endpointLines = s.lines.filter((l: any) => l.type === 'AWS::SageMaker::Endpoint');
    expect(endpointLines).toEqual(expect.arrayContaining([
      expect.objectContaining({ quantity: 2, monthlyUsd: expect.closeTo(2 * 1.408 * 730, 6) }),
      expect.objectContaining({ quantity: 6, hourlyUsd: expect.closeTo(6 * 1.408, 6) }),
    ]));
    expect(s.maxGpuHourlyUsd).toBeCloseTo(6 * 1.408, 6);
  });

  test('a real GpuCluster with a spot Karpenter pool: control plane idle, pool at its GPU limit', () => {
    const app = newApp();
    const stack = new Stack(app, 'Test');
    const cluster = new GpuCluster(stack, 'Gpu');
    cluster.addGpuNodePool('Batch', {
      instanceTypes: [new ec2.InstanceType('g6.xlarge'), new ec2.InstanceType('g6.12xlarge')],
      capacityType: GpuCapacityType.SPOT,
      provisioner: NodeProvisioner.karpenter({ maxGpus: 16 }),
    });
    new CostReport(stack, 'Cost');
    const s = readReport(app).stacks.Test;
    expect(s.lines).toContainEqual(expect.objectContaining({ type: 'AWS::EKS::Cluster', monthlyUsd: expect.closeTo(0.1 * 730, 6) }));
    // g6.12xlarge (4 GPUs): ceil(16 / 4) = 4 × 4.6016 = 18.4064; g6.xlarge: 16 × 0.8048 = 12.8768
    expect(s.lines).toContainEqual(expect.objectContaining({
      type: 'Custom::AWSCDK-EKS-KubernetesResource',
      quantity: 4,
      unitUsd: 4.6016,
      hourlyUsd: expect.closeTo(4 * 4.6016, 6),
      what: expect.stringContaining('spot, priced on-demand'),
    }));
    expect(s.unknown).toEqual([]);
  });
});

describe('CostReport budgets', () => {
  test('idle budget exceeded fails synth with the code and the largest lines', () => {
    const app = newApp();
    endpointStack(app, { maxIdleMonthlyUsd: 1000 });
    expect(() => app.synth()).toThrow(/\[CostReport\.IdleBudgetExceeded\] the idle monthly estimate exceeds maxIdleMonthlyUsd 1000, got '\$2139\.63\/month \(largest: endpoint Endpoint variant Gpu 2 x ml\.g5\.xlarge \$2055\.68/);
  });

  test('GPU budget exceeded fails synth with the code', () => {
    const app = newApp();
    eksStack(app, { maxGpuHourlyUsd: 3 });
    expect(() => app.synth()).toThrow(/\[CostReport\.GpuBudgetExceeded\] .*got '\$3\.64\/hour \(largest: node group GpuNodes 3 x g5\.2xlarge \$3\.64\)'.*\(at Eks\/Cost\)/);
  });

  test('both budgets exceeded: both errors', () => {
    const app = newApp();
    endpointStack(app, { maxIdleMonthlyUsd: 0, maxGpuHourlyUsd: 0 });
    let message = '';
    try { app.synth(); } catch (e) { message = (e as Error).message; }
    expect(message).toContain('[CostReport.IdleBudgetExceeded]');
    expect(message).toContain('[CostReport.GpuBudgetExceeded]');
  });

  test('budgets within the estimate pass, and the file is still written', () => {
    const app = newApp();
    endpointStack(app, { maxIdleMonthlyUsd: 2 * 1.408 * 730 + 0.115 * 730, maxGpuHourlyUsd: 4 * 1.408 });
    expect(readReport(app).stacks.Serving.maxGpuHourlyUsd).toBeCloseTo(5.632, 6);
  });

  test('unknown items with a budget give a warning', () => {
    const app = newApp();
    const stack = new Stack(app, 'S');
    const config = new sagemaker.CfnEndpointConfig(stack, 'Config', {
      productionVariants: [{ variantName: 'A', modelName: 'm', instanceType: 'ml.g7.2xlarge', initialInstanceCount: 1 }],
    });
    new sagemaker.CfnEndpoint(stack, 'Endpoint', { endpointConfigName: config.attrEndpointConfigName });
    new CostReport(stack, 'Cost', { maxGpuHourlyUsd: 10 });
    app.synth();
    Annotations.fromStack(stack).hasWarning('/S/Cost', Match.stringLikeRegexp('checked without 1 unpriced item'));
  });

  test.each<[CostReportProps, string]>([
    [{ maxIdleMonthlyUsd: -1 }, 'CostReport.InvalidBudget'],
    [{ maxGpuHourlyUsd: NaN }, 'CostReport.InvalidBudget'],
    [{ maxGpuHourlyUsd: Infinity }, 'CostReport.InvalidBudget'],
    [{ hoursPerMonth: 0 }, 'CostReport.InvalidHoursPerMonth'],
  ])('invalid input %p → %s at construction', (props, code) => {
    const stack = new Stack(newApp(), 'S');
    let error: unknown;
    try { new CostReport(stack, 'Cost', props); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(MlPlatformError);
    expect((error as MlPlatformError).codes).toEqual([code]);
    expect((error as Error).message).toMatch(/\(at S\/Cost\)$/);
  });

  test('one CostReport per stack', () => {
    const stack = new Stack(newApp(), 'S');
    new CostReport(stack, 'Cost');
    expect(() => new CostReport(stack, 'Again')).toThrow(/\[CostReport\.DuplicateReport\]/);
  });
});
