import { Arn, ArnFormat, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ContinuousTraining } from '../automation/continuous-training';
import { MlPlatformError, ValidationErrors, mlError } from '../core/errors';
import { acknowledgeWildcardResource } from '../core/nag';
import { PIPELINE_READ_ACTIONS, PIPELINE_RUN_ACTIONS, REGISTRY_READ_ACTIONS } from '../core/sagemaker-actions';
import { DataZone, IDataLake } from '../data/data-lake';
import { FeatureStore, IFeatureStore } from '../data/feature-store';
import { IModelRegistry } from '../registry/model-registry';
import { ModelEndpoint } from '../serving/model-endpoint';
import { GpuTrainingPipeline } from '../training/gpu-training-pipeline';

/** Properties for {@link Personas}. */
export interface PersonasProps {
  /**
   * The platform's data lake: data scientists read its `curated` and `features` zones, data engineers write its
   * `raw` and `curated` zones, ML engineers are denied writing those two zones. Pipelines and endpoints added
   * to the personas must use this lake.
   */
  readonly dataLake: IDataLake;

  /**
   * Feature groups: data scientists read them, data engineers put, delete and read records.
   *
   * @default - none; add them with `addFeatureStore`
   */
  readonly featureStores?: IFeatureStore[];

  /**
   * Model registries: data scientists read them, ML engineers read and approve or reject versions. The registry
   * of every pipeline and endpoint added is included without being listed here.
   *
   * @default - only the registries of the pipelines and endpoints; add others with `addRegistry`
   */
  readonly registries?: IModelRegistry[];

  /**
   * Training pipelines: data scientists start executions and read their outputs, ML engineers read their
   * outputs (evaluation reports) to decide approvals.
   *
   * @default - none; add them with `addPipeline`
   */
  readonly pipelines?: GpuTrainingPipeline[];

  /**
   * Endpoints: ML engineers deploy new models to them, roll them back and invoke them.
   *
   * @default - none; add them with `addEndpoint`
   */
  readonly endpoints?: ModelEndpoint[];

  /**
   * Continuous-training loops: data scientists request retraining; both data scientists and ML engineers read
   * the loop's execution history (its decisions).
   *
   * @default - none; add them with `addContinuousTraining`
   */
  readonly continuousTraining?: ContinuousTraining[];

  /**
   * Who may assume the DataScientist role.
   *
   * @default - the account root (`iam.AccountRootPrincipal`): IAM administrators delegate `sts:AssumeRole`
   * on this role to users or groups by IAM policy (or an IAM Identity Center permission set)
   */
  readonly dataScientistPrincipal?: iam.IPrincipal;

  /**
   * Who may assume the MlEngineer role.
   *
   * @default - the account root (`iam.AccountRootPrincipal`), delegated by IAM policy
   */
  readonly mlEngineerPrincipal?: iam.IPrincipal;

  /**
   * Who may assume the DataEngineer role.
   *
   * @default - the account root (`iam.AccountRootPrincipal`), delegated by IAM policy
   */
  readonly dataEngineerPrincipal?: iam.IPrincipal;

  /**
   * Longest session of each role: 1 to 12 hours.
   *
   * @default Duration.hours(1)
   */
  readonly maxSessionDuration?: Duration;
}

/**
 * Actions that approve or deploy a model. Denied to DataScientist and DataEngineer on every resource.
 * `CreateModelPackage` belongs here: a package can be created already `Approved`, which is approval.
 */
const APPROVE_OR_DEPLOY_ACTIONS = [
  'sagemaker:CreateModelPackage', 'sagemaker:UpdateModelPackage', 'sagemaker:DeleteModelPackage',
  'sagemaker:CreateEndpoint', 'sagemaker:UpdateEndpoint', 'sagemaker:DeleteEndpoint', 'sagemaker:UpdateEndpointWeightsAndCapacities',
];
/** Registering a model: denied to MlEngineer (the identity that approves must not register). */
const REGISTER_ACTIONS = ['sagemaker:CreateModelPackage'];
/** Changing training data: denied to MlEngineer on the lake's raw and curated objects. */
const DATA_WRITE_ACTIONS = ['s3:PutObject*', 's3:DeleteObject*', 's3:RestoreObject', 's3:BypassGovernanceRetention'];
/** Changing features: denied to MlEngineer on every feature group. */
const FEATURE_WRITE_ACTIONS = ['sagemaker:PutRecord', 'sagemaker:DeleteRecord'];

/** Lowercase SageMaker-name prefix of a platform's models. */
const NAME_PREFIX = /^[a-z](-?[a-z0-9]){0,39}$/;

/** A statement id suffix from a name prefix (Sids are alphanumeric). */
function sidSuffix(namePrefix: string): string {
  return namePrefix.split('-').map(part => part.charAt(0).toUpperCase() + part.slice(1)).join('');
}

const MIN_SESSION_SECONDS = 3600;
const MAX_SESSION_SECONDS = 12 * 3600;

/**
 * IAM roles for the three team roles of an ML platform, built from the platform constructs' grants, with
 * separation of duties enforced by explicit denies.
 *
 * | Role | Can | Cannot (explicit deny) |
 * |---|---|---|
 * | `dataScientist` | read the `curated` and `features` zones and feature groups; start, stop and follow pipelines and read their outputs; read registries; request a retraining; read loops' execution history | register, approve, reject or delete model packages; create, update or delete endpoints or shift their traffic |
 * | `mlEngineer` | read registries and approve/reject versions; read pipeline outputs; deploy new models to endpoints and roll them back; invoke endpoints; read loops' execution history | register model packages; write or delete objects of the `raw` and `curated` zones; put or delete feature records |
 * | `dataEngineer` | read, write and delete objects of the `raw` and `curated` zones; put, delete and read feature records | the same as `dataScientist` |
 *
 * **Separation of duties.** Models are registered only by pipelines (their SageMaker Pipelines role); only
 * the ML engineer (and the continuous-training loop) approves, and the ML engineer can register nothing. The
 * denies are in an inline policy of each role (defined with the role, not a separate policy that can be
 * detached), so a broad policy attached later (e.g. `AdministratorAccess`) cannot undo them: an explicit deny
 * always wins. SageMaker denies apply to every resource (`*`): an endpoint or model package group created
 * outside the platform, or added later, is covered too, and a new endpoint has no ARN to name in advance.
 * Data denies apply to this lake's `raw` and `curated` objects only, so other S3 work in the account is not
 * affected.
 *
 * Starting a pipeline does not let a data scientist release a model: the status a pipeline registers with is a
 * literal of its definition (`PendingManualApproval` by default), not a run parameter, and the pipeline's own role
 * is denied `UpdateModelPackage`.
 *
 * **Limits.** Persona roles only get identity policies: resource policies (bucket, key) of the constructs are
 * unchanged. A pipeline built with `modelApprovalStatus: APPROVED` releases better models without a separate
 * approval (the MlOpsChecks rule `MlOps-RG1` flags it).
 *
 * @example
 * const personas = new Personas(stack, 'Personas', {
 *   dataLake: lake, featureStores: [features], pipelines: [training], endpoints: [endpoint], continuousTraining: [loop],
 * });
 * personas.addEndpoint(shadowEndpoint);
 */
export class Personas extends Construct {
  /** The IAM path of the roles models named `<namePrefix>-…` pass to SageMaker (see {@link addNamePrefix}). */
  public static rolePathFor(namePrefix: string): string {
    return `/cdk-ml-platform/${namePrefix}/`;
  }

  /** Reads curated data and features, trains (starts pipelines), reads the registry; cannot approve or deploy. */
  public readonly dataScientist: iam.Role;
  /** Approves or rejects model versions, deploys and rolls back endpoints; cannot register models or change data. */
  public readonly mlEngineer: iam.Role;
  /** Writes raw and curated data and manages feature ingestion; cannot approve or deploy. */
  public readonly dataEngineer: iam.Role;
  /** The platform's data lake. */
  public readonly dataLake: IDataLake;

  private readonly featureStores = new Set<IFeatureStore>();
  private readonly registries = new Set<IModelRegistry>();
  private readonly explicitRegistries = new Set<IModelRegistry>();
  private readonly pipelines = new Set<GpuTrainingPipeline>();
  private readonly endpoints = new Set<ModelEndpoint>();
  private readonly loops = new Set<ContinuousTraining>();
  private readonly namePrefixes = new Set<string>();

  constructor(scope: Construct, id: string, props: PersonasProps) {
    super(scope, id);
    this.dataLake = props.dataLake;
    validate(this, props);

    const session = props.maxSessionDuration ?? Duration.hours(1);
    const role = (roleId: string, principal: iam.IPrincipal | undefined, description: string, denies: iam.PolicyStatement[]) => {
      const r = new iam.Role(this, roleId, {
        assumedBy: principal ?? new iam.AccountRootPrincipal(),
        maxSessionDuration: session,
        description: `${description} (${this.node.path})`,
        inlinePolicies: { SeparationOfDuties: new iam.PolicyDocument({ statements: denies }) },
      });
      Validations.of(r).acknowledge({
        id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy',
        reason: 'The persona\'s separation-of-duties denies are inline so they cannot be detached from the role; ' +
          'its grants are a policy defined by this construct for this role only.',
      });
      return r;
    };
    const noApproveOrDeploy = new iam.PolicyStatement({
      sid: 'NoApproveOrDeploy', effect: iam.Effect.DENY, actions: APPROVE_OR_DEPLOY_ACTIONS, resources: ['*'],
    });
    this.dataScientist = role('DataScientist', props.dataScientistPrincipal,
      'Data scientist: reads curated data and features, trains, reads the registry; cannot approve or deploy', [noApproveOrDeploy]);
    this.dataEngineer = role('DataEngineer', props.dataEngineerPrincipal,
      'Data engineer: writes raw and curated data, manages feature ingestion; cannot approve or deploy', [noApproveOrDeploy]);
    const lake = props.dataLake;
    this.mlEngineer = role('MlEngineer', props.mlEngineerPrincipal,
      'ML engineer: approves models, deploys and rolls back endpoints; cannot register models or change training data', [
        new iam.PolicyStatement({ sid: 'NoRegister', effect: iam.Effect.DENY, actions: REGISTER_ACTIONS, resources: ['*'] }),
        new iam.PolicyStatement({
          sid: 'NoTrainingDataWrites',
          effect: iam.Effect.DENY,
          actions: DATA_WRITE_ACTIONS,
          resources: [lake.bucket(DataZone.RAW).arnForObjects('*'), lake.bucket(DataZone.CURATED).arnForObjects('*')],
        }),
        new iam.PolicyStatement({
          sid: 'NoFeatureWrites',
          effect: iam.Effect.DENY,
          actions: FEATURE_WRITE_ACTIONS,
          resources: [Stack.of(this).formatArn({ service: 'sagemaker', resource: 'feature-group', resourceName: '*' })],
        }),
      ]);

    // --- lake ----------------------------------------------------------------------------------------------------
    for (const zone of [DataZone.CURATED, DataZone.FEATURES]) {
      lake.grantRead(zone, this.dataScientist);
      this.acknowledgeObjects(this.dataScientist, zone, `Data scientists read every ${zone} dataset.`);
    }
    for (const zone of [DataZone.RAW, DataZone.CURATED]) {
      lake.grantReadWrite(zone, this.dataEngineer);
      this.acknowledgeObjects(this.dataEngineer, zone, `Data engineers maintain every ${zone} dataset (deletes add delete markers; versions are kept).`);
    }

    for (const r of props.registries ?? []) { this.addRegistry(r); }
    for (const f of props.featureStores ?? []) { this.addFeatureStore(f); }
    for (const p of props.pipelines ?? []) { this.addPipeline(p); }
    for (const e of props.endpoints ?? []) { this.addEndpoint(e); }
    for (const l of props.continuousTraining ?? []) { this.addContinuousTraining(l); }
  }

  /** Lets data scientists read the feature group and data engineers put, delete and read its records. */
  public addFeatureStore(featureStore: IFeatureStore): void {
    this.checkNew(this.featureStores, featureStore, 'feature store');
    if (featureStore instanceof FeatureStore) { this.checkLake(featureStore.dataLake, 'feature store', featureStore.node.path); }
    this.featureStores.add(featureStore);
    featureStore.grantRead(this.dataScientist);
    featureStore.grantWrite(this.dataEngineer);
    featureStore.grantRead(this.dataEngineer);
    // An imported group grants its offline store prefix (default `feature-groups/`) of the lake it names.
    const offline = featureStore instanceof FeatureStore ? featureStore.offlineObjectsArn
      : this.dataLake.bucket(DataZone.FEATURES).arnForObjects('feature-groups/*');
    if (offline) {
      for (const role of [this.dataScientist, this.dataEngineer]) {
        acknowledgeWildcardResource(role, offline, 'SageMaker writes offline records under time-partitioned keys.');
      }
    }
  }

  /** Lets data scientists read the registry and ML engineers read it and approve or reject its versions. */
  public addRegistry(registry: IModelRegistry): void {
    if (this.explicitRegistries.has(registry)) {
      throw this.duplicate('registry', registry.node.path);
    }
    this.explicitRegistries.add(registry);
    this.includeRegistry(registry);
  }

  /**
   * Lets data scientists start, stop and follow the pipeline and read its outputs, and ML engineers read its
   * outputs. Includes the pipeline's registry.
   */
  public addPipeline(pipeline: GpuTrainingPipeline): void {
    this.checkNew(this.pipelines, pipeline, 'pipeline');
    this.checkLake(pipeline.dataLake, 'pipeline', pipeline.node.path);
    this.pipelines.add(pipeline);
    pipeline.grantStartExecution(this.dataScientist);
    for (const role of [this.dataScientist, this.mlEngineer]) {
      pipeline.grantRead(role);
      acknowledgeWildcardResource(role, Stack.of(pipeline).formatArn({
        service: 'sagemaker', resource: 'pipeline', resourceName: `${lower(pipeline.pipelineName)}/execution/*`,
      }), 'Execution ids are assigned by SageMaker.');
      acknowledgeWildcardResource(role, this.dataLake.bucket(DataZone.MODELS).arnForObjects(`pipelines/${pipeline.pipelineName}/*`),
        'Pipeline outputs (artifacts, evaluations, baselines) are written under execution-specific keys.');
    }
    this.includeRegistry(pipeline.registry);
  }

  /**
   * Lets ML engineers deploy new models to the endpoint, roll it back and invoke it
   * (`ModelEndpoint.grantDeploy` and `grantInvoke`). Includes the endpoint's registry, if any.
   */
  public addEndpoint(endpoint: ModelEndpoint): void {
    this.checkNew(this.endpoints, endpoint, 'endpoint');
    this.checkLake(endpoint.dataLake, 'endpoint', endpoint.node.path);
    this.endpoints.add(endpoint);
    endpoint.grantDeploy(this.mlEngineer);
    endpoint.grantInvoke(this.mlEngineer);
    const stack = Stack.of(endpoint);
    const prefix = Token.isUnresolved(endpoint.endpointName) ? endpoint.endpointName : endpoint.endpointName.slice(0, 50);
    for (const resource of ['endpoint-config', 'model']) {
      acknowledgeWildcardResource(this.mlEngineer, stack.formatArn({ service: 'sagemaker', resource, resourceName: `${prefix}*` }),
        `New ${resource}s are confined to names starting with the endpoint's name, as the continuous-training loop names them.`);
    }
    if (endpoint.registry) { this.includeRegistry(endpoint.registry); }
  }

  /**
   * Lets data scientists request a retraining from the loop, and both data scientists and ML engineers read its
   * execution history (the loop's decisions).
   */
  public addContinuousTraining(loop: ContinuousTraining): void {
    this.checkNew(this.loops, loop, 'continuous-training loop');
    this.loops.add(loop);
    loop.grantRequestRetrain(this.dataScientist);
    const stack = Stack.of(loop.stateMachine);
    const machineName = Arn.split(loop.stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName;
    const executions = `${stack.formatArn({ service: 'states', resource: 'execution', resourceName: machineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME })}:*`;
    for (const role of [this.dataScientist, this.mlEngineer]) {
      loop.stateMachine.grant(role, 'states:DescribeStateMachine', 'states:ListExecutions');
      loop.stateMachine.grantExecution(role, 'states:DescribeExecution', 'states:DescribeStateMachineForExecution', 'states:GetExecutionHistory');
      acknowledgeWildcardResource(role, executions, 'Execution ids of the loop are assigned by Step Functions.');
    }
  }

  /**
   * Grants each persona its duties on every model whose SageMaker resources are named `<namePrefix>-…`: pipelines
   * (and their outputs under `pipelines/<namePrefix>-…` in the lake's models zone), model package groups and their
   * versions, endpoints with their configs and models, and passing the models' roles under the IAM path
   * {@link Personas.rolePathFor}. One set of statements covers any number of models, so a platform with hundreds
   * of models stays within IAM's policy size limits (per-construct grants would not). The continuous-training
   * loops' execution history is not included; their decisions are in the audit trail.
   *
   * Data scientists: start, stop and follow the pipelines, read their outputs and the registries. ML engineers:
   * read the pipelines' outputs, read and approve or reject versions, deploy to, roll back and invoke the endpoints.
   */
  public addNamePrefix(namePrefix: string): void {
    if (!NAME_PREFIX.test(namePrefix)) {
      throw mlError(this, 'Personas', {
        code: 'InvalidNamePrefix',
        what: 'a name prefix has 1 to 40 lowercase letters, digits and single hyphens, starting with a letter',
        got: namePrefix,
        fix: 'use e.g. \'fraud-platform\'',
      });
    }
    if (this.namePrefixes.has(namePrefix)) { throw this.duplicate('name prefix', namePrefix); }
    this.namePrefixes.add(namePrefix);
    const stack = Stack.of(this);
    const arn = (resource: string, name: string) => stack.formatArn({ service: 'sagemaker', resource, resourceName: name });
    const pipelines = [arn('pipeline', `${namePrefix}-*`), arn('pipeline', `${namePrefix}-*/execution/*`)];
    const registry = [arn('model-package-group', `${namePrefix}-*`), arn('model-package', `${namePrefix}-*/*`)];
    const endpoints = arn('endpoint', `${namePrefix}-*`);
    const configsAndModels = [arn('endpoint-config', `${namePrefix}-*`), arn('model', `${namePrefix}-*`)];
    const roles = stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: `${Personas.rolePathFor(namePrefix).slice(1)}*` });
    const outputs = this.dataLake.bucket(DataZone.MODELS).arnForObjects(`pipelines/${namePrefix}-*`);
    const add = (role: iam.Role, sid: string, actions: string[], resources: string[], conditions?: Record<string, unknown>) => {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: `${sid}${sidSuffix(namePrefix)}`, actions, resources, conditions }));
      for (const r of resources) {
        acknowledgeWildcardResource(role, r, `Every model of the platform '${namePrefix}' is named '${namePrefix}-…' (one statement for any number of models).`);
      }
    };
    add(this.dataScientist, 'RunPipelines', [...new Set([...PIPELINE_READ_ACTIONS, ...PIPELINE_RUN_ACTIONS])], pipelines);
    add(this.mlEngineer, 'ReadPipelines', PIPELINE_READ_ACTIONS, pipelines);
    for (const role of [this.dataScientist, this.mlEngineer]) {
      this.dataLake.grantRead(DataZone.MODELS, role, `pipelines/${namePrefix}-`);
      acknowledgeWildcardResource(role, outputs, 'Pipeline outputs are written under execution-specific keys.');
      add(role, 'ReadRegistry', REGISTRY_READ_ACTIONS, registry);
    }
    add(this.mlEngineer, 'ApproveVersions', ['sagemaker:UpdateModelPackage'], [registry[1]]);
    add(this.mlEngineer, 'DeployEndpoints', ['sagemaker:DescribeEndpoint', 'sagemaker:UpdateEndpoint', 'sagemaker:UpdateEndpointWeightsAndCapacities',
      'sagemaker:InvokeEndpoint'], [endpoints]);
    add(this.mlEngineer, 'NewModelsAndConfigs', ['sagemaker:DescribeEndpointConfig', 'sagemaker:DescribeModel', 'sagemaker:ListTags',
      'sagemaker:CreateEndpointConfig', 'sagemaker:CreateModel', 'sagemaker:AddTags'], configsAndModels);
    add(this.mlEngineer, 'PassModelRoles', ['iam:PassRole'], [roles], { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } });
    const key = this.dataLake.encryptionKey.keyArn;
    this.mlEngineer.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:DescribeKey'], resources: [key] }));
    this.mlEngineer.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['kms:CreateGrant'], resources: [key], conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    }));
  }

  private includeRegistry(registry: IModelRegistry): void {
    if (this.registries.has(registry)) { return; }
    this.registries.add(registry);
    registry.grantRead(this.dataScientist);
    registry.grantRead(this.mlEngineer);
    registry.grantApprove(this.mlEngineer);
    for (const role of [this.dataScientist, this.mlEngineer]) {
      acknowledgeWildcardResource(role, registry.modelPackageArnPattern, 'Any version of the group may be reviewed, approved or rejected.');
    }
  }

  private acknowledgeObjects(role: iam.Role, zone: DataZone, reason: string): void {
    acknowledgeWildcardResource(role, this.dataLake.bucket(zone).arnForObjects('*'), reason);
  }

  private checkNew<T extends Construct | IFeatureStore>(set: Set<T>, item: T, what: string): void {
    if (set.has(item)) { throw this.duplicate(what, item.node.path); }
  }

  private duplicate(what: string, path: string): MlPlatformError {
    return mlError(this, 'Personas', {
      code: 'Duplicate',
      what: `this ${what} was already added (explicitly, or as the registry of an added pipeline or endpoint)`,
      got: path,
      fix: 'add each construct once',
    });
  }

  private checkLake(lake: IDataLake, what: string, path: string): void {
    if (lake === this.dataLake) { return; }
    throw mlError(this, 'Personas', {
      code: 'ForeignDataLake',
      what: `the ${what} ${path} uses the data lake ${lake.node.path}, not the personas' ${this.dataLake.node.path}; ` +
        'the personas\' data grants and denies would not cover its data',
      got: lake.node.path,
      fix: `create one Personas per data lake, or build the ${what} on ${this.dataLake.node.path}`,
    });
  }
}

function lower(name: string): string {
  return Token.isUnresolved(name) ? name : name.toLowerCase();
}

function validate(scope: Construct, props: PersonasProps): void {
  const errors = new ValidationErrors(scope, 'Personas');
  const session = props.maxSessionDuration;
  if (session && !session.isUnresolved()) {
    const seconds = session.toSeconds({ integral: false });
    errors.check(seconds >= MIN_SESSION_SECONDS && seconds <= MAX_SESSION_SECONDS, {
      code: 'InvalidMaxSessionDuration',
      what: 'maxSessionDuration must be between 1 and 12 hours (IAM limits)',
      got: session,
      fix: 'use e.g. Duration.hours(4)',
    });
  }
  const stack = Stack.of(scope);
  const principals: Array<[string, iam.IPrincipal | undefined]> = [
    ['dataScientistPrincipal', props.dataScientistPrincipal],
    ['mlEngineerPrincipal', props.mlEngineerPrincipal],
    ['dataEngineerPrincipal', props.dataEngineerPrincipal],
  ];
  const seen = new Map<string, string>();
  for (const [name, principal] of principals) {
    if (!principal || principal instanceof iam.AccountRootPrincipal) { continue; }
    const fragment = principal.policyFragment;
    const identity = JSON.stringify(stack.resolve({ p: fragment.principalJson, c: fragment.conditions }));
    const other = seen.get(identity);
    errors.check(other === undefined, {
      code: 'SharedPrincipal',
      what: `${other} and ${name} name the same principal: one identity holding two personas voids separation of duties`,
      got: JSON.stringify(stack.resolve(fragment.principalJson)),
      fix: 'give each persona its own principal (user, group role or SSO permission set), or leave them to the account root and delegate by IAM policy',
    });
    seen.set(identity, name);
  }
  errors.throwIfAny();
}
