// Jest global teardown: deletes the per-run temporary directory created by global-setup.js.
const fs = require('fs');

module.exports = async () => {
  const dir = process.env.CDK_ML_PLATFORM_JEST_TMPDIR;
  if (dir) { fs.rmSync(dir, { recursive: true, force: true }); }
  if (process.env.ORIGINAL_TMPDIR) { process.env.TMPDIR = process.env.ORIGINAL_TMPDIR; }
};
