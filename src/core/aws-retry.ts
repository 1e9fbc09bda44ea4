/**
 * Shared by the Lambda handlers (pure: no AWS SDK import): how an AWS error says "slow down".
 */

/** Error names AWS services (and the SDK) use for rate limiting. */
const THROTTLING_ERRORS = new Set([
  'ThrottlingException', 'Throttling', 'ThrottledException', 'TooManyRequestsException', 'RequestLimitExceeded',
  'ProvisionedThroughputExceededException', 'SlowDown', 'RequestThrottled', 'RequestThrottledException',
]);

/**
 * True for errors a service returns when it rate-limits us or is briefly unavailable: by error name, HTTP
 * 429 or 503, or the SDK's own `$retryable.throttling` flag.
 */
export function isThrottling(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } } | undefined;
  const status = e?.$metadata?.httpStatusCode;
  return THROTTLING_ERRORS.has(e?.name ?? '') || status === 429 || status === 503 || e?.$retryable?.throttling === true;
}

/** Sleeps `ms` milliseconds (the handlers' default; tests inject their own). */
export const defaultSleep = (ms: number): Promise<void> => new Promise<void>(resolve => setTimeout(resolve, ms));

/** How {@link retryThrottled} retries. */
export interface RetryOptions {
  /** Attempts including the first. */
  readonly maxAttempts: number;
  /** Milliseconds to wait before retry `attempt` (1-based). */
  readonly backoff: (attempt: number) => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly log?: (message: string) => void;
  /** Builds the error thrown when throttling outlasts every attempt. */
  readonly exhausted?: (message: string, cause: unknown) => Error;
}

/** Capped exponential backoff with full jitter: up to min(20 s, 100 ms · 2^attempt). */
export function fullJitterBackoff(attempt: number, random: () => number = Math.random): number {
  return Math.min(20_000, 100 * 2 ** attempt) * random();
}

/** {@link RetryOptions} with {@link fullJitterBackoff}: what most handlers use. */
export function jitterRetry(maxAttempts: number, sleep?: (ms: number) => Promise<void>, log?: (message: string) => void): RetryOptions {
  return { maxAttempts, backoff: (a: number) => fullJitterBackoff(a), sleep, log };
}

/**
 * Throttling that outlasted every attempt. Its `name` is `ThrottledError`, so a Step Functions task can retry
 * it later by name (`Retry: [{ ErrorEquals: ['ThrottledError'] }]`).
 */
export class ThrottledError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ThrottledError';
  }
}

/**
 * Runs `call`, retrying only throttling errors ({@link isThrottling}) with the given backoff. Any other error,
 * and throttling that outlasts `maxAttempts`, is thrown (the latter as `<what> was still throttled after N attempts: …`).
 */
export async function retryThrottled<T>(what: string, call: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const sleep = opts.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      if (!isThrottling(e)) { throw e; }
      if (attempt >= opts.maxAttempts) {
        const message = `${what} was still throttled after ${attempt} attempts: ${(e as Error).message}`;
        throw opts.exhausted ? opts.exhausted(message, e) : new ThrottledError(message, { cause: e });
      }
      const wait = opts.backoff(attempt);
      opts.log?.(`${what} throttled (attempt ${attempt}), retrying in ${Math.round(wait)} ms`);
      await sleep(wait);
    }
  }
}
