// Reads scenario.js lines on stdin, prints a table of medians and checks the targets (exit 1 when one is missed).
const lines = require('fs').readFileSync(0, 'utf8').trim().split('\n').map(l => JSON.parse(l));
const median = xs => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const groups = new Map();
for (const l of lines) {
  const key = l.kind === 'models' ? `models:${l.models}` : l.kind;
  groups.set(key, [...groups.get(key) ?? [], l]);
}
const rows = [...groups.entries()].map(([key, ls]) => ({
  key, models: ls[0].models, runs: ls.length,
  totalMs: median(ls.map(l => l.totalMs)), synthMs: median(ls.map(l => l.buildMs + l.synthMs)), peakRssMb: median(ls.map(l => l.peakRssMb)),
  templates: ls[0].templates, resources: ls[0].resources, maxResources: ls[0].maxResources, maxTemplateBytes: ls[0].maxTemplateBytes,
}));
console.log('| scenario | runs | process total ms | build+synth ms | peak RSS MB | templates | resources | max resources/template | max template bytes |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(`| ${r.key} | ${r.runs} | ${r.totalMs.toFixed(0)} | ${r.synthMs.toFixed(0)} | ${r.peakRssMb} | ${r.templates} | ${r.resources} | ${r.maxResources} | ${r.maxTemplateBytes} |`);
}
const floor = rows.find(r => r.key === 'floor');
const models = rows.filter(r => r.key.startsWith('models:')).sort((a, b) => a.models - b.models);
const examples = rows.find(r => r.key === 'examples');
const failures = [];
const one = models.find(r => r.models === 1);
if (floor && one) {
  const ratio = one.totalMs / floor.totalMs;
  console.log(`\nplatform (1 model) vs floor: ${ratio.toFixed(2)}x (target <= 2x)`);
  if (ratio > 2) { failures.push(`platform synth ${ratio.toFixed(2)}x the floor`); }
}
if (floor && examples) {
  const ratio = examples.totalMs / floor.totalMs;
  console.log(`example platforms (npx cdk synth's app, 2 platforms, 3 rule packs) vs floor: ${ratio.toFixed(2)}x (target <= 2x)`);
  if (ratio > 2) { failures.push(`example platforms synth ${ratio.toFixed(2)}x the floor`); }
}
if (models.length >= 2) {
  const first = models[0]; const last = models[models.length - 1];
  const perModel = (last.synthMs - first.synthMs) / (last.models - first.models);
  console.log(`per added model: ${perModel.toFixed(1)} ms (target <= 50 ms)`);
  if (perModel > 50) { failures.push(`${perModel.toFixed(1)} ms per added model`); }
  // Linear: the per-model cost of the upper half within 1.5x of the lower half.
  if (models.length >= 3) {
    const mid = models[Math.floor(models.length / 2)];
    const low = (mid.synthMs - first.synthMs) / (mid.models - first.models);
    const high = (last.synthMs - mid.synthMs) / (last.models - mid.models);
    console.log(`growth: ${low.toFixed(1)} ms/model up to ${mid.models} models, ${high.toFixed(1)} ms/model beyond (linear if within 1.5x)`);
    if (high > 1.5 * low) { failures.push('growth is not linear'); }
  }
}
for (const r of models) {
  if (r.maxResources > 500 || r.maxTemplateBytes > 1_000_000) { failures.push(`${r.key}: a template over the limits`); }
}
if (failures.length > 0) { console.log(`\nMISSED: ${failures.join('; ')}`); process.exit(1); }
console.log('\nall targets met');
