// Node side of the drift benchmark (see README.md): ONE process streams a SageMaker capture file line by line,
// folds the input record of each line into the DriftEngine (CaptureScanner fast path, decodeCaptureLine for the lines
// it declines), as the drift-check Lambda does, then prints timing, peak RSS and the report summary as one JSON line
// (the full report goes to --out).
//
//   node node-engine.js --baseline baseline.json --capture capture.jsonl [--out report.json]
//   node node-engine.js --floor --capture capture.jsonl     # the floor: stream + JSON.parse of every line, nothing else
//   node node-engine.js --floor-payload --capture capture.jsonl  # (info) the floor + JSON.parse of each input payload
//
// Bundled by run.sh with esbuild (`--bundle --platform=node`), so it runs the TypeScript sources, not lib/.
import { createReadStream, readFileSync, writeFileSync } from 'fs';
import { parseBaseline } from '../../src/core/baseline';
import { decodeCaptureLine } from '../../src/monitoring/drift/capture';
import { CaptureScanner } from '../../src/monitoring/drift/capture-scanner';
import { DriftEngine } from '../../src/monitoring/drift/engine';
import { forEachLine } from '../../src/monitoring/drift/line-reader';

/** Same per-line handling as the Lambda's readCaptureFile, but folding records straight into the engine. */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  const payload = args.includes('--floor-payload');
  const floor = payload || args.includes('--floor');
  const capture = opt('--capture');
  const baselinePath = opt('--baseline');
  const out = opt('--out');
  if (!capture || (!floor && !baselinePath)) {
    throw new Error('usage: node-engine.js (--floor | --baseline baseline.json) --capture capture.jsonl [--out report.json]');
  }
  const t0 = process.hrtime.bigint();
  // 1 MiB reads: the same for both modes (the S3 SDK body yields chunks of similar size).
  const body = createReadStream(capture, { highWaterMark: 1 << 20 });
  let lines = 0;
  let malformed = 0;
  let records = 0;
  let report: ReturnType<DriftEngine['result']> | undefined;
  let resultSeconds: number | undefined;
  let fastPath: { handled: number; layoutLines: number; declined: number } | undefined;
  if (floor) {
    let objects = 0;
    await forEachLine(body, raw => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') { return; }
      lines++;
      try {
        const event = JSON.parse(line);
        if (payload) {
          if (JSON.parse(event.captureData.endpointInput.data) !== null) { objects++; }
        } else if (event !== null) {
          objects++;
        }
      } catch {
        malformed++;
      }
    }, () => { malformed++; });
    records = objects;
  } else {
    const engine = new DriftEngine(parseBaseline(readFileSync(baselinePath!, 'utf8')));
    // As the Lambda's drift analyzer: the scanner's fast path first, decodeCaptureLine for the lines it declines.
    const scanner = new CaptureScanner(engine);
    await forEachLine(body, raw => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') { return; }
      lines++;
      if (scanner.addLine(line)) { return; }
      let input: Record<string, unknown>[] | undefined;
      try {
        input = decodeCaptureLine(line).input;
      } catch {
        malformed++;
        engine.addMalformed();
        return;
      }
      if (input) {
        for (const record of input) { engine.add(record); }
      }
    }, () => { malformed++; engine.addMalformed(); });
    const t1 = process.hrtime.bigint();
    report = engine.result();
    resultSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
    records = report.recordCount;
    fastPath = { handled: scanner.handled, layoutLines: scanner.layoutLines, declined: scanner.declined };
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (report && out) { writeFileSync(out, JSON.stringify(report)); }
  const summary = report && {
    overallDriftScore: report.overallDriftScore,
    driftedFeatures: report.driftedFeatures,
    psi: Object.fromEntries(Object.entries(report.features).map(([name, f]) => [name, f.psi])),
  };
  process.stdout.write(JSON.stringify({
    mode: payload ? 'floor-payload' : floor ? 'floor' : 'engine',
    lines,
    records,
    malformed,
    seconds,
    ...(resultSeconds !== undefined ? { resultSeconds } : {}),
    ...(fastPath ? { fastPath } : {}),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    ...(summary ? { summary } : {}),
  }) + '\n');
}

main().catch(e => { process.stderr.write(`${(e as Error).stack}\n`); process.exit(1); });
