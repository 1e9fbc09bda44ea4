import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
// In your own app: import { ... } from 'cdk-ml-platform';
import {
  ClusterEndpoint, DataLake, DataZone, GpuCapacityType, GpuCluster, GpuNodePool, KubeflowTraining, NodeProvisioner,
} from '../../src';

/**
 * The Kubernetes flavour of the platform: the same data lake, an EKS cluster with a Karpenter GPU pool, and
 * distributed PyTorch training with the Kubeflow training operator, reading the lake's curated zone and writing
 * models to its models zone through a pod-identity service account.
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
  }
}
