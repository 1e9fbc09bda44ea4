import { ArnFormat, Duration, Lazy, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { LoopControlFunction } from './loop-control-function';
import { LoopDeployFunction } from './loop-deploy-function';
import { AUDIT_EVENT_DETAIL_TYPE, AUDIT_EVENT_SOURCE, RETRAIN_REQUEST_DETAIL_TYPE } from './loop-state';
import { RetrainTrigger } from './retrain-trigger';
import { ValidationErrors } from '../core/errors';
import { applyLineageTags, codeVersion } from '../core/lineage';
import { acknowledgeManagedPolicy, acknowledgeWildcardAction, acknowledgeWildcardResource } from '../core/nag';
import { resolveStatefulRemovalPolicy } from '../core/removal-policy';
import { DataZone, IDataLake } from '../data/data-lake';
import { IModelRegistry } from '../registry/model-registry';
import { ModelEndpoint } from '../serving/model-endpoint';
import { GpuTrainingPipeline, ModelApprovalStatus } from '../training/gpu-training-pipeline';
import { Objective } from '../training/objective';

/** Who approves a challenger that beat the champion. */
export enum PromotionApproval {
  /** The loop approves it in the registry and promotes it to the endpoint. */
  AUTOMATIC = 'automatic',
  /** The loop stops at "await approval"; a human approves it (ModelRegistry.grantApprove) and deploys. */
  MANUAL = 'manual',
}

/** Properties of {@link ContinuousTraining}. */
export interface ContinuousTrainingProps {
  /** The pipeline that trains, evaluates and registers a challenger. */
  readonly pipeline: GpuTrainingPipeline;
  /** What starts a run. At least one. */
  readonly triggers: RetrainTrigger[];
  /**
   * The endpoint a better challenger is promoted to (with its deployment strategy and rollback alarms).
   * @default - no promotion: a better challenger is only approved in the registry
   */
  readonly endpoint?: ModelEndpoint;
  /**
   * The registry the pipeline registers into.
   * @default - the pipeline's registry
   */
  readonly registry?: IModelRegistry;
  /**
   * How a challenger is compared with the champion (metric, direction, minimum improvement).
   * @default - the pipeline's objective
   */
  readonly objective?: Objective;
  /**
   * Who approves a better challenger.
   * @default PromotionApproval.AUTOMATIC
   */
  readonly approval?: PromotionApproval;
  /**
   * Least time between two pipeline starts; triggers inside it are skipped and audited.
   * @default Duration.hours(6)
   */
  readonly minInterval?: Duration;
  /**
   * Most runs per budget period (fixed windows); further triggers are skipped and audited.
   * @default 4
   */
  readonly maxRunsPerPeriod?: number;
  /**
   * Length of a budget window.
   * @default Duration.days(7)
   */
  readonly budgetPeriod?: Duration;
  /**
   * How long the rollback alarms are watched after a promotion reached InService; an alarm in that time
   * restores the previous configuration and rejects the challenger.
   * @default Duration.hours(1)
   */
  readonly bakeTime?: Duration;
  /**
   * Longest a pipeline execution may take before the run fails (the execution keeps running; it is audited).
   * @default Duration.days(1)
   */
  readonly maxPipelineDuration?: Duration;
  /**
   * How often the pipeline execution's status is polled.
   * @default Duration.minutes(5)
   */
  readonly pipelinePollInterval?: Duration;
  /**
   * The `CodeVersion` pipeline parameter of loop runs (a manual request may override it).
   * @default - context `cdk-ml-platform:codeVersion`, else 'unversioned'
   */
  readonly codeVersion?: string;
  /**
   * Where audit records go (its `monitoring` zone, `audit/continuous-training/...`).
   * @default - the endpoint's lake, else the pipeline's
   */
  readonly dataLake?: IDataLake;
  /**
   * Removal policy of the state table (lock, counters, dedupe keys).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The continuous-training loop: drift (or a schedule, or a request) → retrain → compare the challenger
 * with the champion → approve → deploy with the endpoint's strategy → verify → bake → keep, or roll back.
 *
 * A Step Functions state machine, started by EventBridge rules of its `triggers`:
 *
 * 1. **Admit**: debounce. Duplicate events start one run, one run at a time, at least `minInterval` between
 *    starts and at most `maxRunsPerPeriod` per `budgetPeriod` (DynamoDB conditional writes). Skips are audited.
 * 2. **StartPipeline**: the training pipeline with `CodeVersion` (and `InputDataUri` when a request pins a data
 *    version); it registers its challenger `PendingManualApproval` (the pipeline's `modelApprovalStatus` must be
 *    that: the loop approves); polled every `pipelinePollInterval`.
 * 3. **Evaluate**: the challenger registered by that execution against the newest Approved package (the
 *    champion) on the objective; a NaN or missing value never wins. Better → Approved (automatic approval)
 *    or left for a human (manual); not better → Rejected with the reason; the champion stays.
 * 4. **Promote** (with an endpoint): a new model and endpoint config from the challenger, UpdateEndpoint with
 *    the endpoint's deployment config (canary/linear, auto-rollback alarms); then waits for InService on the
 *    new config (SageMaker's own rollback is detected and the challenger rejected).
 * 5. **Bake**: the endpoint's rollback alarms are checked every minute for `bakeTime`; an alarm restores the
 *    previous endpoint config and rejects the challenger, so the previous approved version is served again.
 * 6. **Finish**: releases the lock; every task's failure is caught, audited and releases it too.
 *
 * Every decision is an audit record (S3 JSON in the lake's monitoring zone and an EventBridge event,
 * source `cdk-ml-platform.continuous-training`) with trigger, pipeline execution, challenger and champion
 * packages, data and code version.
 *
 * Note: promotions change the endpoint outside CloudFormation. The stack keeps the config it deployed; a
 * later `cdk deploy` that changes the endpoint deploys the newest approved package (ModelSource.fromLatestApproved
 * resolves it again when the group changes), not an older one, but do not `cdk deploy` during a bake.
 */
export class ContinuousTraining extends Construct {
  /** The loop's name: the construct path, used in manual requests (`detail.loop`) and audit records. */
  public readonly loopName: string;
  /** The state machine. */
  public readonly stateMachine: sfn.StateMachine;
  /** Lock, counters and dedupe keys. */
  public readonly table: dynamodb.ITable;
  /** Trigger, pipeline and registry tasks. */
  public readonly controlFunction: lambda.IFunction;
  /** Promotion, bake and rollback tasks (only with an endpoint). */
  public readonly deployFunction?: lambda.IFunction;
  /** The trigger rules. */
  public readonly triggerRules: events.Rule[] = [];
  /** S3 URI of the audit records. */
  public readonly auditUri: string;

  constructor(scope: Construct, id: string, props: ContinuousTrainingProps) {
    super(scope, id);
    validate(this, props);
    const stack = Stack.of(this);
    const pipeline = props.pipeline;
    const registry = props.registry ?? pipeline.registry;
    const objective = props.objective ?? pipeline.objective;
    const endpoint = props.endpoint;
    const lake = props.dataLake ?? endpoint?.dataLake ?? pipeline.dataLake;
    this.loopName = this.node.path;
    const auditPrefix = `audit/continuous-training/${this.node.path.replace(/[^A-Za-z0-9/_-]/g, '-')}/`;
    this.auditUri = lake.uri(DataZone.MONITORING, auditPrefix);

    // --- state: lock, counters, dedupe keys ---------------------------------------------------------------------
    const removal = resolveStatefulRemovalPolicy(this, 'ContinuousTraining', props.removalPolicy);
    const table = new dynamodb.Table(this, 'State', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: lake.encryptionKey,
      removalPolicy: removal.policy,
    });
    this.table = table;

    const env: Record<string, string> = {
      LOOP_NAME: this.loopName,
      LOOP_TABLE: table.tableName,
      LOOP_AUDIT_BUCKET: lake.bucket(DataZone.MONITORING).bucketName,
      LOOP_AUDIT_PREFIX: auditPrefix,
      LOOP_EVENT_BUS: 'default',
      LOOP_PIPELINE_NAME: pipeline.pipelineName,
      LOOP_MODEL_PACKAGE_GROUP: registry.modelPackageGroupName,
      LOOP_OBJECTIVE_METRIC: objective.metricName,
      LOOP_OBJECTIVE_DIRECTION: objective.direction,
      LOOP_MIN_IMPROVEMENT: String(objective.minImprovement),
      LOOP_MIN_INTERVAL_SECONDS: String((props.minInterval ?? Duration.hours(6)).toSeconds()),
      LOOP_MAX_RUNS_PER_PERIOD: String(props.maxRunsPerPeriod ?? 4),
      LOOP_BUDGET_PERIOD_SECONDS: String((props.budgetPeriod ?? Duration.days(7)).toSeconds()),
      LOOP_APPROVAL: props.approval ?? PromotionApproval.AUTOMATIC,
      LOOP_CODE_VERSION: props.codeVersion ?? codeVersion(this) ?? 'unversioned',
      LOOP_BAKE_SECONDS: String((props.bakeTime ?? Duration.hours(1)).toSeconds()),
    };
    const maxPipeline = props.maxPipelineDuration ?? Duration.days(1);
    // A stale lock (a run that died without Finish) is taken over after the longest a run can take.
    const runTimeout = Duration.seconds(maxPipeline.toSeconds() + Duration.hours(6).toSeconds() + (props.bakeTime ?? Duration.hours(1)).toSeconds());
    env.LOOP_LOCK_TTL_SECONDS = String(runTimeout.toSeconds() + 3600);
    if (endpoint) {
      env.LOOP_ENDPOINT_NAME = endpoint.endpointName;
      env.LOOP_ROLLBACK_ALARMS = Lazy.string({ produce: () => endpoint.allRollbackAlarms().map(a => a.alarmName).join(',') });
    }

    const auditBus = stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' });
    const handlerLogs = (logId: string) => new logs.LogGroup(this, logId, {
      retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN,
    });

    // --- control function: trigger, pipeline, registry ---------------------------------------------------------
    const control = new LoopControlFunction(this, 'ControlFunction', {
      description: `cdk-ml-platform: continuous-training control tasks of ${this.node.path}`,
      timeout: Duration.minutes(2),
      memorySize: 512,
      environment: env,
      logGroup: handlerLogs('ControlLogs'),
    });
    this.controlFunction = control;
    table.grantReadWriteData(control);
    for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
      acknowledgeWildcardAction(control.role!, action, 'The key permissions DynamoDB needs for items of a table encrypted with a customer managed key (aws-cdk-lib Table.grant).');
    }
    pipeline.grantStartExecution(control);
    acknowledgeWildcardResource(control.role!, stack.formatArn({
      service: 'sagemaker', resource: 'pipeline', resourceName: `${Token.isUnresolved(pipeline.pipelineName) ? pipeline.pipelineName : pipeline.pipelineName.toLowerCase()}/execution/*`,
    }), 'The loop follows the executions it starts, whose ids SageMaker assigns.');
    registry.grantRead(control);
    registry.grantApprove(control);
    // Evaluation files of this and earlier pipeline generations (the champion may come from an older one).
    lake.grantRead(DataZone.MODELS, control, 'pipelines/');

    // --- deploy function: promote, bake, roll back --------------------------------------------------------------
    let deploy: lambda.Function | undefined;
    if (endpoint) {
      deploy = new LoopDeployFunction(this, 'DeployFunction', {
        description: `cdk-ml-platform: continuous-training deploy tasks of ${this.node.path}`,
        timeout: Duration.minutes(2),
        memorySize: 256,
        environment: env,
        logGroup: handlerLogs('DeployLogs'),
      });
      this.deployFunction = deploy;
      const arn = (resource: string, name: string) => stack.formatArn({ service: 'sagemaker', resource, resourceName: name });
      const prefix = endpoint.endpointName.slice(0, 50);
      deploy.addToRolePolicy(new iam.PolicyStatement({
        actions: ['sagemaker:DescribeEndpoint', 'sagemaker:UpdateEndpoint'],
        resources: [endpoint.endpointArn],
      }));
      deploy.addToRolePolicy(new iam.PolicyStatement({
        actions: ['sagemaker:DescribeEndpointConfig', 'sagemaker:DescribeModel'],
        resources: [arn('endpoint-config', '*'), arn('model', '*')],
      }));
      deploy.addToRolePolicy(new iam.PolicyStatement({
        actions: ['sagemaker:CreateEndpointConfig', 'sagemaker:CreateModel', 'sagemaker:AddTags'],
        resources: [arn('endpoint-config', `${prefix}*`), arn('model', `${prefix}*`)],
      }));
      deploy.addToRolePolicy(new iam.PolicyStatement({
        actions: ['cloudwatch:DescribeAlarms'],
        resources: [stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }));
      endpoint.role.grantPassRole(deploy.grantPrincipal);
      registry.grantRead(deploy);
      registry.grantApprove(deploy);
      // The new endpoint config keeps the current config's volume and capture key: SageMaker needs grants on it.
      lake.encryptionKey.grant(deploy, 'kms:CreateGrant', 'kms:DescribeKey');
      acknowledgeWildcardResource(deploy.role!, arn('endpoint-config', '*'), 'The endpoint\'s current config has a CloudFormation-generated name; it is read to copy it.');
      acknowledgeWildcardResource(deploy.role!, arn('model', '*'), 'The endpoint\'s current model has a CloudFormation-generated name; it is read to copy its role, VPC and isolation.');
      acknowledgeWildcardResource(deploy.role!, arn('endpoint-config', `${prefix}*`), 'Configs the loop creates are named <endpoint>-<run hash>.');
      acknowledgeWildcardResource(deploy.role!, arn('model', `${prefix}*`), 'Models the loop creates are named <endpoint>-<run hash>.');
      acknowledgeWildcardResource(deploy.role!, stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
        'The rollback alarms have CloudFormation-generated names; DescribeAlarms reads them by name.');
    }

    for (const fn of [control, deploy]) {
      if (!fn) { continue; }
      lake.grantWrite(DataZone.MONITORING, fn, auditPrefix);
      fn.addToRolePolicy(new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [auditBus],
        conditions: { StringEquals: { 'events:source': AUDIT_EVENT_SOURCE } },
      }));
      acknowledgeWildcardResource(fn.role!, lake.bucket(DataZone.MONITORING).arnForObjects(`${auditPrefix}*`), 'Audit records are written under run-specific keys.');
      acknowledgeWildcardResource(fn.role!, registry.modelPackageArnPattern, 'Any version of the group may be the challenger or the champion.');
      Validations.of(fn).acknowledge(
        { id: 'NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC', reason: 'Only calls AWS APIs (SageMaker, DynamoDB, S3, EventBridge, CloudWatch); nothing in a VPC to reach.' },
        { id: 'NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ', reason: 'Invoked synchronously by Step Functions, which retries, catches and audits every failure.' },
        { id: 'NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency', reason: 'Runs are serialized by the loop\'s lock; reserved concurrency would only add a failure mode.' },
        { id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy', reason: 'CDK attaches the function\'s permissions as a policy owned by this role only.' },
      );
      acknowledgeManagedPolicy(fn, 'service-role/AWSLambdaBasicExecutionRole', 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs.');
    }
    acknowledgeWildcardResource(control.role!, lake.bucket(DataZone.MODELS).arnForObjects('pipelines/*'), 'Evaluation files of every pipeline execution may be the champion\'s.');
    for (const logGroupId of ['ControlLogs', 'DeployLogs', 'Logs']) {
      const lg = this.node.tryFindChild(logGroupId);
      if (lg) {
        Validations.of(lg).acknowledge({
          id: 'NIST.800.53.R5::NIST.800.53.R5-CloudWatchLogGroupEncrypted',
          reason: 'Task summaries and ARNs only, no data; CloudWatch Logs encrypts them at rest.',
        });
      }
    }

    // --- state machine ------------------------------------------------------------------------------------------
    const definition = buildDefinition(this, control, deploy, props.pipelinePollInterval ?? Duration.minutes(5));
    const smLogs = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    Validations.of(smLogs).acknowledge({
      id: 'NIST.800.53.R5::NIST.800.53.R5-CloudWatchLogGroupEncrypted',
      reason: 'Execution history of the loop (ARNs, decisions); CloudWatch Logs encrypts it at rest.',
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: runTimeout,
      tracingEnabled: true,
      logs: { destination: smLogs, level: sfn.LogLevel.ALL, includeExecutionData: true },
      comment: `cdk-ml-platform continuous training: ${this.node.path}`,
    });
    acknowledgeWildcardResource(this.stateMachine.role, `${control.functionArn}:*`, 'Step Functions may invoke any version of the loop\'s own functions.');
    if (deploy) { acknowledgeWildcardResource(this.stateMachine.role, `${deploy.functionArn}:*`, 'Step Functions may invoke any version of the loop\'s own functions.'); }
    acknowledgeWildcardResource(this.stateMachine.role, '*', 'X-Ray and CloudWatch Logs delivery actions have no resource ARNs.');
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy', reason: 'CDK attaches the state machine\'s permissions as a policy owned by this role only.',
    });

    // --- triggers -------------------------------------------------------------------------------------------------
    props.triggers.forEach((t, i) => {
      this.triggerRules.push(t._bind(this, this.stateMachine, this.loopName, i));
    });
    const eventsRole = this.stateMachine.node.tryFindChild('EventsRole');
    if (eventsRole) {
      Validations.of(eventsRole).acknowledge({
        id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy', reason: 'CDK\'s EventBridge target role: only states:StartExecution on this state machine.',
      });
    }
    applyLineageTags(this, 'continuous-training');
    Validations.of(table).acknowledge({
      id: 'NIST.800.53.R5::NIST.800.53.R5-DynamoDBInBackupPlan',
      reason: 'Operational state (lock, counters, dedupe keys) with point-in-time recovery; the decisions themselves are in the audit records.',
    });
  }

  /** An EventBridge rule for this loop's audit events (every decision). */
  public onDecision(id: string, options: events.OnEventOptions = {}): events.Rule {
    const rule = new events.Rule(this, id, {
      ...options,
      eventPattern: {
        source: [AUDIT_EVENT_SOURCE],
        detailType: [AUDIT_EVENT_DETAIL_TYPE],
        detail: { loop: [this.loopName] },
      },
    });
    if (options.target) { rule.addTarget(options.target); }
    return rule;
  }

  /** Lets `grantee` request a retraining (PutEvents of a "Retrain requested" event on the default bus). */
  public grantRequestRetrain(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['events:PutEvents'],
      resourceArns: [Stack.of(this).formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
      conditions: { StringEquals: { 'events:source': AUDIT_EVENT_SOURCE, 'events:detail-type': RETRAIN_REQUEST_DETAIL_TYPE } },
    });
  }
}

/** The task names of the state machine: a public contract for dashboards and tests. */
export class ContinuousTrainingStates {
  public static readonly INIT = 'Init';
  public static readonly ADMIT = 'Admit';
  public static readonly START_PIPELINE = 'StartPipeline';
  public static readonly WAIT_PIPELINE = 'WaitForPipeline';
  public static readonly PIPELINE_STATUS = 'PipelineStatus';
  public static readonly EVALUATE = 'Evaluate';
  public static readonly PROMOTE = 'Promote';
  public static readonly WAIT_DEPLOYMENT = 'WaitForDeployment';
  public static readonly DEPLOYMENT_STATUS = 'DeploymentStatus';
  public static readonly WAIT_BAKE = 'Bake';
  public static readonly CHECK_ALARMS = 'CheckAlarms';
  public static readonly ROLLBACK = 'Rollback';
  public static readonly FINISH = 'Finish';
  public static readonly FINISH_AFTER_ERROR = 'FinishAfterError';
  public static readonly FAILED = 'RunFailed';
  public static readonly DONE = 'Done';

  private constructor() {}
}

const S = ContinuousTrainingStates;

function buildDefinition(scope: Construct, control: lambda.IFunction, deploy: lambda.IFunction | undefined, poll: Duration): sfn.IChainable {
  const task = (fn: lambda.IFunction, name: string, taskName: string, timeout = Duration.minutes(3)) => {
    const t = new tasks.LambdaInvoke(scope, name, {
      lambdaFunction: fn,
      payload: sfn.TaskInput.fromObject({ task: taskName, state: sfn.JsonPath.objectAt('$') }),
      payloadResponseOnly: true,
      resultPath: '$',
      taskTimeout: sfn.Timeout.duration(timeout),
      retryOnServiceExceptions: true,
    });
    // Throttling that outlasted the handler's own retries, and Lambda timeouts: try again later.
    t.addRetry({ errors: ['ThrottledError', 'Lambda.TooManyRequestsException', sfn.Errors.TIMEOUT], interval: Duration.seconds(30), maxAttempts: 4, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });
    return t;
  };
  const finishAfterError = task(control, S.FINISH_AFTER_ERROR, 'finish').next(new sfn.Fail(scope, S.FAILED, {
    error: 'ContinuousTrainingRunFailed', cause: 'A task failed; see the audit record of this run (decision failed).',
  }));
  const catchAll = (t: tasks.LambdaInvoke) => t.addCatch(finishAfterError, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  const init = new sfn.Pass(scope, S.INIT, {
    parameters: { 'runId.$': '$$.Execution.Id', 'startedAt.$': '$$.Execution.StartTime', 'event.$': '$' },
  });
  const admit = catchAll(task(control, S.ADMIT, 'admit'));
  const start = catchAll(task(control, S.START_PIPELINE, 'start'));
  const waitPipeline = new sfn.Wait(scope, S.WAIT_PIPELINE, { time: sfn.WaitTime.duration(poll) });
  const pipelineStatus = catchAll(task(control, S.PIPELINE_STATUS, 'pipelineStatus'));
  const evaluate = catchAll(task(control, S.EVALUATE, 'evaluate'));
  const finish = catchAll(task(control, S.FINISH, 'finish'));
  const done = new sfn.Succeed(scope, S.DONE);
  finish.next(done);

  const afterEvaluate = new sfn.Choice(scope, 'Promote?');
  if (deploy) {
    const promote = catchAll(task(deploy, S.PROMOTE, 'promote'));
    // The endpoint may be busy (another update): wait and try again.
    promote.addRetry({ errors: ['EndpointBusyError'], interval: Duration.minutes(5), maxAttempts: 12, backoffRate: 1 });
    const waitDeploy = new sfn.Wait(scope, S.WAIT_DEPLOYMENT, { time: sfn.WaitTime.duration(Duration.minutes(1)) });
    const deploymentStatus = catchAll(task(deploy, S.DEPLOYMENT_STATUS, 'deploymentStatus'));
    const bake = new sfn.Wait(scope, S.WAIT_BAKE, { time: sfn.WaitTime.duration(Duration.minutes(1)) });
    const checkAlarms = catchAll(task(deploy, S.CHECK_ALARMS, 'checkAlarms'));
    const rollback = catchAll(task(deploy, S.ROLLBACK, 'rollback'));
    rollback.next(finish);
    promote.next(waitDeploy);
    waitDeploy.next(deploymentStatus);
    deploymentStatus.next(new sfn.Choice(scope, 'Deployed?')
      .when(sfn.Condition.stringEquals('$.deploymentStatus', 'deploying'), waitDeploy)
      .when(sfn.Condition.stringEquals('$.deploymentStatus', 'in-service'), bake)
      .otherwise(finish));
    bake.next(checkAlarms);
    checkAlarms.next(new sfn.Choice(scope, 'Healthy?')
      .when(sfn.Condition.isPresent('$.alarm'), rollback)
      .when(sfn.Condition.and(sfn.Condition.isPresent('$.bakeDone'), sfn.Condition.booleanEquals('$.bakeDone', true)), finish)
      .otherwise(bake));
    afterEvaluate.when(sfn.Condition.stringEquals('$.decision', 'promote'), promote);
  }
  afterEvaluate.otherwise(finish);

  return init
    .next(admit)
    .next(new sfn.Choice(scope, 'Admitted?')
      .when(sfn.Condition.booleanEquals('$.admitted', true), start
        .next(waitPipeline)
        .next(pipelineStatus)
        .next(new sfn.Choice(scope, 'PipelineDone?')
          .when(sfn.Condition.or(
            sfn.Condition.stringEquals('$.pipelineStatus', 'Executing'),
            sfn.Condition.stringEquals('$.pipelineStatus', 'Stopping'),
          ), waitPipeline)
          .otherwise(evaluate.next(afterEvaluate))))
      .otherwise(finish));
}

function validate(scope: ContinuousTraining, props: ContinuousTrainingProps): void {
  const errors = new ValidationErrors(scope, 'ContinuousTraining');
  errors.check(props.pipeline.modelApprovalStatus !== ModelApprovalStatus.APPROVED, {
    code: 'PipelineApprovesItself',
    what: `the pipeline ${props.pipeline.node.path} registers better models as Approved, so the loop could not compare and approve the challenger itself (the new package would already be the champion)`,
    got: props.pipeline.modelApprovalStatus,
    fix: 'leave the pipeline\'s modelApprovalStatus at its default, ModelApprovalStatus.PENDING_MANUAL_APPROVAL',
  });
  errors.check((props.triggers ?? []).length > 0, {
    code: 'NoTriggers',
    what: 'no triggers: the loop would never run',
    got: props.triggers,
    fix: 'pass triggers: [RetrainTrigger.onDrift(monitor), RetrainTrigger.every(Duration.days(7)), RetrainTrigger.manual()]',
  });
  const manual = (props.triggers ?? []).filter(t => t.description === 'manual request').length;
  errors.check(manual <= 1, { code: 'DuplicateTrigger', what: 'RetrainTrigger.manual() is listed more than once', got: manual, fix: 'list it once' });
  for (const t of props.triggers ?? []) {
    const minutes = t._intervalMinutes;
    errors.check(minutes === undefined || (Number.isInteger(minutes) && minutes >= 60), {
      code: 'InvalidSchedule',
      what: 'RetrainTrigger.every() needs whole minutes, at least 1 hour',
      got: minutes === undefined ? undefined : `${minutes} minutes`,
      fix: 'retraining more often than hourly cannot finish between triggers; use e.g. Duration.days(1)',
    });
  }
  const runs = props.maxRunsPerPeriod ?? 4;
  errors.check(Number.isInteger(runs) && runs >= 1, { code: 'InvalidBudget', what: 'maxRunsPerPeriod must be a whole number of at least 1', got: runs, fix: 'e.g. 4' });
  // Durations as exact seconds (NaN, Infinity and fractions fail the checks instead of throwing in Duration.toSeconds).
  const seconds = (d: Duration | undefined, fallback: number) => d?.toSeconds({ integral: false }) ?? fallback;
  const whole = (n: number, min: number, max: number) => Number.isInteger(n) && n >= min && n <= max;
  const period = seconds(props.budgetPeriod, 7 * 86400);
  errors.check(whole(period, 3600, Number.MAX_SAFE_INTEGER), { code: 'InvalidBudget', what: 'budgetPeriod must be whole seconds, at least 1 hour', got: props.budgetPeriod, fix: 'e.g. Duration.days(7)' });
  const minInterval = seconds(props.minInterval, 6 * 3600);
  errors.check(whole(minInterval, 0, 30 * 86400), {
    code: 'InvalidMinInterval', what: 'minInterval must be whole seconds between 0 and 30 days', got: props.minInterval, fix: 'e.g. Duration.hours(6) (the default)',
  });
  const bake = seconds(props.bakeTime, 3600);
  errors.check(whole(bake, 60, 7 * 86400), { code: 'InvalidBakeTime', what: 'bakeTime must be whole seconds between 1 minute and 7 days', got: props.bakeTime, fix: 'e.g. Duration.hours(1)' });
  const poll = seconds(props.pipelinePollInterval, 300);
  errors.check(whole(poll, 60, 3600), {
    code: 'InvalidPollInterval', what: 'pipelinePollInterval must be between 1 minute and 1 hour', got: props.pipelinePollInterval, fix: 'e.g. Duration.minutes(5)',
  });
  const maxPipeline = seconds(props.maxPipelineDuration, 86400);
  // Step Functions standard workflows run at most one year; keep well inside it.
  errors.check(whole(maxPipeline, 600, 30 * 86400), {
    code: 'InvalidMaxPipelineDuration', what: 'maxPipelineDuration must be between 10 minutes and 30 days', got: props.maxPipelineDuration, fix: 'e.g. Duration.days(1)',
  });
  const endpoint = props.endpoint;
  const registry = props.registry ?? props.pipeline.registry;
  errors.check(!endpoint || endpoint.registry === undefined || endpoint.registry.modelPackageGroupName === registry.modelPackageGroupName, {
    code: 'RegistryMismatch',
    what: 'the endpoint serves from another model package group than the loop registers into',
    got: endpoint?.registry?.modelPackageGroupName,
    fix: 'use the same ModelRegistry for the pipeline, the endpoint and the loop',
  });
  errors.check(props.codeVersion === undefined || /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,256}$/u.test(props.codeVersion), {
    code: 'InvalidCodeVersion', what: 'codeVersion must be 1-256 letters, digits, spaces and _ . : / = + - @', got: props.codeVersion, fix: 'use a git SHA or release tag',
  });
  errors.throwIfAny();
}
