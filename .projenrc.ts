import { awscdk, javascript, JsonFile } from 'projen';

// Node 20 is end-of-life for jsii; these machines run it, so silence the banner wherever jsii runs.
const JSII_ENV = { JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' };

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-ml-platform',
  description: 'CDK constructs for complete ML platforms on AWS: versioned data, GPU training, safe endpoints, drift detection and continuous training.',
  author: 'cdk-ml-platform maintainers',
  authorAddress: 'maintainers@cdk-ml-platform.dev',
  repositoryUrl: 'https://github.com/cdk-ml-platform/cdk-ml-platform.git',
  keywords: ['cdk', 'aws-cdk', 'sagemaker', 'mlops', 'machine-learning', 'gpu', 'eks', 'kubeflow', 'cdk8s'],
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  projenrcTs: true,
  packageManager: javascript.NodePackageManager.NPM,

  // Toolchain: jsii ~6.0 with projen's TypeScript ^6 (jsii 6 and ts-jest need < 7).
  jsiiVersion: '~6.0.0',
  // Lowest aws-cdk-lib we test against; becomes the peer range ^2.276.0.
  cdkVersion: '2.276.0',
  constructsVersion: '10.5.1',
  // jsii libraries in our public API: peers, never bundled.
  peerDeps: ['cdk8s@^2.70.0', 'cdk8s-plus-28@^2.5.6'],
  devDeps: [
    // The CDK CLI for `npx cdk synth` of the examples (cdk.json at the root).
    'aws-cdk@^2.1148.1',
    // cdk-nag 3 runs as an aws-cdk-lib policy-validation plugin in tests and examples.
    'cdk-nag@^3.0.2',
    // Runtime handlers (`*.lambda.ts`) are bundled by esbuild with these clients inside.
    '@aws-sdk/client-sagemaker@^3.1142.0',
    '@aws-sdk/client-s3@^3.1142.0',
    '@aws-sdk/client-cloudwatch@^3.1142.0',
    '@aws-sdk/client-dynamodb@^3.1142.0',
    '@aws-sdk/client-eventbridge@^3.1142.0',
    'aws-sdk-client-mock@^4.1.0',
    'esbuild@^0.28.2',
    // Types for the Node.js these machines and Lambda's nodejs22.x share the APIs of.
    '@types/node@^20',
  ],

  // jsii targets. Python is built offline here; see README "Languages" for Java, .NET and Go.
  publishToPypi: {
    distName: 'cdk-ml-platform',
    module: 'cdk_ml_platform',
  },

  // Handlers ship their own pinned SDK clients instead of whatever the Lambda runtime carries.
  lambdaOptions: {
    runtime: awscdk.LambdaRuntime.NODEJS_24_X,
    bundlingOptions: { externals: [], sourcemap: true },
  },

  // The CI is `.ci/run` (clean clone, CI=true); there is no hosted workflow and no automated release yet.
  github: false,
  release: false,
  depsUpgrade: false,
  buildWorkflow: false,

  jestOptions: {
    // The default (`--updateSnapshot`) rewrites snapshots and can never fail.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    // A run that finds no test is a failure, not a pass.
    passWithNoTests: false,
    jestConfig: {
      testTimeout: 120_000,
      // Integration suites (moto_server, cfn-lint) spawn processes; keep them in-band friendly.
      maxWorkers: 2,
    },
  },

  gitignore: ['cdk.out/', '.cdk.staging/', '*.tsbuildinfo', 'bench/results/', '/.tmp/'],
  docgen: true,
});

// Keep the example app, its output and the CI/bench tooling out of the npm tarball.
for (const pattern of ['cdk.out/', '/cdk.json', '/examples/', '/.ci/', '/bench/', '/.tmp/']) {
  project.addPackageIgnore(pattern);
}

// Every projen task (compile, docgen, package, test) runs with the silence flag set.
for (const [k, v] of Object.entries(JSII_ENV)) {
  project.tasks.addEnvironment(k, v);
}

// The offline drift CLI: `npx ml-platform drift baseline|compare ...` (built by jsii into lib/).
project.addBins({ 'ml-platform': 'lib/monitoring/drift/cli.js' });

// No task that rewrites snapshots: accept an intended template change with `npx jest -u <file>` and commit it.
project.tasks.removeTask('test:update');

project.eslint?.addLintPattern('examples');
project.eslint?.allowDevDeps('examples/**');

// Python: jsii-pacmak builds the wheel in a venv with pinned setuptools/build/twine from PyPI, which
// these machines cannot reach. Offline we generate the Python binding and byte-compile it, so a
// jsii naming problem still fails the build; `npx projen package:python` builds the wheel where PyPI is
// reachable (README "Languages").
const pythonCode = project.addTask('package:python-code', {
  description: 'Generate the Python binding (no wheel: that needs PyPI) and byte-compile it',
  steps: [
    { exec: 'rm -rf dist/python-code' },
    { exec: 'jsii-pacmak --target python --code-only --outdir dist/python-code' },
    { exec: 'python3 -m compileall -q dist/python-code/python/src' },
  ],
});
const packageAll = project.tasks.tryFind('package-all')!;
packageAll.reset();
packageAll.spawn(project.tasks.tryFind('package:js')!);
packageAll.spawn(pythonCode);

// Examples are type-checked with the project's settings and run by cdk.json with ts-node in
// transpile-only mode (about 3x faster than type-checking ts-node); jest type-checks them.
new JsonFile(project, 'examples/tsconfig.json', {
  obj: {
    extends: '../tsconfig.json',
    compilerOptions: { noEmit: true, rootDir: '..' },
    include: ['**/*.ts'],
    exclude: ['node_modules'],
  },
  marker: false,
  allowComments: true,
});

// The main job: `npx cdk synth` at the root synthesizes every example stack into cdk.out/.
new JsonFile(project, 'cdk.json', {
  obj: {
    // Lambda handlers are bundled into assets/ by projen (esbuild); a fresh clone has none yet.
    app: 'npx projen bundle > /dev/null && npx ts-node --transpile-only --project examples/tsconfig.json examples/app.ts',
    output: 'cdk.out',
    watch: { include: ['src/**/*.ts', 'examples/**/*.ts'] },
    context: {
      // Examples stay environment-agnostic: no account, no credentials, no lookups.
      'cdk-ml-platform:codeVersion': 'example',
    },
  },
});

// Benchmarks (not part of the build): one command each, see bench/README.md.
project.addTask('bench:drift', {
  description: 'Drift engine vs numpy/scipy and the JSON.parse floor on 1,000,000 capture records (bench/drift/README.md)',
  exec: 'bash bench/drift/run.sh',
});

project.synth();
