// Jest global setup: every synthesis in the suite (cdk.App without an outdir, cdk8s, mkdtemp in tests) writes under
// os.tmpdir(). Point it at a directory of this run, which global-teardown.js deletes, so a test run never leaves
// gigabytes of cdk.out copies (the kubectl layer alone is 37 MB per EKS synth) in the system temp directory.
// Workers inherit the environment, and os.tmpdir() reads TMPDIR on every call.
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
};
