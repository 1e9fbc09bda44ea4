import { spawnSync } from 'child_process';
import * as path from 'path';
import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { GpuResources } from '../../src/k8s/gpu-resources';
import { GPU_POOL_LABEL, GPU_PRESENT_LABEL, GPU_TAINT_EFFECT, GPU_TAINT_KEY, GPU_TAINT_VALUE } from '../../src/k8s/gpu-scheduling';
import { KubeflowTrainingJob } from '../../src/training/kubeflow-training-job';
import {
  Manifest, isCustomResource, validateCoreManifests, validateCustomResources, validateManifests,
} from '../support/manifests';

/** Validation of generated manifests: custom resources against their CRD (ajv), core objects with kubernetes-models. */

function trainingJob(): Manifest {
  const chart = Testing.chart();
  new KubeflowTrainingJob(chart, 'Train', {
    jobName: 'fraud',
    image: 'train:1.0',
    placement: {
      poolName: 'a10g',
      nodeLabels: { [GPU_PRESENT_LABEL]: 'true', [GPU_POOL_LABEL]: 'a10g' },
      taints: [{ key: GPU_TAINT_KEY, value: GPU_TAINT_VALUE, effect: GPU_TAINT_EFFECT }],
      instanceTypes: ['g5.12xlarge'],
      gpusPerInstanceType: [4],
      maxGpus: 16,
    },
    workerReplicas: 2,
    gpusPerWorker: 4,
  });
  return chart.toJson()[0];
}

function gpuDeployment(): Manifest {
  const chart = Testing.chart();
  const deployment = new kplus.Deployment(chart, 'Server', { containers: [{ image: 'vllm/vllm-openai:v0.6.3', securityContext: { user: 1000 } }] });
  GpuResources.addToWorkload(deployment, { count: 1 });
  return chart.toJson()[0];
}

const clone = (m: Manifest): Manifest => JSON.parse(JSON.stringify(m));

describe('custom resources against their CRD schema', () => {
  test('the PyTorchJob of KubeflowTrainingJob validates', () => {
    expect(validateCustomResources([trainingJob()])).toEqual([]);
  });

  test('a broken PyTorchJob fails with the object, the JSON pointer and the rule', () => {
    // GIVEN
    const broken = clone(trainingJob());
    broken.spec.pytorchReplicaSpecs.Worker.replicas = 'two';
    broken.spec.runPolicy.ttlSecondsAfterFinish = 60; // typo: the API server would prune it silently
    broken.spec.pytorchReplicaSpecs.Master.template.spec.containers[0].resources.limits['nvidia.com/gpu'] = true;
    delete broken.spec.pytorchReplicaSpecs.Master.template.spec.containers[0].name;
    // WHEN
    const problems = validateCustomResources([broken]);
    // THEN
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^kubeflow\.org\/v1 PyTorchJob\/fraud: \/spec\/pytorchReplicaSpecs\/Worker\/replicas must be integer \(schema kubeflow\.org_pytorchjobs\.yaml#/),
      expect.stringMatching(/^kubeflow\.org\/v1 PyTorchJob\/fraud: \/spec\/runPolicy has unknown field \(the API server would prune it\) 'ttlSecondsAfterFinish'/),
      expect.stringMatching(/^kubeflow\.org\/v1 PyTorchJob\/fraud: \/spec\/pytorchReplicaSpecs\/Master\/template\/spec\/containers\/0 must have required property 'name'/),
      expect.stringMatching(/\/spec\/pytorchReplicaSpecs\/Master\/template\/spec\/containers\/0\/resources\/limits\/nvidia\.com~1gpu /),
    ]));
  });

  test('int-or-string fields accept integers and strings only', () => {
    const job = clone(trainingJob());
    const limits = job.spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].resources.limits;
    limits.memory = '64Gi';
    limits.cpu = 8;
    expect(validateCustomResources([job])).toEqual([]);
    limits.cpu = 1.5;
    expect(validateCustomResources([job]).join('\n')).toMatch(/\/resources\/limits\/cpu/);
  });

  test('an unknown kind or version is an error, not a skip', () => {
    const job = clone(trainingJob());
    job.apiVersion = 'kubeflow.org/v2';
    expect(validateCustomResources([job])).toEqual([expect.stringMatching(/^kubeflow\.org\/v2 PyTorchJob\/fraud: no CRD for kubeflow\.org\/v2 PyTorchJob in .*crds/)]);
    expect(validateCustomResources([gpuDeployment()])).toEqual([expect.stringMatching(/no CRD for apps\/v1 Deployment/)]);
  });

  test('every CRD in crds/ loads and compiles (Karpenter included)', () => {
    const nodePool = {
      apiVersion: 'karpenter.sh/v1',
      kind: 'NodePool',
      metadata: { name: 'gpu' },
      spec: { template: { spec: { nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'gpu' }, requirements: [] } } },
    };
    const problems = validateCustomResources([nodePool]);
    expect(problems.filter(p => /no CRD/.test(p))).toEqual([]);
    expect(isCustomResource(nodePool)).toBe(true);
    expect(isCustomResource(gpuDeployment())).toBe(false);
  });
});

describe('core objects with kubernetes-models', () => {
  test('a cdk8s-plus Deployment with the GPU patch validates', () => {
    expect(validateCoreManifests([gpuDeployment()])).toEqual([]);
  });

  test('a broken Deployment fails with the object and the JSON pointer', () => {
    // GIVEN
    const broken = clone(gpuDeployment());
    const name = broken.metadata.name;
    delete broken.spec.selector;
    broken.spec.template.spec.containers[0].image = 42;
    // WHEN
    const problems = validateCoreManifests([broken]);
    // THEN
    expect(problems).toEqual(expect.arrayContaining([
      `apps/v1 Deployment/${name}: /spec must have required property selector`,
      `apps/v1 Deployment/${name}: /spec/template/spec/containers/0/image must be string`,
    ]));
  });

  test('a custom resource or an unknown kind is an error, not a skip', () => {
    expect(validateCoreManifests([trainingJob()])).toEqual([
      'kubeflow.org/v1 PyTorchJob/fraud: / kubernetes-models has no model for kubeflow.org/v1 PyTorchJob (a custom resource? validate it against its CRD instead)',
    ]);
    expect(validateCoreManifests([{ kind: 'Deployment' }])).toEqual([expect.stringMatching(/apiVersion and kind must be set/)]);
  });

  test('the script fails (exit 2) on bad input instead of passing', () => {
    const script = path.join(__dirname, '..', 'support', 'validate-core-manifests.mjs');
    const result = spawnSync(process.execPath, [script], { input: '{"not":"an array"}', encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/stdin must be a JSON array/);
  });
});

test('validateManifests routes custom resources to their CRD and the rest to kubernetes-models', () => {
  expect(validateManifests([trainingJob(), gpuDeployment()])).toEqual([]);
  const broken = clone(trainingJob());
  broken.spec.runPolicy.backoffLimit = 'three';
  expect(validateManifests([broken, gpuDeployment()])).toEqual([
    expect.stringMatching(/^kubeflow\.org\/v1 PyTorchJob\/fraud: \/spec\/runPolicy\/backoffLimit must be integer/),
  ]);
});
