import { IModelRegistry } from '../registry/model-registry';
import { TrainingImage } from '../training/training-image';

/**
 * What a ModelEndpoint serves (replaces a `packageArn | registry | image` union).
 */
export class ModelSource {
  /** A registered model package version, by ARN. */
  public static fromModelPackage(modelPackageArn: string): ModelSource {
    return new ModelSource('package', modelPackageArn);
  }

  /**
   * The newest approved model package of a registry, resolved at the first deployment (the custom resource
   * runs again only when the group changes). Later approvals are promoted by the continuous-training loop.
   */
  public static fromLatestApproved(registry: IModelRegistry): ModelSource {
    return new ModelSource('registry', undefined, registry);
  }

  /**
   * A container image, optionally with model artifacts (`s3://…/model.tar.gz`) in the lake's `models` zone.
   */
  public static fromImage(image: TrainingImage, modelDataUrl?: string): ModelSource {
    return new ModelSource('image', undefined, undefined, image, modelDataUrl);
  }

  /** `package`, `registry` or `image`. */
  public readonly kind: string;
  /**
   * The model package ARN.
   * @default - not a package source
   */
  public readonly modelPackageArn?: string;
  /**
   * The registry.
   * @default - not a registry source
   */
  public readonly registry?: IModelRegistry;
  /**
   * The image.
   * @default - not an image source
   */
  public readonly image?: TrainingImage;
  /**
   * Model artifacts.
   * @default - none (the image holds the model)
   */
  public readonly modelDataUrl?: string;

  private constructor(kind: string, modelPackageArn?: string, registry?: IModelRegistry, image?: TrainingImage, modelDataUrl?: string) {
    this.kind = kind;
    this.modelPackageArn = modelPackageArn;
    this.registry = registry;
    this.image = image;
    this.modelDataUrl = modelDataUrl;
  }
}
