import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * One validation problem, before it is rendered with its code and construct path.
 *
 * A message reads: `[<Construct>.<Code>] <what is wrong>, got <value>; <what is allowed / how to fix> (at <path>)`.
 */
export interface Problem {
  /** Stable code after the construct name, e.g. `InvalidLifecycle`. */
  readonly code: string;
  /** What is wrong, e.g. `noncurrentVersionExpiration must be a whole number of days`. */
  readonly what: string;
  /** The value received; rendered with {@link describeValue}. Omit when there is no single value. */
  readonly got?: unknown;
  /** What is allowed and how to fix it. */
  readonly fix: string;
}

/**
 * An error raised at synth time for bad construct input.
 *
 * `codes` lists every `Construct.Code` in the message, in order, so tests and tools can match them.
 */
export class MlPlatformError extends Error {
  public readonly codes: string[];
  public readonly constructPath: string;

  constructor(message: string, codes: string[], constructPath: string) {
    super(message);
    this.name = 'MlPlatformError';
    this.codes = codes;
    this.constructPath = constructPath;
  }

  /**
   * The same error reported at `constructPath`: for a construct that builds another one out of the user's sight (e.g.
   * inside a cdk8s chart) and wants the user's construct named, not its internal child.
   */
  public at(constructPath: string): MlPlatformError {
    return new MlPlatformError(this.message.split(`(at ${this.constructPath})`).join(`(at ${constructPath})`), this.codes, constructPath);
  }
}

/**
 * Renders a received value for an error message: strings are quoted, Durations show their unit,
 * objects are JSON, unresolved tokens are named as such.
 */
export function describeValue(value: unknown): string {
  if (value === undefined) { return 'undefined'; }
  if (value === null) { return 'null'; }
  if (typeof value === 'string') {
    return Token.isUnresolved(value) ? '(an unresolved token)' : `'${value}'`;
  }
  if (typeof value === 'number') { return String(value); }
  if (typeof value === 'object' && typeof (value as { toHumanString?: unknown }).toHumanString === 'function') {
    return (value as { toHumanString(): string }).toHumanString();
  }
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** Formats one problem as a single line, without the construct path. */
function formatProblem(construct: string, p: Problem): string {
  const got = 'got' in p ? `, got ${describeValue(p.got)}` : '';
  return `[${construct}.${p.code}] ${p.what}${got}; ${p.fix}`;
}

/**
 * Builds a coded error for a single problem.
 *
 * @param scope the construct whose input is wrong; its path ends the message
 * @param construct the construct type name that prefixes the code, e.g. `DataLake`
 */
export function mlError(scope: IConstruct, construct: string, problem: Problem): MlPlatformError {
  return new MlPlatformError(`${formatProblem(construct, problem)} (at ${scope.node.path})`,
    [`${construct}.${problem.code}`], scope.node.path);
}

/**
 * Collects every problem with a construct's input and throws them together, once.
 *
 * Callers skip values that are unresolved tokens (see {@link isResolved}): they cannot be inspected at synth.
 */
export class ValidationErrors {
  private readonly problems: Problem[] = [];

  constructor(private readonly scope: IConstruct, private readonly construct: string) {}

  /** Records a problem. */
  public add(problem: Problem): void {
    this.problems.push(problem);
  }

  /** Records `problem` unless `ok` holds. Returns `ok`, so callers can stop dependent checks. */
  public check(ok: boolean, problem: Problem): boolean {
    if (!ok) { this.add(problem); }
    return ok;
  }

  /** Whether nothing was recorded. */
  public get isEmpty(): boolean {
    return this.problems.length === 0;
  }

  /** Throws one {@link MlPlatformError} naming every recorded problem; does nothing when there are none. */
  public throwIfAny(): void {
    if (this.problems.length === 0) { return; }
    const path = this.scope.node.path;
    const codes = this.problems.map(p => `${this.construct}.${p.code}`);
    if (this.problems.length === 1) {
      throw new MlPlatformError(`${formatProblem(this.construct, this.problems[0])} (at ${path})`, codes, path);
    }
    const lines = this.problems.map(p => `  - ${formatProblem(this.construct, p)} (at ${path})`);
    throw new MlPlatformError(`${this.problems.length} problems with ${this.construct} input:\n${lines.join('\n')}`, codes, path);
  }
}

/** True when `value` holds no unresolved CDK token anywhere, so it can be validated at synth. */
export function isResolved(value: unknown): boolean {
  return !Token.isUnresolved(value);
}

/** The names of the options that are set (not undefined), in order: for errors about options that do not apply. */
export function setOptions(options: { [name: string]: unknown }): string[] {
  return Object.entries(options).filter(([, v]) => v !== undefined).map(([k]) => k);
}
