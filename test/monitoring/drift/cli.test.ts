import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseBaseline } from '../../../src/core/baseline';
import { EXIT_DRIFT, EXIT_ERROR, EXIT_OK, EXIT_USAGE, main, parseCsvRecord } from '../../../src/monitoring/drift/cli';
import { CategoricalFeatureDrift, DriftReport, NumericFeatureDrift } from '../../../src/monitoring/drift/engine';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'drift-cli-')); });
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: t => { stdout += t; }, stderr: t => { stderr += t; } });
  return { code, stdout, stderr };
}

/** Training-like records: x = i % 10, c alternating a/b. */
const TRAIN = Array.from({ length: 200 }, (_, i) => ({ x: i % 10, c: i % 2 === 0 ? 'a' : 'b' }));
const jsonl = (records: unknown[]) => records.map(r => JSON.stringify(r)).join('\n') + '\n';

async function baselineFile(): Promise<string> {
  const out = join(dir, 'baseline.json');
  const result = await cli('baseline', file('train.jsonl', jsonl(TRAIN)), '-o', out);
  expect(result.code).toBe(EXIT_OK);
  return out;
}

describe('drift baseline', () => {
  test('JSON Lines to a file and to stdout', async () => {
    const out = await baselineFile();
    const baseline = parseBaseline(readFileSync(out, 'utf8'));
    expect(baseline.recordCount).toBe(200);
    expect(baseline.features.x).toMatchObject({ kind: 'numeric', count: 200, min: 0, max: 9 });
    expect(baseline.features.c).toMatchObject({ kind: 'categorical', categories: { a: 100, b: 100 } });
    const toStdout = await cli('baseline', join(dir, 'train.jsonl'));
    expect(toStdout.code).toBe(EXIT_OK);
    expect(parseBaseline(toStdout.stdout).features).toEqual(baseline.features);
  });

  test('CSV with a header row, quoted fields, CRLF and a quoted newline', async () => {
    const csv = 'x,c,note\r\n1,a,"hello, world"\r\n2,"b",""\r\n\r\n3,a,"multi\nline ""quoted"""\r\n';
    const result = await cli('baseline', file('train.csv', csv));
    expect(result.code).toBe(EXIT_OK);
    const baseline = parseBaseline(result.stdout);
    expect(baseline.recordCount).toBe(3);
    expect(baseline.features.x).toMatchObject({ kind: 'numeric', count: 3, min: 1, max: 3 });
    expect(baseline.features.note).toMatchObject({ kind: 'categorical', count: 2, missing: 1 });
    expect(Object.keys((baseline.features.note as { categories: object }).categories).sort()).toEqual(['hello, world', 'multi\nline "quoted"']);
  });

  test('bad input files are errors (exit 1) with the line number', async () => {
    expect(await cli('baseline', file('bad.jsonl', '{"x":1}\n{oops\n')))
      .toMatchObject({ code: EXIT_ERROR, stderr: expect.stringContaining('bad.jsonl:2: not valid JSON') });
    expect(await cli('baseline', file('arr.jsonl', '[1,2]\n')))
      .toMatchObject({ code: EXIT_ERROR, stderr: expect.stringContaining('arr.jsonl:1: expected a JSON object') });
    expect(await cli('baseline', file('bad.csv', 'a,b\n1,2,3\n')))
      .toMatchObject({ code: EXIT_ERROR, stderr: expect.stringContaining('bad.csv:2: 3 fields, the header has 2') });
    expect(await cli('baseline', join(dir, 'missing.jsonl')))
      .toMatchObject({ code: EXIT_ERROR, stderr: expect.stringContaining('ENOENT') });
  });
});

describe('drift compare', () => {
  test('plain JSON Lines: no drift on the same data, drift with --fail-on-drift on shifted data', async () => {
    const baseline = await baselineFile();
    const same = await cli('compare', '--baseline', baseline, '--fail-on-drift', file('same.jsonl', jsonl(TRAIN)));
    expect(same.code).toBe(EXIT_OK);
    const report = JSON.parse(same.stdout) as DriftReport;
    expect(report).toMatchObject({ format: 'cdk-ml-platform/drift-report', recordCount: 200, malformedRecords: 0, driftedFeatures: [] });
    expect(report.overallDriftScore).toBeCloseTo(0, 9);

    const shifted = TRAIN.map(r => ({ x: r.x + 5, c: 'a', extra: 1 }));
    const drift = await cli('compare', '--baseline', baseline, file('shifted.jsonl', jsonl(shifted) + 'not json\n[1]\n\n'), '--fail-on-drift');
    expect(drift.code).toBe(EXIT_DRIFT);
    const driftReport = JSON.parse(drift.stdout) as DriftReport;
    expect(driftReport.driftedFeatures).toEqual(['c', 'x']);
    expect(driftReport.malformedRecords).toBe(2);
    expect(driftReport.unknownFeatures).toEqual({ extra: 200 });
    expect((driftReport.features.x as NumericFeatureDrift).ks!.pValue).toBeLessThan(1e-6);
    // without --fail-on-drift the exit code stays 0; a higher --psi-alarm clears the list
    expect((await cli('compare', '--baseline', baseline, join(dir, 'shifted.jsonl'))).code).toBe(EXIT_OK);
    const high = await cli('compare', '--baseline', baseline, '--psi-alarm=1000', '--fail-on-drift', join(dir, 'shifted.jsonl'));
    expect(high.code).toBe(EXIT_OK);
    expect(JSON.parse(high.stdout).driftedFeatures).toEqual([]);
  });

  test('SageMaker data capture: JSON, CSV and BASE64 payloads over several files', async () => {
    const baseline = await baselineFile();
    const capture = (data: string, encoding: string, observedContentType: string) => ({
      captureData: {
        endpointInput: { observedContentType, mode: 'INPUT', data, encoding },
        endpointOutput: { observedContentType: 'text/csv', mode: 'OUTPUT', data: '0.5', encoding: 'CSV' },
      },
      eventMetadata: { eventId: 'e', inferenceTime: '2024-05-01T00:00:00Z' },
      eventVersion: '0',
    });
    const lines = [
      capture(JSON.stringify({ x: 1, c: 'a' }), 'JSON', 'application/json'),
      capture(JSON.stringify({ instances: [{ x: 2, c: 'b' }, { x: 3, c: 'a' }] }), 'JSON', 'application/json'),
      capture(JSON.stringify([[4, 'b'], [5, 'a']]), 'JSON', 'application/json'),
      capture('6,b\n7,a', 'CSV', 'text/csv'),
      capture(Buffer.from('8,b').toString('base64'), 'BASE64', 'text/csv'),
      capture(Buffer.from(JSON.stringify({ x: 9, c: 'a' })).toString('base64'), 'BASE64', 'application/json'),
      capture(Buffer.from('{"x":0,"c":"b"}\n{"x":1,"c":"a"}').toString('base64'), 'BASE64', 'application/jsonlines'),
      capture('1,2,3', 'CSV', 'text/csv'), // wrong number of columns: malformed
      capture('xx', 'BASE64', 'image/png'), // unknown content type: malformed
      { captureData: {} }, // no endpointInput: malformed
    ];
    const one = file('capture-1.jsonl', jsonl(lines.slice(0, 5)));
    const two = file('capture-2.jsonl', jsonl(lines.slice(5)));
    const result = await cli('compare', '--baseline', baseline, '--features', 'x,c', one, two);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT_OK);
    const report = JSON.parse(result.stdout) as DriftReport;
    expect(report.recordCount).toBe(11); // 1 + 2 + 2 + 2 + 1 + 1 + 2
    expect(report.malformedRecords).toBe(3);
    expect((report.features.x as NumericFeatureDrift).count).toBe(11);
    expect((report.features.c as CategoricalFeatureDrift).count).toBe(11);
  });

  test('CSV capture data without --features is a usage error', async () => {
    const baseline = await baselineFile();
    const line = { captureData: { endpointInput: { observedContentType: 'text/csv', mode: 'INPUT', data: '1,a', encoding: 'CSV' } } };
    const result = await cli('compare', '--baseline', baseline, file('capture.jsonl', jsonl([line])));
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stderr).toContain('CSV rows in capture data have no column names: pass --features a,b,c');
  });

  test('CSV data files with a header row; rows with another field count are malformed', async () => {
    const baseline = await baselineFile();
    const result = await cli('compare', '--baseline', baseline, file('current.csv', 'x,c\n1,a\n2,b\n3\n'));
    expect(result.code).toBe(EXIT_OK);
    expect(JSON.parse(result.stdout)).toMatchObject({ recordCount: 2, malformedRecords: 1 });
  });

  test('an invalid baseline is an error', async () => {
    const result = await cli('compare', '--baseline', file('bad.json', '{"format":"x"}'), file('d.jsonl', '{}\n'));
    expect(result).toMatchObject({ code: EXIT_ERROR, stderr: expect.stringContaining('Not a baseline') });
  });
});

describe('usage', () => {
  test.each([
    [[], 'missing command'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['baseline'], 'baseline needs an input file'],
    [['baseline', 'a.csv', 'b.csv'], 'baseline takes one input file, got 2'],
    [['baseline', 'a.csv', '-o'], '-o needs a value'],
    [['baseline', 'a.csv', '--nope'], 'unknown option --nope'],
    [['compare', 'a.jsonl'], 'compare needs --baseline baseline.json'],
    [['compare', '--baseline', 'b.json'], 'compare needs at least one data file'],
    [['compare', '--baseline', 'b.json', '--features', 'a,,b', 'f'], '--features must be comma-separated non-empty column names'],
    [['compare', '--baseline', 'b.json', '--psi-alarm', 'x', 'f'], '--psi-alarm must be a non-negative number, got x'],
  ])('%j: %s (exit 2 with usage)', async (argv, message) => {
    const result = await cli(...argv);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stderr).toContain(`drift: ${message}`);
    expect(result.stderr).toContain('Usage:');
  });

  test('help prints usage to stdout', async () => {
    const result = await cli('--help');
    expect(result).toMatchObject({ code: EXIT_OK, stderr: '' });
    expect(result.stdout).toContain('drift compare --baseline');
  });
});

describe('parseCsvRecord', () => {
  test('quotes, doubled quotes, empty fields', () => {
    expect(parseCsvRecord('a,"b,c",,"d ""e"""')).toEqual(['a', 'b,c', '', 'd "e"']);
    expect(parseCsvRecord('')).toEqual(['']);
  });
});

describe('as the package bin', () => {
  test('accepts the `drift` group word (ml-platform drift baseline ...)', async () => {
    const errors: string[] = [];
    const code = await main(['drift', 'nonsense'], { stderr: (t: string) => { errors.push(t); } });
    expect(code).toBe(2);
    expect(errors.join('')).toContain('ml-platform drift baseline');
  });
});
