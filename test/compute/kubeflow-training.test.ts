import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { ApiObject, Chart, Testing } from 'cdk8s';
import { GpuCluster } from '../../src/compute/gpu-cluster';
import { NodeProvisioner } from '../../src/compute/gpu-node-pool';
import { KubeflowTraining, KubeflowTrainingProps } from '../../src/compute/kubeflow-training';
import { DataLake, DataZone } from '../../src/data/data-lake';
import { ChunkedChartManifest, DEFAULT_MANIFEST_CHUNK_BYTES, planManifestChunks } from '../../src/k8s/manifest-chunks';
import { TrainingData } from '../../src/training/training-data';
import { cfnLint, findTemplates } from '../support/cfn-lint';
import { KUBECTL_MANIFEST_LIMIT_BYTES, Manifest, validateManifests } from '../support/manifests';
import { nagFindings } from '../support/nag';

process.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = '20';

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-train:1.4.2';
const TEMPLATE_LIMIT_BYTES = 1_000_000;
const KUBERNETES_RESOURCE = 'Custom::AWSCDK-EKS-KubernetesResource';

function setup() {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'kft-')) });
  const stack = new Stack(app, 'Test');
  const cluster = new GpuCluster(stack, 'Gpu');
  // 17 x g5.12xlarge = 68 GPUs, enough for the large job below (1 master + 64 workers, 1 GPU each)
  const pool = cluster.addGpuNodePool('Train', {
    instanceTypes: [new ec2.InstanceType('g5.12xlarge')],
    provisioner: NodeProvisioner.managedNodeGroup({ maxSize: 17 }),
  });
  const lake = new DataLake(stack, 'Lake');
  return { app, stack, cluster, pool, lake };
}

/** Parsed `Manifest` property of every kubectl manifest in the stack, by logical id. */
function kubectlManifests(stack: Stack): Record<string, { raw: string; objects: Manifest[] }> {
  const out: Record<string, { raw: string; objects: Manifest[] }> = {};
  for (const [id, r] of Object.entries(Template.fromStack(stack).findResources(KUBERNETES_RESOURCE))) {
    const m = r.Properties.Manifest;
    const raw = typeof m === 'string' ? m : JSON.stringify(m);
    let objects: Manifest[] = [];
    try { objects = JSON.parse(typeof m === 'string' ? m : flattenJoin(m)); } catch { objects = []; }
    out[id] = { raw, objects };
  }
  return out;
}
function flattenJoin(v: any): string {
  if (v['Fn::Join']) { return v['Fn::Join'][1].map((p: any) => (typeof p === 'string' ? p : 'TOKEN')).join(v['Fn::Join'][0]); }
  return JSON.stringify(v);
}

function logicalIdOf(stack: Stack, manifest: eks.KubernetesManifest): string {
  return stack.getLogicalId(manifest.node.findChild('Resource').node.defaultChild as any);
}

describe('KubeflowTraining', () => {
  const { app, stack, cluster, pool, lake } = setup();
  const training = new KubeflowTraining(stack, 'Fraud', {
    cluster,
    pool,
    dataLake: lake,
    curatedPrefix: 'fraud/',
    job: { image: IMAGE, jobName: 'fraud', workerReplicas: 3, gpusPerWorker: 4 },
  });
  // defined before the first synth (the tree cannot change afterwards)
  const second = new KubeflowTraining(stack, 'Churn', { cluster, pool, dataLake: lake, job: { image: IMAGE, jobName: 'churn' } });

  test('defines a pod-identity service account in the job namespace and the job using it', () => {
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::EKS::PodIdentityAssociation', { Namespace: 'training', ServiceAccount: 'fraud-trainer' });
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: ['sts:AssumeRole', 'sts:TagSession'], Principal: { Service: 'pods.eks.amazonaws.com' },
        })]),
      },
    });
    const job = training.chart.toJson().find(m => m.kind === 'PyTorchJob')!;
    expect(job.metadata).toMatchObject({ name: 'fraud', namespace: 'training' });
    for (const type of ['Master', 'Worker']) {
      expect(job.spec.pytorchReplicaSpecs[type].template.spec.serviceAccountName).toBe('fraud-trainer');
    }
    expect(training.serviceAccount.serviceAccountName).toBe('fraud-trainer');
    expect(training.modelsPrefix).toBe('fraud/');
  });

  test('the role reads the curated zone under the prefix and writes the models zone under the job prefix', () => {
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: stack.getLogicalId(training.serviceAccount.role.node.defaultChild as any) }] },
    });
    const statements = Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const bucketId = (zone: DataZone) => stack.getLogicalId(lake.bucket(zone).node.defaultChild as any);
    const resources = (action: string) => JSON.stringify(statements
      .filter((st: any) => [st.Action].flat().includes(action)).map((st: any) => st.Resource));
    expect(resources('s3:GetObject')).toContain(bucketId(DataZone.CURATED));
    expect(resources('s3:GetObject')).toContain('/fraud/*');
    expect(resources('s3:GetObject')).not.toContain(bucketId(DataZone.MODELS));
    expect(resources('s3:PutObject')).toContain(bucketId(DataZone.MODELS));
    expect(resources('s3:PutObject')).not.toContain(bucketId(DataZone.CURATED));
    expect(JSON.stringify(statements)).toContain('kms:Decrypt');
  });

  test('the job applies after the operator, the namespace and the service account', () => {
    const t = Template.fromStack(stack);
    const [chunk] = training.manifests!.manifests;
    const resource = t.toJSON().Resources[logicalIdOf(stack, chunk)];
    const dependsOn: string[] = resource.DependsOn;
    expect(dependsOn).toContain(stack.getLogicalId(training.operator.chart.node.defaultChild as any));
    const namespaceId = Object.entries(kubectlManifests(stack)).find(([, m]) => m.objects.some(o => o.kind === 'Namespace' && o.metadata.name === 'training'))![0];
    expect(dependsOn).toContain(namespaceId);
    const sa = Object.entries(kubectlManifests(stack)).find(([, m]) => m.objects.some(o => o.kind === 'ServiceAccount' && o.metadata.name === 'fraud-trainer'))![0];
    expect(dependsOn).toContain(sa);
    // the service account itself waits for the namespace
    expect(t.toJSON().Resources[sa].DependsOn).toContain(namespaceId);
    expect(validateManifests(training.chart.toJson())).toEqual([]);
  });

  test('a second training reuses the operator and the namespace', () => {
    expect(second.operator).toBe(training.operator);
    const t = Template.fromStack(stack);
    expect(Object.keys(t.findResources('Custom::AWSCDK-EKS-HelmChart', { Properties: { Release: 'kubeflow-training-operator' } }))).toHaveLength(1);
    const namespaces = Object.values(kubectlManifests(stack)).flatMap(m => m.objects).filter(o => o.kind === 'Namespace' && o.metadata.name === 'training');
    expect(namespaces).toHaveLength(1);
    expect(second.modelsPrefix).toBe('churn/');
  });

  test('cdk-nag and cfn-lint clean, including nested stacks; every manifest and template within limits', () => {
    expect(nagFindings(app)).toEqual([]);
    const assembly = app.synth();
    const files = findTemplates(assembly.directory);
    for (const f of files) { expect({ f, small: fs.statSync(f).size < TEMPLATE_LIMIT_BYTES }).toEqual({ f, small: true }); }
    expect(cfnLint(files)).toEqual([]);
  });
});

describe('KubeflowTraining with a large job', () => {
  test('200 env vars, 64 workers and long args stay under the kubectl payload and template limits', () => {
    const { app, stack, cluster, pool, lake } = setup();
    const env: Record<string, string> = {};
    for (let i = 0; i < 200; i++) { env[`FEATURE_FLAG_${i}`] = `value-${i}-${'x'.repeat(180)}`; }
    const args = Array.from({ length: 400 }, (_, i) => `--hyperparameter-${i}=${'0.'.padEnd(30, String(i % 10))}`);
    const training = new KubeflowTraining(stack, 'Big', {
      cluster,
      pool,
      dataLake: lake,
      job: { image: IMAGE, jobName: 'big', workerReplicas: 64, gpusPerWorker: 1, env, args, command: ['torchrun', 'train.py'] },
    });
    const job = training.chart.toJson()[0];
    expect(job.spec.pytorchReplicaSpecs.Worker.replicas).toBe(64);
    expect(Buffer.byteLength(JSON.stringify(job))).toBeGreaterThan(100 * 1024); // a genuinely large object

    const manifests = kubectlManifests(stack);
    for (const [id, m] of Object.entries(manifests)) {
      expect({ id, bytes: Buffer.byteLength(m.raw) < KUBECTL_MANIFEST_LIMIT_BYTES }).toEqual({ id, bytes: true });
    }
    expect(Object.values(manifests).some(m => m.objects.some(o => o.kind === 'PyTorchJob'))).toBe(true);
    const assembly = app.synth();
    for (const f of findTemplates(assembly.directory)) {
      expect({ f, small: fs.statSync(f).size < TEMPLATE_LIMIT_BYTES }).toEqual({ f, small: true });
    }
  });

  test('a job object over the budget fails at synth with the Helm-asset fix', () => {
    const { stack, cluster, pool, lake } = setup();
    const env: Record<string, string> = {};
    for (let i = 0; i < 200; i++) { env[`BLOB_${i}`] = 'y'.repeat(1000); }
    expect(() => new KubeflowTraining(stack, 'Huge', { cluster, pool, dataLake: lake, job: { image: IMAGE, jobName: 'huge', env } }))
      .toThrow(/\[ChunkedChartManifest\.ObjectTooLarge\] kubeflow\.org\/v1 PyTorchJob\/huge is \d+ bytes.*Helm chart S3 asset.*\(at Test\/Huge\/Manifests\)/);
  });
});

describe('KubeflowTraining validation', () => {
  const { stack, cluster, pool, lake } = setup();
  const other = new GpuCluster(new Stack(stack.node.scope as App, 'Other'), 'Other');
  const otherPool = other.addGpuNodePool('P');
  const base = (): KubeflowTrainingProps => ({ cluster, pool, dataLake: lake, job: { image: IMAGE, jobName: 'ok' } });
  const cases: Array<[string, Partial<KubeflowTrainingProps>, string]> = [
    ['bad namespace', { namespace: 'Training_NS' }, 'InvalidNamespace'],
    ['bad service account name', { serviceAccountName: 'Bad Name' }, 'InvalidServiceAccountName'],
    ['manifest budget above the payload limit', { maxManifestBytes: 300 * 1024 }, 'InvalidManifestBudget'],
    ['pool of another cluster', { pool: otherPool }, 'PoolNotInCluster'],
  ];
  test.each(cases)('rejects %s', (_name, props, code) => {
    const id = `T${code}`;
    expect(() => new KubeflowTraining(stack, id, { ...base(), ...props }))
      .toThrow(new RegExp(`\\[KubeflowTraining\\.${code}\\].*\\(at Test/${id}\\)`));
  });

  test('job capacity errors come from KubeflowTrainingJob', () => {
    expect(() => new KubeflowTraining(stack, 'TooBig', { ...base(), job: { image: IMAGE, jobName: 'toobig', gpusPerWorker: 8 } }))
      .toThrow(/\[KubeflowTrainingJob\./);
  });

  test('default job name is a DNS-1035 label derived from the construct; built-in namespaces are not created', () => {
    const t = new KubeflowTraining(stack, 'My_Training.Job', { cluster, pool, dataLake: lake, namespace: 'default', job: { image: IMAGE } });
    expect(t.job.jobName).toMatch(/^my-training-job-[0-9a-f]{8}$/);
    expect(t.serviceAccount.serviceAccountName).toBe(`${t.job.jobName}-trainer`);
    const namespaces = Object.values(kubectlManifests(stack)).flatMap(m => m.objects).filter(o => o.kind === 'Namespace' && o.metadata.name === 'default');
    expect(namespaces).toEqual([]);
  });
});

describe('ChunkedChartManifest', () => {
  function bigChart(count: number, bytesEach: number): Chart {
    const chart = Testing.chart();
    for (let i = 0; i < count; i++) {
      new ApiObject(chart, `Cm${i}`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace: 'many' }, data: { blob: 'z'.repeat(bytesEach) } });
    }
    new ApiObject(chart, 'Ns', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'many' } });
    return chart;
  }

  test('splits a chart with many objects into several manifests under the budget, namespace first, in order', () => {
    const { stack, cluster } = setup();
    const chunked = new ChunkedChartManifest(stack, 'Many', { cluster: cluster.cluster, chart: bigChart(150, 2000) });
    expect(chunked.manifests.length).toBeGreaterThanOrEqual(2);
    const t = Template.fromStack(stack).toJSON();
    const objects: Manifest[] = [];
    chunked.manifests.forEach((m, i) => {
      const resource = t.Resources[logicalIdOf(stack, m)];
      const raw: string = resource.Properties.Manifest;
      expect(Buffer.byteLength(raw)).toBeLessThanOrEqual(DEFAULT_MANIFEST_CHUNK_BYTES);
      if (i > 0) { expect(resource.DependsOn).toContain(logicalIdOf(stack, chunked.manifests[i - 1])); }
      objects.push(...JSON.parse(raw));
    });
    expect(objects[0].kind).toBe('Namespace');
    expect(objects.slice(1).map(o => o.metadata.name)).toEqual(Array.from({ length: 150 }, (_, i) => `cm-${i}`));
  });

  test('a small budget gives many chunks', () => {
    const { stack, cluster } = setup();
    const chunked = new ChunkedChartManifest(stack, 'Many', { cluster: cluster.cluster, chart: bigChart(40, 1000), maxChunkBytes: 4096 });
    expect(chunked.manifests.length).toBeGreaterThanOrEqual(10);
  });

  test('planManifestChunks puts namespaces, then CRDs first and keeps the order of the rest', () => {
    const o = (kind: string, name: string) => ({ apiVersion: 'v1', kind, metadata: { name } });
    const { chunks, oversized } = planManifestChunks(
      [o('ConfigMap', 'a'), o('CustomResourceDefinition', 'crd'), o('Service', 'b'), o('Namespace', 'ns'), o('ConfigMap', 'c')], 100_000);
    expect(oversized).toEqual([]);
    expect(chunks).toHaveLength(1);
    expect(chunks[0].objects.map(x => x.metadata.name)).toEqual(['ns', 'crd', 'a', 'b', 'c']);
  });

  const { stack, cluster } = setup();
  test.each([
    ['a budget above the kubectl payload limit', { maxChunkBytes: 300 * 1024 }, 'InvalidChunkBudget'],
    ['a fractional budget', { maxChunkBytes: 1000.5 }, 'InvalidChunkBudget'],
  ])('rejects %s', (_name, props, code) => {
    const id = `C${Math.random().toString(36).slice(2, 8)}`;
    expect(() => new ChunkedChartManifest(stack, id, { cluster: cluster.cluster, chart: bigChart(1, 10), ...props }))
      .toThrow(new RegExp(`\\[ChunkedChartManifest\\.${code}\\].*\\(at Test/${id}\\)`));
  });

  test('rejects an empty chart, an oversized object and a chart too large for one template', () => {
    expect(() => new ChunkedChartManifest(stack, 'Empty', { cluster: cluster.cluster, chart: Testing.chart() }))
      .toThrow(/\[ChunkedChartManifest\.EmptyChart\]/);
    expect(() => new ChunkedChartManifest(stack, 'Oversized', { cluster: cluster.cluster, chart: bigChart(1, 300_000) }))
      .toThrow(/\[ChunkedChartManifest\.ObjectTooLarge\] v1 ConfigMap\/cm-0 is \d+ bytes/);
    expect(() => new ChunkedChartManifest(stack, 'Huge', { cluster: cluster.cluster, chart: bigChart(8, 100_000) }))
      .toThrow(/\[ChunkedChartManifest\.ChartTooLarge\]/);
  });
});

describe('KubeflowTraining as a launcher template', () => {
  test('applyJob: false keeps the service account, grants and operator but applies no PyTorchJob', () => {
    const { stack, cluster, pool, lake } = setup();
    const training = new KubeflowTraining(stack, 'Template', {
      cluster, pool, dataLake: lake, applyJob: false, job: { image: IMAGE, jobName: 'fraud-template' },
    });
    expect(training.manifests).toBeUndefined();
    const all = Object.values(kubectlManifests(stack)).flatMap(m => m.objects);
    expect(all.filter(o => o.kind === 'PyTorchJob')).toEqual([]);
    const t = Template.fromStack(stack);
    expect(Object.keys(t.findResources('Custom::AWSCDK-EKS-HelmChart', { Properties: { Release: 'kubeflow-training-operator' } }))).toHaveLength(1);
    t.hasResourceProperties('AWS::EKS::PodIdentityAssociation', { ServiceAccount: 'fraud-template-trainer', Namespace: 'training' });
    expect(training.job.apiObject.toJson().kind).toBe('PyTorchJob');
  });

  test('trainingData replaces the curated-zone read: the role reads exactly that dataset', () => {
    const { stack, cluster, pool, lake } = setup();
    const training = new KubeflowTraining(stack, 'Fraud', {
      cluster,
      pool,
      dataLake: lake,
      job: { image: IMAGE, jobName: 'fraud' },
      trainingData: TrainingData.fromDataLake(lake, DataZone.FEATURES, 'exports/fraud/'),
    });
    const roleId = stack.resolve((training.serviceAccount.role.node.defaultChild as any).logicalId);
    const policies = JSON.stringify(Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
      .filter((p: any) => JSON.stringify(p.Properties.Roles).includes(roleId)));
    expect(policies).toContain('exports/fraud/*');
    expect(policies).toContain('fraud/*');
    expect(stack.resolve(lake.bucket(DataZone.CURATED).bucketArn)).toBeDefined();
    // No grant on the curated bucket.
    const curatedId = stack.resolve((lake.bucket(DataZone.CURATED).node.defaultChild as any).logicalId);
    expect(policies).not.toContain(curatedId);
  });

  test('[KubeflowTraining.DataConflict] trainingData and curatedPrefix together', () => {
    const { stack, cluster, pool, lake } = setup();
    expect(() => new KubeflowTraining(stack, 'Both', {
      cluster,
      pool,
      dataLake: lake,
      job: { image: IMAGE },
      curatedPrefix: 'datasets/',
      trainingData: TrainingData.fromDataLake(lake, DataZone.CURATED, 'datasets/fraud/'),
    })).toThrow(/\[KubeflowTraining\.DataConflict\].*Test\/Both/s);
  });
});
