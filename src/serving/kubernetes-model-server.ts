import { Annotations, Duration, Size, Stack, Token, Validations } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cdk8s from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ICapturingEndpoint } from './capturing-endpoint';
import type { GpuCluster } from '../compute/gpu-cluster';
import type { GpuNodePool } from '../compute/gpu-node-pool';
import { ValidationErrors, isResolved } from '../core/errors';
import { acknowledgeWildcardResource } from '../core/nag';
import { DataZone, IDataLake } from '../data/data-lake';
import {
  CAPTURE_DIR, CAPTURE_SHIPPER_CONFIG_DIR, CAPTURE_SHIPPER_CONFIG_FILE, CAPTURE_SHIPPER_GRACE_SECONDS, CAPTURE_SHIPPER_HEALTH_PATH,
  CAPTURE_SHIPPER_HTTP_PORT, CAPTURE_SHIPPER_IMAGE, CAPTURE_SHIPPER_STATE_DIR, renderCaptureShipperConfig,
} from '../k8s/capture-shipper';
import { GpuResources } from '../k8s/gpu-resources';
import { nodeAffinityFor, tolerationsFor } from '../k8s/gpu-scheduling';

/** AWS CLI v2 image of the model download init container (EKS Pod Identity credentials need CLI 2.15 or later). */
const MODEL_DOWNLOADER_IMAGE = 'public.ecr.aws/aws-cli/aws-cli:2.27.26';

/** Key prefix of capture in the monitoring zone, shared with ModelEndpoint: `capture/<server>/<variant>/yyyy/mm/dd/hh/`. */
const CAPTURE_PREFIX = 'capture/';
/** Where the model artifacts are downloaded to, read-only for the server. */
const MODEL_DIR = '/model';
/** Kubernetes Service names are DNS-1035 labels; pods add suffixes, so the server name stays short. */
const SERVER_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** Longest server name: the Deployment, Service, PDB and HPA names and their pods' labels derive from it. */
export const MAX_SERVER_NAME = 40;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** SageMaker's variant-name rule (ModelEndpoint uses it too): the variant is one segment of the capture key. */
const VARIANT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
/** Environment variables the construct sets on the server container. */
const RESERVED_ENV = ['MODEL_DIR', 'PORT', 'SERVER_NAME', 'VARIANT_NAME', 'CAPTURE_ENABLED', 'CAPTURE_DIR', 'CAPTURE_SAMPLING_PERCENTAGE', 'HOME', 'TMPDIR'];
/** Container and volume names. */
const SERVER_CONTAINER = 'server';
const DOWNLOAD_CONTAINER = 'model-download';
const SHIPPER_CONTAINER = 'capture-shipper';
/** Pod label that selects the server's pods (Deployment, Service, PDB). */
const NAME_LABEL = 'app.kubernetes.io/name';
const COMPONENT_LABEL = 'app.kubernetes.io/component';

/** Request/response capture of a {@link KubernetesModelServer} into the lake's `monitoring` zone. */
export interface ModelServerCaptureOptions {
  /**
   * Capture requests and responses.
   *
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Share of requests to capture, 0-100. Passed to the server as `CAPTURE_SAMPLING_PERCENTAGE`; the server decides
   * which requests it samples.
   *
   * @default 100
   */
  readonly samplingPercentage?: number;
  /**
   * The variant segment of the capture keys (`capture/<server>/<variant>/...`). SageMaker's rule: letters, digits
   * and `-`, at most 63 characters.
   *
   * @default 'AllTraffic' - SageMaker's default variant name
   */
  readonly variantName?: string;
  /**
   * Longest time capture lines wait in the sidecar before they are uploaded (a new S3 object). Keep it well below
   * the monitors' `captureDeliveryGrace` (15 minutes by default). Whole seconds, 10 seconds to 10 minutes.
   *
   * @default Duration.minutes(1)
   */
  readonly uploadInterval?: Duration;
  /**
   * Size limit of the `/capture` emptyDir. The server must rotate and delete its capture files to stay below it:
   * the kubelet evicts a pod whose emptyDir exceeds its limit.
   *
   * @default Size.gibibytes(1)
   */
  readonly bufferSize?: Size;
}

/** Properties for a {@link KubernetesModelServer}. */
export interface KubernetesModelServerProps {
  /** The cluster the server runs in. */
  readonly cluster: GpuCluster;

  /** The GPU node pool of the server's pods: they tolerate its taints, require its labels and fit its GPU capacity. */
  readonly pool: GpuNodePool;

  /** The lake: model artifacts come from its `models` zone, capture goes to its `monitoring` zone. */
  readonly dataLake: IDataLake;

  /**
   * The model server image, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-serve:1.4.2`. It must serve
   * HTTP on `port`, answer `healthPath` with 2xx once the model is loaded, run as a non-root user with a read-only
   * root filesystem (writable: `/tmp`, `/capture`) and read the model from `MODEL_DIR` (`/model`).
   */
  readonly image: string;

  /**
   * Where the model artifacts are in the lake's `models` zone: a key prefix ending in `/` (every object below it is
   * synced into `/model`) or one object key (copied to `/model/<file name>`; archives are not unpacked).
   * `dataLake.uri(DataZone.MODELS, key)` is accepted as well. Use a versioned key (`fraud/v3/`): pods download the
   * model when they start, so a new key rolls the Deployment out, while new objects under the same key reach only
   * pods that start later.
   */
  readonly modelKey: string;

  /**
   * Name of the Deployment, Service, PDB and HPA, and of the capture folder (`capture/<serverName>/`).
   * A DNS-1035 label of at most 40 characters.
   *
   * @default - derived from the construct path
   */
  readonly serverName?: string;

  /**
   * Kubernetes namespace.
   *
   * @default 'default'
   */
  readonly namespace?: string;

  /**
   * Define the namespace (a Kubernetes Namespace object owned by this server). Turn it off when the namespace
   * exists already or is shared: deleting the server would delete the namespace and everything in it.
   *
   * @default - true unless the namespace is `default`
   */
  readonly createNamespace?: boolean;

  /**
   * Container port of the HTTP API; the Service exposes the same port.
   *
   * @default 8080
   */
  readonly port?: number;

  /**
   * HTTP route of the server's health check (readiness, liveness and startup probes). Must start with `/`.
   *
   * @default '/health'
   */
  readonly healthPath?: string;

  /**
   * Longest time a pod may take to download and load the model before it counts as failed (startup probe).
   *
   * @default Duration.minutes(10)
   */
  readonly startupTimeout?: Duration;

  /**
   * Fewest replicas (HorizontalPodAutoscaler `minReplicas`).
   *
   * @default 2 - one pod can be drained or replaced while the other serves
   */
  readonly minReplicas?: number;

  /**
   * Most replicas. `maxReplicas × gpusPerReplica` must fit into the pool's GPU limit.
   *
   * @default 4
   */
  readonly maxReplicas?: number;

  /**
   * Average CPU utilization of the server container (percent of its CPU request) the autoscaler keeps.
   * GPU utilization is not a metrics-server metric.
   *
   * @default 70
   */
  readonly targetCpuUtilization?: number;

  /**
   * NVIDIA GPUs per replica.
   *
   * @default 1
   */
  readonly gpusPerReplica?: number;

  /**
   * CPU request of the server container, in cores; the limit is twice the request.
   *
   * @default 2
   */
  readonly cpu?: number;

  /**
   * Memory of the server container (request and limit).
   *
   * @default Size.gibibytes(8)
   */
  readonly memory?: Size;

  /**
   * Size limit of the `/model` emptyDir the model is downloaded to.
   *
   * @default Size.gibibytes(50)
   */
  readonly modelVolumeSize?: Size;

  /**
   * Size of `/dev/shm` (memory-backed, counts against `memory`), for servers that share tensors between processes.
   *
   * @default Size.gibibytes(1)
   */
  readonly sharedMemorySize?: Size;

  /**
   * User id of every container (non-root).
   *
   * @default 1000
   */
  readonly runAsUser?: number;

  /**
   * Arguments of the server container.
   *
   * @default - the image's CMD
   */
  readonly args?: string[];

  /**
   * Environment variables of the server container. The construct sets `MODEL_DIR`, `PORT`, `SERVER_NAME`,
   * `VARIANT_NAME`, `CAPTURE_ENABLED`, `CAPTURE_DIR`, `CAPTURE_SAMPLING_PERCENTAGE`, `HOME` and `TMPDIR`.
   *
   * @default - only the variables the construct sets
   */
  readonly env?: { [name: string]: string };

  /**
   * Request/response capture for DriftMonitor and PredictionHealthMonitor.
   *
   * @default - capture on, 100 % sampling, variant `AllTraffic`
   */
  readonly capture?: ModelServerCaptureOptions;
}

/**
 * Serves a model as an HTTP API on a GPU node pool: a cdk8s-plus Deployment (GPU limits, the pool's tolerations and
 * required node affinity, non-root, read-only root filesystem, startup/readiness/liveness probes on the health
 * route), a ClusterIP Service, a HorizontalPodAutoscaler on CPU and a PodDisruptionBudget. An init container
 * downloads the model from the lake's `models` zone with an EKS Pod Identity service account.
 *
 * **Capture contract.** With capture on, the server appends one JSON object per line, SageMaker's data-capture
 * record, to files `/capture/<name>.jsonl` (rotate them, e.g. per hour or 64 MiB, to a new name, delete rotated
 * files no sooner than 2 minutes later, never rewrite a line):
 * `{"captureData":{"endpointInput":{"observedContentType":"application/json","mode":"INPUT","data":"<request>","encoding":"JSON"},
 * "endpointOutput":{"observedContentType":"application/json","mode":"OUTPUT","data":"<response>","encoding":"JSON"}},
 * "eventMetadata":{"eventId":"<uuid>","inferenceTime":"2025-01-31T12:00:00Z"},"eventVersion":"0"}`
 * (`encoding` `JSON`, `CSV` or `BASE64`). It samples `CAPTURE_SAMPLING_PERCENTAGE` percent of the requests.
 * A Fluent Bit sidecar uploads the lines unchanged to
 * `s3://<monitoring bucket>/capture/<serverName>/<variant>/yyyy/mm/dd/hh/<mm>-<ss>-000-<uuid>.jsonl`, ModelEndpoint's
 * layout, so DriftMonitor and PredictionHealthMonitor read both backends alike (SSE-KMS with the lake key).
 *
 * @example
 * const server = new KubernetesModelServer(stack, 'Fraud', {
 *   cluster, pool, dataLake: lake, image: `${repo.repositoryUri}:1.4.2`, modelKey: 'fraud/v3/',
 *   capture: { samplingPercentage: 20 },
 * });
 */
export class KubernetesModelServer extends Construct implements ICapturingEndpoint, iam.IGrantable {
  /** Key prefix of capture in the monitoring zone: `capture/`, the same as `ModelEndpoint.CAPTURE_KEY_PREFIX`. */
  public static readonly CAPTURE_KEY_PREFIX = CAPTURE_PREFIX;
  /** Image of the model download init container: `public.ecr.aws/aws-cli/aws-cli:2.27.26`. */
  public static readonly MODEL_DOWNLOADER_IMAGE = MODEL_DOWNLOADER_IMAGE;
  /** Image of the capture sidecar: `public.ecr.aws/aws-observability/aws-for-fluent-bit:3.2.1` (Fluent Bit 4.2.2). */
  public static readonly CAPTURE_SHIPPER_IMAGE = CAPTURE_SHIPPER_IMAGE;

  /** Name of the Deployment, Service, HPA and PDB. */
  public readonly serverName: string;
  /** The name monitors use for metrics and state (`EndpointName` dimension): the server name. */
  public readonly endpointName: string;
  /** Namespace of the server's objects. */
  public readonly namespace: string;
  /** Name of the ClusterIP Service; in-cluster URL `http://<serviceName>.<namespace>.svc.cluster.local:<port>`. */
  public readonly serviceName: string;
  /** Port of the HTTP API. */
  public readonly port: number;
  /**
   * Key prefix of the capture files in the lake's `monitoring` zone, `capture/<serverName>/` (undefined when capture
   * is off). Monitors read the files below it.
   */
  public readonly captureKeyPrefix?: string;
  /** The variant segment of the capture keys (undefined when capture is off). */
  public readonly captureVariantName?: string;
  /** The lake the server reads models from and captures into. */
  public readonly dataLake: IDataLake;
  /** IAM role of the pods (EKS Pod Identity). */
  public readonly role: iam.IRole;
  public readonly grantPrincipal: iam.IPrincipal;
  /** The Kubernetes service account of the pods, bound to {@link role} by a pod identity association. */
  public readonly serviceAccount: eks.ServiceAccount;
  /** The cdk8s chart with the Deployment, Service, HPA, PDB and (with capture) the Fluent Bit ConfigMap. */
  public readonly chart: cdk8s.Chart;
  /** The manifest that applies {@link chart} to the cluster. */
  public readonly manifest: eks.KubernetesManifest;
  /** The Deployment (cdk8s-plus). */
  public readonly deployment: kplus.Deployment;
  /** The cluster the server runs on. */
  public readonly cluster: GpuCluster;
  /** Key (or key prefix, ending in `/`) of the model in the lake's `models` zone, as the pods download it at start. */
  public readonly modelKey: string;

  constructor(scope: Construct, id: string, props: KubernetesModelServerProps) {
    super(scope, id);
    const lake = props.dataLake;
    const placement = props.pool.placement;
    const capture = props.capture ?? {};
    const captureOn = capture.enabled ?? true;
    this.serverName = props.serverName ?? cdk8s.Names.toDnsLabel(this, { maxLen: MAX_SERVER_NAME });
    this.endpointName = this.serverName;
    this.namespace = props.namespace ?? 'default';
    this.port = props.port ?? 8080;
    this.dataLake = lake;
    const healthPath = props.healthPath ?? '/health';
    const minReplicas = props.minReplicas ?? 2;
    const maxReplicas = props.maxReplicas ?? 4;
    const gpus = props.gpusPerReplica ?? 1;
    const variant = capture.variantName ?? 'AllTraffic';
    const sampling = capture.samplingPercentage ?? 100;
    const uploadInterval = capture.uploadInterval ?? Duration.minutes(1);
    const modelKey = validate(this, props, {
      minReplicas, maxReplicas, gpus, healthPath, variant, sampling, uploadInterval, captureOn,
    });
    const createNamespace = props.createNamespace ?? this.namespace !== 'default';
    this.cluster = props.cluster;
    this.modelKey = modelKey;

    // --- identity: a pod identity service account with prefix-scoped lake grants --------------------------------
    const cluster = props.cluster.cluster;
    let namespaceManifest: eks.KubernetesManifest | undefined;
    if (createNamespace) {
      const nsChart = new cdk8s.Chart(new cdk8s.App(), 'namespace');
      new kplus.Namespace(nsChart, 'Namespace', { metadata: { name: this.namespace, labels: { [NAME_LABEL]: this.namespace } } });
      namespaceManifest = new eks.KubernetesManifest(this, 'Namespace', { cluster, manifest: nsChart.toJson() });
    }
    this.serviceAccount = new eks.ServiceAccount(this, 'ServiceAccount', {
      cluster,
      name: this.serverName,
      namespace: this.namespace,
      identityType: eks.IdentityType.POD_IDENTITY,
      labels: { [COMPONENT_LABEL]: 'model-server' },
    });
    if (namespaceManifest) { this.serviceAccount.node.addDependency(namespaceManifest); }
    this.role = this.serviceAccount.role;
    this.grantPrincipal = this.role;
    const models = lake.bucket(DataZone.MODELS);
    lake.grantRead(DataZone.MODELS, this.role, modelKey);
    acknowledgeWildcardResource(this.role, models.arnForObjects(`${modelKey}*`),
      'Read-only access to the model artifacts under the server\'s own model key in the models zone.');
    if (captureOn) {
      this.captureKeyPrefix = `${CAPTURE_PREFIX}${this.serverName}/`;
      this.captureVariantName = variant;
      lake.grantWrite(DataZone.MONITORING, this.role, this.captureKeyPrefix);
      acknowledgeWildcardResource(this.role, lake.bucket(DataZone.MONITORING).arnForObjects(`${this.captureKeyPrefix}*`),
        'The capture sidecar writes (never reads or deletes) time-partitioned capture files under the server\'s own prefix.');
    }
    Validations.of(this.role).acknowledge({
      id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy',
      reason: 'CDK attaches the pod role\'s prefix-scoped lake grants as a policy owned by this role only.',
    });

    // --- the workload -----------------------------------------------------------------------------------------
    this.chart = new cdk8s.Chart(new cdk8s.App(), 'model-server', { namespace: this.namespace });
    const labels = { [NAME_LABEL]: this.serverName, [COMPONENT_LABEL]: 'model-server' };
    const user = props.runAsUser ?? 1000;
    const containerSecurity: kplus.ContainerSecurityContextProps = {
      ensureNonRoot: true,
      user,
      group: user,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: [kplus.Capability.ALL] },
      seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
    };
    const chart = this.chart;
    const emptyDir = (volumeId: string, name: string, size: Size, medium?: kplus.EmptyDirMedium) =>
      kplus.Volume.fromEmptyDir(chart, volumeId, name, { sizeLimit: cdk8s.Size.mebibytes(size.toMebibytes()), medium });
    const modelVolume = emptyDir('ModelVolume', 'model', props.modelVolumeSize ?? Size.gibibytes(50));
    const tmpVolume = emptyDir('TmpVolume', 'tmp', Size.gibibytes(1));
    const shmVolume = emptyDir('ShmVolume', 'dshm', props.sharedMemorySize ?? Size.gibibytes(1), kplus.EmptyDirMedium.MEMORY);

    this.deployment = new kplus.Deployment(chart, 'Deployment', {
      metadata: { name: this.serverName, labels },
      podMetadata: { labels },
      select: false,
      serviceAccount: kplus.ServiceAccount.fromServiceAccountName(chart, 'ServiceAccount', this.serverName),
      automountServiceAccountToken: false,
      securityContext: { ensureNonRoot: true, user, group: user, fsGroup: user },
      terminationGracePeriod: cdk8s.Duration.seconds(CAPTURE_SHIPPER_GRACE_SECONDS + 30),
      // Surge one pod at a time: a GPU pool has little headroom, and unavailable pods are bounded by the PDB.
      strategy: kplus.DeploymentStrategy.rollingUpdate({
        maxSurge: kplus.PercentOrAbsolute.absolute(1), maxUnavailable: kplus.PercentOrAbsolute.absolute(0),
      }),
      minReady: cdk8s.Duration.seconds(10),
      progressDeadline: cdk8s.Duration.seconds(Math.max(600, (props.startupTimeout ?? Duration.minutes(10)).toSeconds() + 300)),
    });
    this.deployment.select(kplus.LabelSelector.of({ labels: { [NAME_LABEL]: this.serverName } }));

    // 1. init: download the model (pod identity credentials are injected into every container)
    const region = Stack.of(this).region;
    const source = `s3://${models.bucketName}/${modelKey}`;
    const isPrefix = modelKey.endsWith('/');
    this.deployment.addInitContainer({
      name: DOWNLOAD_CONTAINER,
      image: MODEL_DOWNLOADER_IMAGE,
      args: isPrefix
        ? ['s3', 'sync', source, MODEL_DIR, '--only-show-errors', '--no-progress']
        : ['s3', 'cp', source, `${MODEL_DIR}/${modelKey.split('/').pop()}`, '--only-show-errors', '--no-progress'],
      envVariables: {
        HOME: kplus.EnvValue.fromValue('/tmp'),
        AWS_REGION: kplus.EnvValue.fromValue(region),
        AWS_DEFAULT_REGION: kplus.EnvValue.fromValue(region),
      },
      securityContext: containerSecurity,
      resources: {
        cpu: { request: kplus.Cpu.millis(500), limit: kplus.Cpu.millis(2000) },
        memory: { request: cdk8s.Size.mebibytes(512), limit: cdk8s.Size.mebibytes(1024) },
      },
      volumeMounts: [{ volume: modelVolume, path: MODEL_DIR }, { volume: tmpVolume, path: '/tmp' }],
    });

    // 2. native sidecar (init container with restartPolicy Always): starts after the download and before the
    //    server, and stops after it, so the last capture lines are flushed on shutdown.
    let captureVolume: kplus.Volume | undefined;
    if (captureOn) {
      captureVolume = emptyDir('CaptureVolume', 'capture', capture.bufferSize ?? Size.gibibytes(1));
      const stateVolume = emptyDir('ShipperStateVolume', 'capture-shipper-state', Size.gibibytes(1));
      const config = new kplus.ConfigMap(chart, 'CaptureShipperConfig', {
        metadata: { name: `${this.serverName}-capture-shipper`, labels },
        data: {
          [CAPTURE_SHIPPER_CONFIG_FILE]: renderCaptureShipperConfig({
            bucket: lake.bucket(DataZone.MONITORING).bucketName,
            region,
            captureKeyPrefix: this.captureKeyPrefix!,
            variantName: variant,
            uploadTimeoutSeconds: uploadInterval.toSeconds(),
            maxFileSizeMiB: 5,
          }),
        },
      });
      const configVolume = kplus.Volume.fromConfigMap(chart, 'CaptureShipperConfigVolume', config, { name: 'capture-shipper-config' });
      this.deployment.addInitContainer({
        name: SHIPPER_CONTAINER,
        image: CAPTURE_SHIPPER_IMAGE,
        command: ['/fluent-bit/bin/fluent-bit', '-c', `${CAPTURE_SHIPPER_CONFIG_DIR}/${CAPTURE_SHIPPER_CONFIG_FILE}`],
        restartPolicy: kplus.ContainerRestartPolicy.ALWAYS,
        envVariables: { AWS_REGION: kplus.EnvValue.fromValue(region) },
        ports: [{ number: CAPTURE_SHIPPER_HTTP_PORT, name: 'fluent-bit' }],
        liveness: kplus.Probe.fromHttpGet(CAPTURE_SHIPPER_HEALTH_PATH, {
          port: CAPTURE_SHIPPER_HTTP_PORT, periodSeconds: cdk8s.Duration.seconds(30), failureThreshold: 3, timeoutSeconds: cdk8s.Duration.seconds(5),
        }),
        securityContext: containerSecurity,
        resources: {
          cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(500) },
          memory: { request: cdk8s.Size.mebibytes(128), limit: cdk8s.Size.mebibytes(256) },
        },
        volumeMounts: [
          { volume: captureVolume, path: CAPTURE_DIR, readOnly: true },
          { volume: stateVolume, path: CAPTURE_SHIPPER_STATE_DIR },
          { volume: configVolume, path: CAPTURE_SHIPPER_CONFIG_DIR, readOnly: true },
        ],
      });
    }

    // 3. the server
    const startupSeconds = (props.startupTimeout ?? Duration.minutes(10)).toSeconds();
    const env: Record<string, kplus.EnvValue> = {};
    for (const [name, value] of Object.entries(props.env ?? {})) { env[name] = kplus.EnvValue.fromValue(value); }
    Object.assign(env, {
      MODEL_DIR: kplus.EnvValue.fromValue(MODEL_DIR),
      PORT: kplus.EnvValue.fromValue(String(this.port)),
      SERVER_NAME: kplus.EnvValue.fromValue(this.serverName),
      VARIANT_NAME: kplus.EnvValue.fromValue(variant),
      CAPTURE_ENABLED: kplus.EnvValue.fromValue(String(captureOn)),
      CAPTURE_DIR: kplus.EnvValue.fromValue(CAPTURE_DIR),
      CAPTURE_SAMPLING_PERCENTAGE: kplus.EnvValue.fromValue(String(captureOn ? sampling : 0)),
      HOME: kplus.EnvValue.fromValue('/tmp'),
      TMPDIR: kplus.EnvValue.fromValue('/tmp'),
    });
    const cpu = props.cpu ?? 2;
    const memory = props.memory ?? Size.gibibytes(8);
    const probe = (options: { failureThreshold: number; periodSeconds: number }) => kplus.Probe.fromHttpGet(healthPath, {
      port: this.port,
      failureThreshold: options.failureThreshold,
      periodSeconds: cdk8s.Duration.seconds(options.periodSeconds),
      timeoutSeconds: cdk8s.Duration.seconds(5),
    });
    this.deployment.addContainer({
      name: SERVER_CONTAINER,
      image: props.image,
      args: props.args,
      ports: [{ number: this.port, name: 'http' }],
      envVariables: env,
      securityContext: containerSecurity,
      resources: {
        cpu: { request: kplus.Cpu.millis(Math.round(cpu * 1000)), limit: kplus.Cpu.millis(Math.round(cpu * 2000)) },
        memory: { request: cdk8s.Size.mebibytes(memory.toMebibytes()), limit: cdk8s.Size.mebibytes(memory.toMebibytes()) },
      },
      // Startup allows the model load; liveness only restarts a server that stopped answering after that.
      startup: probe({ failureThreshold: Math.max(1, Math.ceil(startupSeconds / 10)), periodSeconds: 10 }),
      readiness: probe({ failureThreshold: 3, periodSeconds: 10 }),
      liveness: probe({ failureThreshold: 6, periodSeconds: 20 }),
      volumeMounts: [
        { volume: modelVolume, path: MODEL_DIR, readOnly: true },
        { volume: tmpVolume, path: '/tmp' },
        { volume: shmVolume, path: '/dev/shm' },
        ...captureVolume ? [{ volume: captureVolume, path: CAPTURE_DIR }] : [],
      ],
    });
    GpuResources.addToWorkload(this.deployment, { count: gpus, containerName: SERVER_CONTAINER });

    // Placement: the pool's taints and labels (the same contract as KubeflowTrainingJob), replicas spread over
    // nodes and zones when the pool has room.
    const deploymentObject = cdk8s.ApiObject.of(this.deployment);
    deploymentObject.addJsonPatch(
      cdk8s.JsonPatch.add('/spec/template/spec/tolerations', tolerationsFor(placement)),
      cdk8s.JsonPatch.add('/spec/template/spec/affinity', nodeAffinityFor(placement)),
      cdk8s.JsonPatch.add('/spec/template/spec/topologySpreadConstraints', ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'].map(key => ({
        maxSkew: 1, topologyKey: key, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { [NAME_LABEL]: this.serverName } },
      }))),
    );

    const service = new kplus.Service(chart, 'Service', {
      metadata: { name: this.serverName, labels },
      type: kplus.ServiceType.CLUSTER_IP,
      selector: this.deployment,
      ports: [{ name: 'http', port: this.port, targetPort: this.port }],
    });
    this.serviceName = service.name;

    new kplus.HorizontalPodAutoscaler(chart, 'Autoscaler', {
      metadata: { name: this.serverName, labels },
      target: this.deployment,
      minReplicas,
      maxReplicas,
      // The server container's own CPU: the sidecars' small requests would distort pod-level utilization.
      metrics: [kplus.Metric.containerCpu({
        container: this.deployment.containers.find(c => c.name === SERVER_CONTAINER)!,
        target: kplus.MetricTarget.averageUtilization(props.targetCpuUtilization ?? 70),
      })],
    });

    // At most one pod disrupted voluntarily at a time. maxUnavailable (not minAvailable) never blocks a node drain,
    // Karpenter consolidation or expiry, even with a single replica.
    new kplus.k8s.KubePodDisruptionBudget(chart, 'DisruptionBudget', {
      metadata: { name: this.serverName, labels },
      spec: { maxUnavailable: kplus.k8s.IntOrString.fromNumber(1), selector: { matchLabels: { [NAME_LABEL]: this.serverName } } },
    });
    if (minReplicas < 2) {
      Annotations.of(this).addWarningV2('@cdk-ml-platform/serving:singleReplica',
        `minReplicas is ${minReplicas}: the API is unavailable while its only pod is replaced, drained or restarted. Use 2 or more in production.`);
    }

    this.manifest = new eks.KubernetesManifest(this, 'Resource', { cluster, manifest: chart.toJson() });
    // Pods start only once their service account, pod identity association and grants exist.
    this.manifest.node.addDependency(this.serviceAccount);
    if (namespaceManifest) { this.manifest.node.addDependency(namespaceManifest); }
    const poolCapacity = props.pool.nodegroup ?? props.pool.karpenterManifest;
    if (poolCapacity) { this.manifest.node.addDependency(poolCapacity); }
  }

  /** In-cluster URL of the HTTP API. */
  public get url(): string {
    return `http://${this.serviceName}.${this.namespace}.svc.cluster.local:${this.port}`;
  }
}

interface Derived {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly gpus: number;
  readonly healthPath: string;
  readonly variant: string;
  readonly sampling: number;
  readonly uploadInterval: Duration;
  readonly captureOn: boolean;
}

/** Validates the props; returns the model key inside the models zone (a URI of that zone reduced to its key). */
function validate(scope: KubernetesModelServer, props: KubernetesModelServerProps, d: Derived): string {
  const errors = new ValidationErrors(scope, 'KubernetesModelServer');
  const name = scope.serverName;
  if (isResolved(name)) {
    errors.check(name.length <= MAX_SERVER_NAME && SERVER_NAME.test(name), {
      code: 'InvalidServerName',
      what: `serverName must be a DNS-1035 label of at most ${MAX_SERVER_NAME} characters (it names the Service and the capture folder)`,
      got: name,
      fix: 'use lowercase letters, digits and "-", starting with a letter and ending with a letter or digit',
    });
  }
  if (isResolved(scope.namespace)) {
    errors.check(scope.namespace.length <= 63 && DNS_1123_LABEL.test(scope.namespace), {
      code: 'InvalidNamespace',
      what: 'namespace must be a DNS-1123 label of at most 63 characters',
      got: scope.namespace,
      fix: 'use lowercase letters, digits and "-", starting and ending with a letter or digit',
    });
  }
  if (isResolved(props.image)) {
    errors.check(props.image.length > 0 && !/\s/.test(props.image), {
      code: 'InvalidImage',
      what: 'image must be a container image reference without whitespace',
      got: props.image,
      fix: 'pass e.g. `${repository.repositoryUri}:1.4.2`',
    });
  }
  const port = scope.port;
  if (isResolved(port)) {
    if (errors.check(Number.isInteger(port) && port >= 1 && port <= 65535, {
      code: 'InvalidPort', what: 'port must be a whole number from 1 to 65535', got: port, fix: 'use e.g. 8080 (the default)',
    }) && d.captureOn) {
      errors.check(port !== CAPTURE_SHIPPER_HTTP_PORT, {
        code: 'PortConflict',
        what: `port ${CAPTURE_SHIPPER_HTTP_PORT} is the capture sidecar's health port in the same pod`,
        got: port,
        fix: 'use another port, e.g. 8080',
      });
    }
  }
  if (isResolved(d.healthPath)) {
    errors.check(d.healthPath.startsWith('/') && !/\s/.test(d.healthPath), {
      code: 'InvalidHealthPath',
      what: 'healthPath must be an absolute HTTP path starting with "/" without whitespace',
      got: d.healthPath,
      fix: "use e.g. '/health' or '/ping'",
    });
  }
  const wholeReplicas = errors.check(Number.isInteger(d.minReplicas) && Number.isInteger(d.maxReplicas) && d.minReplicas >= 1 && d.maxReplicas >= 1, {
    code: 'InvalidReplicas',
    what: 'minReplicas and maxReplicas must be whole numbers of at least 1',
    got: `minReplicas=${d.minReplicas}, maxReplicas=${d.maxReplicas}`,
    fix: 'use e.g. minReplicas 2, maxReplicas 4',
  });
  if (wholeReplicas) {
    errors.check(d.minReplicas <= d.maxReplicas, {
      code: 'MinGreaterThanMax',
      what: 'minReplicas is greater than maxReplicas',
      got: `minReplicas=${d.minReplicas}, maxReplicas=${d.maxReplicas}`,
      fix: 'raise maxReplicas or lower minReplicas',
    });
  }
  const target = props.targetCpuUtilization;
  if (target !== undefined) {
    errors.check(Number.isInteger(target) && target >= 1 && target <= 100, {
      code: 'InvalidTargetUtilization', what: 'targetCpuUtilization must be a whole percentage from 1 to 100', got: target, fix: 'use e.g. 70 (the default)',
    });
  }
  const gpusOk = errors.check(Number.isInteger(d.gpus) && d.gpus >= 1, {
    code: 'InvalidGpuCount', what: 'gpusPerReplica must be a whole number of at least 1', got: d.gpus, fix: 'request 1 or more whole GPUs',
  });
  const placement = props.pool.placement;
  if (gpusOk && placement.gpusPerInstanceType.length > 0) {
    const largest = Math.max(...placement.gpusPerInstanceType);
    const fits = errors.check(d.gpus <= largest, {
      code: 'GpusPerReplicaExceedNode',
      what: `gpusPerReplica exceeds the GPUs of every instance type in pool '${placement.poolName}' `
        + `(${placement.instanceTypes.map((t, i) => `${t}: ${placement.gpusPerInstanceType[i]}`).join(', ')})`,
      got: d.gpus,
      fix: `request at most ${largest} GPUs per replica, or add a larger instance type to the pool`,
    });
    if (fits && wholeReplicas) {
      const most = d.maxReplicas * d.gpus;
      errors.check(most <= placement.maxGpus, {
        code: 'ExceedsPoolCapacity',
        what: `maxReplicas × gpusPerReplica = ${d.maxReplicas} × ${d.gpus} = ${most} GPUs, more than pool '${placement.poolName}' can hold`,
        got: most,
        fix: `stay within the pool's ${placement.maxGpus} GPUs (fewer replicas or GPUs per replica) or raise the pool's limit`,
      });
    }
  }
  if (props.cpu !== undefined) {
    errors.check(Number.isFinite(props.cpu) && props.cpu >= 0.001, {
      code: 'InvalidCpu', what: 'cpu must be a positive number of cores (at least 0.001)', got: props.cpu, fix: 'use e.g. 2 or 1.5',
    });
  }
  for (const [envName] of Object.entries(props.env ?? {})) {
    errors.check(ENV_NAME.test(envName), {
      code: 'InvalidEnvName', what: 'an environment variable name is not valid', got: envName, fix: 'use letters, digits, "_", "-" and "."; not starting with a digit',
    });
    errors.check(!RESERVED_ENV.includes(envName), {
      code: 'ReservedEnv',
      what: `environment variable ${envName} is set by the construct`,
      got: envName,
      fix: `remove it from env (reserved: ${RESERVED_ENV.join(', ')})`,
    });
  }
  if (d.captureOn) {
    errors.check(Number.isFinite(d.sampling) && d.sampling >= 0 && d.sampling <= 100, {
      code: 'InvalidSamplingPercentage', what: 'capture.samplingPercentage must be from 0 to 100', got: d.sampling, fix: 'use e.g. 20 to capture one request in five',
    });
    errors.check(VARIANT_NAME.test(d.variant), {
      code: 'InvalidVariantName',
      what: 'capture.variantName must be letters, digits and "-", at most 63 characters (one segment of the capture keys)',
      got: d.variant,
      fix: "use e.g. 'AllTraffic' (the default)",
    });
    const seconds = d.uploadInterval.toSeconds({ integral: false });
    errors.check(Number.isInteger(seconds) && seconds >= 10 && seconds <= 600, {
      code: 'InvalidUploadInterval',
      what: 'capture.uploadInterval must be whole seconds from 10 seconds to 10 minutes',
      got: d.uploadInterval,
      fix: 'use e.g. Duration.minutes(1) (the default); the monitors wait captureDeliveryGrace (15 minutes) for late files',
    });
  }
  const modelKey = modelKeyInZone(errors, props.dataLake, props.modelKey);
  errors.throwIfAny();
  return modelKey;
}

/** The key of `modelKey` in the models zone; a URI of the models zone is reduced to its key, anything else is an error. */
function modelKeyInZone(errors: ValidationErrors, lake: IDataLake, modelKey: string): string {
  let key = modelKey;
  if (modelKey.startsWith('s3://') || Token.isUnresolved(modelKey)) {
    const zoneUri = lake.uri(DataZone.MODELS);
    if (!errors.check(modelKey.startsWith(zoneUri), {
      code: 'ModelNotInLake',
      what: 'modelKey is an S3 URI outside the lake\'s models zone (the pods can only read the models zone)',
      got: modelKey,
      fix: "pass a key of the models zone, e.g. 'fraud/v3/', or dataLake.uri(DataZone.MODELS, 'fraud/v3/')",
    })) { return modelKey; }
    key = modelKey.slice(zoneUri.length);
  }
  if (!isResolved(key)) {
    errors.add({
      code: 'ModelNotInLake',
      what: 'the key part of modelKey is an unresolved token; the grants need a literal prefix',
      got: modelKey,
      fix: "pass a literal key of the models zone, e.g. 'fraud/v3/'",
    });
    return key;
  }
  errors.check(key.length > 0 && key !== '/' && !key.startsWith('/') && !/[*?\s]/.test(key) && key.length <= 1024, {
    code: 'InvalidModelKey',
    what: 'modelKey must be a non-empty key or key prefix of the models zone, without a leading "/", whitespace or the wildcards "*" and "?"',
    got: modelKey,
    fix: "use e.g. 'fraud/v3/' (every object below it) or 'fraud/v3/model.onnx' (one object)",
  });
  return key;
}
