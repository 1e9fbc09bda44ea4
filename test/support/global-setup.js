// Jest global setup: every synthesis in the suite (cdk.App without an outdir, cdk8s, mkdtemp in tests) writes under
// os.tmpdir(). Point it at a directory of this run, which global-teardown.js deletes, so a test run never leaves
// gigabytes of cdk.out copies (the kubectl layer alone is 37 MB per EKS synth) in the system temp directory.
// Workers inherit the environment, and os.tmpdir() reads TMPDIR on every call.
//
// Templates must not depend on the commit the suite runs at (snapshots): CDK_CONTEXT_JSON, which every
// `new App()` reads, turns off the code version's git fallback (context cdk-ml-platform:codeVersionFromGit).
// Context from the environment overrides `new App({ context })`; a test that wants the fallback passes
// `postCliContext` (test/core/lineage.test.ts). Keys already in CDK_CONTEXT_JSON are kept.
const fs = require('fs');
const os = require('os');
const path = require('path');

module.exports = async () => {
  const base = path.join(__dirname, '..', '..', '.tmp');
  fs.mkdirSync(base, { recursive: true });
  const dir = fs.mkdtempSync(path.join(base, 'jest-'));
  process.env.CDK_ML_PLATFORM_JEST_TMPDIR = dir;
  process.env.ORIGINAL_TMPDIR = os.tmpdir();
  process.env.TMPDIR = dir;
  const context = process.env.CDK_CONTEXT_JSON ? JSON.parse(process.env.CDK_CONTEXT_JSON) : {};
  process.env.CDK_CONTEXT_JSON = JSON.stringify({ ...context, 'cdk-ml-platform:codeVersionFromGit': false });
};
