import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * A container image for training, evaluation or inference.
 *
 * Pin images by digest (`…@sha256:…`) or an immutable tag: the image is part of every model's lineage.
 */
export class TrainingImage {
  /**
   * An image by URI, e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2`.
   * The execution role gets ECR pull permissions only for images of `fromEcrRepository`.
   */
  public static fromUri(imageUri: string): TrainingImage {
    return new TrainingImage(imageUri);
  }

  /** An image in an ECR repository, by tag or digest (`sha256:…`); the execution role may pull it. */
  public static fromEcrRepository(repository: ecr.IRepository, tagOrDigest: string): TrainingImage {
    return new TrainingImage(repository.repositoryUriForTagOrDigest(tagOrDigest), repository);
  }

  /** The image URI. */
  public readonly imageUri: string;
  private readonly repository?: ecr.IRepository;

  private constructor(imageUri: string, repository?: ecr.IRepository) {
    this.imageUri = imageUri;
    this.repository = repository;
  }

  /** Lets `grantee` pull the image (for ECR repositories); does nothing for a plain URI. */
  public grantPull(grantee: iam.IGrantable): void {
    this.repository?.grantPull(grantee);
  }
}
