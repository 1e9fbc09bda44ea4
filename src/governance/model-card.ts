import { Annotations, IResource, Names, RemovalPolicy, Resource, Token } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { ValidationErrors } from '../core/errors';
import { applyLineageTags, codeVersion } from '../core/lineage';
import { resolveStatefulRemovalPolicy } from '../core/removal-policy';
import { IModelRegistry } from '../registry/model-registry';
import { ModelEndpoint } from '../serving/model-endpoint';
import { GpuTrainingPipeline } from '../training/gpu-training-pipeline';

/** How much harm the model can do when it is wrong (the model card's `RiskRating`). */
export enum ModelCardRiskRating {
  /** `High`: needs an explanation (`riskRatingExplanation`). */
  HIGH = 'High',
  /** `Medium`. */
  MEDIUM = 'Medium',
  /** `Low`. */
  LOW = 'Low',
  /** `Unknown`: not rated yet; a card in review or approved needs a rating. */
  UNKNOWN = 'Unknown',
}

/** Review status of a model card (`ModelCardStatus`). */
export enum ModelCardStatus {
  /** `Draft`: work in progress. */
  DRAFT = 'Draft',
  /** `PendingReview`: waiting for review. */
  PENDING_REVIEW = 'PendingReview',
  /** `Approved`: reviewed and approved. */
  APPROVED = 'Approved',
  /** `Archived`: final; SageMaker rejects any later change of the card's content. */
  ARCHIVED = 'Archived',
}

/** What a model is for (the model card's `IntendedUses` section). */
export interface ModelCardIntendedUses {
  /** How the model may be used, and how not (`IntendedUses`, at most 2048 characters). Must not be empty. */
  readonly intendedUses: string;
  /**
   * The purpose of the model (`PurposeOfModel`, at most 2048 characters).
   * @default - not stated
   */
  readonly purpose?: string;
  /**
   * Factors that affect how well the model works, e.g. data it was not trained on (`FactorsAffectingModelEfficiency`,
   * at most 2048 characters).
   * @default - not stated
   */
  readonly factors?: string;
}

/** Properties for a {@link ModelCard}. */
export interface ModelCardProps {
  /** What the model is for. */
  readonly intendedUses: ModelCardIntendedUses;
  /** The risk rating. `HIGH` needs `riskRatingExplanation`; a card in review or approved cannot be `UNKNOWN`. */
  readonly riskRating: ModelCardRiskRating;
  /**
   * Why the model has its risk rating (`ExplanationsForRiskRating`, at most 2048 characters).
   * @default - none (not allowed with `ModelCardRiskRating.HIGH`)
   */
  readonly riskRatingExplanation?: string;
  /**
   * Name of the model on the card (`ModelOverview.ModelName`, at most 1024 characters).
   * @default - the model package group name of the registry, if any
   */
  readonly modelName?: string;
  /**
   * Description of the model (`ModelOverview.ModelDescription`, at most 1024 characters).
   * @default - none
   */
  readonly description?: string;
  /**
   * Who owns the model (`ModelOverview.ModelOwner`, at most 1024 characters): a team or person accountable for it.
   * Required for a card in review or approved.
   * @default - none
   */
  readonly owner?: string;
  /**
   * The problem the model solves, e.g. `Binary classification` (`ModelOverview.ProblemType`, at most 1024 characters).
   * @default - none
   */
  readonly problemType?: string;
  /**
   * The algorithm, e.g. `XGBoost` (`ModelOverview.AlgorithmType`, at most 1024 characters).
   * @default - none
   */
  readonly algorithmType?: string;
  /**
   * Ethical considerations (`AdditionalInformation.EthicalConsiderations`, at most 2048 characters).
   * @default - none
   */
  readonly ethicalConsiderations?: string;
  /**
   * Caveats and recommendations (`AdditionalInformation.CaveatsAndRecommendations`, at most 2048 characters).
   * @default - none
   */
  readonly caveatsAndRecommendations?: string;
  /**
   * Review status. `ARCHIVED` is final: SageMaker rejects later content changes, so an archived card no longer
   * records the code version (which changes with every commit).
   * @default ModelCardStatus.DRAFT
   */
  readonly status?: ModelCardStatus;
  /**
   * The training pipeline: the card records its training image, inference image, training data and objective.
   * @default - no training details
   */
  readonly pipeline?: GpuTrainingPipeline;
  /**
   * The registry holding the model's versions (`ModelPackageDetails.ModelPackageGroupName`).
   * @default - the pipeline's registry, else the endpoint's, else none
   */
  readonly registry?: IModelRegistry;
  /**
   * The endpoint serving the model: the card records its name.
   * @default - none
   */
  readonly endpoint?: ModelEndpoint;
  /**
   * KMS key that encrypts the card (`SecurityConfig`). Set only at creation: changing it replaces the card
   * (a new card, and with the default RETAIN the old one stays).
   * @default - encrypted with an AWS owned key
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Name of the card: up to 63 letters, digits and hyphens. Set only at creation: a new name replaces the card.
   * @default - generated from the construct path; renaming or moving the construct replaces the card
   */
  readonly modelCardName?: string;
  /**
   * What happens to the card when it leaves the stack. `DESTROY` also needs the context key
   * `cdk-ml-platform:removeDataOnDestroy` set to `true`.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** A SageMaker model card. */
export interface IModelCard extends IResource {
  /**
   * Name of the model card.
   * @attribute
   */
  readonly modelCardName: string;
  /**
   * ARN of the model card.
   * @attribute
   */
  readonly modelCardArn: string;
}

const NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/** Maximum lengths of the text fields, from the CloudFormation ModelCard Content schema. */
const MAX_LENGTH = {
  intendedUses: 2048,
  purpose: 2048,
  factors: 2048,
  riskRatingExplanation: 2048,
  ethicalConsiderations: 2048,
  caveatsAndRecommendations: 2048,
  modelName: 1024,
  description: 1024,
  owner: 1024,
  problemType: 1024,
  algorithmType: 1024,
};

/**
 * A SageMaker model card (`AWS::SageMaker::ModelCard`) written from what you know about the model (intended use,
 * risk rating, owner, ethical considerations) and what the platform knows: the training pipeline's images, data
 * and objective, the registry's model package group, the serving endpoint, and the code version (lineage).
 *
 * **Name.** The card is named at creation (`modelCardName`, else a name generated from the construct path) and
 * the name cannot change: renaming or moving the construct creates a new card. The default removal policy is
 * RETAIN, so the old card stays as a record.
 *
 * **Versions.** Each content change makes a new version of the card; the code version (context
 * `cdk-ml-platform:codeVersion`, else the git commit) is part of the content, so every deployment from a new
 * commit records one. An `ARCHIVED` card is final.
 */
export class ModelCard extends Resource implements IModelCard {
  public readonly modelCardName: string;
  public readonly modelCardArn: string;
  /** The status the card is deployed with. */
  public readonly status: ModelCardStatus;

  constructor(scope: Construct, id: string, props: ModelCardProps) {
    super(scope, id);
    const status = props.status ?? ModelCardStatus.DRAFT;
    validate(this, props, status);
    const removal = resolveStatefulRemovalPolicy(this, 'ModelCard', props.removalPolicy);

    const name = props.modelCardName
      ?? Names.uniqueResourceName(this, { maxLength: 63, separator: '-' }).replace(/[^a-zA-Z0-9-]/g, '').replace(/^-+|-+$/g, '');
    const registry = props.registry ?? props.pipeline?.registry ?? props.endpoint?.registry;
    const pipeline = props.pipeline;
    const archived = status === ModelCardStatus.ARCHIVED;
    if (archived) {
      Annotations.of(this).addWarningV2('cdk-ml-platform:ModelCard.Archived',
        'the card is archived: SageMaker rejects any later change of its content, so changing its props fails the deployment; ' +
        'the code version is no longer recorded in it');
    }

    const customDetails: Record<string, string> = {};
    const version = archived ? undefined : codeVersion(this);
    if (version !== undefined) { customDetails.code_version = version; }
    if (pipeline) { customDetails.training_pipeline = pipeline.pipelineName; }
    if (props.endpoint) { customDetails.endpoint_name = props.endpoint.endpointName; }

    const content: sagemaker.CfnModelCard.ContentProperty = {
      modelOverview: compact({
        modelName: props.modelName ?? registry?.modelPackageGroupName,
        modelDescription: props.description,
        modelOwner: props.owner,
        problemType: props.problemType,
        algorithmType: props.algorithmType,
        inferenceEnvironment: pipeline ? { containerImage: [pipeline.inferenceImage.imageUri] } : undefined,
      }),
      intendedUses: {
        purposeOfModel: props.intendedUses?.purpose,
        intendedUses: props.intendedUses?.intendedUses,
        factorsAffectingModelEfficiency: props.intendedUses?.factors,
        riskRating: props.riskRating,
        explanationsForRiskRating: props.riskRatingExplanation,
      },
      trainingDetails: pipeline ? {
        objectiveFunction: {
          function: {
            function: pipeline.objective.direction,
            // Facet is at most 63 characters; the notes always name the metric.
            facet: fitsFacet(pipeline.objective.metricName) ? pipeline.objective.metricName : undefined,
          },
          notes: `${pipeline.objective.direction} ${pipeline.objective.metricName} from the evaluation step's evaluation.json; a retrained model ` +
            `replaces the approved one only when it is better by more than ${pipeline.objective.minImprovement}.`,
        },
        trainingJobDetails: {
          trainingDatasets: [pipeline.trainingData._uri(this)],
          trainingEnvironment: { containerImage: [pipeline.image.imageUri] },
        },
      } : undefined,
      modelPackageDetails: registry ? { modelPackageGroupName: registry.modelPackageGroupName } : undefined,
      additionalInformation: compact({
        ethicalConsiderations: props.ethicalConsiderations,
        caveatsAndRecommendations: props.caveatsAndRecommendations,
        customDetails: Object.keys(customDetails).length > 0 ? customDetails : undefined,
      }),
    };

    const card = new sagemaker.CfnModelCard(this, 'Resource', {
      modelCardName: name,
      modelCardStatus: status,
      content,
      securityConfig: props.encryptionKey ? { kmsKeyId: props.encryptionKey.keyArn } : undefined,
    });
    card.applyRemovalPolicy(removal.policy);
    this.modelCardName = card.ref;
    this.modelCardArn = card.attrModelCardArn;
    this.status = status;
    applyLineageTags(this, 'model-card');
  }
}

function validate(scope: ModelCard, props: ModelCardProps, status: ModelCardStatus): void {
  const errors = new ValidationErrors(scope, 'ModelCard');
  const intended = props.intendedUses?.intendedUses;
  const blank = (v: string | undefined) => v === undefined || (!Token.isUnresolved(v) && v.trim() === '');
  errors.check(!blank(intended), {
    code: 'MissingIntendedUse',
    what: 'intendedUses.intendedUses must say how the model may be used (and how not)',
    got: intended === undefined ? (props.intendedUses === undefined ? 'no intendedUses' : 'undefined') : intended,
    fix: "e.g. intendedUses: { intendedUses: 'Scores card transactions for manual fraud review; not for automatic declines.' }",
  });
  const ratings = Object.values(ModelCardRiskRating) as string[];
  if (errors.check(ratings.includes(props.riskRating), {
    code: 'InvalidRiskRating', what: 'riskRating must be a ModelCardRiskRating', got: props.riskRating, fix: `use one of ${ratings.join(', ')}`,
  })) {
    errors.check(props.riskRating !== ModelCardRiskRating.HIGH || !blank(props.riskRatingExplanation), {
      code: 'HighRiskWithoutExplanation',
      what: 'a HIGH risk rating needs riskRatingExplanation (why the model is high risk and how the risk is handled)',
      got: 'riskRating HIGH without riskRatingExplanation',
      fix: 'add riskRatingExplanation',
    });
  }
  const statuses = Object.values(ModelCardStatus) as string[];
  if (errors.check(statuses.includes(status), {
    code: 'InvalidStatus', what: 'status must be a ModelCardStatus', got: status, fix: `use one of ${statuses.join(', ')}`,
  })) {
    const reviewed = status === ModelCardStatus.PENDING_REVIEW || status === ModelCardStatus.APPROVED;
    if (reviewed) {
      errors.check(props.riskRating !== ModelCardRiskRating.UNKNOWN, {
        code: 'UnratedForReview',
        what: `a card with status ${status} needs a risk rating (reviewers approve a rated model)`,
        got: 'riskRating UNKNOWN',
        fix: 'rate the risk (HIGH, MEDIUM, LOW), or keep the status DRAFT',
      });
      errors.check(!blank(props.owner), {
        code: 'NoOwnerForReview',
        what: `a card with status ${status} needs an owner accountable for the model`,
        got: 'no owner',
        fix: "set owner, e.g. 'fraud-ml team', or keep the status DRAFT",
      });
    }
  }
  const texts: Record<keyof typeof MAX_LENGTH, string | undefined> = {
    intendedUses: intended,
    purpose: props.intendedUses?.purpose,
    factors: props.intendedUses?.factors,
    riskRatingExplanation: props.riskRatingExplanation,
    ethicalConsiderations: props.ethicalConsiderations,
    caveatsAndRecommendations: props.caveatsAndRecommendations,
    modelName: props.modelName,
    description: props.description,
    owner: props.owner,
    problemType: props.problemType,
    algorithmType: props.algorithmType,
  };
  for (const [field, value] of Object.entries(texts)) {
    if (value === undefined || Token.isUnresolved(value)) { continue; }
    const max = MAX_LENGTH[field as keyof typeof MAX_LENGTH];
    // Characters as the schema counts them (code points).
    const length = Array.from(value).length;
    errors.check(length <= max, {
      code: 'TextTooLong',
      what: `${['intendedUses', 'purpose', 'factors'].includes(field) ? `intendedUses.${field}` : field} is at most ${max} characters`,
      got: length,
      fix: 'shorten it; link to a longer document instead',
    });
  }
  const name = props.modelCardName;
  if (name !== undefined && !Token.isUnresolved(name)) {
    errors.check(NAME_PATTERN.test(name), {
      code: 'InvalidName', what: 'modelCardName is 1-63 letters, digits or hyphens, starting and ending with a letter or digit', got: name, fix: 'rename it, or omit it',
    });
  }
  errors.throwIfAny();
}

/** Whether a metric name fits the objective function's Facet (at most 63 characters). */
function fitsFacet(metric: string): boolean {
  return !Token.isUnresolved(metric) && Array.from(metric).length <= 63;
}

/** `obj` without its undefined values, or undefined when nothing is left (no empty sections on the card). */
function compact<T extends object>(obj: T): T | undefined {
  const entries = Object.entries(obj).filter(([, v]) => v !== undefined);
  return entries.length > 0 ? Object.fromEntries(entries) as T : undefined;
}
