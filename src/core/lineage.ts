import { Tags, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { MlPlatformContext } from './context';
import { mlError } from './errors';

/** Cost-allocation tag naming the platform component a resource belongs to. */
export const COMPONENT_TAG = 'ml-platform:component';
/** Lineage tag carrying the code version from context `cdk-ml-platform:codeVersion`. */
export const CODE_VERSION_TAG = 'ml-platform:code-version';

/**
 * Resource types whose `Tags` can only be set at creation: a changed tag value replaces the resource.
 * The code-version tag changes with every commit, so it is never put on these (a named resource
 * cannot even be replaced).
 */
export const CREATE_ONLY_TAG_TYPES = ['AWS::SageMaker::FeatureGroup'];

/**
 * Resource types that aws-cdk-lib can tag but whose CloudFormation schema (as cfn-lint ships it) has no
 * `Tags` property: our lineage tags stay off them so templates stay lint-clean.
 */
export const UNTAGGABLE_TYPES = ['AWS::ApplicationAutoScaling::ScalableTarget', 'AWS::CloudWatch::Dashboard'];

/** Characters AWS allows in tag values (the common subset across services), at most 256 of them. */
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

/**
 * The code version from context `cdk-ml-platform:codeVersion`, or undefined when unset.
 *
 * Throws a coded error when the value cannot be a tag value.
 */
export function codeVersion(scope: IConstruct): string | undefined {
  const value = scope.node.tryGetContext(MlPlatformContext.CODE_VERSION);
  if (value === undefined || value === null || value === '') { return undefined; }
  const text = String(value);
  if (!Token.isUnresolved(text) && !TAG_VALUE.test(text)) {
    throw mlError(scope, 'Lineage', {
      code: 'InvalidCodeVersion',
      what: `context '${MlPlatformContext.CODE_VERSION}' must be a valid AWS tag value`,
      got: text,
      fix: 'use at most 256 letters, digits, spaces and _ . : / = + - @ (a git SHA or release tag fits)',
    });
  }
  return text;
}

/**
 * Tags everything under `scope` with `ml-platform:component = <component>` and, when the context
 * key `cdk-ml-platform:codeVersion` is set, `ml-platform:code-version = <version>` (except on resource
 * types whose tags are create-only, see {@link CREATE_ONLY_TAG_TYPES}).
 *
 * Users add their own tags with `Tags.of(scope)`; these two are the only ones the library adds.
 */
export function applyLineageTags(scope: IConstruct, component: string): void {
  Tags.of(scope).add(COMPONENT_TAG, component, { excludeResourceTypes: UNTAGGABLE_TYPES });
  const version = codeVersion(scope);
  if (version !== undefined) {
    Tags.of(scope).add(CODE_VERSION_TAG, version, { excludeResourceTypes: [...CREATE_ONLY_TAG_TYPES, ...UNTAGGABLE_TYPES] });
  }
}
