import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Duration, Token, Validations } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Yaml } from 'cdk8s';
import { Construct } from 'constructs';
import type { GpuCluster } from './gpu-cluster';
import { mlError, ValidationErrors } from '../core/errors';
import { acknowledgeWildcardResource } from '../core/nag';
import { scratchDirectory } from '../core/scratch';

/**
 * The Kubeflow Training Operator v1.9.2 image (kubeflow/trainer PR #2634, "Release Training Operator Image for v1.9.2").
 */
export const TRAINING_OPERATOR_DEFAULT_IMAGE = 'ghcr.io/kubeflow/training-v1/training-operator:v1-3f15cb8';
/** Namespace the training operator is installed into by default. */
export const TRAINING_OPERATOR_DEFAULT_NAMESPACE = 'kubeflow';

/** The vendored PyTorchJob CRD (crds/SOURCES.md: kubeflow/trainer v1.9.4, Apache-2.0) and its recorded sha256. */
const CRD_FILE = 'kubeflow.org_pytorchjobs.yaml';
const CRD_SHA256 = '8b8a8a719cc94173169290251e817f7ac2bb425c20b6c2fa813397bcf4e932ed';
/** Where the CRD is looked up, relative to this module (src/compute or lib/compute): the package's `assets/` first. */
const CRD_CANDIDATES = [
  path.join(__dirname, '..', '..', 'assets', 'training-operator', CRD_FILE),
  path.join(__dirname, '..', '..', 'crds', CRD_FILE),
];

/** Our chart's name and version; bump the version whenever the templates change. */
const CHART_NAME = 'kubeflow-training-operator';
const CHART_VERSION = '1.9.2-mlp.1';
/** Helm release name. */
const RELEASE = 'kubeflow-training-operator';
/** Names the operator binary uses by default (cmd/training-operator.v1/main.go flags and constants, release-1.9). */
const NAME = 'training-operator';
const WEBHOOK_SECRET = 'training-operator-webhook-cert';
const WEBHOOK_CONFIGURATION = 'validator.training-operator.kubeflow.org';
const WEBHOOK_NAME = 'validator.pytorchjob.training-operator.kubeflow.org';
const WEBHOOK_PATH = '/validate-kubeflow-org-v1-pytorchjob';
const CERT_DIR = '/tmp/k8s-webhook-server/serving-certs';
const WEBHOOK_PORT = 9443;
const METRICS_PORT = 8080;
const HEALTH_PORT = 8081;
/** The construct id the one operator of a cluster lives under (child of the GpuCluster). */
const INSTALL_ID = 'KubeflowTrainingOperator';
/** UID/GID the operator runs as (the distroless "nonroot" user). */
const OPERATOR_UID = 65532;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Options of the {@link KubeflowTrainingOperator}, without the cluster. */
export interface KubeflowTrainingOperatorOptions {
  /**
   * Operator image. Pin a tag or digest of the v1 (release-1.9) training operator; the manifests we ship
   * (flags, webhook, RBAC) are written for it.
   *
   * @default 'ghcr.io/kubeflow/training-v1/training-operator:v1-3f15cb8' - the v1.9.2 release
   */
  readonly image?: string;

  /**
   * Namespace of the operator (created by Helm when missing).
   *
   * @default 'kubeflow'
   */
  readonly namespace?: string;

  /**
   * Number of operator pods. They elect a leader (a Lease in `namespace`); every pod serves the webhook.
   *
   * @default 1
   */
  readonly replicas?: number;

  /**
   * How long Helm waits for the operator to become ready (image pull, webhook certificate generation).
   *
   * @default Duration.minutes(10)
   */
  readonly timeout?: Duration;
}

/** Properties for a {@link KubeflowTrainingOperator}. */
export interface KubeflowTrainingOperatorProps extends KubeflowTrainingOperatorOptions {
  /** The cluster the operator is installed into. */
  readonly cluster: GpuCluster;
}

/**
 * The Kubeflow Training Operator (v1, PyTorchJob only) in a {@link GpuCluster}, installed as a local Helm chart.
 *
 * The PyTorchJob CRD alone is 644 KB, above what one kubectl-provider manifest may carry, so the CRD and our own
 * operator manifests are written into a chart directory at synth, uploaded as an S3 asset and installed with
 * `helm upgrade --install` (release `kubeflow-training-operator`, `--wait`). The CRD sits in the chart's `crds/`
 * folder (Helm convention): Helm installs it on first install but never upgrades or deletes it, so a newer CRD must
 * be applied by hand (`kubectl apply --server-side -f`). The templates are plain YAML without Helm templating.
 *
 * What the chart installs in `namespace` (Helm creates the namespace; it is not a chart object, so Helm does not
 * refuse to adopt it and uninstalling keeps it):
 * - ServiceAccount `training-operator` and RBAC for what the v1 PyTorchJob controller does: pods (create, delete,
 *   patch), Services (create, delete), Events, pytorchjobs (+ `/status`, `/finalizers`), HorizontalPodAutoscalers
 *   (elastic jobs with metrics), read-only PodGroups (watched only when Volcano or scheduler-plugins is installed),
 *   PriorityClasses (read), the webhook configuration (the cert controller injects the CA bundle) and, namespaced,
 *   the webhook Secret and a Lease for leader election.
 * - Secret `training-operator-webhook-cert` (empty: the operator's cert-controller fills it with a self-signed CA and
 *   serving certificate), Service `training-operator` (443 → 9443 webhook, 8080 metrics), and the
 *   ValidatingWebhookConfiguration `validator.training-operator.kubeflow.org` for PyTorchJob create/update.
 * - Deployment with `--enable-scheme=pytorchjob`, leader election, non-root, read-only root filesystem, requests and
 *   limits, liveness `/healthz` and readiness `/readyz` (ready only once the certificates exist and the webhook
 *   server is up) on port 8081, on the system node group.
 *
 * Install it once per cluster with {@link KubeflowTrainingOperator.forCluster}.
 *
 * @example
 * const operator = KubeflowTrainingOperator.forCluster(gpuCluster);
 * jobManifest.node.addDependency(operator.chart);
 */
export class KubeflowTrainingOperator extends Construct {
  /**
   * The operator of `cluster`, installed on first call (as the cluster's child `KubeflowTrainingOperator`).
   * Later calls return the same operator; passing options that differ from the installed ones is an error.
   */
  public static forCluster(cluster: GpuCluster, options: KubeflowTrainingOperatorOptions = {}): KubeflowTrainingOperator {
    const existing = cluster.node.tryFindChild(INSTALL_ID);
    if (existing instanceof KubeflowTrainingOperator) {
      const conflicts = [
        options.image !== undefined && options.image !== existing.image ? `image ${options.image} != ${existing.image}` : undefined,
        options.namespace !== undefined && options.namespace !== existing.namespace ? `namespace ${options.namespace} != ${existing.namespace}` : undefined,
        options.replicas !== undefined && options.replicas !== existing.replicas ? `replicas ${options.replicas} != ${existing.replicas}` : undefined,
      ].filter((c): c is string => c !== undefined);
      if (conflicts.length > 0) {
        throw mlError(existing, 'KubeflowTrainingOperator', {
          code: 'ConflictingOptions',
          what: 'the cluster already has a training operator installed with other options',
          got: conflicts.join(', '),
          fix: 'pass the same options everywhere, or none after the first call',
        });
      }
      return existing;
    }
    return new KubeflowTrainingOperator(cluster, INSTALL_ID, { ...options, cluster });
  }

  /** The Helm release. Manifests that create PyTorchJobs must depend on it (CRD and webhook). */
  public readonly chart: eks.HelmChart;
  /** The chart directory as an S3 asset (zip). */
  public readonly chartAsset: Asset;
  /** Local directory the chart was written to at synth. */
  public readonly chartDirectory: string;
  /** The operator image. */
  public readonly image: string;
  /** The operator's namespace. */
  public readonly namespace: string;
  /** Number of operator pods. */
  public readonly replicas: number;

  constructor(scope: Construct, id: string, props: KubeflowTrainingOperatorProps) {
    super(scope, id);
    this.image = props.image ?? TRAINING_OPERATOR_DEFAULT_IMAGE;
    this.namespace = props.namespace ?? TRAINING_OPERATOR_DEFAULT_NAMESPACE;
    this.replicas = props.replicas ?? 1;
    const timeout = props.timeout ?? Duration.minutes(10);
    this.validate(timeout);

    const crd = loadPyTorchJobCrd(this);
    this.chartDirectory = scratchDirectory(this, 'training-operator-');
    const manifests = trainingOperatorManifests({ image: this.image, namespace: this.namespace, replicas: this.replicas });
    writeChart(this.chartDirectory, crd, manifests, this.image);

    this.chartAsset = new Asset(this, 'ChartAsset', { path: this.chartDirectory });
    // The kubectl provider reads the chart from the CDK asset bucket (aws-cdk-lib's Asset.grantRead).
    const kubectl = props.cluster.cluster.kubectlProvider;
    if (kubectl) {
      const reason = 'The kubectl provider downloads the training operator\'s Helm chart asset (aws-cdk-lib Asset.grantRead on the CDK asset bucket).';
      Validations.of(kubectl).acknowledge(
        { id: 'AwsSolutions::AwsSolutions-IAM5[Action::s3:GetBucket*]', reason },
        { id: 'AwsSolutions::AwsSolutions-IAM5[Action::s3:GetObject*]', reason },
        { id: 'AwsSolutions::AwsSolutions-IAM5[Action::s3:List*]', reason },
      );
      acknowledgeWildcardResource(kubectl, `${this.chartAsset.bucket.bucketArn}/*`, reason);
    }
    this.chart = props.cluster.cluster.addHelmChart('KubeflowTrainingOperator', {
      chartAsset: this.chartAsset,
      release: RELEASE,
      namespace: this.namespace,
      createNamespace: true,
      wait: true,
      timeout,
    });
    // the operator runs on the system nodes; with --wait, Helm needs them to exist
    this.chart.node.addDependency(props.cluster.systemNodegroup);
  }

  private validate(timeout: Duration): void {
    const errors = new ValidationErrors(this, 'KubeflowTrainingOperator');
    if (!Token.isUnresolved(this.image)) {
      errors.check(this.image.trim().length > 0 && !/\s/.test(this.image) && !/[{}]/.test(this.image), {
        code: 'InvalidImage',
        what: 'image must be a non-empty image reference without spaces or braces',
        got: this.image,
        fix: `pin a tag or digest, e.g. '${TRAINING_OPERATOR_DEFAULT_IMAGE}'`,
      });
    } else {
      errors.add({
        code: 'InvalidImage',
        what: 'image must be known at synth: it is written into the chart files',
        got: this.image,
        fix: 'pass a literal image reference',
      });
    }
    errors.check(!Token.isUnresolved(this.namespace) && DNS_1123_LABEL.test(this.namespace) && this.namespace.length <= 63, {
      code: 'InvalidNamespace',
      what: 'namespace must be a literal DNS-1123 label',
      got: this.namespace,
      fix: `use at most 63 lowercase letters, digits and -, e.g. '${TRAINING_OPERATOR_DEFAULT_NAMESPACE}'`,
    });
    errors.check(Number.isInteger(this.replicas) && this.replicas >= 1 && this.replicas <= 5, {
      code: 'InvalidReplicas',
      what: 'replicas must be a whole number from 1 to 5',
      got: this.replicas,
      fix: 'use 1, or 2 for a standby that takes over through leader election',
    });
    if (!timeout.isUnresolved()) {
      errors.check(timeout.toSeconds() >= 60 && timeout.toSeconds() <= 900, {
        code: 'InvalidTimeout',
        what: 'timeout must be from 1 to 15 minutes (the kubectl provider caps Helm operations at 15 minutes)',
        got: timeout,
        fix: 'use e.g. Duration.minutes(10)',
      });
    }
    errors.throwIfAny();
  }
}

/**
 * The vendored PyTorchJob CRD text from the first of `candidates` that exists, checked against the sha256 recorded
 * in crds/SOURCES.md. Errors name `scope`.
 */
export function loadPyTorchJobCrd(scope: Construct, candidates: string[] = CRD_CANDIDATES): string {
  const file = candidates.find(f => fs.existsSync(f));
  if (!file) {
    throw mlError(scope, 'KubeflowTrainingOperator', {
      code: 'CrdNotFound',
      what: `the vendored PyTorchJob CRD ${CRD_FILE} is missing from this installation`,
      got: candidates.join(', '),
      fix: 'reinstall cdk-ml-platform; the package must ship the CRD (assets/training-operator/)',
    });
  }
  const text = fs.readFileSync(file);
  const sha = crypto.createHash('sha256').update(text).digest('hex');
  if (sha !== CRD_SHA256) {
    throw mlError(scope, 'KubeflowTrainingOperator', {
      code: 'CrdChecksumMismatch',
      what: `${file} is not the vendored upstream CRD`,
      got: `sha256 ${sha}`,
      fix: `restore the file byte-for-byte (sha256 ${CRD_SHA256}, see crds/SOURCES.md)`,
    });
  }
  return text.toString('utf8');
}

/** Inputs of {@link trainingOperatorManifests}. */
interface OperatorManifestOptions {
  readonly image: string;
  readonly namespace: string;
  readonly replicas: number;
}

/**
 * Our own manifests of the v1 training operator, PyTorchJob only (everything but the CRD), as Kubernetes JSON.
 *
 * Derived from what the operator binary does (kubeflow/trainer release-1.9, cmd/training-operator.v1/main.go,
 * pkg/cert/cert.go, pkg/controller.v1/pytorch/pytorchjob_controller.go), not copied from upstream YAML.
 */
export function trainingOperatorManifests(options: OperatorManifestOptions): Array<Record<string, any>> {
  const { image, namespace, replicas } = options;
  const labels = { 'app.kubernetes.io/name': NAME, 'app.kubernetes.io/part-of': 'kubeflow', 'app.kubernetes.io/component': 'controller' };
  const meta = (name: string, ns = true) => ({ name, ...(ns ? { namespace } : {}), labels });
  const rule = (apiGroups: string[], resources: string[], verbs: string[], resourceNames?: string[]) =>
    ({ apiGroups, resources, ...(resourceNames ? { resourceNames } : {}), verbs });
  const READ = ['get', 'list', 'watch'];
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(NAME), automountServiceAccountToken: true },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: meta(NAME, false),
      rules: [
        // job pods: one per replica; patched for labels/owner refs, deleted by cleanPodPolicy and restarts
        rule([''], ['pods'], [...READ, 'create', 'update', 'patch', 'delete']),
        // one headless Service per replica for rendezvous (MASTER_ADDR)
        rule([''], ['services'], [...READ, 'create', 'delete']),
        // event recorder of the controller, the webhook and leader election
        rule([''], ['events'], ['create', 'patch', 'update']),
        rule(['events.k8s.io'], ['events'], ['create', 'patch', 'update']),
        // the jobs themselves: reconcile, apply TTL (delete); no create, users create jobs
        rule(['kubeflow.org'], ['pytorchjobs'], [...READ, 'update', 'patch', 'delete']),
        rule(['kubeflow.org'], ['pytorchjobs/status'], ['get', 'update', 'patch']),
        rule(['kubeflow.org'], ['pytorchjobs/finalizers'], ['update']),
        // elastic PyTorchJobs with metrics get an HPA owned by the job
        rule(['autoscaling'], ['horizontalpodautoscalers'], [...READ, 'create', 'update', 'patch', 'delete']),
        // gang scheduling is off (no --gang-scheduler-name), but the controller watches PodGroups whenever their CRD
        // exists in the cluster; without read access its cache would never sync
        rule(['scheduling.volcano.sh'], ['podgroups'], READ),
        rule(['scheduling.x-k8s.io'], ['podgroups'], READ),
        rule(['scheduling.k8s.io'], ['priorityclasses'], READ),
        // cert-controller: watch webhook configurations, inject the CA bundle into ours only
        rule(['admissionregistration.k8s.io'], ['validatingwebhookconfigurations'], ['list', 'watch']),
        rule(['admissionregistration.k8s.io'], ['validatingwebhookconfigurations'], ['get', 'update'], [WEBHOOK_CONFIGURATION]),
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta(NAME, false),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(NAME),
      rules: [
        // cert-controller: reads the Secret through a cache scoped to this namespace and writes the certificates
        rule([''], ['secrets'], READ),
        rule([''], ['secrets'], ['update'], [WEBHOOK_SECRET]),
        // controller-runtime leader election (--leader-elect): a Lease in the operator's namespace
        rule(['coordination.k8s.io'], ['leases'], [...READ, 'create', 'update', 'patch']),
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(NAME),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace }],
    },
    // The cert-controller only updates this Secret; it never creates it.
    { apiVersion: 'v1', kind: 'Secret', metadata: meta(WEBHOOK_SECRET), type: 'Opaque' },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(NAME),
      spec: {
        type: 'ClusterIP',
        selector: labels,
        ports: [
          { name: 'webhook-server', port: 443, targetPort: WEBHOOK_PORT, protocol: 'TCP' },
          { name: 'monitoring-port', port: METRICS_PORT, targetPort: METRICS_PORT, protocol: 'TCP' },
        ],
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: WEBHOOK_CONFIGURATION, labels },
      webhooks: [{
        name: WEBHOOK_NAME,
        admissionReviewVersions: ['v1'],
        // caBundle is injected by the operator's cert-controller; Helm's three-way merge leaves it alone
        clientConfig: { service: { name: NAME, namespace, path: WEBHOOK_PATH, port: 443 } },
        failurePolicy: 'Fail',
        sideEffects: 'None',
        timeoutSeconds: 10,
        rules: [{ apiGroups: ['kubeflow.org'], apiVersions: ['v1'], resources: ['pytorchjobs'], operations: ['CREATE', 'UPDATE'] }],
      }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(NAME),
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: NAME,
            automountServiceAccountToken: true,
            nodeSelector: { 'ml-platform/node-role': 'system' },
            securityContext: {
              runAsNonRoot: true, runAsUser: OPERATOR_UID, runAsGroup: OPERATOR_UID, seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [{
              name: NAME,
              image,
              imagePullPolicy: 'IfNotPresent',
              command: ['/manager'],
              args: [
                '--enable-scheme=pytorchjob',
                '--leader-elect=true',
                `--metrics-bind-address=:${METRICS_PORT}`,
                `--health-probe-bind-address=:${HEALTH_PORT}`,
                `--webhook-server-port=${WEBHOOK_PORT}`,
                `--webhook-service-name=${NAME}`,
                `--webhook-secret-name=${WEBHOOK_SECRET}`,
              ],
              env: [
                { name: 'MY_POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'MY_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              ],
              ports: [
                { name: 'webhook-server', containerPort: WEBHOOK_PORT, protocol: 'TCP' },
                { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
                { name: 'health', containerPort: HEALTH_PORT, protocol: 'TCP' },
              ],
              resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
              livenessProbe: { httpGet: { path: '/healthz', port: HEALTH_PORT }, initialDelaySeconds: 15, periodSeconds: 20, timeoutSeconds: 3 },
              readinessProbe: { httpGet: { path: '/readyz', port: HEALTH_PORT }, initialDelaySeconds: 10, periodSeconds: 15, timeoutSeconds: 3 },
              securityContext: {
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'tmp', mountPath: '/tmp' },
                { name: 'webhook-cert', mountPath: CERT_DIR, readOnly: true },
              ],
            }],
            volumes: [
              { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
              { name: 'webhook-cert', secret: { secretName: WEBHOOK_SECRET, defaultMode: 0o444 } },
            ],
          },
        },
      },
    },
  ];
}

/** Writes Chart.yaml, crds/ and templates/ (one file per object, plain YAML) into `dir`. */
function writeChart(dir: string, crd: string, manifests: Array<Record<string, any>>, image: string): void {
  const appVersion = image.includes(':') ? image.slice(image.lastIndexOf(':') + 1) : 'unknown';
  fs.writeFileSync(path.join(dir, 'Chart.yaml'), Yaml.stringify({
    apiVersion: 'v2',
    name: CHART_NAME,
    description: 'Kubeflow Training Operator v1 (PyTorchJob only), packaged by cdk-ml-platform',
    type: 'application',
    version: CHART_VERSION,
    appVersion,
  }));
  fs.mkdirSync(path.join(dir, 'crds'));
  fs.writeFileSync(path.join(dir, 'crds', CRD_FILE), crd);
  fs.mkdirSync(path.join(dir, 'templates'));
  manifests.forEach((m, i) => {
    const file = `${String(i).padStart(2, '0')}-${String(m.kind).toLowerCase()}.yaml`;
    fs.writeFileSync(path.join(dir, 'templates', file), Yaml.stringify(m));
  });
}
