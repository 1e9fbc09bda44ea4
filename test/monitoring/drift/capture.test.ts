import { decodeCaptureLine, parseCaptureKey, parseCsv } from '../../../src/monitoring/drift/capture';

type Encoding = 'JSON' | 'CSV' | 'BASE64';

/** One capture line as SageMaker writes it. */
function line(input?: [string, Encoding, string], output?: [string, Encoding, string]): string {
  const part = (mode: string, [contentType, encoding, data]: [string, Encoding, string]) =>
    ({ observedContentType: contentType, mode, data, encoding });
  return JSON.stringify({
    captureData: {
      ...(input ? { endpointInput: part('INPUT', input) } : {}),
      ...(output ? { endpointOutput: part('OUTPUT', output) } : {}),
    },
    eventMetadata: { eventId: 'e-1', inferenceTime: '2026-11-30T10:00:00Z' },
    eventVersion: '0',
  });
}

const b64 = (text: string) => Buffer.from(text, 'utf-8').toString('base64');
const FEATURES = ['age', 'plan', 'spend'];

describe('decodeCaptureLine input payloads', () => {
  test('JSON object → one record; inferenceTime is read', () => {
    const decoded = decodeCaptureLine(line(['application/json', 'JSON', '{"age": 31, "plan": "pro"}']));
    expect(decoded).toEqual({ input: [{ age: 31, plan: 'pro' }], output: undefined, inferenceTime: '2026-11-30T10:00:00Z' });
  });

  test('JSON array of objects → several records', () => {
    expect(decodeCaptureLine(line(['application/json', 'JSON', '[{"age": 1}, {"age": 2}]'])).input).toEqual([{ age: 1 }, { age: 2 }]);
  });

  test('{"instances": [...]} → its items; rows of values are keyed by featureNames', () => {
    expect(decodeCaptureLine(line(['application/json', 'JSON', '{"instances": [{"age": 1}, {"age": 2}]}'])).input)
      .toEqual([{ age: 1 }, { age: 2 }]);
    expect(decodeCaptureLine(line(['application/json', 'JSON', '{"instances": [[1, "pro", 9.5], [2, "basic", 0]]}']),
      { featureNames: FEATURES }).input).toEqual([{ age: 1, plan: 'pro', spend: 9.5 }, { age: 2, plan: 'basic', spend: 0 }]);
    expect(decodeCaptureLine(line(['application/json', 'JSON', '[1, "pro", 9.5]']), { featureNames: FEATURES }).input)
      .toEqual([{ age: 1, plan: 'pro', spend: 9.5 }]);
  });

  test('CSV: one or more rows keyed by featureNames (values stay strings, quotes honoured)', () => {
    expect(decodeCaptureLine(line(['text/csv', 'CSV', '31,pro,10.5']), { featureNames: FEATURES }).input)
      .toEqual([{ age: '31', plan: 'pro', spend: '10.5' }]);
    expect(decodeCaptureLine(line(['text/csv', 'CSV', '1,"a, b",2\r\n3,"say ""hi""",4\n']), { featureNames: FEATURES }).input)
      .toEqual([{ age: '1', plan: 'a, b', spend: '2' }, { age: '3', plan: 'say "hi"', spend: '4' }]);
  });

  test('CSV without featureNames or with another column count is malformed', () => {
    expect(() => decodeCaptureLine(line(['text/csv', 'CSV', '1,2,3']))).toThrow(
      'Malformed capture line: endpointInput CSV row 1 has unnamed columns and no featureNames were configured');
    expect(() => decodeCaptureLine(line(['text/csv', 'CSV', '1,2']), { featureNames: FEATURES })).toThrow(
      'Malformed capture line: endpointInput CSV row 1 has 2 column(s) but 3 featureNames were configured');
    expect(() => decodeCaptureLine(line(['text/csv', 'CSV', '1,"open,3']), { featureNames: FEATURES })).toThrow(
      'Malformed capture line: endpointInput: CSV has a quote that is never closed');
  });

  test('BASE64 is decoded, then read by its observed content type', () => {
    expect(decodeCaptureLine(line(['application/json', 'BASE64', b64('{"age": 5, "plan": "Zürich"}')])).input)
      .toEqual([{ age: 5, plan: 'Zürich' }]);
    expect(decodeCaptureLine(line(['text/csv; charset=utf-8', 'BASE64', b64('1,pro,2\n3,basic,4')]), { featureNames: FEATURES }).input)
      .toEqual([{ age: '1', plan: 'pro', spend: '2' }, { age: '3', plan: 'basic', spend: '4' }]);
  });

  test('BASE64 of another content type, invalid base64 or non-UTF-8 bytes is malformed', () => {
    expect(() => decodeCaptureLine(line(['image/png', 'BASE64', b64('x')]))).toThrow(
      'Malformed capture line: endpointInput is BASE64 with content type "image/png"; only JSON and CSV payloads can be analyzed');
    expect(() => decodeCaptureLine(line(['application/json', 'BASE64', '!!not base64!!']))).toThrow(
      'Malformed capture line: endpointInput.data is not valid base64');
    expect(() => decodeCaptureLine(line(['application/json', 'BASE64', Buffer.from([0xff, 0xfe, 0x7b]).toString('base64')]))).toThrow(
      'Malformed capture line: endpointInput.data does not decode to UTF-8 text');
  });
});

describe('decodeCaptureLine output payloads', () => {
  const out = (contentType: string, encoding: Encoding, data: string) => decodeCaptureLine(line(undefined, [contentType, encoding, data])).output;

  test('numbers, arrays, predictions, score and probability become a flat list of numbers', () => {
    expect(out('application/json', 'JSON', '0.7')).toEqual([0.7]);
    expect(out('application/json', 'JSON', '[0.1, [0.2, 0.3]]')).toEqual([0.1, 0.2, 0.3]);
    expect(out('application/json', 'JSON', '{"predictions": [0.4, {"score": 0.5}, {"probability": 0.6}]}')).toEqual([0.4, 0.5, 0.6]);
    expect(out('application/json', 'JSON', '{"score": 0.9}')).toEqual([0.9]);
    expect(out('application/json', 'JSON', '{"probability": "0.25"}')).toEqual([0.25]);
    expect(out('text/csv', 'CSV', '0.1,0.2\n0.3')).toEqual([0.1, 0.2, 0.3]);
    expect(out('application/json', 'BASE64', b64('[1, 2]'))).toEqual([1, 2]);
  });

  test('non-numeric predictions are kept as NaN', () => {
    expect(out('application/json', 'JSON', '["yes", null, {"label": "a"}, 1]')).toEqual([NaN, NaN, NaN, 1]);
    expect(out('text/csv', 'CSV', 'abc,2')).toEqual([NaN, 2]);
  });

  test('input and output together', () => {
    expect(decodeCaptureLine(line(['application/json', 'JSON', '{"age": 1}'], ['application/json', 'JSON', '{"predictions": [0.5]}'])))
      .toEqual({ input: [{ age: 1 }], output: [0.5], inferenceTime: '2026-11-30T10:00:00Z' });
  });
});

describe('malformed lines', () => {
  test.each([
    ['not JSON', '{"captureData": ', /^Malformed capture line: not JSON/],
    ['not an object', '[1]', 'Malformed capture line: not a JSON object'],
    ['no captureData', '{"eventMetadata": {}}', 'Malformed capture line: captureData is missing or not an object'],
    ['empty captureData', '{"captureData": {}}', 'Malformed capture line: captureData has neither endpointInput nor endpointOutput'],
    ['data not a string', '{"captureData": {"endpointInput": {"encoding": "JSON", "data": 1}}}', 'Malformed capture line: endpointInput.data is not a string'],
    ['unknown encoding', '{"captureData": {"endpointInput": {"encoding": "XML", "data": "<a/>"}}}',
      'Malformed capture line: endpointInput.encoding "XML" is not one of JSON, CSV, BASE64'],
    ['payload not JSON', line(['application/json', 'JSON', '{"age": ']), /^Malformed capture line: endpointInput.data is not valid JSON/],
    ['payload is a string', line(['application/json', 'JSON', '"hello"']), 'Malformed capture line: endpointInput JSON is string, not an object or an array'],
    ['item is null', line(['application/json', 'JSON', '[{"a": 1}, null]']), 'Malformed capture line: endpointInput JSON item 2 is null, not a record'],
    ['output not JSON', line(undefined, ['application/json', 'JSON', '[0.1']), /^Malformed capture line: endpointOutput.data is not valid JSON/],
  ])('%s', (_name, text, message) => {
    expect(() => decodeCaptureLine(text, { featureNames: FEATURES })).toThrow(message);
  });
});

describe('parseCsv', () => {
  test('quoted fields, line breaks in quotes, blank lines', () => {
    expect(parseCsv('a,"b\nc",d\n\n"",x\n')).toEqual([['a', 'b\nc', 'd'], ['', 'x']]);
    expect(parseCsv('a,b,')).toEqual([['a', 'b', '']]);
    expect(() => parseCsv('"a"b')).toThrow('CSV has text after a closing quote');
  });
});

describe('parseCaptureKey', () => {
  test('reads endpoint, variant and hour', () => {
    expect(parseCaptureKey('capture/churn-ep/AllTraffic/2026/11/30/10/05-12-123-0f3c.jsonl')).toEqual({
      endpoint: 'churn-ep', variant: 'AllTraffic', hour: new Date('2026-11-30T10:00:00Z'),
    });
    expect(parseCaptureKey('churn-ep/v2/2026/01/02/23/x.jsonl')).toEqual({ endpoint: 'churn-ep', variant: 'v2', hour: new Date('2026-01-02T23:00:00Z') });
  });

  test('other keys and impossible dates are undefined', () => {
    expect(parseCaptureKey('capture/churn-ep/AllTraffic/2026/11/30/10/x.json')).toBeUndefined();
    expect(parseCaptureKey('capture/churn-ep/AllTraffic/2026/11/30/x.jsonl')).toBeUndefined();
    expect(parseCaptureKey('capture/churn-ep/AllTraffic/2026/02/30/10/x.jsonl')).toBeUndefined();
    expect(parseCaptureKey('capture/churn-ep/AllTraffic/2026/11/30/24/x.jsonl')).toBeUndefined();
    expect(parseCaptureKey('reports/2026-11-30T10:00:00.000Z.json')).toBeUndefined();
  });
});
