import { Baseline, BaselineBuilder } from '../../../src/core/baseline';
import { decodeCaptureLine, DecodeCaptureOptions } from '../../../src/monitoring/drift/capture';
import { CaptureScanner, layoutPattern, MAX_DEPTH, RecordSink } from '../../../src/monitoring/drift/capture-scanner';
import { DriftEngine } from '../../../src/monitoring/drift/engine';

/** mulberry32 test-data generator (independent of the library's copy). */
function mulberry32(seed: number): () => number {
  let state = seed;
  return () => {
    /* eslint-disable no-bitwise -- mulberry32 is defined in terms of 32-bit integer bit operations */
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    /* eslint-enable no-bitwise */
  };
}

/** Records what the scanner emits. */
class RecordingSink implements RecordSink {
  public records: Array<Array<[string, unknown]>> = [];
  public beginRecord(): void { this.records.push([]); }
  public addField(name: string, value: unknown): void { this.records[this.records.length - 1].push([name, value]); }
}

const FEATURE_NAMES = ['f0', 'f1', 'f2'];
const OPTIONS: DecodeCaptureOptions = { featureNames: FEATURE_NAMES };

/** The record as the engine reads it: own keys in Object.keys order (what add() iterates). */
const pairsOf = (record: Record<string, unknown>): Array<[string, unknown]> => Object.keys(record).map(k => [k, record[k]]);

/** What the slow path makes of a line: the decoded input records, or undefined when the line is malformed. */
function slow(line: string): Record<string, unknown>[] | undefined {
  try {
    return decodeCaptureLine(line, OPTIONS).input ?? [];
  } catch {
    return undefined;
  }
}

/** The Lambda's drift path: the fast path, else decode (malformed lines counted). */
function feedFast(engine: DriftEngine, scanner: CaptureScanner, line: string): void {
  if (scanner.addLine(line)) { return; }
  feedSlow(engine, line);
}

function feedSlow(engine: DriftEngine, line: string): void {
  const input = slow(line);
  if (input === undefined) {
    engine.addMalformed();
  } else {
    input.forEach(r => engine.add(r));
  }
}

const OUTPUT = '{"score":0.25}';

/** A capture line exactly as SageMaker writes it. */
function sagemakerLine(payload: string, output: string | undefined = OUTPUT, encoding = 'JSON'): string {
  const input = `"endpointInput":{"observedContentType":"application/json","mode":"INPUT","data":${JSON.stringify(payload)},"encoding":"${encoding}"}`;
  const out = output === undefined ? ''
    : `,"endpointOutput":{"observedContentType":"application/json","mode":"OUTPUT","data":${JSON.stringify(output)},"encoding":"JSON"}`;
  return `{"captureData":{${input}${out}},"eventMetadata":{"eventId":"0b6c3a52-58e2-4f0e-9d7d-5c1f1b1e2a3b","inferenceTime":"2026-11-30T10:00:00.000Z"},"eventVersion":"0"}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------------------------------

/** Number texts in every JSON form, including ones whose double needs correct rounding. */
const NUMBER_TEXTS = [
  '0', '-0', '0.0', '-0.0', '1', '-1', '42', '0.1', '0.2', '0.3', '0.30000000000000004', '0.1e1', '1e400', '-1e400', '5e-324', '2e-324',
  '4.9406564584124654e-324', '1.7976931348623157e308', '1.7976931348623159e308', '2.2250738585072014e-308', '9007199254740992',
  '9007199254740993', '123456789012345', '1234567890123456', '12345678901234567890', '123456789012345678901234567890', '1E5', '1e-7',
  '-12.5e+3', '0.000001', '100', '3.14159', '2.5', '-2.5', '0.5', '1.0000000000000002', '999999999999999.9', '0.123456789012345',
  '0.1234567890123456', '12.34567890123456', '7e22', '1e23', '8.98846567431158e307',
];

const STRING_VALUES = [
  '', 'US', 'DE', 'web', 'ios', 'NaN', ' NaN ', 'nan', 'null', 'NULL', 'None', 'N/A', 'NA', '-', '?', 'missing', '1.5', '  42 ', '+3', '-0',
  '1e3', '.5', '5.', '0x10', 'Infinity', '-Infinity', 'inf', '-inf', '+inf', 'é', 'Zürich', '東京', '😀', '\u2028', 'a\u2029b', 'a b',
  'true', 'false', '{}', '[]', 'a,b', 'a}b', 'a:b', "it's",
];
/** Strings that need an escape in JSON (the fast path declines them). */
const ESCAPED_STRINGS = ['a"b', 'a\\b', 'tab\there', 'line\nbreak', '\u0001', 'quote"', '\\', '/\b\f\r'];

const KEYS = [
  'num_a', 'num_b', 'num_c', 'cat_x', 'cat_y', 'unknown_1', 'unknown_2', '', '__proto__', 'constructor', 'toString', 'instances', 'score',
  'é', '😀key', 'with space', 'a,b', 'a:b', 'a}b', 'x'.repeat(40),
];
const DIGIT_KEYS = ['0', '12', '4294967295', '1a', '01'];
const ESCAPED_KEYS = ['a"b', 'a\\b', 'nl\nkey'];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)];
}

const JSON_WS = [' ', '\t', '\n', '\r', '  ', ' \n '];

/** A random raw JSON number text (within and beyond the fast reader's exact range). */
function numberText(rand: () => number): string {
  const r = rand();
  if (r < 0.3) { return pick(rand, NUMBER_TEXTS); }
  const digits = 1 + Math.floor(rand() * 18);
  let mantissa = String(1 + Math.floor(rand() * 9));
  for (let i = 1; i < digits; i++) { mantissa += String(Math.floor(rand() * 10)); }
  const dot = Math.floor(rand() * (mantissa.length + 1));
  let text = dot === 0 ? `0.${mantissa}` : dot === mantissa.length ? mantissa : `${mantissa.slice(0, dot)}.${mantissa.slice(dot)}`;
  if (rand() < 0.3) { text = `-${text}`; }
  if (rand() < 0.15) { text += `${pick(rand, ['e', 'E'])}${pick(rand, ['', '+', '-'])}${Math.floor(rand() * 330)}`; }
  return text;
}

/** A random payload value as JSON text (`clean`: only what the fast path reads). */
function valueText(rand: () => number, depth = 0, clean = false): string {
  const r = !clean ? rand() : rand() < 0.2 ? 0.85 : rand() * 0.75;
  if (r < 0.5) { return numberText(rand); }
  if (r < 0.75) { return JSON.stringify(pick(rand, STRING_VALUES)); }
  if (r < 0.8) { return JSON.stringify(pick(rand, ESCAPED_STRINGS)); }
  if (r < 0.83) { return JSON.stringify(pick(rand, STRING_VALUES)).replace(/[a-z]/, c => `\\u00${c.charCodeAt(0).toString(16)}`); }
  if (r < 0.9) { return pick(rand, ['true', 'false', 'null']); }
  if (depth > 1) { return '1'; }
  if (r < 0.95) { return `[${valueText(rand, depth + 1)},${valueText(rand, depth + 1)}]`; }
  return `{"k":${valueText(rand, depth + 1)}}`;
}

/**
 * A payload object's JSON text: random keys (sometimes repeated), values and spaces; half of the objects only hold
 * keys and values the fast path reads.
 */
function objectText(rand: () => number, keys: readonly string[]): string {
  const clean = rand() < 0.5;
  const n = Math.floor(rand() * 7);
  const fields: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = clean ? 0 : rand();
    const key = r < 0.85 ? pick(rand, keys) : r < 0.93 ? pick(rand, DIGIT_KEYS) : pick(rand, ESCAPED_KEYS);
    fields.push(`${JSON.stringify(key)}:${valueText(rand, 0, clean)}`);
  }
  if (rand() < 0.1 && !clean && fields.length > 0) { fields.push(fields[0].replace(/:.*/, `:${valueText(rand)}`)); } // a repeated key
  const sp = () => (rand() < 0.85 ? '' : rand() < 0.8 || clean ? ' ' : pick(rand, JSON_WS));
  return `${sp()}{${sp()}${fields.map(f => f.replace(':', `${sp()}:${sp()}`)).join(`${sp()},${sp()}`)}${sp()}}${sp()}`;
}

/** A random input payload: mostly one flat object, sometimes another shape. */
function payloadText(rand: () => number, keys: readonly string[]): string {
  const r = rand();
  if (r < 0.8) { return objectText(rand, keys); }
  if (r < 0.85) { return `[${objectText(rand, keys)},${objectText(rand, keys)}]`; }
  if (r < 0.9) { return `{"instances":[${objectText(rand, keys)}]}`; }
  if (r < 0.93) { return `[${numberText(rand)},${numberText(rand)},${numberText(rand)}]`; }
  if (r < 0.96) { return pick(rand, ['1', '"x"', 'null', '[]', '{}', '', '{', '{"a":1', '{"a":1}}', '{"a":1} x', '{"a":01}', '{"a":1.}', '{"a":-}']); }
  return `${objectText(rand, keys)}${pick(rand, [',', '}', ' {', '"'])}`;
}

function outputText(rand: () => number): string {
  return pick(rand, [OUTPUT, '{"score":-0}', '[0.1,0.2]', '{"predictions":[0.5,{"score":0.7}]}', '0.9', '"0.3"', '{"probability":1e400}', '{}',
    '{"score":0.5', 'nope', '{"a":[[[[1]]]]}', `{"k":${'['.repeat(MAX_DEPTH + 2)}${']'.repeat(MAX_DEPTH + 2)}}`, '{"s":"a\\"b"}', '{"a":1,"a":2}']);
}

/** An envelope key and value, or a variant of them. */
interface EnvelopeParts {
  payload: string;
  output?: string;
  encoding: string;
}

/** A capture line in one of many envelope shapes (SageMaker's most of the time). */
function envelope(rand: () => number, parts: EnvelopeParts): string {
  const { payload, output, encoding } = parts;
  const r = rand();
  if (r < 0.55) { return sagemakerLine(payload, output, encoding); }
  const ws = () => (rand() < 0.7 ? '' : pick(rand, JSON_WS));
  const data = rand() < 0.9 ? JSON.stringify(payload) : JSON.stringify(payload).replace(/[a-z]/, c => `\\u00${c.charCodeAt(0).toString(16)}`);
  const input: Array<[string, string]> = [
    ['observedContentType', JSON.stringify(pick(rand, ['application/json', 'text/csv', 'application/jsonlines', 'text/plain']))],
    ['mode', '"INPUT"'], ['data', data], ['encoding', JSON.stringify(encoding)],
  ];
  if (rand() < 0.1) { input.push([pick(rand, ['data', 'encoding', 'mode']), pick(rand, ['"BASE64"', '"JSON"', '"{\\"z\\":1}"', '1'])]); } // repeated key
  if (rand() < 0.05) { input.push(['d\\u0061ta', JSON.stringify('{"esc":1}')]); } // an escaped key spelling data
  if (rand() < 0.3) { input.sort(() => rand() - 0.5); }
  const obj = (fields: Array<[string, string]>) =>
    `{${ws()}${fields.map(([k, v]) => `${k.startsWith('d\\') ? `"${k}"` : JSON.stringify(k)}${ws()}:${ws()}${v}`).join(`${ws()},${ws()}`)}${ws()}}`;
  const captureData: Array<[string, string]> = [['endpointInput', obj(input)]];
  if (output !== undefined) {
    captureData.push(['endpointOutput', obj([['observedContentType', '"application/json"'], ['mode', '"OUTPUT"'], ['data', JSON.stringify(output)],
      ['encoding', pick(rand, ['"JSON"', '"JSON"', '"CSV"', '"BASE64"'])]])]);
  }
  if (rand() < 0.05) { captureData.push(['endpointInput', obj([['data', JSON.stringify('{"again":1}')], ['encoding', '"JSON"']])]); }
  if (rand() < 0.1) { captureData.reverse(); }
  const root: Array<[string, string]> = [['captureData', obj(captureData)],
    ['eventMetadata', '{"eventId":"e\\u0031","inferenceTime":"2026-11-30T10:00:00Z","customAttributes":[1,{"a":null}]}'], ['eventVersion', '"0"']];
  if (rand() < 0.05) { root.push(['captureData', '{"endpointInput":{"data":"{}","encoding":"JSON"}}']); }
  if (rand() < 0.05) { root.push(['inferenceId', '"x\\ty"']); }
  if (rand() < 0.2) { root.reverse(); }
  return `${ws()}${obj(root)}${ws()}`;
}

/** Breaks a line: truncation, a character inserted, deleted or replaced, or an adversarial payload. */
function mutate(rand: () => number, line: string): string {
  const at = Math.floor(rand() * (line.length + 1));
  const r = rand();
  if (r < 0.3) { return line.slice(0, at); }
  if (r < 0.5) { return line.slice(0, at) + line.slice(at + 1); }
  if (r < 0.7) { return line.slice(0, at) + pick(rand, ['"', '\\', '{', '}', '[', ']', ',', ':', ' ', '\u0000', '\n', 'x', '1', '-', '.', 'e']) + line.slice(at); }
  if (r < 0.85) {
    const c = pick(rand, ['"', '\\', '{', '}', ',', ':', '0', 'a', '\u0001', '\\"']);
    return line.slice(0, at) + c + line.slice(at + 1);
  }
  // A payload whose raw text closes the data string early and smuggles envelope keys in.
  return sagemakerLine('{"a":1},"encoding":"BASE64","x":{').replace(/\\"/g, pick(rand, ['"', '\\"']));
}

/** A SageMaker line whose record always has the same keys (so its layout is learned), with any values; sometimes broken. */
function fixedKeysLine(rand: () => number): string {
  const clean = rand() < 0.7;
  const line = sagemakerLine(`{"num_a":${valueText(rand, 0, clean)},"cat_x":${valueText(rand, 0, clean)},"unknown_1":${valueText(rand, 0, clean)}}`);
  return rand() < 0.1 ? mutate(rand, line) : line;
}

/** One line of the differential test. */
function generateLine(rand: () => number, keys: readonly string[]): string {
  const r = rand();
  const output = rand() < 0.1 ? undefined : rand() < 0.8 ? OUTPUT : outputText(rand);
  if (r < 0.65) {
    return envelope(rand, { payload: payloadText(rand, keys), output, encoding: 'JSON' });
  }
  if (r < 0.72) {
    return envelope(rand, { payload: `${numberText(rand)},abc,${numberText(rand)}\n1,"x",2`, output, encoding: 'CSV' });
  }
  if (r < 0.78) {
    return envelope(rand, { payload: Buffer.from(payloadText(rand, keys)).toString('base64'), output, encoding: 'BASE64' });
  }
  if (r < 0.8) {
    return envelope(rand, { payload: payloadText(rand, keys), output, encoding: pick(rand, ['json', 'UTF8', '']) });
  }
  return mutate(rand, envelope(rand, { payload: payloadText(rand, keys), output, encoding: 'JSON' }));
}

/** A baseline over some of the generated keys: numeric, categorical, and keys it does not know. */
function baseline(): Baseline {
  const rand = mulberry32(7);
  const builder = new BaselineBuilder({ seed: 1, now: () => new Date('2026-01-01T00:00:00Z') });
  for (let i = 0; i < 2_000; i++) {
    builder.add({
      num_a: rand() * 10 - 5,
      num_b: Math.floor(rand() * 1_000),
      num_c: (rand() - 0.5) * 1e-3,
      cat_x: pick(rand, ['US', 'DE', 'web']),
      cat_y: pick(rand, ['ios', 'é', '1.5', 'true']),
      score: rand(),
    });
  }
  return builder.build();
}

// ---------------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------------

const RECORD = '{"num_a":1.25,"num_b":42,"num_c":-0.0001,"cat_x":"US","cat_y":"ios","flag":true,"none":null,"off":false}';

describe('CaptureScanner fast path', () => {
  test('handles the common SageMaker line: one record, the pairs of decodeCaptureLine, in order', () => {
    const sink = new RecordingSink();
    const scanner = new CaptureScanner(sink);
    const line = sagemakerLine(RECORD);
    expect(scanner.addLine(line)).toBe(true);
    expect(sink.records).toEqual([pairsOf(decodeCaptureLine(line).input![0])]);
    expect(sink.records[0]).toEqual([['num_a', 1.25], ['num_b', 42], ['num_c', -0.0001], ['cat_x', 'US'], ['cat_y', 'ios'], ['flag', true],
      ['none', null], ['off', false]]);
    expect(scanner).toMatchObject({ handled: 1, declined: 0 });
  });

  test('learns the layout of repeated lines and then matches them with one regular expression', () => {
    const scanner = new CaptureScanner(new RecordingSink());
    for (let i = 0; i < 50; i++) { expect(scanner.addLine(sagemakerLine(RECORD.replace('42', String(i))))).toBe(true); }
    expect(scanner.handled).toBe(50);
    expect(scanner.layoutLines).toBeGreaterThanOrEqual(40);
  });

  test('the bench data shape (20 numeric and 5 categorical features, absent and null values) goes through the layouts', () => {
    const rand = mulberry32(3);
    const sink = new RecordingSink();
    const scanner = new CaptureScanner(sink);
    const lines: string[] = [];
    for (let i = 0; i < 2_000; i++) {
      const record: Record<string, unknown> = {};
      for (let f = 0; f < 20; f++) {
        if (f === 4 && rand() < 0.08) { continue; }
        record[`num_${String(f).padStart(2, '0')}`] = f === 4 && rand() < 0.1 ? pick(rand, [null, 'NaN']) : Math.round(rand() * 1e6) / 1e4;
      }
      for (const c of ['country', 'channel', 'device', 'plan', 'sku']) { record[`cat_${c}`] = rand() < 0.01 ? null : pick(rand, ['a', 'b', 'web']); }
      lines.push(sagemakerLine(JSON.stringify(record), `{"score":${rand()}}`));
    }
    lines.forEach(line => expect(scanner.addLine(line)).toBe(true));
    expect(scanner.layoutLines).toBeGreaterThan(1_900);
    expect(sink.records).toEqual(lines.map(line => pairsOf(decodeCaptureLine(line).input![0])));
  });

  test.each([
    ['CSV', sagemakerLine('1,2,3', OUTPUT, 'CSV')],
    ['BASE64', sagemakerLine(Buffer.from(RECORD).toString('base64'), OUTPUT, 'BASE64')],
    ['instances', sagemakerLine(`{"instances":[${RECORD}]}`)],
    ['an array of records', sagemakerLine(`[${RECORD}]`)],
    ['a row of values', sagemakerLine('[1,2,3]')],
    ['a nested value', sagemakerLine('{"a":{"b":1}}')],
    ['an array value', sagemakerLine('{"a":[1]}')],
    ['an escaped string value', sagemakerLine('{"a":"x\\"y"}')],
    ['a \\u escape in the payload', sagemakerLine('{"a":"\\u0041"}')],
    ['a \\u escape in the data string', sagemakerLine(RECORD).replace('num_a', '\\u006eum_a')],
    ['a repeated record key', sagemakerLine('{"a":1,"b":2,"a":3}')],
    ['an array-index key', sagemakerLine('{"b":1,"0":2}')],
    ['a repeated data key', sagemakerLine(RECORD).replace('"encoding":"JSON"', '"encoding":"JSON","data":"{}"')],
    ['a repeated encoding key', sagemakerLine(RECORD).replace('"encoding":"JSON"', '"encoding":"JSON","encoding":"BASE64"')],
    ['an escaped envelope key', sagemakerLine(RECORD).replace('"encoding"', '"encodin\\u0067"')],
    ['no input', '{"captureData":{"endpointOutput":{"data":"1","encoding":"JSON"}}}'],
    ['an output that is not JSON', sagemakerLine(RECORD, '{"score":')],
    ['a CSV output', sagemakerLine(RECORD).replace(/"encoding":"JSON"}}/, '"encoding":"CSV"}}')],
    ['truncated', sagemakerLine(RECORD).slice(0, -1)],
    ['trailing text', `${sagemakerLine(RECORD)} x`],
    ['a raw control character', sagemakerLine('{"a":"x\ty"}').replace('\\t', '\t')],
    ['an adversarial payload', sagemakerLine('{"a":1},"encoding":"BASE64","x":{').replace(/\\"/g, '"')],
    ['deep nesting', sagemakerLine(RECORD).replace('"eventVersion":"0"', `"x":${'['.repeat(MAX_DEPTH + 1)}${']'.repeat(MAX_DEPTH + 1)}`)],
  ])('declines %s and emits nothing', (_, line) => {
    const sink = new RecordingSink();
    const scanner = new CaptureScanner(sink);
    // learned layouts must not change the answer either
    for (let i = 0; i < 20; i++) { scanner.addLine(sagemakerLine(RECORD)); }
    sink.records = [];
    expect(scanner.addLine(line)).toBe(false);
    expect(sink.records).toEqual([]);
  });

  test.each([
    ['whitespace everywhere', ` { "captureData" : { "endpointInput" : { "data" : ${JSON.stringify(' { "a" : 1 , "b" : "x" } ')} , "encoding" : "JSON" } } }\t`],
    ['other key orders and extra keys', '{"eventVersion":"0","captureData":{"endpointInput":{"encoding":"JSON","data":"{\\"a\\":1}","mode":"INPUT"},"x":[1,{"y":"\\u0041"}]}}'],
    ['no output', sagemakerLine(RECORD, undefined)],
    ['an empty record', sagemakerLine('{}')],
    ['escapes outside the payload', sagemakerLine(RECORD).replace('"2026-11-30T10:00:00.000Z"', '"\\u00e9\\n\\"\\/"')],
  ])('handles %s', (_, line) => {
    const sink = new RecordingSink();
    expect(new CaptureScanner(sink).addLine(line)).toBe(true);
    expect(sink.records).toEqual([pairsOf(decodeCaptureLine(line).input![0])]);
  });

  test('layoutPattern escapes key names', () => {
    const names = ['a.b', 'c*', '(d)', '[e]', '$f^', 'g|h', 'i/j', '{1}', 'é😀'];
    const record = JSON.stringify(Object.fromEntries(names.map((n, i) => [n, i])));
    expect(layoutPattern(names).test(sagemakerLine(record))).toBe(true);
    expect(layoutPattern(names).test(sagemakerLine(record.replace('a.b', 'aXb')))).toBe(false);
    expect(layoutPattern(names).test(sagemakerLine(record.replace('c*', 'cc')))).toBe(false);
  });
});

describe('CaptureScanner differential fuzz against decodeCaptureLine', () => {
  test.each([1, 2, 3, 4])('seed %i: every handled line emits exactly the decoded record, and declined lines nothing', seed => {
    const rand = mulberry32(seed);
    const sink = new RecordingSink();
    const scanner = new CaptureScanner(sink); // one scanner for all lines, as in the Lambda (layouts learned on the way)
    let handled = 0;
    let malformed = 0;
    const lines = 4_000;
    for (let i = 0; i < lines; i++) {
      // runs of lines with the same keys make layouts be learned
      const keys = rand() < 0.5 ? KEYS.slice(0, 6) : KEYS;
      const r = rand();
      const line = r < 0.25 ? fixedKeysLine(rand) : r < 0.45 ? sagemakerLine(objectText(rand, keys.slice(0, 3))) : generateLine(rand, keys);
      sink.records = [];
      const fast = scanner.addLine(line);
      const input = slow(line);
      if (input === undefined) { malformed++; }
      if (fast) {
        handled++;
        expect(input).toBeDefined();
        expect(input).toHaveLength(1);
        expect(sink.records).toEqual([pairsOf(input![0])]);
      } else {
        expect(sink.records).toEqual([]);
      }
    }
    // the test exercises both outcomes and both tiers
    expect(handled).toBeGreaterThan(lines * 0.25);
    expect(lines - handled).toBeGreaterThan(lines * 0.25);
    expect(malformed).toBeGreaterThan(lines * 0.1);
    expect(scanner.layoutLines).toBeGreaterThan(lines * 0.1);
  });

  test.each([
    ['default options', {}],
    ['a small KS reservoir', { exactKsThreshold: 50, seed: 9 }],
  ])('the drift report is the same with the fast path as without it (%s)', (_, options) => {
    const base = baseline();
    const rand = mulberry32(11);
    const fast = new DriftEngine(base, options);
    const reference = new DriftEngine(base, options);
    const scanner = new CaptureScanner(fast);
    for (let i = 0; i < 6_000; i++) {
      const r = rand();
      const line = r < 0.25 ? fixedKeysLine(rand) : r < 0.45 ? sagemakerLine(objectText(rand, KEYS.slice(0, 6))) : generateLine(rand, KEYS);
      feedFast(fast, scanner, line);
      feedSlow(reference, line);
    }
    expect(scanner.handled).toBeGreaterThan(1_500);
    expect(scanner.layoutLines).toBeGreaterThan(600);
    const report = fast.result();
    expect(report).toEqual(reference.result());
    expect(report.recordCount).toBeGreaterThan(2_000);
    expect(report.malformedRecords).toBeGreaterThan(200);
    expect(Object.keys(report.unknownFeatures).length).toBeGreaterThan(3);
  });

  test('numbers are read exactly as JSON.parse reads them', () => {
    const rand = mulberry32(5);
    const texts = [...NUMBER_TEXTS, ...Array.from({ length: 5_000 }, () => numberText(rand))];
    const sink = new RecordingSink();
    const scanner = new CaptureScanner(sink);
    for (const text of texts) {
      sink.records = [];
      expect(scanner.addLine(sagemakerLine(`{"v":${text}}`))).toBe(true);
      expect(sink.records).toEqual([[['v', JSON.parse(text)]]]);
    }
  });
});
