import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Size, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { GpuCluster } from '../../src/compute/gpu-cluster';
import { GpuNodePool, NodeProvisioner } from '../../src/compute/gpu-node-pool';
import { DataLake, DataZone } from '../../src/data/data-lake';
import { captureKeyFormat } from '../../src/k8s/capture-shipper';
import { nodeAffinityFor, tolerationsFor } from '../../src/k8s/gpu-scheduling';
import { captureTime } from '../../src/monitoring/capture-check.lambda';
import { decodeCaptureLine, parseCaptureKey } from '../../src/monitoring/drift/capture';
import { KubernetesModelServer, KubernetesModelServerProps } from '../../src/serving/kubernetes-model-server';
import { cfnLint, findTemplates } from '../support/cfn-lint';
import { KUBECTL_MANIFEST_LIMIT_BYTES, Manifest, manifestBytes, validateManifests } from '../support/manifests';
import { nagFindings } from '../support/nag';

process.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = '20';

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-serve:1.4.2';

interface Fixture {
  readonly app: App;
  readonly stack: Stack;
  readonly cluster: GpuCluster;
  readonly pool: GpuNodePool;
  readonly lake: DataLake;
}

/** A cluster with a g5.xlarge managed pool (1 GPU per node, 4 nodes: 4 GPUs) and a data lake. */
function fixture(): Fixture {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'kms-')) });
  const stack = new Stack(app, 'Test');
  const cluster = new GpuCluster(stack, 'Gpu');
  const pool = cluster.addGpuNodePool('Serving');
  const lake = new DataLake(stack, 'Lake');
  return { app, stack, cluster, pool, lake };
}

function newServer(f: Fixture, props: Partial<KubernetesModelServerProps> = {}, id = 'Server'): KubernetesModelServer {
  return new KubernetesModelServer(f.stack, id, {
    cluster: f.cluster, pool: f.pool, dataLake: f.lake, image: IMAGE, modelKey: 'fraud/v3/', serverName: 'fraud', ...props,
  });
}

function kind(manifests: Manifest[], k: string): any {
  const found = manifests.filter(m => m.kind === k);
  expect(found).toHaveLength(1);
  return found[0];
}

function podSpec(server: KubernetesModelServer): any {
  return kind(server.chart.toJson(), 'Deployment').spec.template.spec;
}

function container(spec: any, name: string): any {
  return [...spec.containers, ...(spec.initContainers ?? [])].find((c: any) => c.name === name);
}

/** Flattens a resolved CloudFormation string (Fn::Join of literals and intrinsics) with `TOKEN` for each intrinsic. */
function flatten(value: any): string {
  if (typeof value === 'string') { return value; }
  if (value?.['Fn::Join']) { return value['Fn::Join'][1].map((p: any) => (typeof p === 'string' ? p : 'TOKEN')).join(value['Fn::Join'][0]); }
  return 'TOKEN';
}

/** Every manifest that the stack applies for constructs under `pathPrefix` (logical ids start with it). */
function stackManifests(stack: Stack, logicalIdPrefix: string): Manifest[] {
  const resources = Template.fromStack(stack).findResources('Custom::AWSCDK-EKS-KubernetesResource');
  return Object.entries(resources)
    .filter(([logicalId]) => logicalId.startsWith(logicalIdPrefix))
    .flatMap(([, r]) => JSON.parse(flatten(r.Properties.Manifest)) as Manifest[]);
}

function policyStatements(stack: Stack): any[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  return Object.entries(policies)
    .filter(([logicalId]) => logicalId.startsWith('ServerServiceAccountRole'))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

describe('KubernetesModelServer', () => {
  test('Deployment: non-root, read-only root filesystem, probes on the health route, GPUs, the pool placement', () => {
    // GIVEN
    const f = fixture();
    // WHEN
    const server = newServer(f, { port: 9000, healthPath: '/ping', gpusPerReplica: 1, startupTimeout: Duration.minutes(15) });
    const deployment = kind(server.chart.toJson(), 'Deployment');
    const spec = deployment.spec.template.spec;
    // THEN
    expect(deployment.metadata).toMatchObject({ name: 'fraud', namespace: 'default' });
    expect(deployment.spec.replicas).toBeUndefined(); // the HPA owns the replica count
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 });
    expect(spec.serviceAccountName).toBe('fraud');
    expect(spec.automountServiceAccountToken).toBe(false);
    for (const c of [...spec.containers, ...spec.initContainers]) {
      expect(c.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        privileged: false,
        readOnlyRootFilesystem: true,
        runAsGroup: 1000,
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(c.resources.limits.memory).toBeDefined();
      expect(c.resources.requests.cpu).toBeDefined();
    }
    const main = container(spec, 'server');
    expect(main.image).toBe(IMAGE);
    expect(main.ports).toEqual([{ containerPort: 9000, name: 'http' }]);
    const get = { httpGet: { path: '/ping', port: 9000, scheme: 'HTTP' } };
    expect(main.startupProbe).toMatchObject({ ...get, periodSeconds: 10, failureThreshold: 90 }); // 15 minutes
    expect(main.readinessProbe).toMatchObject(get);
    expect(main.livenessProbe).toMatchObject(get);
    expect(main.resources).toEqual({
      requests: { 'cpu': '2000m', 'memory': '8192Mi', 'nvidia.com/gpu': 1 },
      limits: { 'cpu': '4000m', 'memory': '8192Mi', 'nvidia.com/gpu': 1 },
    });
    expect(main.env).toEqual(expect.arrayContaining([
      { name: 'MODEL_DIR', value: '/model' }, { name: 'PORT', value: '9000' }, { name: 'CAPTURE_ENABLED', value: 'true' },
      { name: 'CAPTURE_DIR', value: '/capture' }, { name: 'CAPTURE_SAMPLING_PERCENTAGE', value: '100' }, { name: 'VARIANT_NAME', value: 'AllTraffic' },
    ]));
    expect(main.volumeMounts).toEqual(expect.arrayContaining([
      { name: 'model', mountPath: '/model', readOnly: true }, { name: 'tmp', mountPath: '/tmp' },
      { name: 'dshm', mountPath: '/dev/shm' }, { name: 'capture', mountPath: '/capture' },
    ]));
    // the pool contract, exactly as KubeflowTrainingJob uses it
    expect(spec.tolerations).toEqual(tolerationsFor(f.pool.placement));
    expect(spec.affinity).toEqual(nodeAffinityFor(f.pool.placement));
    expect(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions)
      .toContainEqual({ key: 'ml-platform/gpu-pool', operator: 'In', values: ['serving'] });
    expect(spec.topologySpreadConstraints.map((t: any) => t.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    // only the server holds GPUs
    expect(spec.initContainers.every((c: any) => c.resources.limits['nvidia.com/gpu'] === undefined)).toBe(true);
  });

  test('init container downloads the model prefix with a pinned AWS CLI; the sidecar is a native sidecar', () => {
    const f = fixture();
    const server = newServer(f);
    const spec = podSpec(server);
    expect(spec.initContainers.map((c: any) => c.name)).toEqual(['model-download', 'capture-shipper']);
    const download = container(spec, 'model-download');
    expect(download.image).toBe(KubernetesModelServer.MODEL_DOWNLOADER_IMAGE);
    expect(download.image).toMatch(/^public\.ecr\.aws\/aws-cli\/aws-cli:\d+\.\d+\.\d+$/);
    expect(download.args.slice(0, 2)).toEqual(['s3', 'sync']);
    expect(download.args[2]).toBe(`s3://${f.lake.bucket(DataZone.MODELS).bucketName}/fraud/v3/`);
    expect(download.args[3]).toBe('/model');
    expect(download.restartPolicy).toBeUndefined();
    expect(download.volumeMounts).toContainEqual({ name: 'model', mountPath: '/model' });
    const shipper = container(spec, 'capture-shipper');
    expect(shipper.restartPolicy).toBe('Always');
    expect(shipper.image).toBe(KubernetesModelServer.CAPTURE_SHIPPER_IMAGE);
    expect(shipper.image).toMatch(/^public\.ecr\.aws\/aws-observability\/aws-for-fluent-bit:\d+\.\d+\.\d+$/);
    expect(shipper.volumeMounts).toContainEqual({ name: 'capture', mountPath: '/capture', readOnly: true });
    expect(shipper.livenessProbe.httpGet).toMatchObject({ path: '/api/v1/health', port: 2020 });
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(30);
    expect(spec.volumes).toContainEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1024Mi' } });
    expect(spec.volumes).toContainEqual({ name: 'model', emptyDir: { sizeLimit: '51200Mi' } });
  });

  test('a single model object is copied, and a models-zone URI is accepted', () => {
    const f = fixture();
    const one = newServer(f, { modelKey: 'fraud/v3/model.onnx' });
    const args = container(podSpec(one), 'model-download').args;
    expect(args.slice(0, 4)).toEqual(['s3', 'cp', `s3://${f.lake.bucket(DataZone.MODELS).bucketName}/fraud/v3/model.onnx`, '/model/model.onnx']);
    const uri = newServer(f, { modelKey: f.lake.uri(DataZone.MODELS, 'churn/v1/'), serverName: 'churn' }, 'Churn');
    expect(container(podSpec(uri), 'model-download').args[2]).toBe(`s3://${f.lake.bucket(DataZone.MODELS).bucketName}/churn/v1/`);
  });

  test('Service, HorizontalPodAutoscaler on the server container CPU, PodDisruptionBudget', () => {
    const f = fixture();
    const server = newServer(f, { minReplicas: 2, maxReplicas: 3, targetCpuUtilization: 60 });
    const manifests = server.chart.toJson();
    const podLabels = kind(manifests, 'Deployment').spec.template.metadata.labels;

    const service = kind(manifests, 'Service');
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 8080 }]);
    expect(podLabels).toMatchObject(service.spec.selector);
    expect(server.serviceName).toBe('fraud');
    expect(server.url).toBe('http://fraud.default.svc.cluster.local:8080');

    const hpa = kind(manifests, 'HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec).toMatchObject({
      minReplicas: 2,
      maxReplicas: 3,
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'fraud' },
      metrics: [{ type: 'ContainerResource', containerResource: { name: 'cpu', container: 'server', target: { type: 'Utilization', averageUtilization: 60 } } }],
    });

    const pdb = kind(manifests, 'PodDisruptionBudget');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.minAvailable).toBeUndefined();
    expect(podLabels).toMatchObject(pdb.spec.selector.matchLabels);
    Annotations.fromStack(f.stack).hasNoWarning('/Test/Server', Match.stringLikeRegexp('minReplicas'));
  });

  test('warns about a single replica', () => {
    const f = fixture();
    newServer(f, { minReplicas: 1 });
    Annotations.fromStack(f.stack).hasWarning('/Test/Server', Match.stringLikeRegexp('minReplicas is 1'));
  });

  test('Fluent Bit uploads capture in the ModelEndpoint layout, raw lines, SSE-KMS by the bucket default', () => {
    const f = fixture();
    const server = newServer(f, { capture: { samplingPercentage: 20, variantName: 'Blue', uploadInterval: Duration.seconds(30) } });
    const config = kind(server.chart.toJson(), 'ConfigMap');
    const conf: string = config.data['fluent-bit.conf'];
    const setting = (key: string) => conf.split('\n').map(l => l.trim().split(/\s+/)).filter(([k]) => k === key).map(p => p.slice(1).join(' '));
    expect(setting('Name')).toEqual(['tail', 's3']);
    expect(setting('Path')).toEqual(['/capture/*.jsonl']);
    expect(setting('bucket')).toEqual([f.lake.bucket(DataZone.MONITORING).bucketName]);
    expect(setting('region')).toEqual([f.stack.region]);
    expect(setting('s3_key_format')).toEqual(['/capture/fraud/Blue/%Y/%m/%d/%H/%M-%S-000-$UUID.jsonl']);
    expect(setting('total_file_size')).toEqual(['5M']);
    expect(setting('upload_timeout')).toEqual(['30s']);
    expect(setting('use_put_object')).toEqual(['On']);
    expect(setting('json_date_key')).toEqual(['false']);
    expect(setting('log_key')).toEqual(['log']);
    expect(server.captureKeyPrefix).toBe('capture/fraud/');
    expect(server.captureVariantName).toBe('Blue');
    expect(container(podSpec(server), 'server').env).toContainEqual({ name: 'CAPTURE_SAMPLING_PERCENTAGE', value: '20' });
    // objects are SSE-KMS with the lake key through the bucket's default encryption
    Template.fromStack(f.stack).hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() } })] },
    });
  });

  test('a key Fluent Bit would write parses like a SageMaker capture key, and the documented record decodes', () => {
    // Fluent Bit: strftime on the first record's time (whole seconds), then $UUID.
    const format = captureKeyFormat('capture/fraud/', 'AllTraffic');
    const key = format.slice(1)
      .replace('%Y', '2025').replace('%m', '01').replace('%d', '31').replace('%H', '12').replace('%M', '05').replace('%S', '07')
      .replace('$UUID', '3f2b1c9e-4d5a-4e6f-8a7b-9c0d1e2f3a4b');
    expect(key).toBe('capture/fraud/AllTraffic/2025/01/31/12/05-07-000-3f2b1c9e-4d5a-4e6f-8a7b-9c0d1e2f3a4b.jsonl');
    expect(parseCaptureKey(key)).toEqual({ endpoint: 'fraud', variant: 'AllTraffic', hour: new Date(Date.UTC(2025, 0, 31, 12)) });
    expect(captureTime(key)).toBe(Date.UTC(2025, 0, 31, 12, 5, 7, 0));
    const line = JSON.stringify({
      captureData: {
        endpointInput: { observedContentType: 'application/json', mode: 'INPUT', data: '{"amount": 12.5}', encoding: 'JSON' },
        endpointOutput: { observedContentType: 'application/json', mode: 'OUTPUT', data: '0.93', encoding: 'JSON' },
      },
      eventMetadata: { eventId: '3f2b1c9e', inferenceTime: '2025-01-31T12:05:07Z' },
      eventVersion: '0',
    });
    expect(decodeCaptureLine(line)).toEqual({ input: [{ amount: 12.5 }], output: [0.93], inferenceTime: '2025-01-31T12:05:07Z' });
  });

  test('EKS Pod Identity service account', () => {
    const f = fixture();
    const server = newServer(f, { namespace: 'serving' });
    const t = Template.fromStack(f.stack);
    t.hasResourceProperties('AWS::EKS::PodIdentityAssociation', {
      Namespace: 'serving', ServiceAccount: 'fraud', RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ServerServiceAccountRole'), 'Arn'] },
    });
    t.hasResourceProperties('AWS::EKS::Addon', { AddonName: 'eks-pod-identity-agent' });
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: ['sts:AssumeRole', 'sts:TagSession'], Principal: { Service: 'pods.eks.amazonaws.com' } })]),
      },
    });
    expect(server.role).toBe(server.serviceAccount.role);
    const sa = stackManifests(f.stack, 'ServerServiceAccount').find(m => m.kind === 'ServiceAccount');
    expect(sa?.metadata).toMatchObject({ name: 'fraud', namespace: 'serving' });
    // the workload manifest waits for the service account, its pod identity association and grants, and the namespace
    const resources = t.findResources('Custom::AWSCDK-EKS-KubernetesResource');
    const main = Object.entries(resources).find(([id]) => /^Server[A-F0-9]{8}$/.test(id))!;
    const dependsOn: string[] = main[1].DependsOn;
    expect(dependsOn.some(d => d.startsWith('ServerServiceAccountAssociation'))).toBe(true);
    expect(dependsOn.some(d => d.startsWith('ServerServiceAccountRoleDefaultPolicy'))).toBe(true);
    expect(dependsOn.some(d => d.startsWith('ServerNamespace'))).toBe(true);
    expect(stackManifests(f.stack, 'ServerNamespace').map(m => m.kind)).toEqual(['Namespace']);
  });

  test('IAM: read only the model key, write only the capture prefix, KMS through S3 only', () => {
    const f = fixture();
    newServer(f);
    const statements = policyStatements(f.stack);
    const resources = (s: any) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).map(flatten);
    const actions = (s: any) => (Array.isArray(s.Action) ? s.Action : [s.Action]) as string[];
    const objects = statements.filter(s => actions(s).some(a => a.startsWith('s3:') && a.includes('Object')));
    expect(objects.flatMap(resources).sort()).toEqual(['TOKEN/capture/fraud/*', 'TOKEN/fraud/v3/*']);
    const read = objects.find(s => resources(s)[0].endsWith('/fraud/v3/*'));
    expect(actions(read)).toEqual(expect.arrayContaining(['s3:GetObject']));
    expect(actions(read).some(a => a.startsWith('s3:Put'))).toBe(false);
    const write = objects.find(s => resources(s)[0].endsWith('/capture/fraud/*'));
    expect(actions(write)).toEqual(expect.arrayContaining(['s3:PutObject']));
    expect(actions(write).some(a => a.startsWith('s3:Get') || a.startsWith('s3:Delete'))).toBe(false);
    const list = statements.find(s => actions(s).includes('s3:ListBucket'));
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['fraud/v3/*'] } });
    const kms = statements.filter(s => actions(s).some(a => a.startsWith('kms:')));
    expect(kms.length).toBeGreaterThan(0);
    for (const s of kms) { expect(s.Condition.StringEquals['kms:ViaService']).toBeDefined(); }
    expect(actions({ Action: kms.flatMap(actions) })).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey']));
    expect(statements.some(s => actions(s).some(a => a === 's3:*' || a === 's3:DeleteObject'))).toBe(false);
  });

  test('capture off: no sidecar, no ConfigMap, no monitoring grant', () => {
    const f = fixture();
    const server = newServer(f, { capture: { enabled: false } });
    const manifests = server.chart.toJson();
    expect(manifests.filter(m => m.kind === 'ConfigMap')).toEqual([]);
    const spec = podSpec(server);
    expect(spec.initContainers.map((c: any) => c.name)).toEqual(['model-download']);
    expect(spec.volumes.map((v: any) => v.name)).not.toContain('capture');
    expect(container(spec, 'server').env).toEqual(expect.arrayContaining([
      { name: 'CAPTURE_ENABLED', value: 'false' }, { name: 'CAPTURE_SAMPLING_PERCENTAGE', value: '0' },
    ]));
    expect(server.captureKeyPrefix).toBeUndefined();
    expect(policyStatements(f.stack).flatMap(s => [s.Resource].flat().map(flatten)).some(r => r.includes('capture/'))).toBe(false);
  });

  test('default props (snapshot of the chart, tokens masked)', () => {
    const f = fixture();
    const server = newServer(f);
    const masked = JSON.parse(JSON.stringify(server.chart.toJson()).replace(/\$\{Token\[[^\]]+\]\}/g, '<token>'));
    expect(masked).toMatchInlineSnapshot(`
[
  {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
      "labels": {
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/name": "fraud",
      },
      "name": "fraud",
      "namespace": "default",
    },
    "spec": {
      "minReadySeconds": 10,
      "progressDeadlineSeconds": 900,
      "selector": {
        "matchLabels": {
          "app.kubernetes.io/name": "fraud",
        },
      },
      "strategy": {
        "rollingUpdate": {
          "maxSurge": 1,
          "maxUnavailable": 0,
        },
        "type": "RollingUpdate",
      },
      "template": {
        "metadata": {
          "labels": {
            "app.kubernetes.io/component": "model-server",
            "app.kubernetes.io/name": "fraud",
            "cdk8s.io/metadata.addr": "model-server-Deployment-c8cefadc",
          },
        },
        "spec": {
          "affinity": {
            "nodeAffinity": {
              "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                  {
                    "matchExpressions": [
                      {
                        "key": "ml-platform/gpu-pool",
                        "operator": "In",
                        "values": [
                          "serving",
                        ],
                      },
                      {
                        "key": "nvidia.com/gpu.present",
                        "operator": "In",
                        "values": [
                          "true",
                        ],
                      },
                    ],
                  },
                ],
              },
            },
          },
          "automountServiceAccountToken": false,
          "containers": [
            {
              "env": [
                {
                  "name": "MODEL_DIR",
                  "value": "/model",
                },
                {
                  "name": "PORT",
                  "value": "8080",
                },
                {
                  "name": "SERVER_NAME",
                  "value": "fraud",
                },
                {
                  "name": "VARIANT_NAME",
                  "value": "AllTraffic",
                },
                {
                  "name": "CAPTURE_ENABLED",
                  "value": "true",
                },
                {
                  "name": "CAPTURE_DIR",
                  "value": "/capture",
                },
                {
                  "name": "CAPTURE_SAMPLING_PERCENTAGE",
                  "value": "100",
                },
                {
                  "name": "HOME",
                  "value": "/tmp",
                },
                {
                  "name": "TMPDIR",
                  "value": "/tmp",
                },
              ],
              "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-serve:1.4.2",
              "imagePullPolicy": "Always",
              "livenessProbe": {
                "failureThreshold": 6,
                "httpGet": {
                  "path": "/health",
                  "port": 8080,
                  "scheme": "HTTP",
                },
                "periodSeconds": 20,
                "timeoutSeconds": 5,
              },
              "name": "server",
              "ports": [
                {
                  "containerPort": 8080,
                  "name": "http",
                },
              ],
              "readinessProbe": {
                "failureThreshold": 3,
                "httpGet": {
                  "path": "/health",
                  "port": 8080,
                  "scheme": "HTTP",
                },
                "periodSeconds": 10,
                "timeoutSeconds": 5,
              },
              "resources": {
                "limits": {
                  "cpu": "4000m",
                  "memory": "8192Mi",
                  "nvidia.com/gpu": 1,
                },
                "requests": {
                  "cpu": "2000m",
                  "memory": "8192Mi",
                  "nvidia.com/gpu": 1,
                },
              },
              "securityContext": {
                "allowPrivilegeEscalation": false,
                "capabilities": {
                  "drop": [
                    "ALL",
                  ],
                },
                "privileged": false,
                "readOnlyRootFilesystem": true,
                "runAsGroup": 1000,
                "runAsNonRoot": true,
                "runAsUser": 1000,
                "seccompProfile": {
                  "type": "RuntimeDefault",
                },
              },
              "startupProbe": {
                "failureThreshold": 60,
                "httpGet": {
                  "path": "/health",
                  "port": 8080,
                  "scheme": "HTTP",
                },
                "periodSeconds": 10,
                "timeoutSeconds": 5,
              },
              "volumeMounts": [
                {
                  "mountPath": "/model",
                  "name": "model",
                  "readOnly": true,
                },
                {
                  "mountPath": "/tmp",
                  "name": "tmp",
                },
                {
                  "mountPath": "/dev/shm",
                  "name": "dshm",
                },
                {
                  "mountPath": "/capture",
                  "name": "capture",
                },
              ],
            },
          ],
          "dnsPolicy": "ClusterFirst",
          "hostNetwork": false,
          "initContainers": [
            {
              "args": [
                "s3",
                "sync",
                "s3://<token>/fraud/v3/",
                "/model",
                "--only-show-errors",
                "--no-progress",
              ],
              "env": [
                {
                  "name": "HOME",
                  "value": "/tmp",
                },
                {
                  "name": "AWS_REGION",
                  "value": "<token>",
                },
                {
                  "name": "AWS_DEFAULT_REGION",
                  "value": "<token>",
                },
              ],
              "image": "public.ecr.aws/aws-cli/aws-cli:2.27.26",
              "imagePullPolicy": "Always",
              "name": "model-download",
              "resources": {
                "limits": {
                  "cpu": "2000m",
                  "memory": "1024Mi",
                },
                "requests": {
                  "cpu": "500m",
                  "memory": "512Mi",
                },
              },
              "securityContext": {
                "allowPrivilegeEscalation": false,
                "capabilities": {
                  "drop": [
                    "ALL",
                  ],
                },
                "privileged": false,
                "readOnlyRootFilesystem": true,
                "runAsGroup": 1000,
                "runAsNonRoot": true,
                "runAsUser": 1000,
                "seccompProfile": {
                  "type": "RuntimeDefault",
                },
              },
              "volumeMounts": [
                {
                  "mountPath": "/model",
                  "name": "model",
                },
                {
                  "mountPath": "/tmp",
                  "name": "tmp",
                },
              ],
            },
            {
              "command": [
                "/fluent-bit/bin/fluent-bit",
                "-c",
                "/fluent-bit/etc/capture/fluent-bit.conf",
              ],
              "env": [
                {
                  "name": "AWS_REGION",
                  "value": "<token>",
                },
              ],
              "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:3.2.1",
              "imagePullPolicy": "Always",
              "livenessProbe": {
                "failureThreshold": 3,
                "httpGet": {
                  "path": "/api/v1/health",
                  "port": 2020,
                  "scheme": "HTTP",
                },
                "periodSeconds": 30,
                "timeoutSeconds": 5,
              },
              "name": "capture-shipper",
              "ports": [
                {
                  "containerPort": 2020,
                  "name": "fluent-bit",
                },
              ],
              "resources": {
                "limits": {
                  "cpu": "500m",
                  "memory": "256Mi",
                },
                "requests": {
                  "cpu": "100m",
                  "memory": "128Mi",
                },
              },
              "restartPolicy": "Always",
              "securityContext": {
                "allowPrivilegeEscalation": false,
                "capabilities": {
                  "drop": [
                    "ALL",
                  ],
                },
                "privileged": false,
                "readOnlyRootFilesystem": true,
                "runAsGroup": 1000,
                "runAsNonRoot": true,
                "runAsUser": 1000,
                "seccompProfile": {
                  "type": "RuntimeDefault",
                },
              },
              "volumeMounts": [
                {
                  "mountPath": "/capture",
                  "name": "capture",
                  "readOnly": true,
                },
                {
                  "mountPath": "/fluent-bit/state",
                  "name": "capture-shipper-state",
                },
                {
                  "mountPath": "/fluent-bit/etc/capture",
                  "name": "capture-shipper-config",
                  "readOnly": true,
                },
              ],
            },
          ],
          "restartPolicy": "Always",
          "securityContext": {
            "fsGroup": 1000,
            "fsGroupChangePolicy": "Always",
            "runAsGroup": 1000,
            "runAsNonRoot": true,
            "runAsUser": 1000,
          },
          "serviceAccountName": "fraud",
          "setHostnameAsFQDN": false,
          "terminationGracePeriodSeconds": 60,
          "tolerations": [
            {
              "effect": "NoSchedule",
              "key": "nvidia.com/gpu",
              "operator": "Equal",
              "value": "true",
            },
          ],
          "topologySpreadConstraints": [
            {
              "labelSelector": {
                "matchLabels": {
                  "app.kubernetes.io/name": "fraud",
                },
              },
              "maxSkew": 1,
              "topologyKey": "kubernetes.io/hostname",
              "whenUnsatisfiable": "ScheduleAnyway",
            },
            {
              "labelSelector": {
                "matchLabels": {
                  "app.kubernetes.io/name": "fraud",
                },
              },
              "maxSkew": 1,
              "topologyKey": "topology.kubernetes.io/zone",
              "whenUnsatisfiable": "ScheduleAnyway",
            },
          ],
          "volumes": [
            {
              "emptyDir": {
                "sizeLimit": "51200Mi",
              },
              "name": "model",
            },
            {
              "emptyDir": {
                "sizeLimit": "1024Mi",
              },
              "name": "tmp",
            },
            {
              "emptyDir": {
                "medium": "Memory",
                "sizeLimit": "1024Mi",
              },
              "name": "dshm",
            },
            {
              "emptyDir": {
                "sizeLimit": "1024Mi",
              },
              "name": "capture",
            },
            {
              "emptyDir": {
                "sizeLimit": "1024Mi",
              },
              "name": "capture-shipper-state",
            },
            {
              "configMap": {
                "name": "fraud-capture-shipper",
              },
              "name": "capture-shipper-config",
            },
          ],
        },
      },
    },
  },
  {
    "apiVersion": "v1",
    "data": {
      "fluent-bit.conf": "[SERVICE]
    Flush                     5
    Grace                     30
    Daemon                    Off
    Log_Level                 info
    HTTP_Server               On
    HTTP_Listen               0.0.0.0
    HTTP_Port                 2020
    Health_Check              On
    storage.path              /fluent-bit/state/storage

[INPUT]
    Name                      tail
    Tag                       capture
    Path                      /capture/*.jsonl
    DB                        /fluent-bit/state/capture-tail.db
    Read_from_Head            On
    Refresh_Interval          5
    Rotate_Wait               30
    Buffer_Chunk_Size         64KB
    Buffer_Max_Size           1MB
    Skip_Long_Lines           On
    Mem_Buf_Limit             32MB
    storage.type              filesystem

[OUTPUT]
    Name                      s3
    Match                     capture
    bucket                    <token>
    region                    <token>
    s3_key_format             /capture/fraud/AllTraffic/%Y/%m/%d/%H/%M-%S-000-$UUID.jsonl
    total_file_size           5M
    upload_timeout            60s
    use_put_object            On
    store_dir                 /fluent-bit/state/s3
    log_key                   log
    json_date_key             false
    content_type              application/jsonl
    retry_limit               10
",
    },
    "immutable": false,
    "kind": "ConfigMap",
    "metadata": {
      "labels": {
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/name": "fraud",
      },
      "name": "fraud-capture-shipper",
      "namespace": "default",
    },
  },
  {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {
      "labels": {
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/name": "fraud",
      },
      "name": "fraud",
      "namespace": "default",
    },
    "spec": {
      "externalIPs": [],
      "ports": [
        {
          "name": "http",
          "port": 8080,
          "targetPort": 8080,
        },
      ],
      "selector": {
        "cdk8s.io/metadata.addr": "model-server-Deployment-c8cefadc",
      },
      "type": "ClusterIP",
    },
  },
  {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {
      "labels": {
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/name": "fraud",
      },
      "name": "fraud",
      "namespace": "default",
    },
    "spec": {
      "behavior": {
        "scaleDown": {
          "policies": [
            {
              "periodSeconds": 300,
              "type": "Pods",
              "value": 2,
            },
          ],
          "selectPolicy": "Max",
          "stabilizationWindowSeconds": 300,
        },
        "scaleUp": {
          "policies": [
            {
              "periodSeconds": 60,
              "type": "Pods",
              "value": 4,
            },
            {
              "periodSeconds": 60,
              "type": "Percent",
              "value": 200,
            },
          ],
          "selectPolicy": "Max",
          "stabilizationWindowSeconds": 0,
        },
      },
      "maxReplicas": 4,
      "metrics": [
        {
          "containerResource": {
            "container": "server",
            "name": "cpu",
            "target": {
              "averageUtilization": 70,
              "type": "Utilization",
            },
          },
          "type": "ContainerResource",
        },
      ],
      "minReplicas": 2,
      "scaleTargetRef": {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "fraud",
      },
    },
  },
  {
    "apiVersion": "policy/v1",
    "kind": "PodDisruptionBudget",
    "metadata": {
      "labels": {
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/name": "fraud",
      },
      "name": "fraud",
      "namespace": "default",
    },
    "spec": {
      "maxUnavailable": 1,
      "selector": {
        "matchLabels": {
          "app.kubernetes.io/name": "fraud",
        },
      },
    },
  },
]
`);
  });

  test('looks like a ModelEndpoint to the monitors', () => {
    const f = fixture();
    const server = newServer(f);
    expect(server.endpointName).toBe('fraud');
    expect(server.dataLake).toBe(f.lake);
    expect(server.captureKeyPrefix).toBe(`${KubernetesModelServer.CAPTURE_KEY_PREFIX}fraud/`);
    expect(server.grantPrincipal).toBe(server.role);
  });

  test('default server name is a valid DNS-1035 label; default namespace is not created', () => {
    const f = fixture();
    const server = new KubernetesModelServer(f.stack, 'FraudServer', {
      cluster: f.cluster, pool: f.pool, dataLake: f.lake, image: IMAGE, modelKey: 'fraud/v3/',
    });
    expect(server.serverName).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
    expect(server.serverName.length).toBeLessThanOrEqual(40);
    expect(server.namespace).toBe('default');
    expect(stackManifests(f.stack, 'FraudServerNamespace')).toEqual([]);
    const g = fixture();
    newServer(g, { namespace: 'shared', createNamespace: false });
    expect(stackManifests(g.stack, 'ServerNamespace')).toEqual([]);
  });

  test.each<[string, (f: Fixture) => Partial<KubernetesModelServerProps>, string]>([
    ['server name', () => ({ serverName: 'Fraud_API' }), 'InvalidServerName'],
    ['server name starting with a digit', () => ({ serverName: '1fraud' }), 'InvalidServerName'],
    ['long server name', () => ({ serverName: 'a'.repeat(41) }), 'InvalidServerName'],
    ['namespace', () => ({ namespace: 'ML' }), 'InvalidNamespace'],
    ['image', () => ({ image: 'repo/img: 1' }), 'InvalidImage'],
    ['port 0', () => ({ port: 0 }), 'InvalidPort'],
    ['port 70000', () => ({ port: 70000 }), 'InvalidPort'],
    ['port of the sidecar', () => ({ port: 2020 }), 'PortConflict'],
    ['health path', () => ({ healthPath: 'health' }), 'InvalidHealthPath'],
    ['min > max', () => ({ minReplicas: 3, maxReplicas: 2 }), 'MinGreaterThanMax'],
    ['zero replicas', () => ({ minReplicas: 0 }), 'InvalidReplicas'],
    ['target utilization', () => ({ targetCpuUtilization: 150 }), 'InvalidTargetUtilization'],
    ['GPU count', () => ({ gpusPerReplica: 0 }), 'InvalidGpuCount'],
    ['GPUs per replica exceed every node', () => ({ gpusPerReplica: 2, maxReplicas: 2 }), 'GpusPerReplicaExceedNode'],
    ['max replicas exceed the pool', () => ({ maxReplicas: 5 }), 'ExceedsPoolCapacity'],
    ['cpu', () => ({ cpu: 0 }), 'InvalidCpu'],
    ['env name', () => ({ env: { '1BAD': 'x' } }), 'InvalidEnvName'],
    ['reserved env', () => ({ env: { MODEL_DIR: '/elsewhere' } }), 'ReservedEnv'],
    ['sampling above 100', () => ({ capture: { samplingPercentage: 101 } }), 'InvalidSamplingPercentage'],
    ['sampling below 0', () => ({ capture: { samplingPercentage: -1 } }), 'InvalidSamplingPercentage'],
    ['variant name', () => ({ capture: { variantName: 'all/traffic' } }), 'InvalidVariantName'],
    ['upload interval', () => ({ capture: { uploadInterval: Duration.hours(1) } }), 'InvalidUploadInterval'],
    ['model key with a leading slash', () => ({ modelKey: '/fraud/v3/' }), 'InvalidModelKey'],
    ['model key with a wildcard', () => ({ modelKey: 'fraud/*' }), 'InvalidModelKey'],
    ['empty model key', () => ({ modelKey: '' }), 'InvalidModelKey'],
    ['model outside the models zone', f => ({ modelKey: f.lake.uri(DataZone.CURATED, 'fraud/v3/') }), 'ModelNotInLake'],
    ['model in another bucket', () => ({ modelKey: 's3://somewhere-else/fraud/v3/' }), 'ModelNotInLake'],
  ])('rejects %s', (_name, props, code) => {
    const f = fixture();
    expect(() => newServer(f, props(f))).toThrow(new RegExp(`\\[KubernetesModelServer\\.${code}\\] .*\\(at Test/Server\\)`));
  });

  test('collects every problem in one error', () => {
    const f = fixture();
    expect(() => newServer(f, { port: 0, healthPath: 'x', capture: { samplingPercentage: 200 } }))
      .toThrow(/3 problems with KubernetesModelServer input:[\s\S]*InvalidPort[\s\S]*InvalidHealthPath[\s\S]*InvalidSamplingPercentage/);
  });

  test('capture settings are not validated when capture is off', () => {
    const f = fixture();
    expect(() => newServer(f, { port: 2020, capture: { enabled: false, samplingPercentage: 500 } })).not.toThrow();
  });
});

describe('manifests and compliance', () => {
  test('every generated manifest is a valid Kubernetes object (kubernetes-models)', () => {
    const f = fixture();
    newServer(f, { namespace: 'serving' });
    newServer(f, { serverName: 'churn', capture: { enabled: false }, minReplicas: 1, maxReplicas: 1, modelKey: 'churn/model.onnx' }, 'Churn');
    const manifests = [...stackManifests(f.stack, 'Server'), ...stackManifests(f.stack, 'Churn')];
    expect(manifests.map(m => m.kind).sort()).toEqual([
      'ConfigMap', 'Deployment', 'Deployment', 'HorizontalPodAutoscaler', 'HorizontalPodAutoscaler', 'Namespace',
      'PodDisruptionBudget', 'PodDisruptionBudget', 'Service', 'Service', 'ServiceAccount', 'ServiceAccount',
    ]);
    expect(validateManifests(manifests)).toEqual([]);
    expect(manifestBytes(stackManifests(f.stack, 'Server'))).toBeLessThan(KUBECTL_MANIFEST_LIMIT_BYTES / 8);
  });

  test('cdk-nag (AwsSolutions, NIST 800-53 R5) and cfn-lint clean, managed and Karpenter pools', () => {
    const f = fixture();
    newServer(f, { namespace: 'serving' });
    const karpenterPool = f.cluster.addGpuNodePool('Llm', {
      instanceTypes: [new ec2.InstanceType('g5.12xlarge')], provisioner: NodeProvisioner.karpenter({ maxGpus: 8 }),
    });
    new KubernetesModelServer(f.stack, 'Llm', {
      cluster: f.cluster,
      pool: karpenterPool,
      dataLake: f.lake,
      image: IMAGE,
      modelKey: 'llm/v1/',
      serverName: 'llm',
      gpusPerReplica: 4,
      minReplicas: 1,
      maxReplicas: 2,
      memory: Size.gibibytes(64),
      cpu: 16,
      sharedMemorySize: Size.gibibytes(16),
    });
    expect(nagFindings(f.app)).toEqual([]);
    expect(cfnLint(findTemplates(f.app.outdir))).toEqual([]);
  });
});
