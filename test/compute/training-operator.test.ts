import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Yaml } from 'cdk8s';
import { GpuCluster } from '../../src/compute/gpu-cluster';
import {
  KubeflowTrainingOperator, loadPyTorchJobCrd, TRAINING_OPERATOR_DEFAULT_IMAGE, trainingOperatorManifests,
} from '../../src/compute/training-operator';
import { cfnLint, findTemplates } from '../support/cfn-lint';
import { CRD_DIR, KUBECTL_MANIFEST_LIMIT_BYTES, Manifest, validateManifests } from '../support/manifests';
import { nagFindings } from '../support/nag';

process.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = '20';

const CRD = 'kubeflow.org_pytorchjobs.yaml';
const TEMPLATE_LIMIT_BYTES = 1_000_000;

function setup() {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'tro-')) });
  const stack = new Stack(app, 'Test');
  const cluster = new GpuCluster(stack, 'Gpu');
  return { app, stack, cluster };
}

/** Every object of the chart's templates/, parsed as plain YAML. */
function templates(dir: string): Manifest[] {
  return fs.readdirSync(path.join(dir, 'templates')).sort().flatMap(f => Yaml.load(path.join(dir, 'templates', f)));
}

function byKind(ms: Manifest[], kind: string): Manifest {
  const found = ms.filter(m => m.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
}

describe('KubeflowTrainingOperator', () => {
  // one synthesized cluster shared by the read-only assertions below (a GpuCluster takes seconds to build)
  const { app, stack, cluster } = setup();
  const operator = KubeflowTrainingOperator.forCluster(cluster);
  const objects = templates(operator.chartDirectory);

  test('writes a chart directory: Chart.yaml with a version, the CRD in crds/, plain YAML templates', () => {
    const chart = Yaml.load(path.join(operator.chartDirectory, 'Chart.yaml'))[0];
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'kubeflow-training-operator', appVersion: 'v1-3f15cb8' });
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    expect(fs.readdirSync(operator.chartDirectory).sort()).toEqual(['Chart.yaml', 'crds', 'templates']);
    expect(fs.readdirSync(path.join(operator.chartDirectory, 'crds'))).toEqual([CRD]);
    // byte-identical to the vendored upstream file
    expect(fs.readFileSync(path.join(operator.chartDirectory, 'crds', CRD)).equals(fs.readFileSync(path.join(CRD_DIR, CRD)))).toBe(true);
    for (const f of fs.readdirSync(path.join(operator.chartDirectory, 'templates'))) {
      expect(fs.readFileSync(path.join(operator.chartDirectory, 'templates', f), 'utf8')).not.toMatch(/\{\{|\}\}/);
    }
    expect(objects.map(o => o.kind).sort()).toEqual([
      'ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Role', 'RoleBinding', 'Secret', 'Service', 'ServiceAccount',
      'ValidatingWebhookConfiguration',
    ]);
    // Helm --create-namespace creates it; a Namespace template would make Helm refuse to adopt the existing one
    expect(objects.filter(o => o.kind === 'Namespace')).toEqual([]);
  });

  test('the templates validate against the Kubernetes schemas', () => {
    expect(validateManifests(objects)).toEqual([]);
  });

  test('Deployment: pinned image, PyTorchJob only, leader election, webhook flags, non-root, resources, probes', () => {
    const deployment = byKind(objects, 'Deployment');
    expect(deployment.metadata.namespace).toBe('kubeflow');
    const pod = deployment.spec.template.spec;
    const [c] = pod.containers;
    expect(c.image).toBe(TRAINING_OPERATOR_DEFAULT_IMAGE);
    expect(TRAINING_OPERATOR_DEFAULT_IMAGE).toBe('ghcr.io/kubeflow/training-v1/training-operator:v1-3f15cb8');
    expect(c.args.filter((a: string) => a.startsWith('--enable-scheme'))).toEqual(['--enable-scheme=pytorchjob']);
    expect(c.args).toEqual(expect.arrayContaining([
      '--leader-elect=true', '--webhook-server-port=9443', '--webhook-service-name=training-operator',
      '--webhook-secret-name=training-operator-webhook-cert', '--health-probe-bind-address=:8081',
    ]));
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toEqual({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(c.resources.requests).toEqual({ cpu: '100m', memory: '256Mi' });
    expect(c.resources.limits.memory).toBe('512Mi');
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 8081 });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 8081 });
    expect(c.volumeMounts).toContainEqual({ name: 'webhook-cert', mountPath: '/tmp/k8s-webhook-server/serving-certs', readOnly: true });
    expect(pod.volumes).toContainEqual(expect.objectContaining({ name: 'webhook-cert', secret: expect.objectContaining({ secretName: 'training-operator-webhook-cert' }) }));
    expect(pod.nodeSelector).toEqual({ 'ml-platform/node-role': 'system' });
    expect(pod.serviceAccountName).toBe('training-operator');
  });

  test('webhook: the configuration the operator patches points at its Service, which routes to the webhook port', () => {
    const vwc = byKind(objects, 'ValidatingWebhookConfiguration');
    const service = byKind(objects, 'Service');
    expect(vwc.metadata.name).toBe('validator.training-operator.kubeflow.org');
    expect(vwc.webhooks).toHaveLength(1);
    const [hook] = vwc.webhooks;
    expect(hook).toMatchObject({
      name: 'validator.pytorchjob.training-operator.kubeflow.org',
      clientConfig: { service: { name: service.metadata.name, namespace: 'kubeflow', path: '/validate-kubeflow-org-v1-pytorchjob', port: 443 } },
      failurePolicy: 'Fail',
      sideEffects: 'None',
      rules: [{ apiGroups: ['kubeflow.org'], apiVersions: ['v1'], resources: ['pytorchjobs'], operations: ['CREATE', 'UPDATE'] }],
    });
    expect(hook.clientConfig.caBundle).toBeUndefined(); // injected by the operator's cert-controller
    expect(service.spec.ports).toContainEqual({ name: 'webhook-server', port: 443, targetPort: 9443, protocol: 'TCP' });
    const deployment = byKind(objects, 'Deployment');
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    const secret = byKind(objects, 'Secret');
    expect(secret.metadata).toMatchObject({ name: 'training-operator-webhook-cert', namespace: 'kubeflow' });
    expect(secret.data).toBeUndefined();
  });

  test('RBAC covers what the PyTorchJob controller, the cert-controller and leader election do', () => {
    const rules = byKind(objects, 'ClusterRole').rules as Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }>;
    const verbs = (group: string, resource: string) => rules
      .filter(r => r.apiGroups.includes(group) && r.resources.includes(resource) && !r.resourceNames).flatMap(r => r.verbs);
    expect(verbs('', 'pods')).toEqual(expect.arrayContaining(['get', 'list', 'watch', 'create', 'delete', 'patch']));
    expect(verbs('', 'services')).toEqual(expect.arrayContaining(['get', 'list', 'watch', 'create', 'delete']));
    expect(verbs('', 'events')).toEqual(expect.arrayContaining(['create', 'patch']));
    expect(verbs('kubeflow.org', 'pytorchjobs')).toEqual(expect.arrayContaining(['get', 'list', 'watch', 'update', 'delete']));
    expect(verbs('kubeflow.org', 'pytorchjobs/status')).toEqual(expect.arrayContaining(['update', 'patch']));
    expect(verbs('kubeflow.org', 'pytorchjobs/finalizers')).toEqual(['update']);
    expect(rules).toContainEqual({
      apiGroups: ['admissionregistration.k8s.io'],
      resources: ['validatingwebhookconfigurations'],
      resourceNames: ['validator.training-operator.kubeflow.org'],
      verbs: ['get', 'update'],
    });
    // no secrets and no wildcard cluster-wide
    expect(rules.filter(r => r.resources.includes('secrets'))).toEqual([]);
    expect(rules.filter(r => r.verbs.includes('*') || r.resources.includes('*'))).toEqual([]);
    const role = byKind(objects, 'Role');
    expect(role.metadata.namespace).toBe('kubeflow');
    expect(role.rules).toContainEqual(expect.objectContaining({ apiGroups: ['coordination.k8s.io'], resources: ['leases'] }));
    expect(role.rules).toContainEqual({ apiGroups: [''], resources: ['secrets'], resourceNames: ['training-operator-webhook-cert'], verbs: ['update'] });
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      expect(byKind(objects, kind).subjects).toEqual([{ kind: 'ServiceAccount', name: 'training-operator', namespace: 'kubeflow' }]);
    }
  });

  test('installs the chart asset with Helm: kubeflow namespace, created, wait, no kubectl manifest carries the CRD', () => {
    const t = Template.fromStack(stack);
    t.hasResourceProperties('Custom::AWSCDK-EKS-HelmChart', {
      Release: 'kubeflow-training-operator',
      Namespace: 'kubeflow',
      CreateNamespace: true,
      Wait: true,
      Timeout: '600s',
      ChartAssetURL: { 'Fn::Sub': Match.stringLikeRegexp(`^s3://.*/${operator.chartAsset.assetHash}\\.zip$`) },
    });
    for (const [logicalId, r] of Object.entries(t.findResources('Custom::AWSCDK-EKS-KubernetesResource'))) {
      const manifest = JSON.stringify(r.Properties.Manifest);
      expect({ logicalId, crd: manifest.includes('CustomResourceDefinition') }).toEqual({ logicalId, crd: false });
      expect(Buffer.byteLength(manifest)).toBeLessThan(KUBECTL_MANIFEST_LIMIT_BYTES);
    }
  });

  test('the staged asset is the chart; templates stay within CloudFormation limits; cdk-nag and cfn-lint clean', () => {
    expect(nagFindings(app)).toEqual([]);
    const assembly = app.synth();
    const staged = path.join(assembly.directory, `asset.${operator.chartAsset.assetHash}`);
    expect(fs.readFileSync(path.join(staged, 'crds', CRD)).equals(fs.readFileSync(path.join(CRD_DIR, CRD)))).toBe(true);
    expect(fs.existsSync(path.join(staged, 'Chart.yaml'))).toBe(true);
    const files = findTemplates(assembly.directory);
    for (const f of files) { expect({ f, bytes: fs.statSync(f).size < TEMPLATE_LIMIT_BYTES }).toEqual({ f, bytes: true }); }
    expect(cfnLint(files)).toEqual([]);
  });

  test('forCluster installs once per cluster and rejects conflicting options', () => {
    expect(KubeflowTrainingOperator.forCluster(cluster)).toBe(operator);
    expect(KubeflowTrainingOperator.forCluster(cluster, { image: TRAINING_OPERATOR_DEFAULT_IMAGE })).toBe(operator);
    const releases = Template.fromStack(stack).findResources('Custom::AWSCDK-EKS-HelmChart', { Properties: { Release: 'kubeflow-training-operator' } });
    expect(Object.keys(releases)).toHaveLength(1);
    expect(() => KubeflowTrainingOperator.forCluster(cluster, { image: 'example.com/op:1' }))
      .toThrow(/\[KubeflowTrainingOperator\.ConflictingOptions\].*image example\.com\/op:1.*\(at Test\/Gpu\/KubeflowTrainingOperator\)/);
  });
});

describe('KubeflowTrainingOperator options and validation', () => {
  test('refuses a CRD that is not the vendored upstream file, and a missing one', () => {
    const scope = new Stack(new App(), 'Crd');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crd-'));
    fs.writeFileSync(path.join(dir, CRD), 'tampered');
    expect(() => loadPyTorchJobCrd(scope, [path.join(dir, 'missing.yaml'), path.join(dir, CRD)]))
      .toThrow(/\[KubeflowTrainingOperator\.CrdChecksumMismatch\].*sha256 [0-9a-f]{64}.*\(at Crd\)/);
    expect(() => loadPyTorchJobCrd(scope, [path.join(dir, 'missing.yaml')])).toThrow(/\[KubeflowTrainingOperator\.CrdNotFound\]/);
    expect(loadPyTorchJobCrd(scope, [path.join(CRD_DIR, CRD)])).toBe(fs.readFileSync(path.join(CRD_DIR, CRD), 'utf8'));
  });

  test('image, namespace and replicas are props', () => {
    const ms = trainingOperatorManifests({ image: 'registry.example.com/training-operator:v1-3f15cb8', namespace: 'ml-ops', replicas: 2 });
    const deployment = ms.find(m => m.kind === 'Deployment')!;
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.template.spec.containers[0].image).toBe('registry.example.com/training-operator:v1-3f15cb8');
    expect(ms.find(m => m.kind === 'ValidatingWebhookConfiguration')!.webhooks[0].clientConfig.service.namespace).toBe('ml-ops');
    expect(ms.filter(m => m.metadata.namespace !== undefined).every(m => m.metadata.namespace === 'ml-ops')).toBe(true);
  });

  const cases: Array<[string, object, string]> = [
    ['empty image', { image: ' ' }, 'InvalidImage'],
    ['image with spaces', { image: 'ghcr.io/x y:1' }, 'InvalidImage'],
    ['bad namespace', { namespace: 'Kubeflow_NS' }, 'InvalidNamespace'],
    ['zero replicas', { replicas: 0 }, 'InvalidReplicas'],
    ['fractional replicas', { replicas: 1.5 }, 'InvalidReplicas'],
    ['timeout too long', { timeout: Duration.minutes(20) }, 'InvalidTimeout'],
    ['timeout too short', { timeout: Duration.seconds(10) }, 'InvalidTimeout'],
  ];
  const { cluster } = setup();
  test.each(cases)('rejects %s', (_name, options, code) => {
    expect(() => new KubeflowTrainingOperator(cluster, `Op${code}${Math.random().toString(36).slice(2, 6)}`, { ...options, cluster }))
      .toThrow(new RegExp(`\\[KubeflowTrainingOperator\\.${code}\\].*\\(at Test/Gpu/Op`));
  });
});
