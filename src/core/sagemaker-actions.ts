// IAM action sets shared by the constructs' grant methods and by Personas' name-scoped grants, so a grant and its
// platform-wide twin cannot drift apart.

/** Reading a pipeline and its executions (GpuTrainingPipeline.grantRead). */
export const PIPELINE_READ_ACTIONS = ['sagemaker:DescribePipeline', 'sagemaker:DescribePipelineDefinitionForExecution', 'sagemaker:ListPipelineExecutions',
  'sagemaker:DescribePipelineExecution', 'sagemaker:ListPipelineExecutionSteps', 'sagemaker:ListPipelineParametersForExecution'];

/** Starting, stopping and following a pipeline's executions (GpuTrainingPipeline.grantStartExecution). */
export const PIPELINE_RUN_ACTIONS = ['sagemaker:StartPipelineExecution', 'sagemaker:DescribePipeline', 'sagemaker:ListPipelineExecutions',
  'sagemaker:DescribePipelineExecution', 'sagemaker:ListPipelineExecutionSteps', 'sagemaker:StopPipelineExecution'];

/** Reading a model package group and its versions (ModelRegistry.grantRead). */
export const REGISTRY_READ_ACTIONS = ['sagemaker:DescribeModelPackageGroup', 'sagemaker:ListModelPackages', 'sagemaker:DescribeModelPackage'];
