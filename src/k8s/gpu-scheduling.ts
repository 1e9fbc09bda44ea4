// Where GPU pods go: the contract between the GPU node pools (compute/) and the workloads scheduled on them
// (KubeflowTrainingJob, KubernetesModelServer, the NVIDIA device plugin). Pools label and taint their nodes with
// these keys; workloads tolerate the taint and require the labels. Pure data: no constructs here.

/** The taint every GPU node pool puts on its nodes: only pods that tolerate it land there. */
export const GPU_TAINT_KEY = 'nvidia.com/gpu';
/** Value of {@link GPU_TAINT_KEY}. */
export const GPU_TAINT_VALUE = 'true';
/** Effect of the GPU taint. */
export const GPU_TAINT_EFFECT = 'NoSchedule';
/** Label on every GPU node; the NVIDIA device plugin's node affinity requires it. */
export const GPU_PRESENT_LABEL = 'nvidia.com/gpu.present';
/** Label naming the pool a node belongs to; workloads select their pool with it. */
export const GPU_POOL_LABEL = 'ml-platform/gpu-pool';
/** The extended resource GPUs are requested with. */
export const GPU_RESOURCE = 'nvidia.com/gpu';

/** A Kubernetes taint. */
export interface NodeTaint {
  /** Taint key. */
  readonly key: string;
  /** Taint value. */
  readonly value: string;
  /** `NoSchedule`, `PreferNoSchedule` or `NoExecute`. */
  readonly effect: string;
}

/** What a GPU node pool offers and how pods reach it. */
export interface GpuPoolPlacement {
  /** The pool's name (the value of the {@link GPU_POOL_LABEL} label). */
  readonly poolName: string;
  /** Labels on every node of the pool (includes `nvidia.com/gpu.present=true` and the pool label). */
  readonly nodeLabels: { [key: string]: string };
  /** Taints on every node of the pool (includes `nvidia.com/gpu=true:NoSchedule`). */
  readonly taints: NodeTaint[];
  /** EC2 instance types the pool may launch, e.g. `g5.2xlarge`. */
  readonly instanceTypes: string[];
  /** GPUs per node for each of `instanceTypes`, in the same order. */
  readonly gpusPerInstanceType: number[];
  /** The most GPUs the pool can hold at once (its limit), across all nodes. */
  readonly maxGpus: number;
}

/** Tolerations for every taint of `placement`, as Kubernetes JSON. */
export function tolerationsFor(placement: GpuPoolPlacement): Array<Record<string, string>> {
  return placement.taints.map(t => ({ key: t.key, operator: 'Equal', value: t.value, effect: t.effect }));
}

/** A required node affinity to the pool's labels, as Kubernetes JSON. */
export function nodeAffinityFor(placement: GpuPoolPlacement): Record<string, unknown> {
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{
          matchExpressions: Object.entries(placement.nodeLabels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([key, value]) => ({ key, operator: 'In', values: [value] })),
        }],
      },
    },
  };
}
