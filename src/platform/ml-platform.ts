import { Duration, Names, NestedStack, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { PlatformModel, PlatformModelOptions } from './platform-model';
import { KubeflowBackendOptions, TrainingBackend } from './training-backend';
import { ClusterEndpoint, GpuCluster } from '../compute/gpu-cluster';
import { GpuCapacityType, GpuNodePool, NodeProvisioner } from '../compute/gpu-node-pool';
import { mlError } from '../core/errors';
import { DataLake, DataLakeProps } from '../data/data-lake';
import { FeatureStore, FeatureStoreOptions } from '../data/feature-store';
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
  /** The EKS cluster (kubeflow backend). */
  public readonly cluster?: GpuCluster;
  /** The GPU pool of training jobs (kubeflow backend). */
  public readonly trainingPool?: GpuNodePool;

  /** The platform's name: the prefix of its models' SageMaker names. */
  public readonly name: string;

  private readonly modelsById = new Map<string, PlatformModel>();
  private readonly featureStoresById = new Map<string, FeatureStore>();
  private _servingPool?: GpuNodePool;
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
    const kubeflow = this.backend.kubeflowOptions;
    if (kubeflow) {
      this.checkKubeflowOptions(kubeflow);
      this.cluster = kubeflow.cluster ?? new GpuCluster(this, 'Cluster', {
        endpoint: ClusterEndpoint.privateOnly(),
        ...kubeflow.clusterOptions,
      });
      this.checkInScope(this.cluster, 'cluster');
      this.trainingPool = kubeflow.trainingPool ?? this.cluster.addGpuNodePool('Training', kubeflow.trainingPoolOptions ?? {
        poolName: `${this.name}-training`.slice(0, 63),
        instanceTypes: [new ec2.InstanceType('g6.xlarge'), new ec2.InstanceType('g6.12xlarge')],
        capacityType: GpuCapacityType.SPOT,
        provisioner: NodeProvisioner.karpenter({ maxGpus: 16, consolidateAfter: Duration.minutes(5) }),
      });
      this._servingPool = kubeflow.servingPool;
      for (const [what, pool] of [['trainingPool', this.trainingPool], ['servingPool', this._servingPool]] as const) {
        if (pool && pool.node.scopes.find(sc => sc instanceof GpuCluster) !== this.cluster) {
          throw mlError(this, 'MlPlatform', {
            code: 'PoolNotInCluster',
            what: `the ${what} is not a pool of the platform's cluster (${this.cluster.node.path}): its pods would never be scheduled`,
            got: pool.node.path,
            fix: `pass a pool made with cluster.addGpuNodePool(...) of ${this.cluster.node.path}, or leave ${what} unset`,
          });
        }
      }
    }
    for (const model of props.models ?? []) {
      const { id: modelId, ...options } = model;
      this.addModel(modelId, options);
    }
  }

  /** The GPU pool of models served on the cluster, once one is (kubeflow backend). */
  public get servingPool(): GpuNodePool | undefined {
    return this._servingPool;
  }

  /** Every feature store, in the order they were added. */
  public get featureStores(): FeatureStore[] {
    return [...this.featureStoresById.values()];
  }

  /**
   * Adds a feature group on the platform's lake (offline store in its `features` zone); the personas get its grants
   * (data scientists read, data engineers ingest).
   */
  public addFeatureStore(id: string, options: FeatureStoreOptions): FeatureStore {
    if (this.featureStoresById.has(id)) {
      throw mlError(this, 'MlPlatform', {
        code: 'DuplicateFeatureStore', what: `the platform already has a feature store '${id}'`, got: id, fix: 'give each feature store its own id',
      });
    }
    const store = new FeatureStore(this, id, { ...options, dataLake: this.dataLake });
    this.personas?.addFeatureStore(store);
    this.featureStoresById.set(id, store);
    return store;
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
      ...options,
      dataLake: this.dataLake,
      backend: this.backend,
      name: `${this.name}-${id.toLowerCase()}`,
      namePrefix: this.name,
      cluster: this.cluster,
      trainingPool: this.trainingPool,
      servingPool: options.serving?.kubernetes && options.serving.enabled !== false && this.cluster ? this.servingPoolForModels() : undefined,
    });
    this.modelsById.set(id, model);
    return model;
  }

  /** The serving pool, created on first use with the backend's `servingPoolOptions`. */
  private servingPoolForModels(): GpuNodePool {
    if (!this._servingPool) {
      this._servingPool = this.cluster!.addGpuNodePool('Serving', this.backend.kubeflowOptions?.servingPoolOptions ?? {
        poolName: `${this.name}-serving`.slice(0, 63),
        instanceTypes: [new ec2.InstanceType('g5.xlarge')],
        provisioner: NodeProvisioner.managedNodeGroup({ minSize: 0, maxSize: 4 }),
      });
    }
    return this._servingPool;
  }

  /** An option next to the object it would build is ignored: refuse the pair. */
  private checkKubeflowOptions(o: KubeflowBackendOptions): void {
    const ignored = [
      ['cluster', 'clusterOptions', o.cluster, o.clusterOptions],
      ['trainingPool', 'trainingPoolOptions', o.trainingPool, o.trainingPoolOptions],
      ['servingPool', 'servingPoolOptions', o.servingPool, o.servingPoolOptions],
    ].filter(([, , given, options]) => given !== undefined && options !== undefined);
    if (ignored.length > 0) {
      throw mlError(this, 'MlPlatform', {
        code: 'BackendOptionsIgnored',
        what: 'TrainingBackend.kubeflow gets both an object and the options to create it; the options would be ignored',
        got: ignored.map(([a, b]) => `${a} + ${b}`).join(', '),
        fix: 'pass the object, or its options, not both',
      });
    }
  }

  /** A cluster of another stack would be referenced from every model stack: refuse it with the fix. */
  private checkInScope(cluster: GpuCluster, what: string): void {
    const ours = Stack.of(this);
    let s: Stack | undefined = ours;
    const ancestors: Stack[] = [];
    while (s) { ancestors.push(s); s = s.nestedStackParent; }
    if (!ancestors.includes(Stack.of(cluster))) {
      throw mlError(this, 'MlPlatform', {
        code: 'ForeignCluster',
        what: `the ${what} is in stack ${Stack.of(cluster).node.path}, not in the platform's stack or one it is nested in`,
        got: cluster.node.path,
        fix: 'create the cluster in the platform\'s stack, or leave TrainingBackend.kubeflow({ cluster }) unset and let the platform create it',
      });
    }
  }
}
