// Lineage tag keys and the lineage of a model package, shared by constructs (synth time) and Lambda handlers
// (deploy time): no aws-cdk-lib import, so bundling a handler does not pull in the CDK.
import { sanitizeTagValue } from './tag-value';

/** Cost-allocation tag naming the platform component a resource belongs to. */
export const COMPONENT_TAG = 'ml-platform:component';
/**
 * Lineage tag carrying the code version: context `cdk-ml-platform:codeVersion`, else the git commit of the
 * directory `cdk synth` runs in (see `codeVersion` in core/lineage.ts).
 */
export const CODE_VERSION_TAG = 'ml-platform:code-version';
/** Lineage tag carrying the container image a model serves or a training job runs. */
export const IMAGE_TAG = 'ml-platform:image';
/**
 * Lineage tag carrying the version of the data a model was trained on: the dataset manifest's SHA-256 for models
 * a GpuTrainingPipeline registered, the model data URL (or its `sha256:` digest) for image models, `unknown` when
 * nothing records it (an image with the model baked in, a package without lineage metadata).
 */
export const DATA_VERSION_TAG = 'ml-platform:data-version';
/** Lineage tag carrying the ARN of the model package a model serves. */
export const MODEL_PACKAGE_TAG = 'ml-platform:model-package';

/** Tag value for lineage values that are known neither at synth nor at deploy time. */
export const UNKNOWN_LINEAGE = 'unknown';

/** What a model package records about where it came from, as tag values. */
export interface PackageLineage {
  /** The package ARN. */
  readonly ModelPackageArn: string;
  /** The first inference container's image, as a tag value (`unknown` when the package names none). */
  readonly Image: string;
  /**
   * The data version, as a tag value: the package metadata `data_version`, else `dataset_manifest_sha256` (what
   * GpuTrainingPipeline writes), else `unknown`.
   */
  readonly DataVersion: string;
}

/** The parts of a DescribeModelPackage answer the lineage comes from. */
export interface DescribedPackage {
  readonly InferenceSpecification?: { readonly Containers?: ReadonlyArray<{ readonly Image?: string }> };
  readonly CustomerMetadataProperties?: Record<string, string>;
}

/** The lineage of a described package, sanitized to tag values (at most 256 characters of the tag charset). */
export function lineageOf(arn: string, pkg: DescribedPackage): PackageLineage {
  const metadata = pkg.CustomerMetadataProperties ?? {};
  const image = pkg.InferenceSpecification?.Containers?.[0]?.Image || metadata.inference_image;
  const data = metadata.data_version || metadata.dataset_manifest_sha256;
  return {
    ModelPackageArn: arn,
    Image: image ? sanitizeTagValue(image) : UNKNOWN_LINEAGE,
    DataVersion: data ? sanitizeTagValue(data) : UNKNOWN_LINEAGE,
  };
}
