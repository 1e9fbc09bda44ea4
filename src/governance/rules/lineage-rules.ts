import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { isSet, tagsOf } from './rule-support';
import { CODE_VERSION_TAG, DATA_VERSION_TAG, IMAGE_TAG } from '../../core/lineage';

/** Lineage tags each resource type must carry. */
const REQUIRED_TAGS: Record<string, string[]> = {
  'AWS::SageMaker::Model': [CODE_VERSION_TAG, IMAGE_TAG, DATA_VERSION_TAG],
  'AWS::SageMaker::EndpointConfig': [CODE_VERSION_TAG, IMAGE_TAG, DATA_VERSION_TAG],
  'AWS::SageMaker::Pipeline': [CODE_VERSION_TAG],
};

/**
 * MlOps-LN1: every model and endpoint config carries its lineage as tags (code version, container image, data
 * version) and every pipeline its code version (each run's jobs and model package record the rest), so the
 * inventory can answer "which code, image and data made what is serving". The code version comes from context
 * `cdk-ml-platform:codeVersion` or, failing that, the git commit at synth.
 */
export function lineageTags(node: CfnResource): NagRuleResult {
  const required = REQUIRED_TAGS[node.cfnResourceType];
  if (required === undefined) { return NagRuleCompliance.NOT_APPLICABLE; }
  const tags = tagsOf(node);
  const missing = required.filter(key => !isSet(tags.get(key)));
  return missing.length > 0 ? missing.map(k => `Tag::${k}`) : NagRuleCompliance.COMPLIANT;
}
