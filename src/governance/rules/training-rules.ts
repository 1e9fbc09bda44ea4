import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { isSet, isTrue, parseJsonDocument, propertiesOf } from './rule-support';
import { hasInstanceStorage } from '../../core/gpu-catalog';

const PIPELINE = 'AWS::SageMaker::Pipeline';

/** One job a SageMaker pipeline runs or a monitoring resource defines, reduced to what the rules check. */
interface JobSpec {
  /** Finding label: `<step name>` or the property path of a monitoring resource. */
  readonly label: string;
  readonly kind: 'Training' | 'Processing' | 'Transform' | 'Monitoring';
  readonly volumeKmsKeyId: unknown;
  readonly outputKmsKeyId: unknown;
  /** Whether the job writes outputs at all (a processing job may not). */
  readonly hasOutput: boolean;
  readonly networkIsolation: unknown;
  readonly interContainerEncryption: unknown;
  /** Instance type, when it is a literal (instance types with local NVMe storage take no volume key). */
  readonly instanceType: unknown;
  /** Instance count (inter-container traffic exists only with more than one instance). */
  readonly instanceCount: unknown;
}

/**
 * The pipeline definition of a `AWS::SageMaker::Pipeline`: the inline body, or, for a definition stored in S3, the
 * definition object a construct of this library keeps on itself (`GpuTrainingPipeline`). Throws for a definition
 * that cannot be read at synth (cdk-nag reports a rule that throws as a finding that can be acknowledged).
 */
export function pipelineDefinition(node: CfnResource): any {
  const definition = propertiesOf(node).PipelineDefinition ?? {};
  if (definition.PipelineDefinitionBody !== undefined) {
    const parsed = parseJsonDocument(definition.PipelineDefinitionBody);
    if (parsed === undefined) { throw new Error('the inline pipeline definition is not JSON'); }
    return parsed;
  }
  const owner = node.node.scope as unknown as { _definition?: unknown } | undefined;
  if (owner && typeof owner._definition === 'object' && owner._definition !== null) {
    return JSON.parse(JSON.stringify(owner._definition));
  }
  throw new Error('the pipeline definition is stored in S3 and was not built by cdk-ml-platform, so it cannot be checked at synth');
}

/** Every step of a pipeline definition, including those nested in condition branches. */
export function pipelineSteps(definition: any): any[] {
  const walk = (steps: unknown): any[] => (Array.isArray(steps) ? steps : []).flatMap((s: any) => s?.Type === 'Condition'
    ? [s, ...walk(s.Arguments?.IfSteps), ...walk(s.Arguments?.ElseSteps)]
    : [s]);
  return walk(definition?.Steps);
}

/** The jobs of a pipeline's steps or of a monitoring resource. */
function jobsOf(node: CfnResource): JobSpec[] | undefined {
  if (node.cfnResourceType === PIPELINE) {
    return pipelineSteps(pipelineDefinition(node)).flatMap(stepJobs);
  }
  const props = propertiesOf(node);
  const monitoring = (label: string, job: any): JobSpec => ({
    label,
    kind: 'Monitoring',
    volumeKmsKeyId: job?.JobResources?.ClusterConfig?.VolumeKmsKeyId,
    outputKmsKeyId: job?.MonitoringOutputConfig?.KmsKeyId,
    hasOutput: true,
    networkIsolation: job?.NetworkConfig?.EnableNetworkIsolation,
    interContainerEncryption: job?.NetworkConfig?.EnableInterContainerTrafficEncryption,
    instanceType: job?.JobResources?.ClusterConfig?.InstanceType,
    instanceCount: job?.JobResources?.ClusterConfig?.InstanceCount,
  });
  switch (node.cfnResourceType) {
    case 'AWS::SageMaker::DataQualityJobDefinition':
    case 'AWS::SageMaker::ModelQualityJobDefinition':
    case 'AWS::SageMaker::ModelBiasJobDefinition':
    case 'AWS::SageMaker::ModelExplainabilityJobDefinition':
      return [monitoring('JobDefinition', {
        JobResources: props.JobResources,
        MonitoringOutputConfig: props[Object.keys(props).find(k => k.endsWith('OutputConfig')) ?? 'MonitoringOutputConfig'],
        NetworkConfig: props.NetworkConfig,
      })];
    case 'AWS::SageMaker::MonitoringSchedule': {
      const inline = props.MonitoringScheduleConfig?.MonitoringJobDefinition;
      return inline === undefined ? [] : [monitoring('MonitoringJobDefinition', inline)];
    }
    default:
      return undefined;
  }
}

function stepJobs(step: any): JobSpec[] {
  const args = step?.Arguments ?? {};
  const label = String(step?.Name ?? '(unnamed step)');
  switch (step?.Type) {
    case 'Training':
      return [trainingJob(label, args)];
    case 'Tuning':
      return [trainingJob(label, args.TrainingJobDefinition ?? {})];
    case 'Processing':
      return [{
        label,
        kind: 'Processing',
        volumeKmsKeyId: args.ProcessingResources?.ClusterConfig?.VolumeKmsKeyId,
        outputKmsKeyId: args.ProcessingOutputConfig?.KmsKeyId,
        hasOutput: args.ProcessingOutputConfig !== undefined,
        networkIsolation: args.NetworkConfig?.EnableNetworkIsolation,
        interContainerEncryption: args.NetworkConfig?.EnableInterContainerTrafficEncryption,
        instanceType: args.ProcessingResources?.ClusterConfig?.InstanceType,
        instanceCount: args.ProcessingResources?.ClusterConfig?.InstanceCount,
      }];
    case 'Transform':
      return [{
        label,
        kind: 'Transform',
        volumeKmsKeyId: args.TransformResources?.VolumeKmsKeyId,
        outputKmsKeyId: args.TransformOutput?.KmsKeyId,
        hasOutput: true,
        // Transform jobs inherit isolation from their model; one instance type, no inter-container traffic setting.
        networkIsolation: true,
        interContainerEncryption: true,
        instanceType: args.TransformResources?.InstanceType,
        instanceCount: args.TransformResources?.InstanceCount,
      }];
    default:
      return [];
  }
}

function trainingJob(label: string, args: any): JobSpec {
  return {
    label,
    kind: 'Training',
    volumeKmsKeyId: args.ResourceConfig?.VolumeKmsKeyId,
    outputKmsKeyId: args.OutputDataConfig?.KmsKeyId,
    hasOutput: true,
    networkIsolation: args.EnableNetworkIsolation,
    interContainerEncryption: args.EnableInterContainerTrafficEncryption,
    instanceType: args.ResourceConfig?.InstanceType,
    instanceCount: args.ResourceConfig?.InstanceCount,
  };
}

/**
 * MlOps-TR1: training, processing, transform and monitoring jobs encrypt their ML storage volumes and their outputs
 * with a customer managed KMS key. Instance-store aware: instance types with local NVMe storage (encrypted by
 * SageMaker in hardware; a volume key is rejected) need no volume key. Checks the steps of SageMaker pipelines (including condition branches) and the
 * Model Monitor job definitions and schedules. Findings name the step: `MlOps-TR1[<step>:VolumeKmsKeyId]`.
 */
export function jobEncryption(node: CfnResource): NagRuleResult {
  const jobs = jobsOf(node);
  if (jobs === undefined || jobs.length === 0) { return NagRuleCompliance.NOT_APPLICABLE; }
  const findings: string[] = [];
  for (const job of jobs) {
    const localStorage = typeof job.instanceType === 'string' && hasInstanceStorage(job.instanceType);
    if (!isSet(job.volumeKmsKeyId) && !localStorage) { findings.push(`${job.label}:VolumeKmsKeyId`); }
    if (job.hasOutput && !isSet(job.outputKmsKeyId)) { findings.push(`${job.label}:OutputKmsKeyId`); }
  }
  return findings.length > 0 ? findings : NagRuleCompliance.COMPLIANT;
}

/**
 * MlOps-TR2: training, processing and monitoring containers run network-isolated (no outbound calls; S3 channels
 * still work), so training data cannot be sent anywhere.
 */
export function jobNetworkIsolation(node: CfnResource): NagRuleResult {
  const jobs = jobsOf(node);
  if (jobs === undefined || jobs.length === 0) { return NagRuleCompliance.NOT_APPLICABLE; }
  const findings = jobs.filter(j => !isTrue(j.networkIsolation) && !isParameterExpression(j.networkIsolation))
    .map(j => `${j.label}:EnableNetworkIsolation`);
  return findings.length > 0 ? findings : NagRuleCompliance.COMPLIANT;
}

/**
 * MlOps-TR3: traffic between the instances of a distributed training, processing or monitoring job is encrypted.
 * Jobs on one instance have no such traffic and comply.
 */
export function jobInterContainerEncryption(node: CfnResource): NagRuleResult {
  const jobs = jobsOf(node);
  if (jobs === undefined || jobs.length === 0) { return NagRuleCompliance.NOT_APPLICABLE; }
  const findings = jobs.filter(j => !singleInstance(j) && !isTrue(j.interContainerEncryption) && !isParameterExpression(j.interContainerEncryption))
    .map(j => `${j.label}:EnableInterContainerTrafficEncryption`);
  return findings.length > 0 ? findings : NagRuleCompliance.COMPLIANT;
}

/** A job on one instance has no inter-container traffic (SageMaker rejects the setting on one training instance). */
function singleInstance(job: JobSpec): boolean {
  return job.instanceCount === undefined || job.instanceCount === 1 || job.instanceCount === '1';
}

/** A pipeline expression (`{ Get: 'Parameters.X' }`) is decided per run; it is not a literal `false`. */
function isParameterExpression(value: unknown): boolean {
  return value !== null && typeof value === 'object' && typeof (value as { Get?: unknown }).Get === 'string';
}

/**
 * MlOps-RG1: model versions are registered pending approval, so approval is a separate, recorded decision (a
 * person with the MlEngineer persona, or the continuous-training loop's audited comparison). Checks every
 * RegisterModel step of a pipeline (a parameter's default counts) and `AWS::SageMaker::ModelPackage` resources.
 */
export function modelApprovalGate(node: CfnResource): NagRuleResult {
  if (node.cfnResourceType === 'AWS::SageMaker::ModelPackage') {
    const status = propertiesOf(node).ModelApprovalStatus;
    return status === 'Approved' ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
  }
  if (node.cfnResourceType !== PIPELINE) { return NagRuleCompliance.NOT_APPLICABLE; }
  const definition = pipelineDefinition(node);
  const registers = pipelineSteps(definition).filter(s => s?.Type === 'RegisterModel');
  if (registers.length === 0) { return NagRuleCompliance.NOT_APPLICABLE; }
  const parameters: any[] = Array.isArray(definition.Parameters) ? definition.Parameters : [];
  const defaultOf = (name: string) => parameters.find(p => p?.Name === name)?.DefaultValue;
  const findings: string[] = [];
  for (const step of registers) {
    const status = registeredStatus(step.Arguments?.ModelApprovalStatus, defaultOf);
    if (status !== 'PendingManualApproval') { findings.push(`${step.Name}:ModelApprovalStatus`); }
  }
  return findings.length > 0 ? findings : NagRuleCompliance.COMPLIANT;
}

/**
 * The status a RegisterModel step registers with by default: a literal, a parameter's default, or (for a value a
 * step computes) the default of the pipeline's `ModelApprovalStatus` parameter, which such steps fall back to.
 */
function registeredStatus(value: unknown, defaultOf: (name: string) => unknown): unknown {
  if (value === undefined) { return 'PendingManualApproval'; } // SageMaker's own default
  if (typeof value === 'string') { return value; }
  const get = (value as { Get?: unknown })?.Get;
  if (typeof get === 'string' && get.startsWith('Parameters.')) { return defaultOf(get.slice('Parameters.'.length)); }
  const fallback = defaultOf('ModelApprovalStatus');
  if (fallback !== undefined) { return fallback; }
  throw new Error('a RegisterModel step computes its approval status and the pipeline has no ModelApprovalStatus parameter to check');
}
