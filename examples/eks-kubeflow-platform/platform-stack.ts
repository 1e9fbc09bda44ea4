import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
// In your own app: import { ... } from 'cdk-ml-platform';
import {
  CostReport, ClusterEndpoint, DataLake, DataZone, DriftBaseline, DriftMonitor, GpuCapacityType, GpuCluster, GpuNodePool, KubeflowTraining,
  KubernetesModelServer, NodeProvisioner, PredictionHealthMonitor,
} from '../../src';

/**
 * The Kubernetes flavour of the platform: the same data lake, an EKS cluster with a Karpenter GPU pool, and
 * distributed PyTorch training with the Kubeflow training operator, reading the lake's curated zone and writing
 * models to its models zone through a pod-identity service account; the model is served on an on-demand GPU pool by
 * a KubernetesModelServer whose sampled requests land in the same capture layout as a SageMaker endpoint's, so the
 * same drift and prediction-health monitors watch it.
 *
 * Environment-agnostic (no account or Region), so `cdk synth` needs no credentials.
 */
export class EksKubeflowPlatformStack extends Stack {
  /** The platform's data lake. */
  public readonly lake: DataLake;
  /** The EKS cluster with the NVIDIA device plugin. */
  public readonly cluster: GpuCluster;
  /** Spot GPU nodes from Karpenter, limited to 16 GPUs. */
  public readonly trainingPool: GpuNodePool;
  /** The PyTorchJob and everything it needs on the cluster. */
  public readonly training: KubeflowTraining;
  /** On-demand GPU nodes for serving (a managed node group that scales from 0). */
  public readonly servingPool: GpuNodePool;
  /** The fraud model as an HTTP API in the cluster. */
  public readonly server: KubernetesModelServer;
  /** Input drift of the served model against its training data's baseline. */
  public readonly drift: DriftMonitor;
  /** NaN/Infinity, constant and out-of-range scores of the served model. */
  public readonly predictionHealth: PredictionHealthMonitor;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    this.lake = new DataLake(this, 'Lake');

    // Public API endpoint only from the office range; kubectl from elsewhere goes through the private endpoint.
    this.cluster = new GpuCluster(this, 'Gpu', {
      endpoint: ClusterEndpoint.publicAndPrivateFrom('203.0.113.0/24'),
    });

    // Spot GPUs of two sizes: 1-GPU nodes for small jobs, 4-GPU nodes for distributed training; at most 16 GPUs.
    this.trainingPool = this.cluster.addGpuNodePool('Training', {
      instanceTypes: [new ec2.InstanceType('g6.xlarge'), new ec2.InstanceType('g6.12xlarge')],
      capacityType: GpuCapacityType.SPOT,
      provisioner: NodeProvisioner.karpenter({ maxGpus: 16, consolidateAfter: Duration.minutes(5) }),
    });

    // Three 4-GPU workers (plus the master) fine-tune the fraud model on the curated transactions; checked at
    // synth against the pool: 4 GPUs fit a g6.12xlarge, 16 GPUs in all fit the pool's limit.
    this.training = new KubeflowTraining(this, 'FraudTraining', {
      cluster: this.cluster,
      pool: this.trainingPool,
      dataLake: this.lake,
      curatedPrefix: 'datasets/fraud/',
      job: {
        jobName: 'fraud-finetune',
        image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train@sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef',
        command: ['torchrun'],
        args: ['train.py', '--epochs', '20', '--data', `${this.lake.uri(DataZone.CURATED, 'datasets/fraud/')}`],
        workerReplicas: 3,
        gpusPerWorker: 4,
        activeDeadline: Duration.hours(12),
      },
    });

    // Serving on on-demand capacity: spot interruptions are fine for training (checkpoints), not for an API.
    this.servingPool = this.cluster.addGpuNodePool('Serving', {
      instanceTypes: [new ec2.InstanceType('g5.xlarge')],
      provisioner: NodeProvisioner.managedNodeGroup({ minSize: 0, maxSize: 4 }),
    });

    // The fine-tuned model, from the job's prefix of the models zone; every request and response is sampled into
    // the monitoring zone (capture/<server>/AllTraffic/yyyy/mm/dd/hh/...) by the server's capture sidecar.
    this.server = new KubernetesModelServer(this, 'FraudServer', {
      cluster: this.cluster,
      pool: this.servingPool,
      dataLake: this.lake,
      image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serve@sha256:0d1e7a4c5b9f3e2d6a8b7c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f',
      modelKey: 'fraud-finetune/model/',
      healthPath: '/ping',
    });

    // The drift check reads the server's capture files like a SageMaker endpoint's; the reference is the baseline
    // the training job wrote next to the model.
    this.drift = new DriftMonitor(this, 'Drift', {
      endpoint: this.server,
      baseline: DriftBaseline.fromS3(this.lake.bucket(DataZone.MODELS), 'fraud-finetune/baseline.json'),
    });
    this.predictionHealth = new PredictionHealthMonitor(this, 'PredictionHealth', { endpoint: this.server, minScore: 0, maxScore: 1 });

    // What this platform costs idle and at most per hour of GPUs, at synth: cdk.out/ml-platform-cost.json.
    new CostReport(this, 'Cost');
  }
}
