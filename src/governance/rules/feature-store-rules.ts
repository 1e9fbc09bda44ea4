import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { isSet, isTrue, propertiesOf } from './rule-support';

const FEATURE_GROUP = 'AWS::SageMaker::FeatureGroup';

/** MlOps-FS1: a feature group's online store is encrypted with a customer managed KMS key. */
export function featureGroupOnlineKms(node: CfnResource): NagRuleResult {
  if (node.cfnResourceType !== FEATURE_GROUP) { return NagRuleCompliance.NOT_APPLICABLE; }
  const online = propertiesOf(node).OnlineStoreConfig;
  if (online === undefined || !isTrue(online.EnableOnlineStore)) { return NagRuleCompliance.NOT_APPLICABLE; }
  return isSet(online.SecurityConfig?.KmsKeyId) ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}

/** MlOps-FS2: a feature group's offline store (S3) is encrypted with a customer managed KMS key. */
export function featureGroupOfflineKms(node: CfnResource): NagRuleResult {
  if (node.cfnResourceType !== FEATURE_GROUP) { return NagRuleCompliance.NOT_APPLICABLE; }
  const offline = propertiesOf(node).OfflineStoreConfig;
  if (offline === undefined) { return NagRuleCompliance.NOT_APPLICABLE; }
  return isSet(offline.S3StorageConfig?.KmsKeyId) ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
