import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * Trains outside SageMaker for a {@link GpuTrainingPipeline}: the pipeline's `Train` step becomes a SageMaker
 * Pipelines **Callback step** that sends its token and arguments to this trainer's queue and waits for an answer.
 *
 * The step sends the arguments `InputDataUri` (the versioned dataset), `OutputUri` (where the model must be written,
 * `<models zone>/pipelines/<pipeline>/artifacts/<execution id>`) and `CodeVersion`; the trainer answers with
 * `SendPipelineExecutionStepSuccess` and the output parameters `ModelArtifacts` (S3 URI of `model.tar.gz`) and
 * `JobName`, or with `SendPipelineExecutionStepFailure`. `KubeflowJobLauncher` is one (PyTorchJobs on EKS).
 */
export interface ICallbackTrainer {
  /** URL of the SQS queue the Callback step sends to. */
  readonly callbackQueueUrl: string;
  /** A short description for the pipeline's description, e.g. `Kubeflow PyTorchJob on <cluster>`. */
  readonly trainerDescription: string;
  /** Lets `grantee` (the pipeline's execution role) send Callback-step messages to the queue. */
  grantSendMessages(grantee: iam.IGrantable): iam.Grant;
}
