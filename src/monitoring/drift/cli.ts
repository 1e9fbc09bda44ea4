#!/usr/bin/env node
// Offline drift CLI (`drift`): builds a baseline from a training data file and compares JSON Lines files (plain
// records or SageMaker data capture) against it. Meant to be wired as the package `bin`; `main()` takes the
// arguments after the program name and an injectable I/O so it can be tested without spawning processes.

import { createReadStream } from 'fs';
import { readFile, writeFile } from 'fs/promises';
import { createInterface } from 'readline';
import { DriftEngine } from './engine';
import { BaselineBuilder, parseBaseline } from '../../core/baseline';

/** Exit code: success (and, for `compare`, no drift alarm or no `--fail-on-drift`). */
export const EXIT_OK = 0;
/** Exit code: a file could not be read or parsed, or the baseline is invalid. */
export const EXIT_ERROR = 1;
/** Exit code: bad command line (unknown command or option, missing argument). */
export const EXIT_USAGE = 2;
/** Exit code of `compare --fail-on-drift` when at least one feature drifted. */
export const EXIT_DRIFT = 3;

/** What the CLI reads and writes; tests replace parts of it. */
export interface CliIo {
  /** Writes to standard output. */
  stdout(text: string): void;
  /** Writes to standard error. */
  stderr(text: string): void;
  /** Reads a whole (small) file, e.g. the baseline. */
  readFile(path: string): Promise<string>;
  /** Writes a file. */
  writeFile(path: string, text: string): Promise<void>;
  /** Streams the lines of a (possibly large) file, without line terminators. */
  readLines(path: string): AsyncIterable<string>;
}

/** The process's stdout/stderr and the file system. */
export const defaultIo: CliIo = {
  stdout: text => { process.stdout.write(text); },
  stderr: text => { process.stderr.write(text); },
  readFile: path => readFile(path, 'utf8'),
  writeFile: (path, text) => writeFile(path, text, 'utf8'),
  readLines: path => createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity }),
};

export const USAGE = `Usage:
  ml-platform drift baseline <file.jsonl|file.csv> [-o baseline.json]
      Builds a baseline from a JSON Lines file (one object per line) or a CSV file with a header row.
      Writes the baseline JSON to -o, or to stdout.
  ml-platform drift compare --baseline baseline.json [--features a,b,c] [--psi-alarm 0.2] [--fail-on-drift] <files...>
      Compares JSON Lines files (plain records, or SageMaker data capture lines) or CSV files with a header row
      against the baseline and prints the drift report JSON. CSV capture payloads (and JSON rows given as arrays)
      need --features with the column names. Exit 3 with --fail-on-drift when a feature's PSI reaches the alarm.
`;

class UsageError extends Error {}

/** Splits one CSV record (RFC 4180: quoted fields, doubled quotes, commas and newlines inside quotes). */
export function parseCsvRecord(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch !== '"') {
        field += ch;
      } else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else {
        quoted = false;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
    } else {
      field += ch;
    }
  }
  fields.push(field);
  return fields;
}

const quoteCount = (s: string) => s.split('"').length - 1;

/** Complete CSV records of a line stream: joins lines while a quoted field is open; skips blank lines. */
async function* csvRecords(lines: AsyncIterable<string>): AsyncGenerator<{ line: number; fields: string[] }> {
  let pending: string | undefined;
  let start = 0;
  let n = 0;
  for await (const line of lines) {
    n++;
    if (pending === undefined) {
      if (line.trim() === '') { continue; }
      pending = line;
      start = n;
    } else {
      pending += '\n' + line;
    }
    if (quoteCount(pending) % 2 === 0) {
      yield { line: start, fields: parseCsvRecord(pending) };
      pending = undefined;
    }
  }
  if (pending !== undefined) { yield { line: start, fields: parseCsvRecord(pending) }; }
}

/** Records of a CSV file with a header row; `onBadRow` decides what a row with another number of fields does. */
async function* csvFileRecords(lines: AsyncIterable<string>, file: string, onBadRow: (message: string) => void)
  : AsyncGenerator<Record<string, unknown>> {
  let header: string[] | undefined;
  for await (const { line, fields } of csvRecords(lines)) {
    if (!header) {
      header = fields.map(f => f.trim());
      continue;
    }
    if (fields.length !== header.length) {
      onBadRow(`${file}:${line}: ${fields.length} fields, the header has ${header.length}`);
      continue;
    }
    yield Object.fromEntries(header.map((name, i) => [name, fields[i]]));
  }
}

const isCsv = (file: string) => /\.csv$/i.test(file);
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

interface Options {
  readonly positional: string[];
  readonly values: Map<string, string>;
  readonly flags: Set<string>;
}

function parseArgs(args: string[], valueOptions: Record<string, string>, flagOptions: string[]): Options {
  const positional: string[] = [];
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const key = eq > 0 ? arg.slice(0, eq) : arg;
    if (key in valueOptions) {
      const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined || value === '') { throw new UsageError(`${key} needs a value`); }
      values.set(valueOptions[key], value);
    } else if (flagOptions.includes(arg)) {
      flags.add(arg);
    } else if (arg.startsWith('-') && arg !== '-') {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  return { positional, values, flags };
}

async function baselineCommand(args: string[], io: CliIo): Promise<number> {
  const { positional, values } = parseArgs(args, { '-o': 'output', '--output': 'output' }, []);
  if (positional.length !== 1) {
    throw new UsageError(positional.length === 0 ? 'baseline needs an input file' : `baseline takes one input file, got ${positional.length}`);
  }
  const [file] = positional;
  const builder = new BaselineBuilder();
  if (isCsv(file)) {
    const fail = (message: string) => { throw new Error(message); };
    for await (const record of csvFileRecords(io.readLines(file), file, fail)) { builder.add(record); }
  } else {
    let n = 0;
    for await (const line of io.readLines(file)) {
      n++;
      if (line.trim() === '') { continue; }
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (e) {
        throw new Error(`${file}:${n}: not valid JSON: ${(e as Error).message}`);
      }
      if (!isRecord(value)) { throw new Error(`${file}:${n}: expected a JSON object of feature values`); }
      builder.add(value);
    }
  }
  const text = JSON.stringify(builder.build(), null, 2) + '\n';
  const output = values.get('output');
  if (output !== undefined) {
    await io.writeFile(output, text);
    io.stderr(`Wrote baseline of ${builder.recordCount} records to ${output}\n`);
  } else {
    io.stdout(text);
  }
  return EXIT_OK;
}

/** Records of a JSON payload: an object, `{ instances: [...] }`, an array of objects, rows, or a single row. */
function jsonPayloadRecords(payload: unknown, features: string[] | undefined): Array<Record<string, unknown> | undefined> {
  const items = isRecord(payload) && Array.isArray(payload.instances) ? payload.instances : payload;
  if (isRecord(items)) { return [items]; }
  if (!Array.isArray(items)) { return [undefined]; }
  const rows = items.length > 0 && items.every(item => isRecord(item) || Array.isArray(item)) ? items : [items];
  return rows.map(row => (isRecord(row) ? row : rowRecord(row as unknown[], features, 'JSON')));
}

function rowRecord(row: unknown[], features: string[] | undefined, what: string): Record<string, unknown> | undefined {
  if (!features) { throw new UsageError(`${what} rows in capture data have no column names: pass --features a,b,c`); }
  return row.length === features.length ? Object.fromEntries(features.map((name, i) => [name, row[i]])) : undefined;
}

/** Records of one SageMaker data capture line (`captureData.endpointInput`); undefined entries are malformed. */
function captureRecords(line: Record<string, unknown>, features: string[] | undefined): Array<Record<string, unknown> | undefined> {
  const capture = line.captureData;
  const input = isRecord(capture) ? capture.endpointInput : undefined;
  if (!isRecord(input) || typeof input.data !== 'string') { return [undefined]; }
  const encoding = String(input.encoding ?? '').toUpperCase();
  const contentType = String(input.observedContentType ?? '').toLowerCase();
  let text = input.data;
  let kind: 'json' | 'csv' | undefined = encoding === 'JSON' ? 'json' : encoding === 'CSV' ? 'csv' : undefined;
  if (encoding === 'BASE64') {
    text = Buffer.from(input.data, 'base64').toString('utf8');
    kind = contentType.includes('json') ? 'json' : contentType.includes('csv') ? 'csv' : undefined;
  }
  if (kind === 'csv') {
    return text.split(/\r?\n/).filter(l => l.trim() !== '').map(l => rowRecord(parseCsvRecord(l), features, 'CSV'));
  }
  if (kind === 'json') {
    try {
      return jsonPayloadRecords(JSON.parse(text), features);
    } catch (e) {
      if (e instanceof UsageError) { throw e; }
      // JSON Lines payload (application/jsonlines): one JSON value per line
      const out: Array<Record<string, unknown> | undefined> = [];
      for (const part of text.split(/\r?\n/).filter(l => l.trim() !== '')) {
        try {
          out.push(...jsonPayloadRecords(JSON.parse(part), features));
        } catch (inner) {
          if (inner instanceof UsageError) { throw inner; }
          out.push(undefined);
        }
      }
      return out;
    }
  }
  return [undefined];
}

async function compareCommand(args: string[], io: CliIo): Promise<number> {
  const { positional, values, flags } = parseArgs(args,
    { '--baseline': 'baseline', '--features': 'features', '--psi-alarm': 'psiAlarm' }, ['--fail-on-drift']);
  const baselinePath = values.get('baseline');
  if (baselinePath === undefined) { throw new UsageError('compare needs --baseline baseline.json'); }
  if (positional.length === 0) { throw new UsageError('compare needs at least one data file'); }
  const features = values.get('features')?.split(',').map(f => f.trim());
  if (features && features.some(f => f === '')) { throw new UsageError('--features must be comma-separated non-empty column names'); }
  const psiAlarmText = values.get('psiAlarm');
  const psiAlarm = psiAlarmText === undefined ? undefined : Number(psiAlarmText);
  if (psiAlarm !== undefined && !(Number.isFinite(psiAlarm) && psiAlarm >= 0)) {
    throw new UsageError(`--psi-alarm must be a non-negative number, got ${psiAlarmText}`);
  }
  const engine = new DriftEngine(parseBaseline(await io.readFile(baselinePath)), { psiAlarm });
  const fold = (record: Record<string, unknown> | undefined) => (record ? engine.add(record) : engine.addMalformed());
  for (const file of positional) {
    if (isCsv(file)) {
      for await (const record of csvFileRecords(io.readLines(file), file, () => engine.addMalformed())) { engine.add(record); }
      continue;
    }
    for await (const line of io.readLines(file)) {
      if (line.trim() === '') { continue; }
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        engine.addMalformed();
        continue;
      }
      if (!isRecord(value)) {
        engine.addMalformed();
      } else if ('captureData' in value) {
        captureRecords(value, features).forEach(fold);
      } else {
        engine.add(value);
      }
    }
  }
  const report = engine.result();
  io.stdout(JSON.stringify(report, null, 2) + '\n');
  return flags.has('--fail-on-drift') && report.driftedFeatures.length > 0 ? EXIT_DRIFT : EXIT_OK;
}

/**
 * Runs the CLI with `argv` (the arguments after the program name, e.g. `process.argv.slice(2)`) and returns the
 * exit code: {@link EXIT_OK}, {@link EXIT_ERROR}, {@link EXIT_USAGE} or {@link EXIT_DRIFT}. Never throws.
 */
export async function main(argv: string[], io: Partial<CliIo> = {}): Promise<number> {
  const cli: CliIo = { ...defaultIo, ...io };
  // As the package bin: `ml-platform drift <command> ...`; the `drift` group word is optional.
  const [command, ...args] = argv[0] === 'drift' ? argv.slice(1) : argv;
  try {
    switch (command) {
      case 'baseline':
        return await baselineCommand(args, cli);
      case 'compare':
        return await compareCommand(args, cli);
      case 'help':
      case '--help':
      case '-h':
        cli.stdout(USAGE);
        return EXIT_OK;
      default:
        throw new UsageError(command === undefined ? 'missing command' : `unknown command ${JSON.stringify(command)}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      cli.stderr(`drift: ${e.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    cli.stderr(`drift: ${(e as Error).message ?? String(e)}\n`);
    return EXIT_ERROR;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then(code => { process.exitCode = code; });
}
