// Seeded data generator of the drift benchmark (see README.md). Writes, into --dir:
//   training-<T>.jsonl  plain records (one JSON object per line) the baseline is built from
//   baseline-<T>.json   the baseline our BaselineBuilder builds from them (fixed createdAt, so same bytes every run)
//   capture-<N>.jsonl   N SageMaker data-capture lines (JSON payloads) with drifted, partly missing features
// Files that already exist with a matching `.done` marker are reused: the same seed gives the same bytes.
// Bundled by run.sh with esbuild (`--bundle --platform=node`), so it reads the TypeScript sources directly.
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { BaselineBuilder } from '../../src/core/baseline';

const SEED = 20240501;

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  private readonly rand: () => number;
  private spare: number | undefined;
  constructor(seed: number) { this.rand = mulberry32(seed); }
  u(): number { return this.rand(); }
  normal(): number {
    if (this.spare !== undefined) { const s = this.spare; this.spare = undefined; return s; }
    const u = 1 - this.rand();
    const v = this.rand();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  pick(weights: ReadonlyArray<readonly [string, number]>): string {
    let x = this.rand();
    for (const [k, w] of weights) { if (x < w) { return k; } x -= w; }
    return weights[weights.length - 1][0];
  }
}

/** Rounds like a real feature pipeline would log it (4 decimals). */
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

interface NumericSpec {
  /** Draws one value; `drifted` selects the live-traffic distribution. */
  draw(g: Gen, drifted: boolean): number;
  /** Share of records without a value (training, live). */
  missing: [number, number];
}

// 20 numeric features: normals, log-normals, uniforms, exponentials, counts. Live traffic: num_00 shifted by
// 0.5 sd, num_01 scaled by 1.5, num_02 shifted by 0.1 sd (small), num_03 log-normal with a heavier tail,
// num_04 more missing; the rest unchanged.
const NUMERIC: NumericSpec[] = Array.from({ length: 20 }, (_, i): NumericSpec => {
  const mean = 10 * (i + 1);
  const sd = 1 + (i % 5);
  switch (i) {
    case 0: return { draw: (g, d) => r4(mean + sd * (g.normal() + (d ? 0.5 : 0))), missing: [0, 0] };
    case 1: return { draw: (g, d) => r4(mean + sd * g.normal() * (d ? 1.5 : 1)), missing: [0.01, 0.01] };
    case 2: return { draw: (g, d) => r4(mean + sd * (g.normal() + (d ? 0.1 : 0))), missing: [0, 0] };
    case 3: return { draw: (g, d) => r4(Math.exp(3 + g.normal() * (d ? 0.8 : 0.6))), missing: [0.005, 0.005] };
    case 4: return { draw: g => r4(mean + sd * g.normal()), missing: [0.01, 0.08] };
    default:
      switch (i % 4) {
        case 0: return { draw: g => r4(Math.exp(1 + 0.5 * g.normal())), missing: [0.002, 0.002] };
        case 1: return { draw: g => r4(mean * g.u()), missing: [0, 0] };
        case 2: return { draw: g => r4(-sd * Math.log(1 - g.u())), missing: [0.001, 0.001] };
        default: return { draw: g => Math.floor(-5 * Math.log(1 - g.u())), missing: [0, 0] }; // integer counts
      }
  }
});
const NUMERIC_NAMES = NUMERIC.map((_, i) => `num_${String(i).padStart(2, '0')}`);

const COUNTRIES: Array<[string, number]> = [['US', 0.4], ['DE', 0.15], ['GB', 0.12], ['FR', 0.1], ['IN', 0.08], ['BR', 0.06], ['JP', 0.05], ['CA', 0.04]];
const CHANNEL_TRAIN: Array<[string, number]> = [['web', 0.5], ['ios', 0.25], ['android', 0.2], ['partner', 0.05]];
// Shifted frequencies and two categories the baseline never saw.
const CHANNEL_LIVE: Array<[string, number]> = [['web', 0.35], ['ios', 0.3], ['android', 0.25], ['partner', 0.03], ['smart_tv', 0.05], ['kiosk', 0.02]];
const DEVICES: Array<[string, number]> = [['desktop', 0.45], ['mobile', 0.45], ['tablet', 0.1]];
const PLANS: Array<[string, number]> = [['free', 0.6], ['pro', 0.3], ['enterprise', 0.1]];
const SKUS: Array<[string, number]> = Array.from({ length: 50 }, (_, i) => [`sku_${String(i).padStart(3, '0')}`, 1 / 50]);

/** One record. Missing values are written three ways (absent key, null, the string "NaN"), as real traffic does. */
function record(g: Gen, drifted: boolean): Record<string, unknown> {
  const rec: Record<string, unknown> = {};
  for (let i = 0; i < NUMERIC.length; i++) {
    const spec = NUMERIC[i];
    const value = spec.draw(g, drifted);
    const m = spec.missing[drifted ? 1 : 0];
    if (m > 0 && g.u() < m) {
      const how = g.u();
      if (how < 0.4) { continue; }
      rec[NUMERIC_NAMES[i]] = how < 0.8 ? null : 'NaN';
    } else {
      rec[NUMERIC_NAMES[i]] = value;
    }
  }
  rec.cat_country = g.pick(COUNTRIES);
  rec.cat_channel = g.pick(drifted ? CHANNEL_LIVE : CHANNEL_TRAIN);
  rec.cat_device = g.u() < 0.01 ? null : g.pick(DEVICES);
  rec.cat_plan = g.pick(PLANS);
  rec.cat_sku = g.pick(SKUS);
  return rec;
}

const hex = (g: Gen, n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) { s += Math.floor(g.u() * 16).toString(16); }
  return s;
};

async function writeLines(path: string, count: number, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(path);
  let buffer = '';
  for (let i = 0; i < count; i++) {
    buffer += line(i) + '\n';
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) { await new Promise<void>(resolve => out.once('drain', () => resolve())); }
      buffer = '';
    }
  }
  out.write(buffer);
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

/** Runs `make` unless `path` exists with a `.done` marker holding `key`. */
async function once(path: string, key: string, make: () => Promise<void>): Promise<boolean> {
  const marker = `${path}.done`;
  if (existsSync(path) && existsSync(marker) && readFileSync(marker, 'utf8') === key) { return false; }
  await make();
  writeFileSync(marker, key);
  return true;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, def: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
  const dir = opt('--dir', join(__dirname));
  const records = Number(opt('--records', '1000000'));
  const training = Number(opt('--training', '200000'));
  const paths = {
    training: join(dir, `training-${training}.jsonl`),
    baseline: join(dir, `baseline-${training}.json`),
    capture: join(dir, `capture-${records}.jsonl`),
  };
  const t0 = Date.now();
  const made: string[] = [];
  if (await once(paths.training, `seed=${SEED} training=${training}`, () => {
    const g = new Gen(SEED);
    return writeLines(paths.training, training, () => JSON.stringify(record(g, false)));
  })) { made.push(paths.training); }
  if (await once(paths.baseline, `seed=${SEED} training=${training}`, async () => {
    const builder = new BaselineBuilder({ now: () => new Date('2024-05-01T00:00:00.000Z') });
    for (const line of readFileSync(paths.training, 'utf8').split('\n')) {
      if (line !== '') { builder.add(JSON.parse(line)); }
    }
    writeFileSync(paths.baseline, JSON.stringify(builder.build({ manifestUri: 'bench://drift/training' }), null, 1));
  })) { made.push(paths.baseline); }
  if (await once(paths.capture, `seed=${SEED} records=${records}`, () => {
    const g = new Gen(SEED + 1);
    const start = Date.parse('2024-05-01T13:00:00.000Z');
    const step = 3_600_000 / records; // one hour of traffic
    return writeLines(paths.capture, records, i => {
      const rec = record(g, true);
      const score = r4(1 / (1 + Math.exp(-(0.02 * ((rec.num_00 as number) || 0) - 0.1 + g.normal()))));
      const id = hex(g, 32);
      return JSON.stringify({
        captureData: {
          endpointInput: { observedContentType: 'application/json', mode: 'INPUT', data: JSON.stringify(rec), encoding: 'JSON' },
          endpointOutput: { observedContentType: 'application/json', mode: 'OUTPUT', data: JSON.stringify({ score }), encoding: 'JSON' },
        },
        eventMetadata: {
          eventId: `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`,
          inferenceTime: new Date(start + Math.floor(i * step)).toISOString(),
        },
        eventVersion: '0',
      });
    });
  })) { made.push(paths.capture); }
  process.stdout.write(JSON.stringify({ ...paths, generated: made, seconds: (Date.now() - t0) / 1000 }) + '\n');
}

main().catch(e => { process.stderr.write(`${(e as Error).stack}\n`); process.exit(1); });
