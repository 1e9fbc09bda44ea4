import { RemovalPolicy } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { MlPlatformContext } from './context';
import { mlError } from './errors';

/** The outcome of {@link resolveStatefulRemovalPolicy}. */
export interface StatefulRemoval {
  /** The policy to apply to every stateful child. */
  readonly policy: RemovalPolicy;
  /** True only for an opted-in DESTROY: buckets must also empty themselves (auto-delete objects). */
  readonly deleteData: boolean;
}

/** True when the context key is the boolean `true` or the string `'true'` (as `cdk synth -c key=true` passes it). */
export function isContextTrue(scope: IConstruct, key: string): boolean {
  const value = scope.node.tryGetContext(key);
  return value === true || value === 'true';
}

/**
 * Applies the removal-policy rule for resources that hold data.
 *
 * - nothing given: `RETAIN`;
 * - `RETAIN` or `RETAIN_ON_UPDATE_OR_DELETE`: kept as given;
 * - `DESTROY`: allowed only when the context key `cdk-ml-platform:removeDataOnDestroy` is `true`,
 *   and then objects are deleted with their buckets; otherwise a synth error explains the key;
 * - `SNAPSHOT`: rejected unless `snapshotSupported` (S3, KMS and Glue cannot snapshot).
 *
 * @param construct the construct type name used in error codes, e.g. `DataLake`
 */
export function resolveStatefulRemovalPolicy(scope: IConstruct, construct: string, requested?: RemovalPolicy,
  snapshotSupported = false): StatefulRemoval {
  const policy = requested ?? RemovalPolicy.RETAIN;
  if (policy === RemovalPolicy.SNAPSHOT && !snapshotSupported) {
    throw mlError(scope, construct, {
      code: 'SnapshotNotSupported',
      what: `removalPolicy SNAPSHOT is not supported by ${construct}'s resources (S3 buckets, KMS keys, Glue databases cannot be snapshotted)`,
      got: 'RemovalPolicy.SNAPSHOT',
      fix: 'use RemovalPolicy.RETAIN (the default) or RETAIN_ON_UPDATE_OR_DELETE',
    });
  }
  if (policy !== RemovalPolicy.DESTROY) {
    return { policy, deleteData: false };
  }
  if (!isContextTrue(scope, MlPlatformContext.REMOVE_DATA_ON_DESTROY)) {
    const value = scope.node.tryGetContext(MlPlatformContext.REMOVE_DATA_ON_DESTROY);
    throw mlError(scope, construct, {
      code: 'DestroyRequiresOptIn',
      what: `removalPolicy DESTROY would delete every object ${construct} holds when the stack is deleted or the resource replaced`,
      got: `RemovalPolicy.DESTROY with context '${MlPlatformContext.REMOVE_DATA_ON_DESTROY}' = ${value === undefined ? 'unset' : JSON.stringify(value)}`,
      fix: `to confirm, also set the context key '${MlPlatformContext.REMOVE_DATA_ON_DESTROY}' to true ` +
        `("context" in cdk.json, or cdk synth -c ${MlPlatformContext.REMOVE_DATA_ON_DESTROY}=true); ` +
        'otherwise drop removalPolicy to keep the default RETAIN',
    });
  }
  return { policy, deleteData: true };
}
