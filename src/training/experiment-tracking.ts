import { Names, Resource, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { ValidationErrors } from '../core/errors';
import { applyLineageTags } from '../core/lineage';
import { acknowledgeWildcardResource } from '../core/nag';
import { DataZone, IDataLake } from '../data/data-lake';

/** Size of a SageMaker managed MLflow tracking server. */
export enum TrackingServerSize {
  /** `Small`: up to about 25 users. */
  SMALL = 'Small',
  /** `Medium`: up to about 50 users. */
  MEDIUM = 'Medium',
  /** `Large`: up to about 100 users. */
  LARGE = 'Large',
}

/** Properties for an {@link ExperimentTracking}. */
export interface ExperimentTrackingProps {
  /** The lake; MLflow artifacts go to its `models` zone under `mlflow/` (encrypted with the lake key). */
  readonly dataLake: IDataLake;
  /**
   * Name of the tracking server (1-256 letters, digits, hyphens).
   * @default - generated from the construct path
   */
  readonly trackingServerName?: string;
  /**
   * Size of the tracking server.
   * @default TrackingServerSize.SMALL
   */
  readonly size?: TrackingServerSize;
  /**
   * MLflow version, e.g. `2.16`.
   * @default - the service's default version
   */
  readonly mlflowVersion?: string;
  /**
   * Register models logged to MLflow in the SageMaker Model Registry automatically. Off by default, so the
   * training pipeline's challenger/champion gate stays the only way into the registry.
   * @default false
   */
  readonly automaticModelRegistration?: boolean;
  /**
   * Weekly maintenance window start, e.g. `Sun:03:00` (UTC).
   * @default - chosen by the service
   */
  readonly weeklyMaintenanceWindowStart?: string;
}

/**
 * Experiment tracking with a SageMaker managed MLflow tracking server whose artifact store is the lake.
 * Give it to a GpuTrainingPipeline: its training and evaluation jobs get the server ARN in
 * `MLFLOW_TRACKING_ARN` and permission to log runs.
 */
export class ExperimentTracking extends Resource {
  /**
   * ARN of the tracking server.
   * @attribute
   */
  public readonly trackingServerArn: string;
  /**
   * Name of the tracking server.
   * @attribute
   */
  public readonly trackingServerName: string;
  /** The role the tracking server uses to reach its artifact store. */
  public readonly role: iam.Role;
  private readonly dataLake: IDataLake;

  constructor(scope: Construct, id: string, props: ExperimentTrackingProps) {
    super(scope, id);
    const errors = new ValidationErrors(this, 'ExperimentTracking');
    const name = props.trackingServerName;
    if (name !== undefined && !Token.isUnresolved(name)) {
      errors.check(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$/.test(name) && name.length <= 256, {
        code: 'InvalidName', what: 'trackingServerName must be 1-256 letters, digits or hyphens, starting and ending with a letter or digit', got: name, fix: 'rename it, or omit it',
      });
    }
    if (props.mlflowVersion !== undefined && !Token.isUnresolved(props.mlflowVersion)) {
      errors.check(/^\d+(\.\d+)+$/.test(props.mlflowVersion), { code: 'InvalidMlflowVersion', what: 'mlflowVersion looks like 2.16', got: props.mlflowVersion, fix: 'use a dotted version number' });
    }
    if (props.weeklyMaintenanceWindowStart !== undefined && !Token.isUnresolved(props.weeklyMaintenanceWindowStart)) {
      errors.check(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):([0-5]\d)$/.test(props.weeklyMaintenanceWindowStart), {
        code: 'InvalidMaintenanceWindow', what: 'weeklyMaintenanceWindowStart is Ddd:HH:MM in UTC', got: props.weeklyMaintenanceWindowStart, fix: "use e.g. 'Sun:03:00'",
      });
    }
    errors.throwIfAny();

    const stack = Stack.of(this);
    this.dataLake = props.dataLake;
    this.trackingServerName = name
      ?? Names.uniqueResourceName(this, { maxLength: 256, separator: '-' }).toLowerCase().replace(/[^a-z0-9-]/g, '').replace(/^-+|-+$/g, '');
    this.role = new iam.Role(this, 'Role', {
      description: `MLflow tracking server ${this.node.path}`,
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
    });
    props.dataLake.grantReadWrite(DataZone.MODELS, this.role, 'mlflow/');
    acknowledgeWildcardResource(this.role, props.dataLake.bucket(DataZone.MODELS).arnForObjects('mlflow/*'),
      'MLflow writes run artifacts under keys it generates below its artifact root.');
    Validations.of(this.role).acknowledge({ id: 'NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The policy is defined by this construct for this role only.' });

    const server = new sagemaker.CfnMlflowTrackingServer(this, 'Resource', {
      trackingServerName: this.trackingServerName,
      artifactStoreUri: props.dataLake.uri(DataZone.MODELS, 'mlflow'),
      roleArn: this.role.roleArn,
      trackingServerSize: props.size ?? TrackingServerSize.SMALL,
      mlflowVersion: props.mlflowVersion,
      automaticModelRegistration: props.automaticModelRegistration ?? false,
      weeklyMaintenanceWindowStart: props.weeklyMaintenanceWindowStart,
    });
    server.node.addDependency(this.role);
    this.trackingServerArn = server.attrTrackingServerArn;
    applyLineageTags(this, 'experiment-tracking');
  }

  /**
   * Lets `grantee` (a training job role) create experiments and runs, log to them, and upload artifacts
   * (MLflow clients write artifacts straight to the artifact store under `mlflow/`).
   */
  public grantLogging(grantee: iam.IGrantable): iam.Grant {
    const artifacts = this.dataLake.grantReadWrite(DataZone.MODELS, grantee, 'mlflow/');
    return artifacts.combine(iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'sagemaker-mlflow:AccessUI', 'sagemaker-mlflow:CreateExperiment', 'sagemaker-mlflow:GetExperiment', 'sagemaker-mlflow:GetExperimentByName',
        'sagemaker-mlflow:SearchExperiments', 'sagemaker-mlflow:CreateRun', 'sagemaker-mlflow:UpdateRun', 'sagemaker-mlflow:GetRun',
        'sagemaker-mlflow:SearchRuns', 'sagemaker-mlflow:LogMetric', 'sagemaker-mlflow:LogParam', 'sagemaker-mlflow:LogBatch',
        'sagemaker-mlflow:LogInputs', 'sagemaker-mlflow:LogModel', 'sagemaker-mlflow:SetTag', 'sagemaker-mlflow:GetMetricHistory',
      ],
      resourceArns: [this.trackingServerArn],
    }));
  }
}
