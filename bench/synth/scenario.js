// One synth measurement in a fresh process: `node bench/synth/scenario.js <floor|models> [count]`.
// Loads the compiled library (lib/, built by `npx projen compile`), builds the app, synthesizes it into a temporary
// directory and prints one JSON line: load and synth times, templates, resources and sizes.
const start = process.hrtime.bigint();
const fs = require('fs');
const os = require('os');
const path = require('path');
const cdk = require('aws-cdk-lib');
const lib = require('../../lib');
const loaded = process.hrtime.bigint();

const [kind, countArg] = process.argv.slice(2);
const count = Number(countArg ?? 0);
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
const app = new cdk.App({ outdir, context: { 'cdk-ml-platform:codeVersion': 'bench', 'cdk-ml-platform:codeVersionFromGit': false } });
const stack = new cdk.Stack(app, 'Bench');
if (kind === 'models') {
  const platform = new lib.MlPlatform(stack, 'Platform', { name: 'bench' });
  for (let i = 0; i < count; i++) {
    platform.addModel(`model-${i}`, {
      image: lib.TrainingImage.fromUri(`123456789012.dkr.ecr.us-east-1.amazonaws.com/model-${i}@sha256:${'0'.repeat(64)}`),
      instanceType: lib.GpuInstanceType.ML_G5_2XLARGE,
      objective: lib.Objective.maximize('validation:auc', 0.005),
      trainingData: lib.TrainingData.fromDataLake(platform.dataLake, lib.DataZone.CURATED, `datasets/model-${i}/`),
    });
  }
} else if (kind !== 'floor') {
  throw new Error(`unknown scenario ${kind}: floor | models`);
}
const built = process.hrtime.bigint();
const assembly = app.synth();
const done = process.hrtime.bigint();

const templates = [];
const walk = dir => {
  for (const f of fs.readdirSync(dir)) {
    const p = path.join(dir, f);
    if (fs.statSync(p).isDirectory()) { walk(p); } else if (f.endsWith('.template.json')) { templates.push(p); }
  }
};
walk(assembly.directory);
const sizes = templates.map(t => {
  const text = fs.readFileSync(t, 'utf8');
  return { bytes: Buffer.byteLength(text), resources: Object.keys(JSON.parse(text).Resources ?? {}).length };
});
fs.rmSync(outdir, { recursive: true, force: true });
const ms = (a, b) => Number(b - a) / 1e6;
console.log(JSON.stringify({
  kind, models: count,
  loadMs: ms(start, loaded), buildMs: ms(loaded, built), synthMs: ms(built, done), totalMs: ms(start, done),
  peakRssMb: Math.round(process.memoryUsage().rss / 1048576),
  templates: templates.length,
  resources: sizes.reduce((s, x) => s + x.resources, 0),
  maxResources: Math.max(...sizes.map(x => x.resources)),
  maxTemplateBytes: Math.max(...sizes.map(x => x.bytes)),
}));
