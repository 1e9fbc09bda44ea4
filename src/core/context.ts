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
   * a release tag). Every construct of this library tags its resources with `ml-platform:code-version`
   * so models, endpoints and pipeline runs can be traced back to it.
   *
   * Default: the git commit of the directory `cdk synth` runs in (`git rev-parse HEAD`, with `-dirty`
   * appended when tracked files have uncommitted changes), unless `cdk-ml-platform:codeVersionFromGit` is
   * `false`; without git or outside a repository, no code version (and no tag). Git never fails a synth.
   */
  public static readonly CODE_VERSION = 'cdk-ml-platform:codeVersion';

  /**
   * `cdk-ml-platform:codeVersionFromGit`: `false` turns off the git fallback of `cdk-ml-platform:codeVersion`,
   * so a synth without that key has no code version. Use it where templates must not depend on the commit
   * they are built at, e.g. snapshot tests: `CDK_CONTEXT_JSON='{"cdk-ml-platform:codeVersionFromGit":false}'`
   * in the test runner's environment reaches every `new App()`.
   *
   * Default: `true` (synth asks git once per process, with a 3 second timeout).
   */
  public static readonly CODE_VERSION_FROM_GIT = 'cdk-ml-platform:codeVersionFromGit';

  /**
   * `cdk-ml-platform:featureSchemaLockFile`: path of the feature schema lock file that FeatureStore reads
   * and (outside CI) updates at synth. Relative paths resolve against the directory `cdk synth` runs in.
   * Commit the file.
   *
   * Default: `feature-schemas.lock.json`.
   */
  public static readonly FEATURE_SCHEMA_LOCK_FILE = 'cdk-ml-platform:featureSchemaLockFile';

  /**
   * `cdk-ml-platform:frozenFeatureSchemas`: `true` makes synth fail instead of updating the feature schema
   * lock file, `false` lets it update the file.
   *
   * Default: `cdk synth` updates the file, except in CI (`CI`, `CODEBUILD_BUILD_ID`, `JENKINS_URL`, `TF_BUILD`,
   * `GITHUB_ACTIONS`, `GITLAB_CI` or `BUILDKITE` set), where it only checks it, so a pipeline never deploys a
   * schema change whose lock file was not committed. Synths outside the CLI (unit tests) neither write nor
   * check it.
   */
  public static readonly FROZEN_FEATURE_SCHEMAS = 'cdk-ml-platform:frozenFeatureSchemas';

  private constructor() {}
}
