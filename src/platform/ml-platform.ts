import { Duration, Names, NestedStack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { PlatformModel, PlatformModelOptions } from './platform-model';
import { TrainingBackend } from './training-backend';
import { mlError } from '../core/errors';
import { DataLake, DataLakeProps } from '../data/data-lake';
import { AuditTrail, AuditTrailProps } from '../governance/audit-trail';
import { CostReport, CostReportProps } from '../governance/cost-report';
import { Personas } from '../governance/personas';

/** Who may assume the platform's persona roles, and for how long. */
export interface PlatformPersonasOptions {
  /**
   * Who may assume the DataScientist role.
   * @default - the account root, delegated by IAM policy
   */
  readonly dataScientistPrincipal?: iam.IPrincipal;
  /**
   * Who may assume the MlEngineer role.
   * @default - the account root, delegated by IAM policy
   */
  readonly mlEngineerPrincipal?: iam.IPrincipal;
  /**
   * Who may assume the DataEngineer role.
   * @default - the account root, delegated by IAM policy
   */
  readonly dataEngineerPrincipal?: iam.IPrincipal;
  /**
   * Longest session.
   * @default Duration.hours(1)
   */
  readonly maxSessionDuration?: Duration;
}

/** Properties of an {@link MlPlatform}. */
export interface MlPlatformProps {
  /**
   * Where models train.
   * @default TrainingBackend.sagemaker()
   */
  readonly backend?: TrainingBackend;
  /**
   * The platform's name: every model's SageMaker resources are named `<name>-<model id>` (model package group,
   * pipeline, endpoint), which scopes the personas' grants to the platform with one statement for any number of
   * models. Lowercase letters, digits and single hyphens, starting with a letter, at most 20 characters.
   * @default - derived from the construct path (unique in the app)
   */
  readonly name?: string;
  /**
   * Settings of the data lake.
   * @default - DataLake defaults (KMS, versioning, access logs, RETAIN)
   */
  readonly dataLake?: DataLakeProps;
  /**
   * Keep an audit trail (CloudTrail with the lake's data events, registry/pipeline/endpoint/loop events, Object Lock).
   * @default true
   */
  readonly auditTrail?: boolean;
  /**
   * Settings of the audit trail (`dataLake` is the platform's).
   * @default - AuditTrail defaults
   */
  readonly auditTrailOptions?: AuditTrailProps;
  /**
   * Create team roles from the platform's grants, with separation of duties.
   * @default true
   */
  readonly personas?: boolean;
  /**
   * Who may assume each persona and for how long (`dataLake` and the grants are the platform's).
   * @default - the account root, one-hour sessions
   */
  readonly personasOptions?: PlatformPersonasOptions;
  /**
   * Cost report and budgets of the platform's stack (nested model stacks included).
   * @default - a report without budgets
   */
  readonly costReport?: CostReportProps;
  /**
   * Put each model in a nested stack of its own, so a platform with many models stays under CloudFormation's
   * 500-resource and 1 MB template limits.
   * @default true
   */
  readonly modelStacks?: boolean;
  /**
   * Models to add at construction (more with `addModel`).
   * @default - none
   */
  readonly models?: PlatformModelDefinition[];
}

/** A model given to `MlPlatformProps.models`. */
export interface PlatformModelDefinition extends PlatformModelOptions {
  /** The model's id: its construct id and (with `modelStacks`) its nested stack's. Letters, digits and hyphens. */
  readonly id: string;
}

/** Model ids: with the platform name (≤ 20) and a hyphen, SageMaker names stay within 63 characters. */
const MODEL_ID = /^[A-Za-z](-?[A-Za-z0-9]){0,39}$/;
const PLATFORM_NAME = /^[a-z](-?[a-z0-9]){0,19}$/;

/** A valid platform name from the construct path: readable start, unique hash end. */
function defaultName(scope: Construct): string {
  const unique = Names.uniqueResourceName(scope, { maxLength: 20, separator: '-' }).toLowerCase();
  const cleaned = unique.replace(/[^a-z0-9]+/g, '-').replace(/^[^a-z]+/, '').replace(/-+$/, '');
  return cleaned === '' ? 'ml-platform' : cleaned;
}

/**
 * A whole ML platform in one construct: the data lake, an audit trail, team personas, a cost report, and per model
 * (`addModel`) a registry, GPU training, a safe endpoint, drift and prediction-health monitors and the
 * continuous-training loop. Every part is a property and every default can be overridden; models go into nested
 * stacks so the platform scales past CloudFormation's per-template limits.
 *
 * @example
 * const platform = new MlPlatform(stack, 'Platform');
 * platform.addModel('fraud', {
 *   image: TrainingImage.fromEcrRepository(repo, 'sha256:…'),
 *   instanceType: GpuInstanceType.ML_G5_2XLARGE,
 *   objective: Objective.maximize('validation:auc', 0.005),
 *   trainingData: TrainingData.fromDataLake(platform.dataLake, DataZone.CURATED, 'datasets/fraud/'),
 * });
 */
export class MlPlatform extends Construct {
  /** The training backend. */
  public readonly backend: TrainingBackend;
  /** The data lake every model reads and writes. */
  public readonly dataLake: DataLake;
  /** The audit trail, unless turned off. */
  public readonly auditTrail?: AuditTrail;
  /** The team roles, unless turned off. */
  public readonly personas?: Personas;
  /** The cost report of the platform's stack. */
  public readonly costReport: CostReport;

  /** The platform's name: the prefix of its models' SageMaker names. */
  public readonly name: string;

  private readonly modelsById = new Map<string, PlatformModel>();
  private readonly modelStacks: boolean;

  constructor(scope: Construct, id: string, props: MlPlatformProps = {}) {
    super(scope, id);
    this.backend = props.backend ?? TrainingBackend.sagemaker();
    this.modelStacks = props.modelStacks ?? true;
    this.name = props.name ?? defaultName(this);
    if (!PLATFORM_NAME.test(this.name)) {
      throw mlError(this, 'MlPlatform', {
        code: 'InvalidName',
        what: 'the platform name has 1 to 20 lowercase letters, digits and single hyphens, starting with a letter',
        got: this.name,
        fix: 'use e.g. \'fraud\' or \'ml-prod\'',
      });
    }
    this.dataLake = new DataLake(this, 'DataLake', props.dataLake);
    if (props.auditTrail ?? true) {
      this.auditTrail = new AuditTrail(this, 'Audit', { ...props.auditTrailOptions, dataLake: props.auditTrailOptions?.dataLake ?? this.dataLake });
    }
    if (props.personas ?? true) {
      this.personas = new Personas(this, 'Personas', { ...props.personasOptions, dataLake: this.dataLake });
      // One set of name-scoped statements for all models (per-model grants outgrow IAM's policy limits).
      this.personas.addNamePrefix(this.name);
    }
    this.costReport = new CostReport(this, 'Cost', props.costReport);
    for (const model of props.models ?? []) {
      const { id: modelId, ...options } = model;
      this.addModel(modelId, options);
    }
  }

  /** Every model, in the order they were added. */
  public get models(): PlatformModel[] {
    return [...this.modelsById.values()];
  }

  /** The model with this id; throws a coded error when there is none. */
  public model(id: string): PlatformModel {
    const found = this.modelsById.get(id);
    if (!found) {
      throw mlError(this, 'MlPlatform', {
        code: 'UnknownModel',
        what: `the platform has no model '${id}'`,
        got: id,
        fix: `use one of: ${[...this.modelsById.keys()].join(', ') || '(none yet: addModel first)'}`,
      });
    }
    return found;
  }

  /**
   * Adds a model: registry, training pipeline, endpoint, monitors and continuous-training loop (each overridable
   * through `options`), in a nested stack of its own unless `modelStacks` is false. The personas get the model's
   * grants.
   */
  public addModel(id: string, options: PlatformModelOptions): PlatformModel {
    if (!MODEL_ID.test(id)) {
      throw mlError(this, 'MlPlatform', {
        code: 'InvalidModelId',
        what: 'a model id starts with a letter and has at most 40 letters, digits and single hyphens',
        got: id,
        fix: 'use e.g. \'fraud\' or \'churn-v2\'',
      });
    }
    if (this.modelsById.has(id)) {
      throw mlError(this, 'MlPlatform', {
        code: 'DuplicateModel', what: `the platform already has a model '${id}'`, got: id, fix: 'give each model its own id',
      });
    }
    const host: Construct = this.modelStacks
      ? new NestedStack(this, id, { description: `cdk-ml-platform model ${id} of ${this.node.path}` })
      : new Construct(this, id);
    const model = new PlatformModel(host, 'Model', {
      ...options, dataLake: this.dataLake, backend: this.backend, name: `${this.name}-${id.toLowerCase()}`, namePrefix: this.name,
    });
    this.modelsById.set(id, model);
    return model;
  }
}
