// The NVIDIA Kubernetes device plugin as a cdk8s chart: it advertises `nvidia.com/gpu` on GPU nodes so pods can
// request GPUs. EKS-optimized AL2023 NVIDIA AMIs ship the driver and container toolkit but NOT the device plugin
// ("When using the EKS-optimized AL2023 AMIs with NVIDIA GPUs, you must install the NVIDIA Kubernetes device plugin",
// EKS user guide, ml-eks-k8s-device-plugin); Bottlerocket NVIDIA variants run it as part of the OS. Pools on
// Bottlerocket therefore carry DEVICE_PLUGIN_BUILTIN_LABEL and this DaemonSet keeps off them (no double install).
import { ApiObject, Chart, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { GPU_PRESENT_LABEL, GPU_TAINT_EFFECT, GPU_TAINT_KEY, GPU_TAINT_VALUE } from './gpu-scheduling';

/**
 * Pinned device plugin image: v0.17.4 (NVIDIA/k8s-device-plugin CHANGELOG, the newest v0.17 patch release).
 */
export const NVIDIA_DEVICE_PLUGIN_IMAGE = 'nvcr.io/nvidia/k8s-device-plugin:v0.17.4';

/**
 * Node label a pool sets when its OS already runs the NVIDIA device plugin (Bottlerocket NVIDIA variants).
 * The DaemonSet of {@link NvidiaDevicePluginChart} does not schedule onto such nodes.
 */
export const DEVICE_PLUGIN_BUILTIN_LABEL = 'ml-platform/nvidia-device-plugin';
/** Value of {@link DEVICE_PLUGIN_BUILTIN_LABEL}. */
export const DEVICE_PLUGIN_BUILTIN_VALUE = 'builtin';

/** Where the kubelet expects device plugins to register their gRPC sockets. */
const DEVICE_PLUGIN_DIR = '/var/lib/kubelet/device-plugins';

/** Properties for a {@link NvidiaDevicePluginChart}. */
export interface NvidiaDevicePluginChartProps {
  /**
   * Container image of the device plugin.
   *
   * @default 'nvcr.io/nvidia/k8s-device-plugin:v0.17.4'
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
 * The NVIDIA device plugin DaemonSet, on every node labelled `nvidia.com/gpu.present=true` that does not run the
 * plugin as part of its OS.
 *
 * Security context, following the upstream static manifest (nvidia-device-plugin.yml): the plugin runs as root
 * (UID 0) because it creates its registration socket in the root-owned host directory
 * `/var/lib/kubelet/device-plugins` and opens `/dev/nvidia*` through NVML. It is NOT privileged, cannot escalate
 * privileges and drops every Linux capability. Its root filesystem stays writable because the plugin writes
 * its configuration and (with CDI) generated specs at start-up.
 */
export class NvidiaDevicePluginChart extends Chart {
  /** The DaemonSet running the plugin. */
  public readonly daemonSet: kplus.DaemonSet;

  constructor(scope: Construct, id: string, props: NvidiaDevicePluginChartProps = {}) {
    super(scope, id, { namespace: props.namespace ?? 'kube-system' });

    const hostDir = kplus.Volume.fromHostPath(this, 'DevicePluginDir', 'device-plugin', {
      path: DEVICE_PLUGIN_DIR,
      type: kplus.HostPathVolumeType.DIRECTORY,
    });

    this.daemonSet = new kplus.DaemonSet(this, 'Resource', {
      metadata: { name: 'nvidia-device-plugin-daemonset', labels: { 'app.kubernetes.io/name': 'nvidia-device-plugin' } },
      automountServiceAccountToken: false,
      securityContext: { ensureNonRoot: false, user: 0, group: 0 },
      containers: [{
        name: 'nvidia-device-plugin-ctr',
        image: props.image ?? NVIDIA_DEVICE_PLUGIN_IMAGE,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        envVariables: { FAIL_ON_INIT_ERROR: kplus.EnvValue.fromValue('false') },
        securityContext: {
          ensureNonRoot: false,
          user: 0,
          group: 0,
          privileged: false,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: false,
          capabilities: { drop: [kplus.Capability.ALL] },
        },
        resources: {
          cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(500) },
          memory: { request: Size.mebibytes(64), limit: Size.mebibytes(256) },
        },
        volumeMounts: [{ volume: hostDir, path: DEVICE_PLUGIN_DIR }],
      }],
    });

    this.daemonSet.scheduling.tolerate(kplus.Node.tainted(
      kplus.NodeTaintQuery.is(GPU_TAINT_KEY, GPU_TAINT_VALUE, { effect: taintEffect(GPU_TAINT_EFFECT) })));
    this.daemonSet.scheduling.tolerate(kplus.Node.tainted(kplus.NodeTaintQuery.exists('CriticalAddonsOnly')));
    // One node selector term, both expressions ANDed: a GPU node whose OS does not bring its own plugin.
    this.daemonSet.scheduling.attract(kplus.Node.labeled(
      kplus.NodeLabelQuery.is(GPU_PRESENT_LABEL, 'true'),
      kplus.NodeLabelQuery.doesNotExist(DEVICE_PLUGIN_BUILTIN_LABEL),
    ));
    // cdk8s-plus has no priorityClassName field: a node-critical DaemonSet must not be evicted before the workloads.
    ApiObject.of(this.daemonSet).addJsonPatch(
      JsonPatch.add('/spec/template/spec/priorityClassName', 'system-node-critical'),
      JsonPatch.add('/spec/updateStrategy', { type: 'RollingUpdate' }),
    );
  }
}

function taintEffect(effect: string): kplus.TaintEffect {
  switch (effect) {
    case 'NoExecute': return kplus.TaintEffect.NO_EXECUTE;
    case 'PreferNoSchedule': return kplus.TaintEffect.PREFER_NO_SCHEDULE;
    default: return kplus.TaintEffect.NO_SCHEDULE;
  }
}
