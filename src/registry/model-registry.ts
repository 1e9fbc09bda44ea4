import { ArnFormat, IResource, Names, RemovalPolicy, Resource, Stack, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct, IConstruct } from 'constructs';
import { ValidationErrors } from '../core/errors';
import { applyLineageTags } from '../core/lineage';
import { resolveStatefulRemovalPolicy } from '../core/removal-policy';
import { REGISTRY_READ_ACTIONS } from '../core/sagemaker-actions';

/** Properties for a {@link ModelRegistry}. */
export interface ModelRegistryProps {
  /**
   * Name of the model package group: 1-63 letters, digits and hyphens, starting and ending with a letter or digit.
   *
   * @default - generated from the construct path, lowercase
   */
  readonly modelPackageGroupName?: string;

  /**
   * Description of the group, at most 1024 characters. Changing it replaces the group.
   *
   * @default - no description
   */
  readonly description?: string;

  /**
   * AWS accounts (12-digit ids) that may read the group and its model packages, e.g. the production
   * account that deploys approved models. Written as the group's resource policy.
   *
   * @default - no cross-account access
   */
  readonly crossAccountReadAccounts?: string[];

  /**
   * What happens to the group when it leaves the stack. `DESTROY` also needs the context key
   * `cdk-ml-platform:removeDataOnDestroy` set to `true` (and the group must hold no model packages).
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** A model registry: a SageMaker model package group and the versions registered in it. */
export interface IModelRegistry extends IResource {
  /**
   * Name of the model package group.
   * @attribute
   */
  readonly modelPackageGroupName: string;

  /**
   * ARN of the model package group.
   * @attribute
   */
  readonly modelPackageGroupArn: string;

  /** ARN pattern of every model package (version) in the group. */
  readonly modelPackageArnPattern: string;

  /** Lets `grantee` describe and list the group and its model packages. */
  grantRead(grantee: iam.IGrantable): iam.Grant;

  /** Lets `grantee` register new model package versions (not approve them). */
  grantRegister(grantee: iam.IGrantable): iam.Grant;

  /** Lets `grantee` change a model package's approval status (approve, reject). */
  grantApprove(grantee: iam.IGrantable): iam.Grant;

  /** An EventBridge rule for every state change of model packages in this group. */
  onModelPackageStateChange(id: string, options?: events.OnEventOptions): events.Rule;

  /** An EventBridge rule for model packages of this group that become `Approved`. */
  onApproved(id: string, options?: events.OnEventOptions): events.Rule;
}

/** Attributes to import an existing registry with {@link ModelRegistry.fromModelRegistryAttributes}. */
export interface ModelRegistryAttributes {
  /** ARN of the model package group. */
  readonly modelPackageGroupArn: string;
}

const NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

abstract class ModelRegistryBase extends Resource implements IModelRegistry {
  public abstract readonly modelPackageGroupName: string;
  public abstract readonly modelPackageGroupArn: string;

  public get modelPackageArnPattern(): string {
    // In the group's own account and Region (an imported group may live elsewhere).
    return Stack.of(this).formatArn({
      service: 'sagemaker',
      resource: 'model-package',
      resourceName: `${lower(this.modelPackageGroupName)}/*`,
      account: this.env.account,
      region: this.env.region,
    });
  }

  public grantRead(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: REGISTRY_READ_ACTIONS,
      resourceArns: [this.modelPackageGroupArn, this.modelPackageArnPattern],
    });
  }

  public grantRegister(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:CreateModelPackage', 'sagemaker:DescribeModelPackageGroup', 'sagemaker:DescribeModelPackage',
        'sagemaker:ListModelPackages'],
      resourceArns: [this.modelPackageGroupArn, this.modelPackageArnPattern],
    });
  }

  public grantApprove(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:UpdateModelPackage', 'sagemaker:DescribeModelPackage', 'sagemaker:ListModelPackages'],
      resourceArns: [this.modelPackageArnPattern, this.modelPackageGroupArn],
    });
  }

  public onModelPackageStateChange(id: string, options: events.OnEventOptions = {}): events.Rule {
    const rule = new events.Rule(this, id, options);
    rule.addTarget(options.target);
    rule.addEventPattern({
      source: ['aws.sagemaker'],
      detailType: ['SageMaker Model Package State Change'],
      detail: { ModelPackageGroupName: [this.modelPackageGroupName] },
    });
    return rule;
  }

  public onApproved(id: string, options: events.OnEventOptions = {}): events.Rule {
    const rule = this.onModelPackageStateChange(id, options);
    rule.addEventPattern({ detail: { ModelApprovalStatus: ['Approved'] } });
    return rule;
  }
}

function lower(name: string): string {
  return Token.isUnresolved(name) ? name : name.toLowerCase();
}

/**
 * A model registry: a SageMaker model package group. Training pipelines register versions; approving
 * one (a separate permission, `grantApprove`) is what deploys it.
 *
 * @example
 * const registry = new ModelRegistry(stack, 'Registry', { crossAccountReadAccounts: ['444455556666'] });
 * registry.onApproved('Deploy', { target: new targets.LambdaFunction(deployer) });
 */
export class ModelRegistry extends ModelRegistryBase {
  /** Imports an existing model package group. */
  public static fromModelRegistryAttributes(scope: Construct, id: string, attrs: ModelRegistryAttributes): IModelRegistry {
    const name = Stack.of(scope).splitArn(attrs.modelPackageGroupArn, ArnFormat.SLASH_RESOURCE_NAME).resourceName!;
    class Import extends ModelRegistryBase {
      public readonly modelPackageGroupArn = attrs.modelPackageGroupArn;
      public readonly modelPackageGroupName = name;
    }
    return new Import(scope, id, { environmentFromArn: attrs.modelPackageGroupArn });
  }

  public readonly modelPackageGroupName: string;
  public readonly modelPackageGroupArn: string;

  constructor(scope: Construct, id: string, props: ModelRegistryProps = {}) {
    super(scope, id);
    validate(this, props);
    const removal = resolveStatefulRemovalPolicy(this, 'ModelRegistry', props.removalPolicy);

    this.modelPackageGroupName = props.modelPackageGroupName
      ?? Names.uniqueResourceName(this, { maxLength: 63, separator: '-' }).toLowerCase().replace(/[^a-z0-9-]/g, '').replace(/^-+|-+$/g, '');
    const stack = Stack.of(this);
    const groupArn = stack.formatArn({ service: 'sagemaker', resource: 'model-package-group', resourceName: lower(this.modelPackageGroupName) });

    const resource = new sagemaker.CfnModelPackageGroup(this, 'Resource', {
      modelPackageGroupName: this.modelPackageGroupName,
      modelPackageGroupDescription: props.description,
      modelPackageGroupPolicy: props.crossAccountReadAccounts && props.crossAccountReadAccounts.length > 0 ? {
        Version: '2012-10-17',
        Statement: [{
          Sid: 'CrossAccountRead',
          Effect: 'Allow',
          Principal: { AWS: props.crossAccountReadAccounts.map(a => `arn:${stack.partition}:iam::${a}:root`) },
          Action: ['sagemaker:DescribeModelPackageGroup'],
          Resource: groupArn,
        }, {
          Sid: 'CrossAccountReadPackages',
          Effect: 'Allow',
          Principal: { AWS: props.crossAccountReadAccounts.map(a => `arn:${stack.partition}:iam::${a}:root`) },
          Action: ['sagemaker:DescribeModelPackage', 'sagemaker:ListModelPackages'],
          Resource: stack.formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${lower(this.modelPackageGroupName)}/*` }),
        }],
      } : undefined,
    });
    resource.applyRemovalPolicy(removal.policy);
    this.modelPackageGroupArn = resource.attrModelPackageGroupArn;
    applyLineageTags(this, 'model-registry');
  }
}

function validate(scope: IConstruct, props: ModelRegistryProps): void {
  const errors = new ValidationErrors(scope, 'ModelRegistry');
  const name = props.modelPackageGroupName;
  if (name !== undefined && !Token.isUnresolved(name)) {
    errors.check(NAME_PATTERN.test(name), {
      code: 'InvalidName',
      what: 'modelPackageGroupName must be 1-63 letters, digits or hyphens, starting and ending with a letter or digit',
      got: name,
      fix: 'rename it (no underscores or dots), or omit it to get a generated name',
    });
  }
  if (props.description !== undefined && !Token.isUnresolved(props.description)) {
    errors.check(props.description.length <= 1024, {
      code: 'InvalidDescription', what: 'description must be at most 1024 characters', got: `${props.description.length} characters`, fix: 'shorten it',
    });
  }
  for (const account of props.crossAccountReadAccounts ?? []) {
    if (Token.isUnresolved(account)) { continue; }
    errors.check(/^\d{12}$/.test(account), {
      code: 'InvalidAccount', what: 'crossAccountReadAccounts takes 12-digit AWS account ids', got: account, fix: 'pass the account id, e.g. \'444455556666\'',
    });
  }
  errors.throwIfAny();
}
