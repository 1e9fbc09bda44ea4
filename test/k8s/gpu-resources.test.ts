import { ApiObject, Cron, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { GpuResources } from '../../src/k8s/gpu-resources';
import { PyTorchJob } from '../../src/k8s/imports/kubeflow.org';
import { validateCoreManifests, validateCustomResources } from '../support/manifests';

const IMAGE = 'vllm/vllm-openai:v0.6.3';

describe('GpuResources', () => {
  test('adds the GPU to limits and requests of a cdk8s-plus Deployment, keeping CPU and memory', () => {
    // GIVEN
    const chart = Testing.chart();
    const deployment = new kplus.Deployment(chart, 'Server', { containers: [{ image: IMAGE, securityContext: { user: 1000 } }] });
    // WHEN
    GpuResources.addToWorkload(deployment, { count: 2 });
    // THEN
    const manifests = chart.toJson();
    expect(manifests[0].spec.template.spec.containers[0].resources).toEqual({
      limits: { 'cpu': '1500m', 'memory': '2048Mi', 'nvidia.com/gpu': 2 },
      requests: { 'cpu': '1000m', 'memory': '512Mi', 'nvidia.com/gpu': 2 },
    });
    expect(validateCoreManifests(manifests)).toEqual([]);
  });

  test('creates resources, limits or requests when the container has none', () => {
    // GIVEN
    const chart = Testing.chart();
    const none = new kplus.Deployment(chart, 'None', { containers: [{ image: IMAGE, resources: {} }] });
    const limitsOnly = new kplus.Deployment(chart, 'LimitsOnly', {
      containers: [{ image: IMAGE, resources: { cpu: { limit: kplus.Cpu.units(2) } } }],
    });
    // WHEN
    GpuResources.addToWorkload(none, { count: 1 });
    GpuResources.addToWorkload(limitsOnly, { count: 1 });
    // THEN
    const [a, b] = chart.toJson();
    expect(a.spec.template.spec.containers[0].resources).toEqual({ limits: { 'nvidia.com/gpu': 1 }, requests: { 'nvidia.com/gpu': 1 } });
    expect(b.spec.template.spec.containers[0].resources).toEqual({
      limits: { 'cpu': '2', 'nvidia.com/gpu': 1 }, requests: { 'nvidia.com/gpu': 1 },
    });
    expect(validateCoreManifests([a, b])).toEqual([]);
  });

  test('targets a named container and finds the pod spec of Pods, Jobs, StatefulSets and CronJobs', () => {
    // GIVEN
    const chart = Testing.chart();
    const pod = new kplus.Pod(chart, 'Pod', { containers: [{ image: 'busybox', name: 'sidecar' }, { image: IMAGE, name: 'model' }] });
    const job = new kplus.Job(chart, 'Job', { containers: [{ image: IMAGE }] });
    const cron = new kplus.CronJob(chart, 'Cron', { containers: [{ image: IMAGE }], schedule: Cron.daily() });
    // WHEN
    GpuResources.addToWorkload(pod, { count: 1, containerName: 'model' });
    GpuResources.addToWorkload(job, { count: 4 });
    GpuResources.addToWorkload(cron, { count: 8 });
    // THEN
    const [p, j, c] = chart.toJson();
    expect(p.spec.containers[0].resources.limits['nvidia.com/gpu']).toBeUndefined();
    expect(p.spec.containers[1].resources.limits['nvidia.com/gpu']).toBe(1);
    expect(j.spec.template.spec.containers[0].resources.requests['nvidia.com/gpu']).toBe(4);
    expect(c.spec.jobTemplate.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe(8);
    expect(validateCoreManifests([p, j, c])).toEqual([]);
  });

  test('patches a generated L1 (PyTorchJob replica) and a plain ApiObject with plain integer quantities', () => {
    // GIVEN
    const chart = Testing.chart();
    const container = { name: 'pytorch', image: IMAGE };
    const typed = new PyTorchJob(chart, 'Typed', {
      metadata: { name: 'typed' },
      spec: { pytorchReplicaSpecs: { Worker: { replicas: 2, template: { spec: { containers: [container] } } } } },
    });
    const plain = new ApiObject(chart, 'Plain', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'plain' },
      spec: { containers: [{ ...container, resources: { limits: { memory: '1Gi' } } }] },
    } as any);
    // WHEN
    GpuResources.addToContainer(typed, '/spec/pytorchReplicaSpecs/Worker/template/spec/containers/0', 3);
    GpuResources.addToContainer(plain, '/spec/containers/0', 3);
    // THEN
    const [t, p] = chart.toJson();
    expect(t.spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].resources).toEqual({
      limits: { 'nvidia.com/gpu': 3 }, requests: { 'nvidia.com/gpu': 3 },
    });
    expect(p.spec.containers[0].resources).toEqual({ limits: { 'memory': '1Gi', 'nvidia.com/gpu': 3 }, requests: { 'nvidia.com/gpu': 3 } });
    expect(validateCustomResources([t])).toEqual([]);
    expect(validateCoreManifests([p])).toEqual([]);
  });

  test('fails for a missing container or a bad GPU count', () => {
    const chart = Testing.chart();
    const deployment = new kplus.Deployment(chart, 'Server', { containers: [{ image: IMAGE, name: 'main' }] });
    expect(() => GpuResources.addToWorkload(deployment, { count: 1, containerName: 'model' })).toThrow(
      /^\[GpuResources\.NoSuchContainer\] the workload has no container named 'model', got \["main"\]; .* \(at test\/Server\)$/,
    );
    expect(() => GpuResources.addToWorkload(new kplus.Deployment(chart, 'Empty'), { count: 1 })).toThrow(
      /\[GpuResources\.NoSuchContainer\] the workload has no container to put GPUs on/,
    );
    expect(() => GpuResources.addToWorkload(deployment, { count: 0 })).toThrow(/^\[GpuResources\.InvalidGpuCount\] the GPU count must be a positive whole number, got 0/);
    expect(() => GpuResources.addToWorkload(deployment, { count: 1.5 })).toThrow(/InvalidGpuCount/);
    expect(() => GpuResources.addToContainer(ApiObject.of(deployment), '/spec/template/spec/containers/3', 1)).toThrow(
      /^\[GpuResources\.NoSuchContainer\] the JSON pointer does not lead to a container object, got '\/spec\/template\/spec\/containers\/3'/,
    );
  });
});
