// One synth measurement in a fresh process: `node bench/synth/scenario.js <floor|models> [count]`.
// Loads the compiled library (lib/, built by `npx projen compile`), builds the app, synthesizes it into a temporary
// directory and prints one JSON line: load and synth times, templates, resources and sizes.
const start = process.hrtime.bigint();
const fs = require('fs');
const os = require('os');
const path = require('path');
const cdk = require('aws-cdk-lib');
require('cdk-nag');
const lib = require('../../lib');
const [kind, countArg] = process.argv.slice(2);
if (kind === 'examples') { requireExamplesOnLib(); }
const loaded = process.hrtime.bigint();

const count = Number(countArg ?? 0);
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
const context = { 'cdk-ml-platform:codeVersion': 'bench', 'cdk-ml-platform:codeVersionFromGit': false, 'cdk-ml-platform:frozenFeatureSchemas': 'true' };
let app;
if (kind === 'examples') {
  // The example platforms exactly as `npx cdk synth` builds them (nag packs and MlOpsChecks included).
  app = require('../../examples/index.ts').createExamplesApp({ outdir, context });
} else {
  app = new cdk.App({ outdir, context });
  new cdk.Stack(app, 'Bench');
}
const stack = app.node.tryFindChild('Bench');
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
} else if (kind !== 'floor' && kind !== 'examples') {
  throw new Error(`unknown scenario ${kind}: floor | models | examples`);
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

/**
 * Lets `require` load examples/*.ts against the compiled library: TypeScript is transpiled (no type check, as
 * ts-node --transpile-only does) and the examples' imports of `src` resolve to `lib/`, so the example pays for the
 * same compiled library as the other scenarios.
 */
function requireExamplesOnLib() {
  const Module = require('module');
  const ts = require('typescript');
  const examplesDir = path.resolve(__dirname, '../../examples') + path.sep;
  const libIndex = require.resolve('../../lib');
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, ...rest) {
    if (parent?.filename?.startsWith(examplesDir) && /^(\.\.\/)+src$/.test(request)) { return libIndex; }
    return resolve.call(this, request, parent, ...rest);
  };
  require.extensions['.ts'] = (module, filename) => {
    const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, esModuleInterop: true },
      fileName: filename,
    });
    module._compile(outputText, filename);
  };
}
