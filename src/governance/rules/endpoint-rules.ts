import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { allResources, findAncestorValue, isSet, isTrue, literalString, propertiesOf, resolveReference } from './rule-support';
import { captureRequirementsOf } from '../../core/capture-requirements';
import { hasInstanceStorage } from '../../core/gpu-catalog';

const ENDPOINT_CONFIG = 'AWS::SageMaker::EndpointConfig';
const ENDPOINT = 'AWS::SageMaker::Endpoint';

/**
 * MlOps-SM1: an endpoint config encrypts its ML storage volumes with a customer managed KMS key.
 *
 * Instance-store aware: SageMaker rejects `KmsKeyId` when a variant runs on an instance type with local NVMe storage
 * (it encrypts those volumes in hardware) and on serverless variants, so such configs comply without a key. A config
 * that mixes such variants with EBS-backed ones has EBS volumes SageMaker cannot encrypt with a CMK: non-compliant.
 */
export function endpointConfigKms(node: CfnResource): NagRuleResult {
  if (node.cfnResourceType !== ENDPOINT_CONFIG) { return NagRuleCompliance.NOT_APPLICABLE; }
  const props = propertiesOf(node);
  if (isSet(props.KmsKeyId)) { return NagRuleCompliance.COMPLIANT; }
  const variants: any[] = Array.isArray(props.ProductionVariants) ? props.ProductionVariants : [];
  if (variants.length === 0) { return NagRuleCompliance.NON_COMPLIANT; }
  const exempt = variants.every(v => {
    if (v?.ServerlessConfig !== undefined) { return true; }
    const type = literalString(v?.InstanceType);
    if (type === undefined) {
      throw new Error('a production variant\'s InstanceType is not a literal, so its storage kind cannot be checked');
    }
    return hasInstanceStorage(type);
  });
  return exempt ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}

/**
 * MlOps-SM2: inference data an endpoint writes to S3 (data capture, asynchronous inference output) is encrypted
 * with a customer managed KMS key.
 */
export function inferenceDataKms(node: CfnResource): NagRuleResult {
  if (node.cfnResourceType !== ENDPOINT_CONFIG) { return NagRuleCompliance.NOT_APPLICABLE; }
  const props = propertiesOf(node);
  const findings: string[] = [];
  const capture = props.DataCaptureConfig;
  if (capture !== undefined && capture.EnableCapture !== false && capture.EnableCapture !== 'false' && !isSet(capture.KmsKeyId)) {
    findings.push('DataCaptureConfig.KmsKeyId');
  }
  const asyncOutput = props.AsyncInferenceConfig?.OutputConfig;
  if (asyncOutput !== undefined && !isSet(asyncOutput.KmsKeyId)) {
    findings.push('AsyncInferenceConfig.OutputConfig.KmsKeyId');
  }
  if (capture === undefined && props.AsyncInferenceConfig === undefined) { return NagRuleCompliance.NOT_APPLICABLE; }
  return findings.length > 0 ? findings : NagRuleCompliance.COMPLIANT;
}

/**
 * MlOps-SM3: an endpoint deploys new configs with guardrails (blue/green or rolling) that roll back on their own
 * when a CloudWatch alarm fires. Every endpoint counts as production; acknowledge the rule on a development endpoint.
 */
export function endpointGuardrails(node: CfnResource): NagRuleResult {
  if (node.cfnResourceType !== ENDPOINT) { return NagRuleCompliance.NOT_APPLICABLE; }
  const config = propertiesOf(node).DeploymentConfig;
  const findings: string[] = [];
  if (config?.BlueGreenUpdatePolicy === undefined && config?.RollingUpdatePolicy === undefined) {
    findings.push('DeploymentConfig.UpdatePolicy');
  }
  const alarms = config?.AutoRollbackConfiguration?.Alarms;
  if (!Array.isArray(alarms) || alarms.length === 0) {
    findings.push('DeploymentConfig.AutoRollbackConfiguration.Alarms');
  }
  return findings.length > 0 ? findings : NagRuleCompliance.COMPLIANT;
}

/**
 * MlOps-SM4: an endpoint whose capture a monitor reads (a DriftMonitor or PredictionHealthMonitor of this library,
 * or a SageMaker Model Monitor schedule or job definition in the app) captures what the monitor needs: capture on,
 * a sampling percentage above 0 and the required capture modes (inputs for drift, outputs for prediction health).
 */
export function monitoredEndpointCapture(node: CfnResource): NagRuleResult {
  if (node.cfnResourceType !== ENDPOINT_CONFIG) { return NagRuleCompliance.NOT_APPLICABLE; }
  const needed = requiredModes(node);
  if (needed.size === 0) { return NagRuleCompliance.NOT_APPLICABLE; }
  const capture = propertiesOf(node).DataCaptureConfig;
  if (capture === undefined || capture.EnableCapture === false || capture.EnableCapture === 'false') {
    return ['DataCaptureConfig.EnableCapture'];
  }
  const findings: string[] = [];
  const sampling = Number(capture.InitialSamplingPercentage);
  if (isSet(capture.InitialSamplingPercentage) && typeof capture.InitialSamplingPercentage !== 'object' && !(sampling > 0)) {
    findings.push('DataCaptureConfig.InitialSamplingPercentage');
  }
  const modes = new Set((Array.isArray(capture.CaptureOptions) ? capture.CaptureOptions : []).map((o: any) => o?.CaptureMode));
  for (const mode of needed) {
    if (!modes.has(mode)) { findings.push(`DataCaptureConfig.CaptureOptions.${mode}`); }
  }
  return findings.length > 0 ? findings : NagRuleCompliance.COMPLIANT;
}

/** Capture modes the monitors of this endpoint config need. */
function requiredModes(config: CfnResource): Set<string> {
  const modes = new Set<string>();
  // Monitors of this library record their requirement on the construct that owns the endpoint config.
  findAncestorValue(config, scope => {
    for (const r of captureRequirementsOf(scope)) { r.modes.forEach(m => modes.add(m)); }
    return undefined;
  });
  // SageMaker Model Monitor resources name the endpoint; find the endpoints that use this config.
  const endpoints = allResources(config.node.root).filter(r => r.cfnResourceType === ENDPOINT
    && resolveReference(r, propertiesOf(r).EndpointConfigName, ENDPOINT_CONFIG, 'EndpointConfigName') === config);
  if (endpoints.length === 0) { return modes; }
  for (const monitor of allResources(config.node.root)) {
    const input = monitoredEndpointInput(monitor);
    if (input === undefined) { continue; }
    const watched = resolveReference(monitor, input.endpointName, ENDPOINT, 'EndpointName');
    if (watched && endpoints.includes(watched)) { input.modes.forEach(m => modes.add(m)); }
  }
  return modes;
}

/** The endpoint a Model Monitor resource reads and the capture modes its kind needs. */
function monitoredEndpointInput(node: CfnResource): { endpointName: unknown; modes: string[] } | undefined {
  const props = propertiesOf(node);
  switch (node.cfnResourceType) {
    case 'AWS::SageMaker::DataQualityJobDefinition':
      return withEndpoint(props.DataQualityJobInput?.EndpointInput?.EndpointName, ['Input']);
    case 'AWS::SageMaker::ModelQualityJobDefinition':
      return withEndpoint(props.ModelQualityJobInput?.EndpointInput?.EndpointName, ['Input', 'Output']);
    case 'AWS::SageMaker::ModelBiasJobDefinition':
      return withEndpoint(props.ModelBiasJobInput?.EndpointInput?.EndpointName, ['Input', 'Output']);
    case 'AWS::SageMaker::ModelExplainabilityJobDefinition':
      return withEndpoint(props.ModelExplainabilityJobInput?.EndpointInput?.EndpointName, ['Input']);
    case 'AWS::SageMaker::MonitoringSchedule': {
      const config = props.MonitoringScheduleConfig ?? {};
      const inline = config.MonitoringJobDefinition?.MonitoringInputs?.[0]?.EndpointInput?.EndpointName;
      const type = config.MonitoringType ?? 'DataQuality';
      const modes = type === 'ModelQuality' || type === 'ModelBias' ? ['Input', 'Output'] : ['Input'];
      return withEndpoint(inline ?? props.EndpointName, modes);
    }
    default:
      return undefined;
  }
}

function withEndpoint(endpointName: unknown, modes: string[]): { endpointName: unknown; modes: string[] } | undefined {
  return endpointName === undefined ? undefined : { endpointName, modes };
}

/**
 * MlOps-SM5: a model's containers cannot reach the internet: network isolation on, or the model runs in a VPC.
 */
export function modelNetworkIsolation(node: CfnResource): NagRuleResult {
  if (node.cfnResourceType !== 'AWS::SageMaker::Model') { return NagRuleCompliance.NOT_APPLICABLE; }
  const props = propertiesOf(node);
  return isTrue(props.EnableNetworkIsolation) || props.VpcConfig !== undefined ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
