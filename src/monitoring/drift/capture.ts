/**
 * Decoding of SageMaker endpoint data capture (pure: no AWS SDK import). SageMaker writes capture files as
 * JSON Lines under `s3://<bucket>/<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/<name>.jsonl`, one inference
 * per line with its request (`endpointInput`) and response (`endpointOutput`) payloads.
 */

/** Options of {@link decodeCaptureLine}. */
export interface DecodeCaptureOptions {
  /** Column names of CSV payloads (and of JSON rows given as arrays of values), in order. */
  readonly featureNames?: string[];
}

/** One decoded capture line. */
export interface DecodedCapture {
  /** Input records (feature name → value); CSV values stay strings. Undefined when the line has no input. */
  readonly input?: Record<string, unknown>[];
  /** Numeric predictions; a value that is not a number is kept as NaN so health checks can count it. */
  readonly output?: number[];
  /** `eventMetadata.inferenceTime`, as written by SageMaker. */
  readonly inferenceTime?: string;
}

/** The location parts of a capture file key. */
export interface CaptureKey {
  readonly endpoint: string;
  readonly variant: string;
  /** Start of the UTC hour the file belongs to. */
  readonly hour: Date;
}

type PayloadKind = 'json' | 'csv';

interface Payload {
  readonly kind: PayloadKind;
  readonly text: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The kind of a payload from its content type (`application/json`, `text/csv`, `application/jsonlines`...). */
function kindOfContentType(contentType: unknown): PayloadKind | undefined {
  if (typeof contentType !== 'string') { return undefined; }
  const lower = contentType.toLowerCase();
  if (lower.includes('json')) { return 'json'; }
  if (lower.includes('csv')) { return 'csv'; }
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

/** Text and kind of `endpointInput` / `endpointOutput`; throws with the reason when it cannot be read. */
function payloadOf(part: unknown, which: string): Payload {
  if (!isObject(part)) { throw new Error(`${which} is not an object`); }
  const { data, encoding, observedContentType } = part;
  if (typeof data !== 'string') { throw new Error(`${which}.data is not a string`); }
  switch (encoding) {
    case 'JSON': return { kind: 'json', text: data };
    case 'CSV': return { kind: 'csv', text: data };
    case 'BASE64': {
      const kind = kindOfContentType(observedContentType);
      if (!kind) {
        throw new Error(`${which} is BASE64 with content type ${JSON.stringify(observedContentType)}; only JSON and CSV payloads can be analyzed`);
      }
      if (!BASE64.test(data)) { throw new Error(`${which}.data is not valid base64`); }
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(data, 'base64'));
      } catch {
        throw new Error(`${which}.data does not decode to UTF-8 text`);
      }
      return { kind, text };
    }
    default:
      throw new Error(`${which}.encoding ${JSON.stringify(encoding)} is not one of JSON, CSV, BASE64`);
  }
}

/**
 * Parses CSV text into records of fields: double-quoted fields may hold commas, doubled quotes and line
 * breaks; blank lines are skipped. Throws on a quote never closed or text after a closing quote.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let afterQuote = false;
  const endRow = () => {
    row.push(field);
    if (!(row.length === 1 && row[0].trim() === '' && !afterQuote)) { rows.push(row); }
    row = [];
    field = '';
    afterQuote = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c !== '"') {
        field += c;
      } else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else {
        quoted = false;
        afterQuote = true;
      }
    } else if (c === ',') {
      row.push(field);
      field = '';
      afterQuote = false;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') { i++; }
      endRow();
    } else if (afterQuote) {
      throw new Error('CSV has text after a closing quote');
    } else if (c === '"' && field === '') {
      quoted = true;
    } else {
      field += c;
    }
  }
  if (quoted) { throw new Error('CSV has a quote that is never closed'); }
  if (field !== '' || row.length > 0 || afterQuote) { endRow(); }
  return rows;
}

/** A row of values keyed by the feature names. */
function keyed(values: unknown[], featureNames: string[] | undefined, what: string): Record<string, unknown> {
  if (!featureNames || featureNames.length === 0) {
    throw new Error(`${what} has unnamed columns and no featureNames were configured`);
  }
  if (values.length !== featureNames.length) {
    throw new Error(`${what} has ${values.length} column(s) but ${featureNames.length} featureNames were configured`);
  }
  const record: Record<string, unknown> = Object.create(null);
  featureNames.forEach((name, i) => { record[name] = values[i]; });
  return record;
}

function jsonValue(text: string, which: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${which}.data is not valid JSON (${(e as Error).message})`);
  }
}

/** Input records: an object, an array of objects (or of value rows), `{"instances": [...]}`, or CSV rows. */
function inputRecords(payload: Payload, options: DecodeCaptureOptions): Record<string, unknown>[] {
  const which = 'endpointInput';
  if (payload.kind === 'csv') {
    let rows: string[][];
    try {
      rows = parseCsv(payload.text);
    } catch (e) {
      throw new Error(`${which}: ${(e as Error).message}`);
    }
    return rows.map((row, i) => keyed(row, options.featureNames, `${which} CSV row ${i + 1}`));
  }
  const value = jsonValue(payload.text, which);
  const items = Array.isArray(value) ? value
    : isObject(value) && Array.isArray(value.instances) ? value.instances
      : isObject(value) ? [value] : undefined;
  if (!items) { throw new Error(`${which} JSON is ${value === null ? 'null' : typeof value}, not an object or an array of records`); }
  // A single row of scalar values, e.g. [1, 2, 3], is one record.
  const rows = items.length > 0 && items.every(v => !isObject(v) && !Array.isArray(v)) ? [items] : items;
  return rows.map((item, i) => {
    if (isObject(item)) { return item; }
    if (Array.isArray(item)) { return keyed(item, options.featureNames, `${which} JSON row ${i + 1}`); }
    throw new Error(`${which} JSON item ${i + 1} is ${item === null ? 'null' : typeof item}, not a record`);
  });
}

/** One prediction as a number; anything else is NaN. */
function numeric(value: unknown): number {
  if (typeof value === 'number') { return value; }
  if (typeof value === 'string' && value.trim() !== '') { return Number(value); }
  return NaN;
}

/** Flattens a JSON prediction value into numbers. */
function predictions(value: unknown, out: number[]): void {
  if (Array.isArray(value)) {
    value.forEach(v => predictions(v, out));
  } else if (isObject(value)) {
    if (Array.isArray(value.predictions)) {
      predictions(value.predictions, out);
    } else if ('score' in value) {
      out.push(numeric(value.score));
    } else if ('probability' in value) {
      out.push(numeric(value.probability));
    } else {
      out.push(NaN);
    }
  } else {
    out.push(numeric(value));
  }
}

function outputValues(payload: Payload): number[] {
  const out: number[] = [];
  if (payload.kind === 'csv') {
    let rows: string[][];
    try {
      rows = parseCsv(payload.text);
    } catch (e) {
      throw new Error(`endpointOutput: ${(e as Error).message}`);
    }
    rows.forEach(row => row.forEach(v => out.push(numeric(v))));
  } else {
    predictions(jsonValue(payload.text, 'endpointOutput'), out);
  }
  return out;
}

/**
 * Decodes one line of a capture file. Throws an Error saying why when the line is malformed (not JSON, no
 * `captureData`, an unknown encoding, a payload that cannot be parsed, CSV without matching `featureNames`);
 * callers count such lines and skip them.
 */
export function decodeCaptureLine(line: string, options: DecodeCaptureOptions = {}): DecodedCapture {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch (e) {
    throw new Error(`Malformed capture line: not JSON (${(e as Error).message})`);
  }
  try {
    if (!isObject(event)) { throw new Error('not a JSON object'); }
    const data = event.captureData;
    if (!isObject(data)) { throw new Error('captureData is missing or not an object'); }
    if (data.endpointInput === undefined && data.endpointOutput === undefined) {
      throw new Error('captureData has neither endpointInput nor endpointOutput');
    }
    const inferenceTime = isObject(event.eventMetadata) && typeof event.eventMetadata.inferenceTime === 'string'
      ? event.eventMetadata.inferenceTime : undefined;
    return {
      input: data.endpointInput === undefined ? undefined : inputRecords(payloadOf(data.endpointInput, 'endpointInput'), options),
      output: data.endpointOutput === undefined ? undefined : outputValues(payloadOf(data.endpointOutput, 'endpointOutput')),
      inferenceTime,
    };
  } catch (e) {
    throw new Error(`Malformed capture line: ${(e as Error).message}`);
  }
}

const CAPTURE_KEY = /(?:^|\/)([^/]+)\/([^/]+)\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/[^/]+\.jsonl$/;

/**
 * Reads `.../<endpoint>/<variant>/yyyy/mm/dd/hh/<name>.jsonl`; undefined when the key is not shaped like a
 * capture file or its date is not a real UTC hour.
 */
export function parseCaptureKey(key: string): CaptureKey | undefined {
  const match = CAPTURE_KEY.exec(key);
  if (!match) { return undefined; }
  const [, endpoint, variant, y, m, d, h] = match;
  const [year, month, day, hour] = [y, m, d, h].map(Number);
  const date = new Date(Date.UTC(year, month - 1, day, hour));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || date.getUTCHours() !== hour) {
    return undefined;
  }
  return { endpoint, variant, hour: date };
}
