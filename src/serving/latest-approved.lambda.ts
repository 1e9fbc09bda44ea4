// Custom resource handler: resolves the newest approved model package of a registry's group at deploy
// time, for ModelSource.fromLatestApproved, and reads the lineage of that package (or of the fixed package of
// ModelSource.fromModelPackage): its inference image and data version, as tag values for the model and endpoint
// config. Later promotions are done by the continuous-training loop.
import { S3Client } from '@aws-sdk/client-s3';
import { DescribeModelPackageCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { fullJitterBackoff, retryThrottled } from '../core/aws-retry';
import { PackageLineage, UNKNOWN_LINEAGE, lineageOf } from '../core/lineage-keys';
import { findChampion } from '../training/compare-with-champion.lambda';

/** The custom resource's properties: a group (newest approved package) or one package. */
export interface LatestApprovedProperties {
  /** Resolve the newest approved package of this group. */
  readonly ModelPackageGroupName?: string;
  /** Describe this package (ModelSource.fromModelPackage). */
  readonly ModelPackageArn?: string;
}

/** The subset of the CloudFormation custom resource event this handler reads. */
export interface LatestApprovedEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: LatestApprovedProperties;
  readonly OldResourceProperties?: LatestApprovedProperties;
}

/** What the custom resource returns (`Fn::GetAtt` names): see core/lineage-keys.ts. */
export { lineageOf } from '../core/lineage-keys';
export type { PackageLineage } from '../core/lineage-keys';

/** Lineage value when a package does not record it. */
export const UNKNOWN = UNKNOWN_LINEAGE;

/** Finds the newest approved package of `group`; fails with the fix when there is none. */
export async function latestApproved(group: string, sagemaker: SageMakerClient): Promise<string> {
  const champion = await findChampion(group, { sagemaker, s3: undefined as unknown as S3Client });
  if (!champion?.ModelPackageArn) {
    throw new Error(`No approved model package in model package group ${group}: train and approve one first ` +
      '(GpuTrainingPipeline registers better models), or deploy an image with ModelSource.fromImage');
  }
  return champion.ModelPackageArn;
}

/** Describes `arn` and returns its lineage. */
export async function packageLineage(arn: string, sagemaker: SageMakerClient): Promise<PackageLineage> {
  const pkg = await retryThrottled(`DescribeModelPackage(${arn})`,
    () => sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn })), { maxAttempts: 5, backoff: a => fullJitterBackoff(a) });
  return lineageOf(pkg.ModelPackageArn ?? arn, pkg);
}

/**
 * The package a Create or Update serves: the fixed one; else, on an Update that keeps the group, the one resolved
 * before (an update of the resource, e.g. for new attributes, never moves the endpoint to a newer package: the
 * continuous-training loop promotes); else the newest approved package of the group.
 */
export async function resolvePackage(event: LatestApprovedEvent, sagemaker: SageMakerClient): Promise<string> {
  const props = event.ResourceProperties;
  if (props.ModelPackageArn) { return props.ModelPackageArn; }
  const group = props.ModelPackageGroupName;
  if (!group) { throw new Error('Custom::LatestApprovedModelPackage needs ModelPackageGroupName or ModelPackageArn'); }
  if (event.RequestType === 'Update' && event.OldResourceProperties?.ModelPackageGroupName === group
    && event.PhysicalResourceId?.startsWith('arn:') && event.PhysicalResourceId.includes(':model-package/')) {
    return event.PhysicalResourceId;
  }
  return latestApproved(group, sagemaker);
}

/** Answers one custom resource event with `sagemaker`. */
export async function onEvent(event: LatestApprovedEvent, sagemaker: SageMakerClient) {
  if (event.RequestType === 'Delete') {
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  const arn = await resolvePackage(event, sagemaker);
  const lineage = await packageLineage(arn, sagemaker);
  return { PhysicalResourceId: arn, Data: { ...lineage, ModelPackageArn: arn } };
}

let client: SageMakerClient | undefined;

/** Provider-framework onEvent handler. */
export async function handler(event: LatestApprovedEvent) {
  client ??= new SageMakerClient({});
  return onEvent(event, client);
}
