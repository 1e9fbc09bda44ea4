// The Callback step contract between GpuTrainingPipeline and its ICallbackTrainer (internal: not exported from the index).

/** Names of the Callback step's arguments and outputs: the contract between the pipeline and its trainer. */
export const CALLBACK_ARGUMENTS = { INPUT: 'InputDataUri', OUTPUT: 'OutputUri', CODE_VERSION: 'CodeVersion' } as const;
/** Output parameters a callback trainer answers with. */
export const CALLBACK_OUTPUTS = { MODEL_ARTIFACTS: 'ModelArtifacts', JOB_NAME: 'JobName' } as const;
