import { Aws, CfnMapping, Stack, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * AWS accounts that host SageMaker Model Monitor's built-in analyzer image (`sagemaker-model-monitor-analyzer`)
 * per Region.
 *
 * Source: the SageMaker Python SDK's `src/sagemaker/image_uri_config/model-monitor.json` (registries of version
 * "1"), the same table `sagemaker.image_uris.retrieve("model-monitor", region)` reads, and the SageMaker Developer
 * Guide "Amazon SageMaker Model Monitor prebuilt container". Checked 2026-11-30. A Region missing here fails at
 * synth with a clear error; pass `analyzerImageUri` to use it anyway.
 */
export const MODEL_MONITOR_ANALYZER_ACCOUNTS: { readonly [region: string]: string } = Object.freeze({
  'ap-east-1': '001633400207',
  'ap-northeast-1': '574779866223',
  'ap-northeast-2': '709848358524',
  'ap-south-1': '126357580389',
  'ap-southeast-1': '245545462676',
  'ap-southeast-2': '563025443158',
  'ca-central-1': '536280801234',
  'cn-north-1': '453000072557',
  'cn-northwest-1': '453252182341',
  'eu-central-1': '048819808253',
  'eu-north-1': '895015795356',
  'eu-west-1': '468650794304',
  'eu-west-2': '749857270468',
  'eu-west-3': '680080141114',
  'me-south-1': '607024016150',
  'sa-east-1': '539772159869',
  'us-east-1': '156813124566',
  'us-east-2': '777275614652',
  'us-west-1': '890145073186',
  'us-west-2': '159807026194',
});

/** The analyzer image's repository name. */
export const MODEL_MONITOR_ANALYZER_REPOSITORY = 'sagemaker-model-monitor-analyzer';

/**
 * The analyzer image URI for the stack's Region: a literal when the Region is known at synth, otherwise a
 * CloudFormation mapping looked up by `AWS::Region` (environment-agnostic stacks). Undefined when the Region
 * is known and not in the table.
 */
export function modelMonitorAnalyzerImage(scope: IConstruct): string | undefined {
  const stack = Stack.of(scope);
  const region = stack.region;
  if (!Token.isUnresolved(region)) {
    const account = MODEL_MONITOR_ANALYZER_ACCOUNTS[region];
    if (!account) { return undefined; }
    const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    return `${account}.dkr.ecr.${region}.${suffix}/${MODEL_MONITOR_ANALYZER_REPOSITORY}`;
  }
  const id = 'CdkMlPlatformModelMonitorAnalyzer';
  const mapping = (stack.node.tryFindChild(id) as CfnMapping | undefined) ?? new CfnMapping(stack, id, {
    mapping: Object.fromEntries(Object.entries(MODEL_MONITOR_ANALYZER_ACCOUNTS).map(([r, a]) => [r, { account: a }])),
  });
  return `${mapping.findInMap(Aws.REGION, 'account')}.dkr.ecr.${Aws.REGION}.${Aws.URL_SUFFIX}/${MODEL_MONITOR_ANALYZER_REPOSITORY}`;
}
