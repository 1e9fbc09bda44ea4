import { ApiObject, Chart, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { GPU_PRESENT_LABEL, GPU_TAINT_KEY, GPU_TAINT_VALUE } from '../k8s/gpu-scheduling';

/** Pinned DCGM exporter image (DCGM 4.2.3, exporter 4.1.3). */
export const DCGM_EXPORTER_IMAGE = 'nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04';

/** Where the kubelet serves the pod-resources API the exporter maps GPUs to pods with. */
const POD_RESOURCES_DIR = '/var/lib/kubelet/pod-resources';

/** Properties for a {@link DcgmExporterChart}. */
export interface DcgmExporterChartProps {
  /**
   * Container image of the exporter.
   *
   * @default 'nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04'
   */
  readonly image?: string;
  /**
   * Namespace of the DaemonSet.
   *
   * @default 'kube-system'
   */
  readonly namespace?: string;
}

/**
 * NVIDIA DCGM exporter: GPU utilisation, memory, temperature and XID errors as Prometheus metrics on port 9400,
 * one pod per GPU node (same toleration and node affinity as the device plugin).
 *
 * Runs as root with `SYS_ADMIN` (upstream manifest): DCGM reads profiling counters through the driver, which
 * requires it. Not privileged; every other capability is dropped.
 */
export class DcgmExporterChart extends Chart {
  /** The exporter DaemonSet. */
  public readonly daemonSet: kplus.DaemonSet;

  constructor(scope: Construct, id: string, props: DcgmExporterChartProps = {}) {
    super(scope, id, { namespace: props.namespace ?? 'kube-system' });
    const podResources = kplus.Volume.fromHostPath(this, 'PodResources', 'pod-resources', {
      path: POD_RESOURCES_DIR, type: kplus.HostPathVolumeType.DIRECTORY,
    });
    this.daemonSet = new kplus.DaemonSet(this, 'Resource', {
      metadata: { name: 'dcgm-exporter', labels: { 'app.kubernetes.io/name': 'dcgm-exporter' } },
      automountServiceAccountToken: false,
      securityContext: { ensureNonRoot: false, user: 0, group: 0 },
      containers: [{
        name: 'dcgm-exporter',
        image: props.image ?? DCGM_EXPORTER_IMAGE,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        ports: [{ name: 'metrics', number: 9400 }],
        envVariables: {
          DCGM_EXPORTER_LISTEN: kplus.EnvValue.fromValue(':9400'),
          DCGM_EXPORTER_KUBERNETES: kplus.EnvValue.fromValue('true'),
        },
        securityContext: {
          ensureNonRoot: false,
          user: 0,
          group: 0,
          privileged: false,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: false,
          capabilities: { add: [kplus.Capability.SYS_ADMIN], drop: [kplus.Capability.ALL] },
        },
        resources: {
          cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(500) },
          memory: { request: Size.mebibytes(128), limit: Size.mebibytes(512) },
        },
        volumeMounts: [{ volume: podResources, path: POD_RESOURCES_DIR, readOnly: true }],
      }],
    });
    this.daemonSet.scheduling.tolerate(kplus.Node.tainted(
      kplus.NodeTaintQuery.is(GPU_TAINT_KEY, GPU_TAINT_VALUE, { effect: kplus.TaintEffect.NO_SCHEDULE })));
    this.daemonSet.scheduling.attract(kplus.Node.labeled(kplus.NodeLabelQuery.is(GPU_PRESENT_LABEL, 'true')));
    ApiObject.of(this.daemonSet).addJsonPatch(
      JsonPatch.add('/spec/template/metadata/annotations', { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9400' }),
    );
  }
}
