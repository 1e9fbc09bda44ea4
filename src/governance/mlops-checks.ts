import { CfnResource, PolicyValidationPluginReport } from 'aws-cdk-lib';
import { NagMessageLevel, NagPack, NagPackProps, NagRuleResult } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { clusterEndpointAllowList, gpuNodeTaints, nodeImdsV2 } from './rules/eks-rules';
import {
  endpointConfigKms, endpointGuardrails, inferenceDataKms, modelNetworkIsolation, monitoredEndpointCapture,
} from './rules/endpoint-rules';
import { featureGroupOfflineKms, featureGroupOnlineKms } from './rules/feature-store-rules';
import { lineageTags } from './rules/lineage-rules';
import { resetPropertyCache } from './rules/rule-support';
import { jobEncryption, jobInterContainerEncryption, jobNetworkIsolation, modelApprovalGate } from './rules/training-rules';

/** One rule of the {@link MlOpsChecks} pack, with the frameworks it supports. */
export interface MlOpsRule {
  /** Rule id as findings and acknowledgements name it, e.g. `MlOps-SM1` (acknowledge `MlOps::MlOps-SM1`). */
  readonly id: string;
  /** What a compliant resource does. */
  readonly title: string;
  /** Why the rule exists. */
  readonly explanation: string;
  /** CloudFormation resource types the rule checks. */
  readonly resourceTypes: string[];
  /** NIST AI RMF 1.0 (AI 100-1) subcategories the rule supports, e.g. `MEASURE 2.7`. */
  readonly nistAiRmf: string[];
  /** Articles of the EU AI Act (Regulation (EU) 2024/1689) the rule supports, e.g. `Art. 15`. */
  readonly euAiAct: string[];
  /** `Error` or `Warning`: any unacknowledged finding fails synthesis either way. */
  readonly level: string;
}

interface RuleDefinition extends MlOpsRule {
  readonly check: (node: CfnResource) => NagRuleResult;
}

const SECURITY = { nistAiRmf: ['MEASURE 2.7'], euAiAct: ['Art. 15'] };
/** What the job rules (TR1–TR3) read: pipelines' job steps and Model Monitor jobs. */
const JOB_RESOURCE_TYPES = ['AWS::SageMaker::Pipeline', 'AWS::SageMaker::DataQualityJobDefinition', 'AWS::SageMaker::ModelQualityJobDefinition',
  'AWS::SageMaker::ModelBiasJobDefinition', 'AWS::SageMaker::ModelExplainabilityJobDefinition', 'AWS::SageMaker::MonitoringSchedule'];

const RULES: RuleDefinition[] = [
  {
    id: 'SM1',
    title: 'Endpoint configs encrypt ML storage volumes with a customer managed KMS key (instance-store aware)',
    explanation: 'Model artifacts and request payloads on endpoint volumes stay inside the key policy\'s boundary. Instance types with local NVMe storage and serverless variants are encrypted by SageMaker and take no key.',
    resourceTypes: ['AWS::SageMaker::EndpointConfig'],
    ...SECURITY,
    euAiAct: ['Art. 15', 'Art. 10'],
    level: NagMessageLevel.ERROR,
    check: endpointConfigKms,
  },
  {
    id: 'SM2',
    title: 'Data capture and asynchronous inference output are encrypted with a customer managed KMS key',
    explanation: 'Captured requests and predictions are production data (often personal data); they must stay within the platform\'s encryption boundary.',
    resourceTypes: ['AWS::SageMaker::EndpointConfig'],
    nistAiRmf: ['MEASURE 2.7', 'MEASURE 2.10'],
    euAiAct: ['Art. 15', 'Art. 10'],
    level: NagMessageLevel.ERROR,
    check: inferenceDataKms,
  },
  {
    id: 'SM3',
    title: 'Endpoints deploy with guardrails (blue/green or rolling) and roll back automatically on alarms',
    explanation: 'A model that misbehaves after deployment is taken out of service without a human in the loop. Every endpoint counts as production; acknowledge the rule on a development endpoint.',
    resourceTypes: ['AWS::SageMaker::Endpoint'],
    nistAiRmf: ['MANAGE 2.4', 'MEASURE 2.6'],
    euAiAct: ['Art. 15'],
    level: NagMessageLevel.ERROR,
    check: endpointGuardrails,
  },
  {
    id: 'SM4',
    title: 'Endpoints watched by a drift or prediction monitor capture what the monitor reads',
    explanation: 'A monitor without capture sees nothing and never alarms: drift goes unnoticed. Inputs for drift, outputs for prediction health and model quality.',
    resourceTypes: ['AWS::SageMaker::EndpointConfig'],
    nistAiRmf: ['MEASURE 2.4', 'MANAGE 4.1'],
    euAiAct: ['Art. 72', 'Art. 12'],
    level: NagMessageLevel.ERROR,
    check: monitoredEndpointCapture,
  },
  {
    id: 'SM5',
    title: 'Model containers run network-isolated or inside a VPC',
    explanation: 'An inference container with internet access can leak requests or load untracked code.',
    resourceTypes: ['AWS::SageMaker::Model'],
    ...SECURITY,
    level: NagMessageLevel.ERROR,
    check: modelNetworkIsolation,
  },
  {
    id: 'TR1',
    title: 'Training, processing, transform and monitoring jobs encrypt volumes and outputs with a customer managed KMS key (instance-store aware)',
    explanation: 'Training data and model artifacts never leave the encryption boundary. Checks every step of SageMaker pipelines and every Model Monitor job.',
    resourceTypes: JOB_RESOURCE_TYPES,
    ...SECURITY,
    euAiAct: ['Art. 15', 'Art. 10'],
    level: NagMessageLevel.ERROR,
    check: jobEncryption,
  },
  {
    id: 'TR2',
    title: 'Training, processing and monitoring containers run with network isolation',
    explanation: 'Isolated containers cannot send training data anywhere or download unreviewed code; S3 channels still work.',
    resourceTypes: JOB_RESOURCE_TYPES,
    ...SECURITY,
    euAiAct: ['Art. 15', 'Art. 10'],
    level: NagMessageLevel.ERROR,
    check: jobNetworkIsolation,
  },
  {
    id: 'TR3',
    title: 'Distributed training, processing and monitoring jobs encrypt inter-container traffic',
    explanation: 'Gradients and data shards between instances are training data in transit.',
    resourceTypes: JOB_RESOURCE_TYPES,
    ...SECURITY,
    level: NagMessageLevel.ERROR,
    check: jobInterContainerEncryption,
  },
  {
    id: 'FS1',
    title: 'Feature group online stores are encrypted with a customer managed KMS key',
    explanation: 'Online features are served to every model; the key policy decides who can read them.',
    resourceTypes: ['AWS::SageMaker::FeatureGroup'],
    ...SECURITY,
    euAiAct: ['Art. 15', 'Art. 10'],
    level: NagMessageLevel.ERROR,
    check: featureGroupOnlineKms,
  },
  {
    id: 'FS2',
    title: 'Feature group offline stores are encrypted with a customer managed KMS key',
    explanation: 'The offline store is the training history of every model; it stays within the encryption boundary.',
    resourceTypes: ['AWS::SageMaker::FeatureGroup'],
    ...SECURITY,
    euAiAct: ['Art. 15', 'Art. 10'],
    level: NagMessageLevel.ERROR,
    check: featureGroupOfflineKms,
  },
  {
    id: 'RG1',
    title: 'Model versions are registered pending approval: approval is a separate, recorded decision',
    explanation: 'The identity that trains and registers a model does not also release it; an MlEngineer or the audited continuous-training loop approves.',
    resourceTypes: ['AWS::SageMaker::Pipeline', 'AWS::SageMaker::ModelPackage'],
    nistAiRmf: ['MANAGE 1.1', 'GOVERN 2.1'],
    euAiAct: ['Art. 14', 'Art. 17'],
    level: NagMessageLevel.ERROR,
    check: modelApprovalGate,
  },
  {
    id: 'EKS1',
    title: 'EKS nodes require IMDSv2 with a hop limit of 1',
    explanation: 'Pods on GPU nodes must not read the node role\'s credentials from the instance metadata service.',
    resourceTypes: ['AWS::EKS::Nodegroup', 'Custom::AWSCDK-EKS-KubernetesResource (Karpenter EC2NodeClass)'],
    ...SECURITY,
    level: NagMessageLevel.ERROR,
    check: nodeImdsV2,
  },
  {
    id: 'EKS2',
    title: 'GPU node pools carry a NoSchedule or NoExecute taint',
    explanation: 'Only workloads that request accelerators land on GPU nodes: no general pods next to training data, no idle GPUs held by CPU work.',
    resourceTypes: ['AWS::EKS::Nodegroup', 'Custom::AWSCDK-EKS-KubernetesResource (Karpenter NodePool)'],
    ...SECURITY,
    level: NagMessageLevel.ERROR,
    check: gpuNodeTaints,
  },
  {
    id: 'EKS3',
    title: 'A public EKS API endpoint is limited to an allow-list of CIDRs',
    explanation: 'EKS opens a public endpoint to every address unless PublicAccessCidrs is set; the cluster runs training on sensitive data.',
    resourceTypes: ['AWS::EKS::Cluster'],
    ...SECURITY,
    level: NagMessageLevel.ERROR,
    check: clusterEndpointAllowList,
  },
  {
    id: 'LN1',
    title: 'Models and endpoint configs carry code, image and data version tags; pipelines their code version',
    explanation: 'The inventory of AI systems answers which code, container image and data made what is serving.',
    resourceTypes: ['AWS::SageMaker::Model', 'AWS::SageMaker::EndpointConfig', 'AWS::SageMaker::Pipeline'],
    nistAiRmf: ['GOVERN 1.6', 'MEASURE 2.8'],
    euAiAct: ['Art. 11', 'Art. 12'],
    level: NagMessageLevel.WARN,
    check: lineageTags,
  },
];

/** Name of the pack as findings and acknowledgements use it: `MlOps::MlOps-<rule>`. */
const PACK_NAME = 'MlOps';

/**
 * cdk-nag rule pack for ML platforms: encryption of every place ML data rests (endpoint volumes, capture, training
 * and monitoring jobs, feature stores), network isolation of training and inference, deployment guardrails, capture
 * for monitored endpoints, an approval gate on the model registry, EKS GPU node hardening, and lineage tags.
 * Each rule names the NIST AI RMF subcategories and EU AI Act articles it supports ({@link MlOpsChecks.rules}).
 *
 * cdk-nag 3 runs packs as policy-validation plugins:
 *
 * ```ts
 * Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new MlOpsChecks(app));
 * ```
 *
 * Synthesis fails on any unacknowledged finding. Acknowledge one with a reason, e.g. on a development endpoint:
 * `Validations.of(endpoint).acknowledge({ id: 'MlOps::MlOps-SM3', reason: 'development endpoint' })`.
 * Rules that report per item name it: `MlOps::MlOps-TR1[Train:VolumeKmsKeyId]`.
 */
export class MlOpsChecks extends NagPack {
  /** Every rule of the pack with its documentation and framework mapping. */
  public static rules(): MlOpsRule[] {
    return RULES.map(r => ({
      id: `${PACK_NAME}-${r.id}`,
      title: r.title,
      explanation: r.explanation,
      resourceTypes: [...r.resourceTypes],
      nistAiRmf: [...r.nistAiRmf],
      euAiAct: [...r.euAiAct],
      level: r.level,
    }));
  }

  /** The pack's name: `MlOps`. */
  public readonly name: string = PACK_NAME;

  constructor(scope?: IConstruct, props?: NagPackProps) {
    super(scope, props);
    this.packName = PACK_NAME;
  }

  protected checkResource(node: CfnResource): void {
    for (const rule of RULES) {
      this.applyRule({
        ruleSuffixOverride: rule.id,
        info: `${rule.title}.`,
        explanation: `${rule.explanation} Supports NIST AI RMF ${rule.nistAiRmf.join(', ')}; EU AI Act ${rule.euAiAct.join(', ')}.`,
        level: rule.level as NagMessageLevel,
        node,
        rule: rule.check,
      });
    }
  }

  /**
   * Validates a construct tree directly (the entry point cdk-nag's validation plugin uses). Clears the per-run
   * cache of rendered resources first, so a tree changed since the last run is read afresh.
   */
  public validateScope(scope: IConstruct): PolicyValidationPluginReport {
    resetPropertyCache();
    return super.validateScope(scope);
  }
}
