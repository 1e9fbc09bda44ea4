// Custom resource handler: resolves the newest approved model package of a registry's group at deploy
// time, for ModelSource.fromLatestApproved. Later promotions are done by the continuous-training loop.
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { findChampion } from '../training/compare-with-champion.lambda';

/** The subset of the CloudFormation custom resource event this handler reads. */
export interface LatestApprovedEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: { readonly ModelPackageGroupName: string };
}

/** Finds the newest approved package of `group`; fails with the fix when there is none. */
export async function latestApproved(group: string, sagemaker: SageMakerClient): Promise<string> {
  const champion = await findChampion(group, { sagemaker, s3: undefined as unknown as S3Client });
  if (!champion?.ModelPackageArn) {
    throw new Error(`No approved model package in model package group ${group}: train and approve one first ` +
      '(GpuTrainingPipeline registers better models), or deploy an image with ModelSource.fromImage');
  }
  return champion.ModelPackageArn;
}

let client: SageMakerClient | undefined;

/** Provider-framework onEvent handler. */
export async function handler(event: LatestApprovedEvent) {
  if (event.RequestType === 'Delete') {
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  client ??= new SageMakerClient({});
  const arn = await latestApproved(event.ResourceProperties.ModelPackageGroupName, client);
  return { PhysicalResourceId: arn, Data: { ModelPackageArn: arn } };
}
