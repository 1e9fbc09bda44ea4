/**
 * CDK context keys that cdk-ml-platform reads.
 *
 * Set them in `cdk.json` under `"context"` or on the command line with `cdk synth -c KEY=VALUE`.
 */
export class MlPlatformContext {
  /**
   * `cdk-ml-platform:removeDataOnDestroy`: the second key of the two-key rule for deleting data.
   *
   * A stateful construct (DataLake, FeatureStore, ...) accepts `removalPolicy: RemovalPolicy.DESTROY` only
   * when this key is `true`; then deleting the stack also empties and deletes its buckets. Any other value,
   * or none, makes such a removal policy fail at synth. Meant for short-lived test and preview stacks.
   */
  public static readonly REMOVE_DATA_ON_DESTROY = 'cdk-ml-platform:removeDataOnDestroy';

  /**
   * `cdk-ml-platform:codeVersion`: the version of the code that defines the platform (a git commit,
   * a release tag). When set, every construct of this library tags its resources with
   * `ml-platform:code-version` so models, endpoints and pipeline runs can be traced back to it.
   */
  public static readonly CODE_VERSION = 'cdk-ml-platform:codeVersion';

  private constructor() {}
}
