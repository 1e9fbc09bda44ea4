/**
 * Dated us-east-1 on-demand price table behind `CostReport`.
 *
 * ESTIMATES ONLY. Public list prices (USD, Linux, on-demand, no Savings Plans, Reserved Instances, Spot,
 * free tiers or enterprise discounts) for the US East (N. Virginia) region, compiled for {@link PRICES_AS_OF}.
 * Prices change: verify against the sources below (or the AWS Price List API) before relying on a figure,
 * and update the date when the table is refreshed.
 *
 * Types without a price here are never priced at 0: the cost report lists them as unknown.
 * Families left out on purpose: P4d/P4de/P5/P5e/P5en (repriced by AWS in June 2025, figures not confirmed
 * here) and SageMaker hosting of G6/G6e/Trainium/Inferentia2.
 *
 * Internal module: the public face is `CostReport`.
 */

/** Month the prices were compiled for (`YYYY-MM`). */
export const PRICES_AS_OF = '2026-11';

/** Region the prices apply to. */
export const PRICE_REGION = 'us-east-1';

/** Hours in the AWS billing month used for monthly figures (AWS pricing pages use 730). */
export const HOURS_PER_MONTH = 730;

/**
 * EC2 on-demand Linux, USD per instance-hour.
 * Source: https://aws.amazon.com/ec2/pricing/on-demand/ and the per-family pages
 * (https://aws.amazon.com/ec2/instance-types/g5/, .../g6/, .../g6e/, .../g4/, .../trn1/, .../inf2/).
 */
export const EC2_HOURLY_USD: Readonly<Record<string, number>> = {
  // NVIDIA T4 (g4dn)
  'g4dn.xlarge': 0.526,
  'g4dn.2xlarge': 0.752,
  'g4dn.4xlarge': 1.204,
  'g4dn.8xlarge': 2.176,
  'g4dn.12xlarge': 3.912,
  'g4dn.16xlarge': 4.352,
  'g4dn.metal': 7.824,
  // NVIDIA A10G (g5)
  'g5.xlarge': 1.006,
  'g5.2xlarge': 1.212,
  'g5.4xlarge': 1.624,
  'g5.8xlarge': 2.448,
  'g5.12xlarge': 5.672,
  'g5.16xlarge': 4.096,
  'g5.24xlarge': 8.144,
  'g5.48xlarge': 16.288,
  // NVIDIA T4G (g5g, Graviton)
  'g5g.xlarge': 0.42,
  'g5g.2xlarge': 0.556,
  'g5g.4xlarge': 0.828,
  'g5g.8xlarge': 1.372,
  'g5g.16xlarge': 2.744,
  'g5g.metal': 2.744,
  // NVIDIA L4 (g6)
  'g6.xlarge': 0.8048,
  'g6.2xlarge': 0.9776,
  'g6.4xlarge': 1.3232,
  'g6.8xlarge': 2.0144,
  'g6.12xlarge': 4.6016,
  'g6.16xlarge': 3.3968,
  'g6.24xlarge': 6.6752,
  'g6.48xlarge': 13.3504,
  // NVIDIA L40S (g6e)
  'g6e.xlarge': 1.861,
  'g6e.2xlarge': 2.24208,
  'g6e.4xlarge': 3.00424,
  'g6e.8xlarge': 4.52856,
  'g6e.12xlarge': 10.49264,
  'g6e.16xlarge': 7.57719,
  'g6e.24xlarge': 15.06559,
  'g6e.48xlarge': 30.13118,
  // NVIDIA V100 (p3, p3dn)
  'p3.2xlarge': 3.06,
  'p3.8xlarge': 12.24,
  'p3.16xlarge': 24.48,
  'p3dn.24xlarge': 31.212,
  // AWS Trainium / Inferentia2
  'trn1.2xlarge': 1.34375,
  'trn1.32xlarge': 21.5,
  'trn1n.32xlarge': 24.78,
  'inf2.xlarge': 0.7582,
  'inf2.8xlarge': 1.9679,
  'inf2.24xlarge': 6.4906,
  'inf2.48xlarge': 12.9813,
  // CPU (system node groups, EKS default t3.medium)
  't3.medium': 0.0416,
  't3.large': 0.0832,
  'm5.large': 0.096,
  'm5.xlarge': 0.192,
  'm5.2xlarge': 0.384,
  'm6i.large': 0.096,
  'm6i.xlarge': 0.192,
  'm6i.2xlarge': 0.384,
  'c5.large': 0.085,
  'c5.xlarge': 0.17,
  'c6i.large': 0.085,
  'c6i.xlarge': 0.17,
};

/**
 * SageMaker real-time inference (hosting), USD per instance-hour. Training and processing instance-hours
 * are priced differently and are not in this table.
 * Source: https://aws.amazon.com/sagemaker/pricing/ ("On-Demand Pricing" → "Real-Time Inference").
 */
export const SAGEMAKER_HOSTING_HOURLY_USD: Readonly<Record<string, number>> = {
  'ml.g4dn.xlarge': 0.736,
  'ml.g4dn.2xlarge': 0.94,
  'ml.g4dn.4xlarge': 1.505,
  'ml.g4dn.8xlarge': 2.72,
  'ml.g4dn.12xlarge': 4.89,
  'ml.g4dn.16xlarge': 5.44,
  'ml.g5.xlarge': 1.408,
  'ml.g5.2xlarge': 1.515,
  'ml.g5.4xlarge': 2.03,
  'ml.g5.8xlarge': 3.06,
  'ml.g5.12xlarge': 7.09,
  'ml.g5.16xlarge': 5.12,
  'ml.g5.24xlarge': 10.18,
  'ml.g5.48xlarge': 20.36,
  'ml.p3.2xlarge': 3.825,
  'ml.p3.8xlarge': 14.688,
  'ml.p3.16xlarge': 28.152,
  'ml.t2.medium': 0.056,
  'ml.m5.large': 0.115,
  'ml.m5.xlarge': 0.23,
  'ml.m5.2xlarge': 0.461,
  'ml.m5.4xlarge': 0.922,
  'ml.c5.large': 0.102,
  'ml.c5.xlarge': 0.204,
  'ml.c5.2xlarge': 0.408,
};

/**
 * Fixed per-resource prices.
 * Sources: EKS https://aws.amazon.com/eks/pricing/ (standard support; extended support is $0.60/h);
 * VPC https://aws.amazon.com/vpc/pricing/ (NAT gateway hour, public IPv4 address hour; data processed is extra);
 * PrivateLink https://aws.amazon.com/privatelink/pricing/ (interface endpoint per AZ-hour; data processed is extra);
 * KMS https://aws.amazon.com/kms/pricing/ (customer managed key-month; requests extra);
 * CloudWatch https://aws.amazon.com/cloudwatch/pricing/ (standard-resolution metric alarm per metric-month,
 * high-resolution $0.30, composite $0.50, dashboard-month; the account's first 10 alarms and 3 dashboards are free
 * and not deducted here); DynamoDB https://aws.amazon.com/dynamodb/pricing/provisioned/ (RCU/WCU-hours;
 * on-demand tables cost nothing idle; storage depends on data).
 */
export const FIXED_PRICES_USD = {
  eksControlPlaneHourly: 0.1,
  natGatewayHourly: 0.045,
  publicIpv4Hourly: 0.005,
  interfaceEndpointAzHourly: 0.01,
  kmsKeyMonthly: 1,
  alarmStandardMetricMonthly: 0.1,
  alarmHighResolutionMetricMonthly: 0.3,
  compositeAlarmMonthly: 0.5,
  dashboardMonthly: 3,
  dynamoDbRcuHourly: 0.00013,
  dynamoDbWcuHourly: 0.00065,
} as const;

/**
 * Resource types that cost nothing while idle (pay per request, per run or per stored byte).
 * S3 and log storage depend on the data kept, which synthesis cannot know.
 */
export const ZERO_IDLE_RESOURCE_TYPES: readonly string[] = [
  'AWS::S3::Bucket', 'AWS::Lambda::Function', 'AWS::StepFunctions::StateMachine', 'AWS::Events::Rule',
  'AWS::SNS::Topic', 'AWS::SQS::Queue', 'AWS::Logs::LogGroup', 'AWS::SageMaker::Pipeline', 'AWS::SageMaker::Model',
  'AWS::SageMaker::ModelPackageGroup', 'AWS::SageMaker::FeatureGroup', 'AWS::Glue::Database', 'AWS::Glue::Table',
];

/** EC2 on-demand price per hour, or undefined when the type is not in the table. */
export function ec2HourlyUsd(instanceType: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(EC2_HOURLY_USD, instanceType) ? EC2_HOURLY_USD[instanceType] : undefined;
}

/** SageMaker hosting price per hour for an `ml.*` type, or undefined when the type is not in the table. */
export function sageMakerHostingHourlyUsd(instanceType: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(SAGEMAKER_HOSTING_HOURLY_USD, instanceType)
    ? SAGEMAKER_HOSTING_HOURLY_USD[instanceType] : undefined;
}
