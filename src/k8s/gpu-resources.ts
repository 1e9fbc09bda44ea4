// The one place that puts NVIDIA GPUs (the `nvidia.com/gpu` extended resource) on Kubernetes containers.
// cdk8s-plus cannot express extended resources and the generated L1s only take them as opaque quantities, so
// the GPU count goes in through a JSON patch on the rendered object (the cdk8s escape hatch).
import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { GPU_RESOURCE } from './gpu-scheduling';
import { ValidationErrors, isResolved } from '../core/errors';

/** Options for {@link GpuResources.addToWorkload}. */
export interface GpuResourceOptions {
  /**
   * GPUs for the container: both the `nvidia.com/gpu` limit and request (Kubernetes requires them equal).
   *
   * A positive whole number; GPUs cannot be shared or split between containers.
   */
  readonly count: number;

  /**
   * Name of the container that gets the GPUs.
   *
   * @default - the workload's first container
   */
  readonly containerName?: string;
}

/**
 * Adds NVIDIA GPUs to containers of cdk8s and cdk8s-plus objects.
 *
 * The GPU count is written to `resources.limits` and `resources.requests` under `nvidia.com/gpu` with a JSON patch,
 * creating `resources`, `limits` or `requests` when the container has none, without touching CPU or memory values.
 * Configure the container's CPU and memory before calling these methods: a later change that replaces `resources`
 * as a whole would otherwise hide the patch.
 *
 * @example
 * const deployment = new kplus.Deployment(chart, 'Server', { containers: [{ image: 'vllm/vllm-openai:v0.6.3' }] });
 * GpuResources.addToWorkload(deployment, { count: 1 });
 */
export class GpuResources {
  /**
   * Adds GPUs to a container of a cdk8s-plus pod or workload (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod).
   *
   * @param workload the pod or workload
   * @param options how many GPUs and which container
   */
  public static addToWorkload(workload: kplus.AbstractPod, options: GpuResourceOptions): void {
    const apiObject = ApiObject.of(workload);
    const errors = new ValidationErrors(workload, 'GpuResources');
    const containers = workload.containers;
    const index = options.containerName === undefined ? 0 : containers.findIndex(c => c.name === options.containerName);
    errors.check(containers.length > 0 && index >= 0, {
      code: 'NoSuchContainer',
      what: options.containerName === undefined ? 'the workload has no container to put GPUs on'
        : `the workload has no container named '${options.containerName}'`,
      got: containers.map(c => c.name),
      fix: 'add the container first (addContainer or the containers prop), then add GPUs to it',
    });
    checkCount(errors, options.count);
    errors.throwIfAny();
    GpuResources.patchContainer(apiObject, `${podSpecPointer(workload)}/containers/${index}`, options.count);
  }

  /**
   * Adds GPUs to the container at `containerPointer` of any cdk8s API object, e.g. a replica of a Kubeflow PyTorchJob.
   *
   * @param apiObject the object; generated L1 classes (imports) and plain `ApiObject`s are both supported
   * @param containerPointer JSON pointer to the container, e.g. `/spec/pytorchReplicaSpecs/Worker/template/spec/containers/0`
   * @param count GPUs for the container (limit and request), a positive whole number
   */
  public static addToContainer(apiObject: ApiObject, containerPointer: string, count: number): void {
    const errors = new ValidationErrors(apiObject, 'GpuResources');
    checkCount(errors, count);
    const container = readPointer(apiObject.toJson(), containerPointer);
    errors.check(container !== undefined && container !== null && typeof container === 'object' && !Array.isArray(container), {
      code: 'NoSuchContainer',
      what: 'the JSON pointer does not lead to a container object',
      got: containerPointer,
      fix: "point at one element of a pod spec's containers list, e.g. '/spec/template/spec/containers/0'",
    });
    errors.throwIfAny();
    GpuResources.patchContainer(apiObject, containerPointer, count);
  }

  private static patchContainer(apiObject: ApiObject, containerPointer: string, count: number): void {
    const container = readPointer(apiObject.toJson(), containerPointer) as { resources?: Record<string, unknown> };
    const value = quantity(apiObject, count);
    const key = escapePointer(GPU_RESOURCE);
    const resources = container.resources;
    if (resources === undefined || resources === null) {
      apiObject.addJsonPatch(JsonPatch.add(`${containerPointer}/resources`, { limits: { [GPU_RESOURCE]: value }, requests: { [GPU_RESOURCE]: value } }));
      return;
    }
    for (const part of ['limits', 'requests']) {
      const current = resources[part];
      apiObject.addJsonPatch(current === undefined || current === null
        ? JsonPatch.add(`${containerPointer}/resources/${part}`, { [GPU_RESOURCE]: value })
        : JsonPatch.add(`${containerPointer}/resources/${part}/${key}`, value));
    }
  }

  private constructor() {}
}

function checkCount(errors: ValidationErrors, count: number): void {
  if (!isResolved(count)) { return; }
  errors.check(Number.isInteger(count) && count >= 1, {
    code: 'InvalidGpuCount',
    what: 'the GPU count must be a positive whole number',
    got: count,
    fix: 'request 1 or more whole GPUs per container',
  });
}

/**
 * The patch value for a quantity. Generated L1 classes (cdk8s imports, cdk8s-plus L1s) re-render the patched JSON and
 * read quantities through `.value`, so they need a `k8s.Quantity`; a plain `ApiObject` emits the patch value as is.
 */
function quantity(apiObject: ApiObject, count: number): unknown {
  const rerendersTyped = Object.getPrototypeOf(apiObject).toJson !== ApiObject.prototype.toJson;
  return rerendersTyped ? kplus.k8s.Quantity.fromNumber(count) : count;
}

/** Where the pod spec sits inside a cdk8s-plus object's manifest. */
function podSpecPointer(workload: kplus.AbstractPod): string {
  if (workload instanceof kplus.Pod) { return '/spec'; }
  if (workload instanceof kplus.CronJob) { return '/spec/jobTemplate/spec/template/spec'; }
  return '/spec/template/spec';
}

function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function readPointer(document: unknown, pointer: string): unknown {
  if (pointer === '') { return document; }
  if (!pointer.startsWith('/')) { return undefined; }
  let current: unknown = document;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (current === null || typeof current !== 'object') { return undefined; }
    current = (current as Record<string, unknown>)[token];
  }
  return current;
}
