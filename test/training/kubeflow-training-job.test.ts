import { Chart, Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  GPU_POOL_LABEL, GPU_PRESENT_LABEL, GPU_TAINT_EFFECT, GPU_TAINT_KEY, GPU_TAINT_VALUE, GpuPoolPlacement,
} from '../../src/k8s/gpu-scheduling';
import {
  CleanPodPolicy, KubeflowTrainingJob, KubeflowTrainingJobProps, TolerationOperator,
} from '../../src/training/kubeflow-training-job';
import { KUBECTL_MANIFEST_LIMIT_BYTES, Manifest, manifestBytes, validateCustomResources } from '../support/manifests';

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-train:1.4.2';

/** A g5 pool: 1 GPU on g5.2xlarge, 4 on g5.12xlarge, at most 16 GPUs. */
function placement(overrides: Partial<GpuPoolPlacement> = {}): GpuPoolPlacement {
  return {
    poolName: 'a10g',
    nodeLabels: { [GPU_PRESENT_LABEL]: 'true', [GPU_POOL_LABEL]: 'a10g' },
    taints: [{ key: GPU_TAINT_KEY, value: GPU_TAINT_VALUE, effect: GPU_TAINT_EFFECT }],
    instanceTypes: ['g5.2xlarge', 'g5.12xlarge'],
    gpusPerInstanceType: [1, 4],
    maxGpus: 16,
    ...overrides,
  };
}

function synthJob(props: Partial<KubeflowTrainingJobProps> = {}): { job: KubeflowTrainingJob; manifests: Manifest[] } {
  const chart = Testing.chart();
  const job = new KubeflowTrainingJob(chart, 'Train', { placement: placement(), image: IMAGE, jobName: 'fraud', ...props });
  return { job, manifests: chart.toJson() };
}

function newJob(props: Partial<KubeflowTrainingJobProps> = {}, scope?: Construct): () => KubeflowTrainingJob {
  return () => new KubeflowTrainingJob(scope ?? Testing.chart(), 'Train', { placement: placement(), image: IMAGE, jobName: 'fraud', ...props });
}

function replica(m: Manifest, type: string): any {
  return m.spec.pytorchReplicaSpecs[type];
}

describe('KubeflowTrainingJob', () => {
  test('default props: one Master and one Worker with one GPU each, on the pool (snapshot)', () => {
    // GIVEN
    const chart = Testing.chart();
    // WHEN
    new KubeflowTrainingJob(chart, 'Train', { placement: placement(), image: IMAGE });
    const manifests = chart.toJson();
    // THEN
    expect(manifests).toHaveLength(1);
    expect(validateCustomResources(manifests)).toEqual([]);
    expect(manifests[0]).toMatchInlineSnapshot(`
{
  "apiVersion": "kubeflow.org/v1",
  "kind": "PyTorchJob",
  "metadata": {
    "name": "test-train-c8975bb6",
  },
  "spec": {
    "nprocPerNode": "1",
    "pytorchReplicaSpecs": {
      "Master": {
        "replicas": 1,
        "restartPolicy": "OnFailure",
        "template": {
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
                            "a10g",
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
            "containers": [
              {
                "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-train:1.4.2",
                "name": "pytorch",
                "resources": {
                  "limits": {
                    "nvidia.com/gpu": 1,
                  },
                  "requests": {
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
                  "readOnlyRootFilesystem": false,
                  "runAsNonRoot": true,
                  "runAsUser": 1000,
                },
                "volumeMounts": [
                  {
                    "mountPath": "/dev/shm",
                    "name": "dshm",
                  },
                ],
              },
            ],
            "securityContext": {
              "fsGroup": 1000,
              "runAsGroup": 1000,
              "runAsNonRoot": true,
              "runAsUser": 1000,
              "seccompProfile": {
                "type": "RuntimeDefault",
              },
            },
            "tolerations": [
              {
                "effect": "NoSchedule",
                "key": "nvidia.com/gpu",
                "operator": "Equal",
                "value": "true",
              },
            ],
            "volumes": [
              {
                "emptyDir": {
                  "medium": "Memory",
                },
                "name": "dshm",
              },
            ],
          },
        },
      },
      "Worker": {
        "replicas": 1,
        "restartPolicy": "OnFailure",
        "template": {
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
                            "a10g",
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
            "containers": [
              {
                "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-train:1.4.2",
                "name": "pytorch",
                "resources": {
                  "limits": {
                    "nvidia.com/gpu": 1,
                  },
                  "requests": {
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
                  "readOnlyRootFilesystem": false,
                  "runAsNonRoot": true,
                  "runAsUser": 1000,
                },
                "volumeMounts": [
                  {
                    "mountPath": "/dev/shm",
                    "name": "dshm",
                  },
                ],
              },
            ],
            "securityContext": {
              "fsGroup": 1000,
              "runAsGroup": 1000,
              "runAsNonRoot": true,
              "runAsUser": 1000,
              "seccompProfile": {
                "type": "RuntimeDefault",
              },
            },
            "tolerations": [
              {
                "effect": "NoSchedule",
                "key": "nvidia.com/gpu",
                "operator": "Equal",
                "value": "true",
              },
            ],
            "volumes": [
              {
                "emptyDir": {
                  "medium": "Memory",
                },
                "name": "dshm",
              },
            ],
          },
        },
      },
    },
    "runPolicy": {
      "backoffLimit": 3,
      "cleanPodPolicy": "Running",
      "ttlSecondsAfterFinished": 86400,
    },
  },
}
`);
  });

  test('both replicas run the pytorch container with GPU limits and requests, restarting on failure', () => {
    // WHEN
    const { job, manifests } = synthJob({ workerReplicas: 3, gpusPerWorker: 4, command: ['torchrun'], args: ['train.py', '--epochs=3'] });
    // THEN
    const m = manifests[0];
    expect(m).toMatchObject({ apiVersion: 'kubeflow.org/v1', kind: 'PyTorchJob', metadata: { name: 'fraud' } });
    expect(replica(m, 'Master').replicas).toBe(1);
    expect(replica(m, 'Worker').replicas).toBe(3);
    expect(m.spec.nprocPerNode).toBe('4');
    for (const type of ['Master', 'Worker']) {
      expect(replica(m, type).restartPolicy).toBe('OnFailure');
      const [container] = replica(m, type).template.spec.containers;
      expect(container).toMatchObject({ name: 'pytorch', image: IMAGE, command: ['torchrun'], args: ['train.py', '--epochs=3'] });
      expect(container.resources).toEqual({ limits: { 'nvidia.com/gpu': 4 }, requests: { 'nvidia.com/gpu': 4 } });
    }
    expect(job.jobName).toBe('fraud');
    expect(job.gpusPerWorker).toBe(4);
    expect(job.maxGpus).toBe(16);
    expect(validateCustomResources(manifests)).toEqual([]);
  });

  test('tolerates the pool taints and requires its node labels', () => {
    // WHEN
    const { manifests } = synthJob({
      placement: placement({
        taints: [
          { key: GPU_TAINT_KEY, value: GPU_TAINT_VALUE, effect: GPU_TAINT_EFFECT },
          { key: 'team', value: 'fraud', effect: 'NoExecute' },
        ],
      }),
    });
    // THEN
    const spec = replica(manifests[0], 'Worker').template.spec;
    expect(spec.tolerations).toEqual([
      { key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' },
      { key: 'team', operator: 'Equal', value: 'fraud', effect: 'NoExecute' },
    ]);
    expect(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([{
      matchExpressions: [
        { key: GPU_POOL_LABEL, operator: 'In', values: ['a10g'] },
        { key: GPU_PRESENT_LABEL, operator: 'In', values: ['true'] },
      ],
    }]);
    expect(validateCustomResources(manifests)).toEqual([]);
  });

  test('runs non-root with /dev/shm in memory for NCCL, env and optional CPU/memory resources', () => {
    // WHEN
    const { manifests } = synthJob({
      env: { NCCL_DEBUG: 'INFO', DATA_URI: 's3://lake/curated/v42/' },
      cpuRequest: kplus.Cpu.units(8),
      memoryRequest: Size.gibibytes(30),
      memoryLimit: Size.gibibytes(60),
      sharedMemorySize: Size.gibibytes(16),
      serviceAccountName: 'fraud-trainer',
      runAsUser: 2000,
    });
    // THEN
    const spec = replica(manifests[0], 'Worker').template.spec;
    expect(spec.serviceAccountName).toBe('fraud-trainer');
    expect(spec.securityContext).toEqual({
      runAsNonRoot: true, runAsUser: 2000, runAsGroup: 2000, fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.volumes).toEqual([{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '16384Mi' } }]);
    const [container] = spec.containers;
    expect(container.volumeMounts).toEqual([{ name: 'dshm', mountPath: '/dev/shm' }]);
    expect(container.securityContext).toEqual({
      runAsNonRoot: true, runAsUser: 2000, allowPrivilegeEscalation: false, readOnlyRootFilesystem: false, capabilities: { drop: ['ALL'] },
    });
    expect(container.env).toEqual([{ name: 'NCCL_DEBUG', value: 'INFO' }, { name: 'DATA_URI', value: 's3://lake/curated/v42/' }]);
    expect(container.resources).toEqual({
      limits: { 'memory': '61440Mi', 'nvidia.com/gpu': 1 },
      requests: { 'cpu': '8', 'memory': '30720Mi', 'nvidia.com/gpu': 1 },
    });
    expect(validateCustomResources(manifests)).toEqual([]);
  });

  test('run policy: TTL, backoff, deadline and pod clean-up', () => {
    // WHEN
    const defaults = synthJob().manifests[0].spec.runPolicy;
    const custom = synthJob({
      ttlAfterFinished: Duration.hours(2), backoffLimit: 0, activeDeadline: Duration.hours(12), cleanPodPolicy: CleanPodPolicy.ALL,
    }).manifests[0].spec.runPolicy;
    // THEN
    expect(defaults).toEqual({ ttlSecondsAfterFinished: 86400, backoffLimit: 3, cleanPodPolicy: 'Running' });
    expect(custom).toEqual({ ttlSecondsAfterFinished: 7200, backoffLimit: 0, activeDeadlineSeconds: 43200, cleanPodPolicy: 'All' });
  });

  test('elastic policy: Workers only, c10d rendezvous between min and max, one process per GPU', () => {
    // WHEN
    const { job, manifests } = synthJob({ workerReplicas: 2, gpusPerWorker: 4, elasticPolicy: { minReplicas: 1, maxReplicas: 4 } });
    // THEN
    const m = manifests[0];
    expect(Object.keys(m.spec.pytorchReplicaSpecs)).toEqual(['Worker']);
    expect(replica(m, 'Worker').replicas).toBe(2);
    expect(m.spec.elasticPolicy).toEqual({ minReplicas: 1, maxReplicas: 4, maxRestarts: 3, rdzvBackend: 'c10d' });
    expect(m.spec.nprocPerNode).toBe('4');
    expect(job.maxGpus).toBe(16);
    expect(validateCustomResources(manifests)).toEqual([]);
  });

  test('custom tolerations replace the derived ones when they still tolerate every pool taint', () => {
    // WHEN
    const { manifests } = synthJob({ tolerations: [{ key: GPU_TAINT_KEY, operator: TolerationOperator.EXISTS }] });
    // THEN
    expect(replica(manifests[0], 'Master').template.spec.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists' }]);
    expect(validateCustomResources(manifests)).toEqual([]);
  });

  test('generates a job name that leaves room for the operator suffixes', () => {
    // WHEN
    const chart = Testing.chart();
    const job = new KubeflowTrainingJob(chart, 'FraudDetectorNightlyRetrainingWithAVeryLongConstructId', { placement: placement(), image: IMAGE });
    // THEN
    expect(job.jobName.length).toBeLessThanOrEqual(40);
    expect(job.jobName).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
    expect(chart.toJson()[0].metadata.name).toBe(job.jobName);
  });

  test('takes the namespace from the prop or the chart', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'ml', { namespace: 'training' });
    new KubeflowTrainingJob(chart, 'A', { placement: placement(), image: IMAGE, jobName: 'a' });
    new KubeflowTrainingJob(chart, 'B', { placement: placement(), image: IMAGE, jobName: 'b', namespace: 'research' });
    expect(chart.toJson().map(m => m.metadata.namespace)).toEqual(['training', 'research']);
  });

  describe('capacity checks against the placement', () => {
    test('GPUs per worker above every instance type of the pool', () => {
      expect(newJob({ gpusPerWorker: 8 })).toThrow(
        /^\[KubeflowTrainingJob\.GpusPerWorkerExceedNode\] gpusPerWorker exceeds the GPUs of every instance type in pool 'a10g' \(g5\.2xlarge: 1, g5\.12xlarge: 4\), got 8; request at most 4 GPUs per worker .* \(at test\/Train\)$/,
      );
    });

    test('(workers + master) × GPUs above the pool limit', () => {
      expect(newJob({ workerReplicas: 4, gpusPerWorker: 4 })).toThrow(
        /^\[KubeflowTrainingJob\.ExceedsPoolCapacity\] the job needs 5 replicas × 4 GPUs = 20 GPUs, more than pool 'a10g' can hold, got 20; stay within the pool's 16 GPUs .* \(at test\/Train\)$/,
      );
      expect(newJob({ workerReplicas: 3, gpusPerWorker: 4 })).not.toThrow();
    });

    test('an elastic job is checked at its maximum size', () => {
      expect(newJob({ gpusPerWorker: 4, elasticPolicy: { minReplicas: 1, maxReplicas: 5 } })).toThrow(/\[KubeflowTrainingJob\.ExceedsPoolCapacity\] .* = 20 GPUs/);
      expect(newJob({ gpusPerWorker: 4, elasticPolicy: { minReplicas: 1, maxReplicas: 4 } })).not.toThrow();
    });

    test('a pool taint the custom tolerations drop', () => {
      expect(newJob({ tolerations: [{ key: 'team', value: 'fraud', effect: 'NoSchedule' }] })).toThrow(
        /^\[KubeflowTrainingJob\.TaintNotTolerated\] the tolerations do not tolerate taint nvidia\.com\/gpu=true:NoSchedule of pool 'a10g', so no pod would schedule, got .*; leave tolerations unset .* \(at test\/Train\)$/,
      );
      expect(newJob({ tolerations: [{ key: GPU_TAINT_KEY, value: 'false', effect: GPU_TAINT_EFFECT }] })).toThrow(/TaintNotTolerated/);
      expect(newJob({ tolerations: [{ key: GPU_TAINT_KEY, value: 'true', effect: 'NoExecute' }] })).toThrow(/TaintNotTolerated/);
      expect(newJob({ tolerations: [{ operator: TolerationOperator.EXISTS }] })).not.toThrow();
    });

    test('a placement without node labels or with GPUs missing for an instance type', () => {
      expect(newJob({ placement: placement({ gpusPerInstanceType: [1] }) })).toThrow(/\[KubeflowTrainingJob\.InvalidPlacement\]/);
      expect(newJob({ placement: placement({ nodeLabels: {} }) })).toThrow(/\[KubeflowTrainingJob\.InvalidPlacement\]/);
    });
  });

  describe('input validation', () => {
    test.each([
      ['Fraud'], ['1fraud'], ['fraud_job'], ['fraud-'], ['a'.repeat(55)],
    ])('job name %s is not a DNS-1035 label that fits the operator suffix', (jobName) => {
      expect(newJob({ jobName })).toThrow(/^\[KubeflowTrainingJob\.InvalidName\] jobName must be a DNS-1035 label .* \(at test\/Train\)$/);
    });

    test('the name length limit accounts for the largest worker index', () => {
      expect(newJob({ jobName: 'a'.repeat(54) })).not.toThrow();
      expect(newJob({ jobName: 'a'.repeat(54), workerReplicas: 11, gpusPerWorker: 1 })).toThrow(/InvalidName.*use at most 53 characters/);
    });

    test('namespace must be a DNS-1123 label', () => {
      expect(newJob({ namespace: 'ML_Training' })).toThrow(/^\[KubeflowTrainingJob\.InvalidNamespace\] namespace must be a DNS-1123 label, got 'ML_Training'/);
    });

    test.each([[0], [-1], [1.5]])('workerReplicas %d', (workerReplicas) => {
      expect(newJob({ workerReplicas })).toThrow(/^\[KubeflowTrainingJob\.InvalidReplicas\] workerReplicas must be a whole number of at least 1/);
    });

    test.each([[0], [-2], [0.5]])('gpusPerWorker %d', (gpusPerWorker) => {
      expect(newJob({ gpusPerWorker })).toThrow(/^\[KubeflowTrainingJob\.InvalidGpuCount\] gpusPerWorker must be a whole number of at least 1/);
    });

    test('elastic minReplicas greater than maxReplicas', () => {
      expect(newJob({ elasticPolicy: { minReplicas: 3, maxReplicas: 2 } })).toThrow(
        /^\[KubeflowTrainingJob\.ElasticMinGreaterThanMax\] elasticPolicy minReplicas is greater than maxReplicas, got \{"min":3,"max":2\}/,
      );
    });

    test('elastic replicas below 1 and workers outside the elastic range', () => {
      expect(newJob({ elasticPolicy: { minReplicas: 0, maxReplicas: 2 } })).toThrow(/\[KubeflowTrainingJob\.InvalidElasticPolicy\]/);
      expect(newJob({ elasticPolicy: { minReplicas: 1, maxReplicas: 2, maxRestarts: -1 } })).toThrow(/\[KubeflowTrainingJob\.InvalidElasticPolicy\] .*maxRestarts/);
      expect(newJob({ workerReplicas: 3, elasticPolicy: { minReplicas: 1, maxReplicas: 2 } })).toThrow(
        /\[KubeflowTrainingJob\.WorkersOutsideElasticRange\] .* got 3; start with between 1 and 2 workers/,
      );
    });

    test('empty image, bad env names, negative backoff, zero deadline, bad service account', () => {
      expect(newJob({ image: ' ' })).toThrow(/\[KubeflowTrainingJob\.InvalidImage\]/);
      expect(newJob({ env: { 'A=B': 'x' } })).toThrow(/\[KubeflowTrainingJob\.InvalidEnvName\] .* got 'A=B'/);
      expect(newJob({ backoffLimit: -1 })).toThrow(/\[KubeflowTrainingJob\.InvalidBackoffLimit\]/);
      expect(newJob({ activeDeadline: Duration.seconds(0) })).toThrow(/\[KubeflowTrainingJob\.InvalidDuration\] activeDeadline/);
      expect(newJob({ ttlAfterFinished: Duration.millis(1500) })).toThrow(/\[KubeflowTrainingJob\.InvalidDuration\] ttlAfterFinished/);
      expect(newJob({ serviceAccountName: 'Trainer' })).toThrow(/\[KubeflowTrainingJob\.InvalidServiceAccountName\]/);
    });

    test('reports every problem at once', () => {
      let error: any;
      try { newJob({ jobName: 'Bad', workerReplicas: 0, gpusPerWorker: 8 })(); } catch (e) { error = e; }
      expect(error.codes).toEqual(['KubeflowTrainingJob.InvalidName', 'KubeflowTrainingJob.InvalidReplicas', 'KubeflowTrainingJob.GpusPerWorkerExceedNode']);
      expect(error.message).toMatch(/^3 problems with KubeflowTrainingJob input:\n {2}- \[KubeflowTrainingJob\.InvalidName\]/);
    });

    test('must be defined inside a cdk8s chart', () => {
      const app = Testing.app();
      expect(newJob({}, new Construct(app, 'NotAChart'))).toThrow(/^\[KubeflowTrainingJob\.NotInChart\] the job must be defined inside a cdk8s Chart/);
    });
  });

  test('a large job (64 workers, 400 env vars) stays within the kubectl manifest limit and its CRD', () => {
    // GIVEN
    const env: { [name: string]: string } = {};
    for (let i = 0; i < 400; i++) { env[`FEATURE_FLAG_${i}`] = `s3://lake/curated/features/v${i}/part-${'0'.repeat(20)}`; }
    // WHEN
    const { manifests } = synthJob({
      placement: placement({ maxGpus: 512 }),
      workerReplicas: 63,
      gpusPerWorker: 4,
      env,
      args: Array.from({ length: 200 }, (_, i) => `--hparam-${i}=${i / 7}`),
    });
    // THEN
    const bytes = manifestBytes(manifests);
    expect(bytes).toBeGreaterThan(50 * 1024); // the test really is large
    expect(bytes).toBeLessThan(KUBECTL_MANIFEST_LIMIT_BYTES);
    expect(validateCustomResources(manifests)).toEqual([]);
  });
});
