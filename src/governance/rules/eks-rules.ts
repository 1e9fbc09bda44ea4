import { CfnResource, Stack } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { literalString, parseJsonDocument, propertiesOf, referencedLogicalId, resourceByLogicalId } from './rule-support';
import { lookupInstanceType, parseInstanceType } from '../../core/gpu-catalog';

const NODEGROUP = 'AWS::EKS::Nodegroup';
/** The resource type `KubernetesManifest` (aws-eks and aws-eks-v2) synthesizes to. */
const KUBERNETES_RESOURCE = 'Custom::AWSCDK-EKS-KubernetesResource';
const GPU_AMI_TYPE = /NVIDIA|GPU|NEURON/i;
const SCHEDULING_EFFECTS = new Set(['NO_SCHEDULE', 'NO_EXECUTE', 'NoSchedule', 'NoExecute']);

/** The Kubernetes objects of a manifest resource (empty when the manifest cannot be parsed). */
function manifestObjects(node: CfnResource): any[] {
  if (node.cfnResourceType !== KUBERNETES_RESOURCE) { return []; }
  const parsed = parseJsonDocument(propertiesOf(node).Manifest);
  const list = Array.isArray(parsed) ? parsed : parsed === undefined ? [] : [parsed];
  return list.filter(o => o !== null && typeof o === 'object');
}

/** Whether an EC2 instance type name is a GPU/accelerator type of the catalog. */
function isAcceleratorType(name: unknown): boolean {
  const type = literalString(name);
  if (type === undefined) { return false; }
  const entry = lookupInstanceType(type);
  if (entry) { return entry.acceleratorCount > 0; }
  const parsed = parseInstanceType(type);
  return parsed !== undefined && /^(p\d|g\d|inf\d|trn\d|dl\d)/.test(parsed.family);
}

/**
 * MlOps-EKS1: nodes require IMDSv2 with a hop limit of 1, so pods cannot take the node role's credentials from the
 * instance metadata service. Managed node groups must use a launch template that says so (the EKS default template
 * allows IMDSv1); Karpenter `EC2NodeClass` objects must not weaken Karpenter's defaults (required, hop limit 1).
 */
export function nodeImdsV2(node: CfnResource): NagRuleResult {
  if (node.cfnResourceType === NODEGROUP) {
    const spec = propertiesOf(node).LaunchTemplate;
    if (spec === undefined) { return ['LaunchTemplate']; }
    const templateId = referencedLogicalId(spec.Id) ?? referencedLogicalId(spec.Name);
    const template = templateId ? resourceByLogicalId(Stack.of(node), templateId) : undefined;
    if (template === undefined || template.cfnResourceType !== 'AWS::EC2::LaunchTemplate') {
      throw new Error('the node group\'s launch template is not defined in the same stack, so its metadata options cannot be checked');
    }
    const options = propertiesOf(template).LaunchTemplateData?.MetadataOptions ?? {};
    const findings = metadataFindings(options.HttpTokens, options.HttpPutResponseHopLimit, 'required', 1);
    return findings.length > 0 ? findings : NagRuleCompliance.COMPLIANT;
  }
  const classes = manifestObjects(node).filter(o => o.kind === 'EC2NodeClass');
  if (classes.length === 0) { return NagRuleCompliance.NOT_APPLICABLE; }
  const findings: string[] = [];
  for (const c of classes) {
    const options = c.spec?.metadataOptions ?? {};
    // Karpenter's own defaults: httpTokens required, hop limit 1.
    const name = c.metadata?.name ?? 'EC2NodeClass';
    for (const f of metadataFindings(options.httpTokens ?? 'required', options.httpPutResponseHopLimit ?? 1, 'required', 1)) {
      findings.push(`${name}:${f}`);
    }
  }
  return findings.length > 0 ? findings : NagRuleCompliance.COMPLIANT;
}

function metadataFindings(tokens: unknown, hopLimit: unknown, wantTokens: string, wantHops: number): string[] {
  const findings: string[] = [];
  if (tokens !== wantTokens) { findings.push('HttpTokens'); }
  if (Number(hopLimit) !== wantHops) { findings.push('HttpPutResponseHopLimit'); }
  return findings;
}

/**
 * MlOps-EKS2: GPU nodes carry a `NoSchedule` (or `NoExecute`) taint, so only workloads that ask for accelerators
 * (and tolerate the taint) land on them: no general pods on instances that hold training data and cost the most.
 * Checks managed node groups with a GPU AMI type or GPU instance types, and Karpenter `NodePool` objects whose
 * requirements select GPU instances.
 */
export function gpuNodeTaints(node: CfnResource): NagRuleResult {
  if (node.cfnResourceType === NODEGROUP) {
    const props = propertiesOf(node);
    const types: unknown[] = Array.isArray(props.InstanceTypes) ? props.InstanceTypes : [];
    const gpu = (typeof props.AmiType === 'string' && GPU_AMI_TYPE.test(props.AmiType)) || types.some(isAcceleratorType);
    if (!gpu) { return NagRuleCompliance.NOT_APPLICABLE; }
    const taints: any[] = Array.isArray(props.Taints) ? props.Taints : [];
    return taints.some(t => SCHEDULING_EFFECTS.has(t?.Effect)) ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
  }
  const pools = manifestObjects(node).filter(o => o.kind === 'NodePool' && String(o.apiVersion ?? '').startsWith('karpenter.sh/'));
  const gpuPools = pools.filter(isGpuNodePool);
  if (gpuPools.length === 0) { return NagRuleCompliance.NOT_APPLICABLE; }
  const findings = gpuPools
    .filter(p => !(Array.isArray(p.spec?.template?.spec?.taints) && p.spec.template.spec.taints.some((t: any) => SCHEDULING_EFFECTS.has(t?.effect))))
    .map(p => `${p.metadata?.name ?? 'NodePool'}:taints`);
  return findings.length > 0 ? findings : NagRuleCompliance.COMPLIANT;
}

function isGpuNodePool(pool: any): boolean {
  const requirements: any[] = Array.isArray(pool.spec?.template?.spec?.requirements) ? pool.spec.template.spec.requirements : [];
  for (const r of requirements) {
    const values: string[] = Array.isArray(r?.values) ? r.values.map(String) : [];
    switch (r?.key) {
      case 'karpenter.k8s.aws/instance-gpu-count':
      case 'karpenter.k8s.aws/instance-gpu-manufacturer':
      case 'karpenter.k8s.aws/instance-accelerator-count':
        if (r.operator !== 'DoesNotExist' && !(r.operator === 'In' && values.every(v => v === '0'))) { return true; }
        break;
      case 'karpenter.k8s.aws/instance-family':
        if (r.operator === 'In' && values.some(f => isAcceleratorType(`${f}.xlarge`) || /^(p\d|g\d|inf\d|trn\d)/.test(f))) { return true; }
        break;
      case 'node.kubernetes.io/instance-type':
        if (r.operator === 'In' && values.some(isAcceleratorType)) { return true; }
        break;
      default:
        break;
    }
  }
  const limits = pool.spec?.limits ?? {};
  return Object.keys(limits).some(k => k === 'nvidia.com/gpu' || k.startsWith('aws.amazon.com/neuron'));
}

/**
 * MlOps-EKS3: a cluster with a public API endpoint limits it to an allow-list of CIDRs (never `0.0.0.0/0` or `::/0`);
 * EKS opens a public endpoint to every address when `PublicAccessCidrs` is left out.
 */
export function clusterEndpointAllowList(node: CfnResource): NagRuleResult {
  if (node.cfnResourceType !== 'AWS::EKS::Cluster') { return NagRuleCompliance.NOT_APPLICABLE; }
  const vpc = propertiesOf(node).ResourcesVpcConfig ?? {};
  const isPublic = vpc.EndpointPublicAccess === undefined || vpc.EndpointPublicAccess === true || vpc.EndpointPublicAccess === 'true';
  if (!isPublic) { return NagRuleCompliance.COMPLIANT; }
  const cidrs: unknown[] = Array.isArray(vpc.PublicAccessCidrs) ? vpc.PublicAccessCidrs : [];
  if (cidrs.length === 0 || cidrs.some(c => c === '0.0.0.0/0' || c === '::/0')) { return NagRuleCompliance.NON_COMPLIANT; }
  return NagRuleCompliance.COMPLIANT;
}
