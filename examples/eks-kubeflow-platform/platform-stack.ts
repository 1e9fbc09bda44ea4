import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
// In your own app: import { ... } from 'cdk-ml-platform';
import {
  ClusterEndpoint, DataZone, GpuCapacityType, MlPlatform, NodeProvisioner, Objective, PlatformModel, TrainingBackend,
  TrainingData, TrainingImage,
} from '../../src';

/**
 * The Kubernetes flavour of the platform, as one `MlPlatform` with the Kubeflow backend: the same data lake, audit
 * trail, personas and cost report, plus an EKS cluster with a Karpenter spot GPU pool for training. The fraud model
 * (in a nested stack of its own) keeps the SageMaker pipeline (snapshot, data gate, evaluation, champion comparison,
 * registration), but its Train step is a Callback step answered by a launcher that runs a distributed Kubeflow
 * PyTorchJob on the pool. The model is served on an on-demand GPU pool by a KubernetesModelServer whose sampled
 * requests land in the same capture layout as a SageMaker endpoint's, so the same drift and prediction-health monitors
 * watch it and the continuous-training loop retrains on drift.
 *
 * Environment-agnostic (no account or Region), so `cdk synth` needs no credentials.
 */
export class EksKubeflowPlatformStack extends Stack {
  /**
   * The platform: data lake, audit trail, personas, cost report, the EKS cluster (`platform.cluster`) with its
   * training pool (`platform.trainingPool`) and, for the served model, its serving pool (`platform.servingPool`).
   */
  public readonly platform: MlPlatform;
  /**
   * The fraud scoring model: registry, pipeline with the Kubeflow Train step (`kubeflowTraining`, `launcher`), the
   * model server on the cluster (`server`), drift and prediction-health monitors and the continuous-training loop.
   */
  public readonly model: PlatformModel;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    this.platform = new MlPlatform(this, 'Platform', {
      name: 'fraud',
      backend: TrainingBackend.kubeflow({
        // Public API endpoint only from the office range; kubectl from elsewhere goes through the private endpoint.
        clusterOptions: { endpoint: ClusterEndpoint.publicAndPrivateFrom('203.0.113.0/24') },
        // Spot GPUs of two sizes: 1-GPU nodes for small jobs, 4-GPU nodes for distributed training; at most 16 GPUs.
        // Spot is fine for training (the job checkpoints), not for serving: the serving pool the platform adds for
        // the model server is an on-demand managed node group of g5.xlarge that scales from 0 to 4 nodes.
        trainingPoolOptions: {
          poolName: 'fraud-training',
          instanceTypes: [new ec2.InstanceType('g6.xlarge'), new ec2.InstanceType('g6.12xlarge')],
          capacityType: GpuCapacityType.SPOT,
          provisioner: NodeProvisioner.karpenter({ maxGpus: 16, consolidateAfter: Duration.minutes(5) }),
        },
      }),
    });

    // Three 4-GPU workers (plus the master) fine-tune the fraud model on the curated transactions; checked at synth
    // against the pool: 4 GPUs fit a g6.12xlarge, 16 GPUs in all fit the pool's limit. Each run gets its data
    // snapshot and output location as ML_PLATFORM_INPUT_URI and ML_PLATFORM_OUTPUT_URI, which Kubernetes expands
    // in the arguments.
    this.model = this.platform.addModel('scoring', {
      description: 'Card fraud detector (distributed PyTorch on EKS)',
      image: TrainingImage.fromUri('123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train@sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef'),
      // Registered only when it beats the approved model by at least 0.005 AUC.
      objective: Objective.maximize('validation:auc', 0.005),
      trainingData: TrainingData.fromDataLake(this.platform.dataLake, DataZone.CURATED, 'datasets/fraud/'),
      // A held-out, labelled month outside the training prefix: the champion gate scores on it, not on what the job saw.
      evaluationData: TrainingData.fromDataLake(this.platform.dataLake, DataZone.CURATED, 'datasets/fraud-holdout/'),
      kubeflowJob: {
        workerReplicas: 3,
        gpusPerWorker: 4,
        command: ['torchrun'],
        args: ['train.py', '--epochs', '20', '--data', '$(ML_PLATFORM_INPUT_URI)', '--output', '$(ML_PLATFORM_OUTPUT_URI)'],
      },
      // The launcher deletes a job that runs longer and fails the pipeline step.
      maxRuntime: Duration.hours(12),
      // The approved model as an HTTP API in the cluster; every request and response is sampled into the monitoring
      // zone (capture/<server>/AllTraffic/yyyy/mm/dd/hh/...) by the server's capture sidecar.
      serving: {
        kubernetes: {
          image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serve@sha256:0d1e7a4c5b9f3e2d6a8b7c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f',
          healthPath: '/ping',
        },
      },
      // The drift check reads the server's capture files like a SageMaker endpoint's, against the champion's
      // training-data baseline. Fraud scores are probabilities: NaN, Infinity or values outside [0, 1] alarm.
      monitoring: { minScore: 0, maxScore: 1 },
    });
  }
}
