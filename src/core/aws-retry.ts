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
