/**
 * A fast path for the common SageMaker capture line: one pass over the line's characters that validates it as JSON
 * and folds its input record into a {@link RecordSink} (the drift engine) without building the envelope or the record
 * object. It handles exactly one shape and declines everything else, so the caller falls back to
 * `decodeCaptureLine` (see {@link CaptureScanner.addLine}):
 *
 * - the line is one JSON object (JSON whitespace allowed between tokens) with `captureData`, an object with
 *   `endpointInput` and optionally `endpointOutput`;
 * - `endpointInput.encoding` is the string `"JSON"` and `endpointInput.data` a string whose raw text has no escape
 *   other than `\"` and holds one flat JSON object (spaces allowed) whose keys do not start with a digit (V8 would
 *   enumerate array-index keys first) and whose values are numbers, strings, `true`, `false` or `null`;
 * - `endpointOutput`, when present, is `"JSON"` encoded and its data (again only `\"` escapes) is valid JSON, so
 *   that decoding the line would not fail on the output;
 * - no key of the root, `captureData`, `endpointInput` or `endpointOutput` objects contains an escape, none of the
 *   keys read there repeats (JSON.parse keeps the last one), and no key of the record repeats;
 * - every other value anywhere in the line is validated as JSON (strings with their escapes, numbers by the JSON
 *   grammar, nesting at most {@link MAX_DEPTH} deep).
 *
 * For such a line `sink.beginRecord()` followed by `sink.addField(name, value)` per record key in text order is what
 * `engine.add(decodeCaptureLine(line).input[0])` does; numbers are read as `JSON.parse` reads them (an exact fast
 * path for at most 15 digits without exponent, `Number()` of the text otherwise).
 */

/** Receives the fields of each record found ({@link DriftEngine} implements it). */
export interface RecordSink {
  /** Starts a record. */
  beginRecord(): void;
  /** One (key, value) of the current record, in the record's key order. */
  addField(name: string, value: unknown): void;
}

/** Deepest nesting of arrays and objects validated; deeper lines are declined. */
export const MAX_DEPTH = 64;

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const SLASH = 47;
const DIGIT_0 = 48;
const DIGIT_1 = 49;
const DIGIT_9 = 57;
const COLON = 58;
const UPPER_A = 65;
const UPPER_E = 69;
const UPPER_F = 70;
const LBRACKET = 91;
const BACKSLASH = 92;
const RBRACKET = 93;
const LOWER_A = 97;
const LOWER_B = 98;
const LOWER_E = 101;
const LOWER_F = 102;
const LOWER_N = 110;
const LOWER_R = 114;
const LOWER_T = 116;
const LOWER_U = 117;
const LBRACE = 123;
const RBRACE = 125;

const KIND_NUMBER = 0;
const KIND_STRING = 1;
const KIND_TRUE = 2;
const KIND_FALSE = 3;
const KIND_NULL = 4;

/** Envelope objects whose keys matter. */
const ROOT = 0;
const CAPTURE_DATA = 1;
const INPUT = 2;
const OUTPUT = 3;

/** Keys read in those objects, as bits of a seen-mask. */
const KEY_CAPTURE_DATA = 1;
const KEY_INPUT = 2;
const KEY_OUTPUT = 4;
const KEY_DATA = 8;
const KEY_ENCODING = 16;

/** Digits read exactly by `mantissa / 10^fractionDigits` (both exact doubles, so the quotient is correctly rounded). */
const MAX_EXACT_DIGITS = 15;
const POW10 = Array.from({ length: MAX_EXACT_DIGITS + 1 }, (_, i) => 10 ** i);

const isDigit = (c: number) => c >= DIGIT_0 && c <= DIGIT_9;
const isHex = (c: number) => (c >= DIGIT_0 && c <= DIGIT_9) || (c >= UPPER_A && c <= UPPER_F) || (c >= LOWER_A && c <= LOWER_F);

/** Skips JSON whitespace. */
function ws(s: string, p: number): number {
  for (;;) {
    const c = s.charCodeAt(p);
    if (c !== SPACE && c !== LF && c !== CR && c !== TAB) { return p; }
    p++;
  }
}

/** Skips spaces (the only whitespace a payload can hold without an escape). */
function spaces(s: string, p: number): number {
  while (s.charCodeAt(p) === SPACE) { p++; }
  return p;
}

/** End of a JSON number starting at p (by the JSON grammar), or -1. */
function skipNumber(s: string, p: number): number {
  let c = s.charCodeAt(p);
  if (c === MINUS) { c = s.charCodeAt(++p); }
  if (c === DIGIT_0) {
    c = s.charCodeAt(++p);
  } else if (c >= DIGIT_1 && c <= DIGIT_9) {
    do { c = s.charCodeAt(++p); } while (isDigit(c));
  } else {
    return -1;
  }
  if (c === DOT) {
    c = s.charCodeAt(++p);
    if (!isDigit(c)) { return -1; }
    do { c = s.charCodeAt(++p); } while (isDigit(c));
  }
  if (c === LOWER_E || c === UPPER_E) {
    c = s.charCodeAt(++p);
    if (c === PLUS || c === MINUS) { c = s.charCodeAt(++p); }
    if (!isDigit(c)) { return -1; }
    do { c = s.charCodeAt(++p); } while (isDigit(c));
  }
  return p;
}

/** End (after the closing quote) of a JSON string whose opening quote is at p - 1, or -1. */
function skipString(s: string, p: number): number {
  const n = s.length;
  while (p < n) {
    const c = s.charCodeAt(p);
    if (c === QUOTE) { return p + 1; }
    if (c === BACKSLASH) {
      const e = s.charCodeAt(p + 1);
      if (e === QUOTE || e === BACKSLASH || e === SLASH || e === LOWER_B || e === LOWER_F || e === LOWER_N || e === LOWER_R || e === LOWER_T) {
        p += 2;
      } else if (e === LOWER_U && isHex(s.charCodeAt(p + 2)) && isHex(s.charCodeAt(p + 3)) && isHex(s.charCodeAt(p + 4))
        && isHex(s.charCodeAt(p + 5))) {
        p += 6;
      } else {
        return -1;
      }
    } else if (c < SPACE) {
      return -1;
    } else {
      p++;
    }
  }
  return -1;
}

/** End of `true`, `false` or `null` at p, or -1. */
function skipLiteral(s: string, p: number, c: number): number {
  if (c === LOWER_T) { return s.startsWith('true', p) ? p + 4 : -1; }
  if (c === LOWER_F) { return s.startsWith('false', p) ? p + 5 : -1; }
  if (c === LOWER_N) { return s.startsWith('null', p) ? p + 4 : -1; }
  return -1;
}

/** End of the JSON value at p (no leading whitespace), or -1. */
function skipValue(s: string, p: number, depth: number): number {
  const c = s.charCodeAt(p);
  if (c === QUOTE) { return skipString(s, p + 1); }
  if (c === MINUS || isDigit(c)) { return skipNumber(s, p); }
  if (c !== LBRACE && c !== LBRACKET) { return skipLiteral(s, p, c); }
  if (depth >= MAX_DEPTH) { return -1; }
  const close = c === LBRACE ? RBRACE : RBRACKET;
  p = ws(s, p + 1);
  if (s.charCodeAt(p) === close) { return p + 1; }
  for (;;) {
    if (close === RBRACE) {
      if (s.charCodeAt(p) !== QUOTE) { return -1; }
      p = skipString(s, p + 1);
      if (p < 0) { return -1; }
      p = ws(s, p);
      if (s.charCodeAt(p) !== COLON) { return -1; }
      p = ws(s, p + 1);
    }
    p = skipValue(s, p, depth + 1);
    if (p < 0) { return -1; }
    p = ws(s, p);
    const d = s.charCodeAt(p);
    if (d === close) { return p + 1; }
    if (d !== COMMA) { return -1; }
    p = ws(s, p + 1);
  }
}

/**
 * End (after the `\"`) of a payload string whose `\"` opening is at p - 2: its characters up to the next `\"`, which
 * must hold no other backslash, no raw quote (that would end the envelope string) and no control character; or -1.
 */
function skipPayloadString(s: string, p: number): number {
  const n = s.length;
  while (p < n) {
    const c = s.charCodeAt(p);
    if (c === BACKSLASH) { return s.charCodeAt(p + 1) === QUOTE ? p + 2 : -1; }
    if (c === QUOTE || c < SPACE) { return -1; }
    p++;
  }
  return -1;
}

/** End of the payload JSON value (escaped as in an envelope string, `\"` quotes) at p, or -1. */
function skipPayloadValue(s: string, p: number, depth: number): number {
  const c = s.charCodeAt(p);
  if (c === BACKSLASH) { return s.charCodeAt(p + 1) === QUOTE ? skipPayloadString(s, p + 2) : -1; }
  if (c === MINUS || isDigit(c)) { return skipNumber(s, p); }
  if (c !== LBRACE && c !== LBRACKET) { return skipLiteral(s, p, c); }
  if (depth >= MAX_DEPTH) { return -1; }
  const close = c === LBRACE ? RBRACE : RBRACKET;
  p = spaces(s, p + 1);
  if (s.charCodeAt(p) === close) { return p + 1; }
  for (;;) {
    if (close === RBRACE) {
      if (s.charCodeAt(p) !== BACKSLASH || s.charCodeAt(p + 1) !== QUOTE) { return -1; }
      p = skipPayloadString(s, p + 2);
      if (p < 0) { return -1; }
      p = spaces(s, p);
      if (s.charCodeAt(p) !== COLON) { return -1; }
      p = spaces(s, p + 1);
    }
    p = skipPayloadValue(s, p, depth + 1);
    if (p < 0) { return -1; }
    p = spaces(s, p);
    const d = s.charCodeAt(p);
    if (d === close) { return p + 1; }
    if (d !== COMMA) { return -1; }
    p = spaces(s, p + 1);
  }
}

/**
 * Folds SageMaker capture lines into a {@link RecordSink} without building objects; see the file comment for what it
 * handles. One scanner per sink (it caches the key names of the last record, which are usually the next record's).
 *
 * ```ts
 * const scanner = new CaptureScanner(engine);
 * if (!scanner.addLine(line)) { decodeCaptureLine(line).input?.forEach(r => engine.add(r)); } // (and count errors)
 * ```
 */
export class CaptureScanner {
  /** Lines handled by the fast path. */
  public handled = 0;
  /** Of {@link handled}, lines matched by a learned layout (the rest were read character by character). */
  public layoutLines = 0;
  /** Lines declined (left to the caller). */
  public declined = 0;
  private readonly sink: RecordSink;
  /** Per field of the current record: the key's text range, the value's kind, text range and number. */
  private keyStart = new Int32Array(64);
  private keyEnd = new Int32Array(64);
  private kinds = new Uint8Array(64);
  private valueStart = new Int32Array(64);
  private valueEnd = new Int32Array(64);
  private numbers = new Float64Array(64);
  private fields = 0;
  /** Leading fields of the current record whose key is the name at the same position in {@link names}. */
  private matched = 0;
  /** Key names of the last record handled (never with a repeat); the current record's names after {@link resolveKeys}. */
  private names: string[] = [];
  /** `\"name\":` per name (how the key is written in the envelope string). */
  private literals: string[] = [];
  /** Known layouts, tried in order (one that matches moves up one place). */
  private readonly layouts: Layout[] = [];
  /** Per key list (names joined by NUL) read by the character scanner and not learned yet: how often. */
  private readonly sightings = new Map<string, number>();
  /** Whether the current line had an input payload / an output payload that was read. */
  private inputRead = false;

  constructor(sink: RecordSink) {
    this.sink = sink;
  }

  /**
   * Folds the input record of `line` into the sink and returns true when the line has the handled shape; otherwise
   * returns false without touching the sink, and the caller decodes the line (`decodeCaptureLine`) instead. A line
   * that is not valid JSON is always declined, so malformed lines are found and reported by the decoder.
   */
  public addLine(line: string): boolean {
    this.fields = 0;
    this.matched = 0;
    this.inputRead = false;
    let names = this.matchLayout(line);
    if (names === undefined) {
      if (!this.scan(line) || !this.resolveKeys(line)) {
        this.declined++;
        return false;
      }
      names = this.names;
      if (this.layouts.length < MAX_LAYOUTS) { this.learnLayout(names.length === this.fields ? names : names.slice(0, this.fields)); }
    }
    this.handled++;
    const sink = this.sink;
    sink.beginRecord();
    for (let i = 0; i < this.fields; i++) {
      const kind = this.kinds[i];
      sink.addField(names[i], kind === KIND_NUMBER ? this.numbers[i]
        : kind === KIND_STRING ? line.slice(this.valueStart[i], this.valueEnd[i])
          : kind === KIND_TRUE ? true : kind === KIND_FALSE ? false : null);
    }
    return true;
  }

  /**
   * Tier 1: when the line matches the regular expression of a known layout (SageMaker's exact envelope and the
   * record keys of an earlier line, see {@link layoutPattern}), one native match validates the line and the fields
   * are read by a walk that knows where each key ends; returns the key names, undefined when no layout matches.
   */
  private matchLayout(s: string): string[] | undefined {
    const layouts = this.layouts;
    if (s.length > MAX_LAYOUT_LINE) { return undefined; }
    for (let k = 0; k < layouts.length; k++) {
      const layout = layouts[k];
      if (!layout.pattern.test(s)) { continue; }
      if (k > 0) { // move a layout that matches toward the front
        layouts[k] = layouts[k - 1];
        layouts[k - 1] = layout;
      }
      const widths = layout.widths;
      const n = widths.length;
      if (n > this.kinds.length) { this.grow(n); }
      let p = LAYOUT_PAYLOAD + 1; // after the payload's `{`
      for (let i = 0; i < n; i++) {
        p += widths[i]; // `\"name\":`, checked by the match
        const c = s.charCodeAt(p);
        if (c === BACKSLASH) {
          const start = p + 2;
          p = s.indexOf('\\', start); // the closing `\"`: the match allows no other backslash
          this.kinds[i] = KIND_STRING;
          this.valueStart[i] = start;
          this.valueEnd[i] = p;
          p += 2;
        } else if (c === LOWER_T) {
          this.kinds[i] = KIND_TRUE;
          p += 4;
        } else if (c === LOWER_F) {
          this.kinds[i] = KIND_FALSE;
          p += 5;
        } else if (c === LOWER_N) {
          this.kinds[i] = KIND_NULL;
          p += 4;
        } else {
          p = this.number(s, p, i);
        }
        p++; // `,` or `}`
      }
      this.fields = n;
      this.layoutLines++;
      return layout.names;
    }
    return undefined;
  }

  /**
   * Counts a key list read by the character scanner; the {@link LEARN_AFTER}-th time, adds its layout (up to
   * {@link MAX_LAYOUTS}, never replaced: compiling a regular expression costs far more than a line).
   */
  private learnLayout(names: string[]): void {
    const id = names.join('\u0000');
    if (id.length > MAX_LAYOUT_KEYS) { return; }
    const seen = (this.sightings.get(id) ?? 0) + 1;
    if (seen < LEARN_AFTER) {
      if (this.sightings.size >= MAX_SIGHTINGS) { this.sightings.clear(); }
      this.sightings.set(id, seen);
      return;
    }
    this.sightings.delete(id);
    const layouts = this.layouts;
    for (const layout of layouts) {
      // Lines of this key list whose envelope is not SageMaker's exact layout are read by the character scanner.
      if (layout.names.length === names.length && layout.names.every((name, i) => name === names[i])) { return; }
    }
    layouts.push({ names, widths: names.map(name => name.length + 5), pattern: layoutPattern(names) });
  }

  /** Validates the whole line and records the input fields; false when the line is not handled. */
  private scan(s: string): boolean {
    let p = ws(s, 0);
    if (s.charCodeAt(p) !== LBRACE) { return false; }
    p = this.envelopeObject(s, p + 1, ROOT);
    if (p < 0) { return false; }
    return ws(s, p) === s.length && this.inputRead;
  }

  /**
   * One of the envelope objects whose keys matter (`which`), its `{` at p - 1: returns the end or -1. Keys must be
   * free of escapes (an escaped key could spell a key that is read) and the keys read must not repeat.
   */
  private envelopeObject(s: string, p: number, which: number): number {
    let seen = 0;
    const layout = LAYOUT[which];
    let next = 0;
    p = ws(s, p);
    if (s.charCodeAt(p) !== RBRACE) {
      for (;;) {
        // The keys as SageMaker writes them (`"name":`, in its order) are recognized without a character loop.
        let key = -1;
        let usual = '';
        for (let k = 0; k < layout.length; k++) {
          const entry = layout[(next + k) % layout.length];
          if (s.startsWith(entry.key, p)) {
            p += entry.key.length;
            key = entry.flag;
            usual = entry.value;
            next = (next + k + 1) % layout.length;
            break;
          }
        }
        if (key < 0) {
          if (s.charCodeAt(p) !== QUOTE) { return -1; }
          const start = p + 1;
          const end = s.indexOf('"', start);
          if (end < 0) { return -1; }
          for (let i = start; i < end; i++) {
            const c = s.charCodeAt(i);
            if (c === BACKSLASH || c < SPACE) { return -1; }
          }
          p = ws(s, end + 1);
          if (s.charCodeAt(p) !== COLON) { return -1; }
          p++;
          key = keyOf(s, start, end - start, which);
        }
        p = ws(s, p);
        if (key !== 0) {
          if ((seen & key) !== 0) { return -1; } // eslint-disable-line no-bitwise -- a set of flags
          seen |= key; // eslint-disable-line no-bitwise -- a set of flags
        }
        const c = s.charCodeAt(p);
        if (key === KEY_CAPTURE_DATA || key === KEY_INPUT || key === KEY_OUTPUT) {
          if (c !== LBRACE) { return -1; }
          p = this.envelopeObject(s, p + 1, key === KEY_CAPTURE_DATA ? CAPTURE_DATA : key === KEY_INPUT ? INPUT : OUTPUT);
        } else if (key === KEY_ENCODING) {
          p = s.startsWith('"JSON"', p) ? p + 6 : -1;
        } else if (key === KEY_DATA) {
          if (c !== QUOTE) { return -1; }
          p = which === INPUT ? this.inputPayload(s, p + 1) : skipOutputPayload(s, p + 1);
        } else if (usual !== '' && s.startsWith(usual, p)) {
          p += usual.length; // the usual value, a string without escapes
        } else {
          p = skipValue(s, p, 1);
        }
        if (p < 0) { return -1; }
        p = ws(s, p);
        const d = s.charCodeAt(p);
        if (d === RBRACE) { break; }
        if (d !== COMMA) { return -1; }
        p = ws(s, p + 1);
      }
    }
    const required = which === ROOT ? KEY_CAPTURE_DATA : which === CAPTURE_DATA ? KEY_INPUT : KEY_DATA | KEY_ENCODING; // eslint-disable-line no-bitwise -- flags
    if ((seen & required) !== required) { return -1; } // eslint-disable-line no-bitwise -- a set of flags
    if (which === INPUT) { this.inputRead = true; }
    return p + 1;
  }

  /**
   * The input payload string, its opening quote at p - 1: one flat object of `\"`-quoted keys and numbers, strings,
   * true, false and null, followed by the closing quote. Records the fields; returns the end or -1.
   */
  private inputPayload(s: string, p: number): number {
    // Spaces are rare: each position is read once and only a space calls spaces().
    let c = s.charCodeAt(p);
    if (c === SPACE) { c = s.charCodeAt(p = spaces(s, p)); }
    if (c !== LBRACE) { return -1; }
    c = s.charCodeAt(++p);
    if (c === SPACE) { c = s.charCodeAt(p = spaces(s, p)); }
    if (c !== RBRACE) {
      for (;;) {
        const i = this.fields;
        if (i === this.kinds.length) { this.grow(); }
        // `\"name\":` of the last record's key at this position (such names hold no backslash, quote or control character).
        const literal = i === this.matched && i < this.literals.length ? this.literals[i] : undefined;
        if (literal !== undefined && s.startsWith(literal, p)) {
          this.matched++;
          p += literal.length;
        } else {
          if (c !== BACKSLASH || s.charCodeAt(p + 1) !== QUOTE) { return -1; }
          const keyStart = p + 2;
          if (isDigit(s.charCodeAt(keyStart))) { return -1; } // array-index keys come first in for-in order
          p = skipPayloadString(s, keyStart);
          if (p < 0) { return -1; }
          this.keyStart[i] = keyStart;
          this.keyEnd[i] = p - 2;
          c = s.charCodeAt(p);
          if (c === SPACE) { c = s.charCodeAt(p = spaces(s, p)); }
          if (c !== COLON) { return -1; }
          p++;
        }
        c = s.charCodeAt(p);
        if (c === SPACE) { c = s.charCodeAt(p = spaces(s, p)); }
        if (c === BACKSLASH) {
          if (s.charCodeAt(p + 1) !== QUOTE) { return -1; }
          const start = p + 2;
          p = skipPayloadString(s, start);
          if (p < 0) { return -1; }
          this.kinds[i] = KIND_STRING;
          this.valueStart[i] = start;
          this.valueEnd[i] = p - 2;
        } else if (c === MINUS || isDigit(c)) {
          p = this.number(s, p, i);
        } else if (c === LOWER_T) {
          this.kinds[i] = KIND_TRUE;
          p = skipLiteral(s, p, c);
        } else if (c === LOWER_F) {
          this.kinds[i] = KIND_FALSE;
          p = skipLiteral(s, p, c);
        } else if (c === LOWER_N) {
          this.kinds[i] = KIND_NULL;
          p = skipLiteral(s, p, c);
        } else {
          return -1; // nested values, malformed text
        }
        if (p < 0) { return -1; }
        this.fields = i + 1;
        c = s.charCodeAt(p);
        if (c === SPACE) { c = s.charCodeAt(p = spaces(s, p)); }
        if (c === RBRACE) { break; }
        if (c !== COMMA) { return -1; }
        c = s.charCodeAt(++p);
        if (c === SPACE) { c = s.charCodeAt(p = spaces(s, p)); }
      }
    }
    c = s.charCodeAt(++p);
    if (c === SPACE) { c = s.charCodeAt(p = spaces(s, p)); }
    return c === QUOTE ? p + 1 : -1;
  }

  /** Reads the JSON number at p into field i as JSON.parse reads it; returns its end or -1. */
  private number(s: string, p: number, i: number): number {
    const start = p;
    let c = s.charCodeAt(p);
    const negative = c === MINUS;
    if (negative) { c = s.charCodeAt(++p); }
    let mantissa = 0;
    let digits = 0;
    if (c === DIGIT_0) {
      c = s.charCodeAt(++p);
    } else if (c >= DIGIT_1 && c <= DIGIT_9) {
      do {
        mantissa = mantissa * 10 + (c - DIGIT_0);
        digits++;
        c = s.charCodeAt(++p);
      } while (isDigit(c));
    } else {
      return -1;
    }
    let fraction = 0;
    if (c === DOT) {
      c = s.charCodeAt(++p);
      if (!isDigit(c)) { return -1; }
      do {
        mantissa = mantissa * 10 + (c - DIGIT_0);
        digits++;
        fraction++;
        c = s.charCodeAt(++p);
      } while (isDigit(c));
    }
    let exact = digits <= MAX_EXACT_DIGITS;
    if (c === LOWER_E || c === UPPER_E) {
      exact = false;
      c = s.charCodeAt(++p);
      if (c === PLUS || c === MINUS) { c = s.charCodeAt(++p); }
      if (!isDigit(c)) { return -1; }
      do { c = s.charCodeAt(++p); } while (isDigit(c));
    }
    let value: number;
    if (exact) {
      value = fraction === 0 ? mantissa : mantissa / POW10[fraction];
      if (negative) { value = -value; }
    } else {
      value = Number(s.slice(start, p));
    }
    this.kinds[i] = KIND_NUMBER;
    this.numbers[i] = value;
    return p;
  }

  /**
   * Sets {@link names} to the current record's key names: the cached names when the keys repeat the last record's
   * (a prefix of a list without repeats has none), else the matched ones and new strings, checked for repeats.
   * False on a repeated key.
   */
  private resolveKeys(s: string): boolean {
    const n = this.fields;
    let i = this.matched;
    if (i === n) { return true; }
    const fresh = this.names.slice(0, i);
    for (; i < n; i++) { fresh.push(s.slice(this.keyStart[i], this.keyEnd[i])); }
    if (new Set(fresh).size !== n) { return false; }
    this.names = fresh;
    this.literals = fresh.map(name => `\\"${name}\\":`);
    return true;
  }

  private grow(fields = 0): void {
    const size = Math.max(this.kinds.length * 2, fields);
    const copy = <T extends Int32Array | Uint8Array | Float64Array>(from: T, to: T) => { to.set(from); return to; };
    this.keyStart = copy(this.keyStart, new Int32Array(size));
    this.keyEnd = copy(this.keyEnd, new Int32Array(size));
    this.kinds = copy(this.kinds, new Uint8Array(size));
    this.valueStart = copy(this.valueStart, new Int32Array(size));
    this.valueEnd = copy(this.valueEnd, new Int32Array(size));
    this.numbers = copy(this.numbers, new Float64Array(size));
  }
}

/** The output payload string, its opening quote at p - 1: any JSON value (`\"` quotes), then the closing quote. */
function skipOutputPayload(s: string, p: number): number {
  p = skipPayloadValue(s, spaces(s, p), 1);
  if (p < 0) { return -1; }
  p = spaces(s, p);
  return s.charCodeAt(p) === QUOTE ? p + 1 : -1;
}

/** The start of a capture line as SageMaker writes it, up to the input payload. */
const LAYOUT_START = '{"captureData":{"endpointInput":{"observedContentType":"application/json","mode":"INPUT","data":"';
/** Offset of the input payload in a line of the SageMaker layout. */
const LAYOUT_PAYLOAD = LAYOUT_START.length;
/** Record layouts remembered by a scanner. */
const MAX_LAYOUTS = 8;
/** Lines with a key list read by the character scanner before its layout is learned. */
const LEARN_AFTER = 8;
/** Key lists counted before the counts start over. */
const MAX_SIGHTINGS = 1_000;
/** Longest key list (characters of the names) whose layout is learned. */
const MAX_LAYOUT_KEYS = 4_096;
/** Longest line matched against the layouts (the regular expression's backtracking stack grows with the line). */
const MAX_LAYOUT_LINE = 1_048_576;

/** A line layout matched by {@link CaptureScanner} in one regular expression test. */
interface Layout {
  /** Key names of the record, in order. */
  readonly names: string[];
  /** Characters of each `\"name\":`. */
  readonly widths: number[];
  readonly pattern: RegExp;
}

const escapeRegExp = (text: string) => text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
/** A JSON string's characters (all escapes), unrolled so that a run of plain characters is one loop without backtracking points. */
const JSON_CHARS = String.raw`[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*`;
/** A payload string's characters: no backslash (so no escape), no quote, no control character. */
const PAYLOAD_CHARS = String.raw`[^"\\\x00-\x1f]*`;
const JSON_NUMBER = String.raw`-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?`;
/** A flat record's value in a payload. */
const PAYLOAD_VALUE = String.raw`(?:${JSON_NUMBER}|\\"${PAYLOAD_CHARS}\\"|true|false|null)`;
/** Any flat object in a payload (the output's). */
const PAYLOAD_FIELD = String.raw`\\"${PAYLOAD_CHARS}\\":${PAYLOAD_VALUE}`;
const PAYLOAD_OBJECT = String.raw`\{(?:${PAYLOAD_FIELD}(?:,${PAYLOAD_FIELD})*)?\}`;

/**
 * The regular expression of a capture line exactly as SageMaker writes it, whose input record has exactly the keys
 * `names` in this order (names without backslash, quote or control character, as {@link CaptureScanner} learns them),
 * with flat values, and whose output is a flat object: a subset of what the scanner validates character by character.
 */
export function layoutPattern(names: string[]): RegExp {
  const fields = names.map(name => String.raw`\\"${escapeRegExp(name)}\\":${PAYLOAD_VALUE}`).join(',');
  return new RegExp(`^${escapeRegExp(LAYOUT_START)}\\{${fields}\\}`
    + escapeRegExp('","encoding":"JSON"},"endpointOutput":{"observedContentType":"application/json","mode":"OUTPUT","data":"')
    + PAYLOAD_OBJECT + escapeRegExp('","encoding":"JSON"}},"eventMetadata":{"eventId":"') + JSON_CHARS
    + escapeRegExp('","inferenceTime":"') + JSON_CHARS + escapeRegExp('"},"eventVersion":"0"}') + '$');
}

/** A key of an envelope object as SageMaker writes it: `"name":`, its flag, and its usual value (a JSON string) if any. */
interface LayoutKey {
  readonly key: string;
  readonly flag: number;
  readonly value: string;
}

const layoutKey = (name: string, flag: number, value = ''): LayoutKey => ({ key: `"${name}":`, flag, value });

/** Per envelope object, its keys in SageMaker's order. */
const LAYOUT: LayoutKey[][] = [
  [layoutKey('captureData', KEY_CAPTURE_DATA), layoutKey('eventMetadata', 0), layoutKey('eventVersion', 0, '"0"')],
  [layoutKey('endpointInput', KEY_INPUT), layoutKey('endpointOutput', KEY_OUTPUT)],
  [layoutKey('observedContentType', 0, '"application/json"'), layoutKey('mode', 0, '"INPUT"'), layoutKey('data', KEY_DATA),
    layoutKey('encoding', KEY_ENCODING)],
  [layoutKey('observedContentType', 0, '"application/json"'), layoutKey('mode', 0, '"OUTPUT"'), layoutKey('data', KEY_DATA),
    layoutKey('encoding', KEY_ENCODING)],
];

/** The flag of a key read in envelope object `which` (its text at start, length chars), 0 for other keys. */
function keyOf(s: string, start: number, length: number, which: number): number {
  switch (which) {
    case ROOT:
      return length === 11 && s.startsWith('captureData', start) ? KEY_CAPTURE_DATA : 0;
    case CAPTURE_DATA:
      if (length === 13 && s.startsWith('endpointInput', start)) { return KEY_INPUT; }
      return length === 14 && s.startsWith('endpointOutput', start) ? KEY_OUTPUT : 0;
    default:
      if (length === 4 && s.startsWith('data', start)) { return KEY_DATA; }
      return length === 8 && s.startsWith('encoding', start) ? KEY_ENCODING : 0;
  }
}
