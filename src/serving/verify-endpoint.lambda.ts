// Custom resource handler pair (aws-cdk-lib custom-resources Provider framework, asynchronous pattern):
// verifies that a SageMaker endpoint really serves the desired endpoint config after CloudFormation created
// or updated it. SageMaker can roll an endpoint update back (auto-rollback alarms, a failed blue/green
// deployment) and end InService on the OLD config while CloudFormation reports the update as successful;
// this resource turns that into a failed deployment with a message that says so.
//
// Resource properties (strings, as CloudFormation passes them):
//   EndpointName        the endpoint to check
//   EndpointConfigName  the config it must serve
//   Nonce               optional; the construct changes it to force a new verification on every deployment
//
// onEvent:    Create/Update return { PhysicalResourceId: EndpointName } right away after one DescribeEndpoint
//             that fails fast when the endpoint does not exist. Delete returns the physical id, no AWS call.
// isComplete: the framework calls it every `queryInterval` (30 s by default) until it returns IsComplete
//             true, throws, or `totalTimeout` passes (the construct sets it, e.g. 1 hour). One DescribeEndpoint
//             per invocation:
//   InService on the desired config               -> complete, Data { EndpointConfigName, EndpointStatus }
//   InService, pending deployment of the desired  -> not complete (still deploying)
//   InService on another config, nothing pending  -> fail: the update was rolled back (names both configs,
//                                                    the FailureReason and the auto-rollback alarms)
//   InService, pending deployment of another one  -> fail: somebody else is deploying a third config
//   Failed / UpdateRollbackFailed / OutOfService  -> fail with the FailureReason
//   Deleting                                      -> fail: the endpoint is going away
//   Creating / Updating / SystemUpdating /
//   RollingBack / a status unknown to this code   -> not complete (RollingBack ends on the old config; we
//                                                    keep waiting so the final message names it exactly)
//   endpoint not found                            -> fail
//
// Each invocation is bounded well under a minute: DescribeEndpoint throttling is retried inside the
// invocation with capped exponential backoff (at most DESCRIBE_ATTEMPTS calls within RETRY_BUDGET_MS, on top
// of the SDK's own retries); throttling that persists returns IsComplete false and the framework asks again
// at the next query interval. Longer waits are the framework's job, so the Lambda timeout can stay short
// (1 minute is plenty).
//
// Entry points: `onEvent` and `isComplete`, and `handler`, which dispatches to one of them on the
// VERIFY_PHASE environment variable (one bundle, two functions).
//
// The SDK client is a devDependency bundled into the handler by esbuild; projen's lambda component adds
// `*.lambda.ts` entry points to the eslint devDependencies allowlist on the next synth.
/* eslint-disable import/no-extraneous-dependencies */
import { DescribeEndpointCommand, DescribeEndpointCommandOutput, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { defaultSleep, isThrottling } from '../core/aws-retry';

export { isThrottling };
/* eslint-enable import/no-extraneous-dependencies */

/** The custom resource's properties. */
export interface VerifyEndpointProps {
  readonly EndpointName: string;
  readonly EndpointConfigName: string;
  readonly Nonce?: string;
}

/** Client and seams for tests. */
export interface VerifyEndpointOptions {
  readonly client: SageMakerClient;
  /** DescribeEndpoint calls per invocation while throttled, including the first. Default {@link DESCRIBE_ATTEMPTS}. */
  readonly maxAttempts?: number;
  /** Time this invocation may spend retrying throttled calls. Default {@link RETRY_BUDGET_MS}. */
  readonly budgetMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly log?: (message: string) => void;
}

/** What {@link verifyEndpoint} found. */
export interface VerifyEndpointResult {
  /** True when the endpoint is InService on the desired config. */
  readonly complete: boolean;
  /** The config the endpoint serves (absent when DescribeEndpoint stayed throttled). */
  readonly configName?: string;
  /** The endpoint's status (absent when DescribeEndpoint stayed throttled). */
  readonly status?: string;
}

/** DescribeEndpoint calls per invocation while throttled, including the first. */
export const DESCRIBE_ATTEMPTS = 5;
/** Time one invocation may spend backing off from throttling. */
export const RETRY_BUDGET_MS = 20_000;
/** Longest single backoff. */
const MAX_BACKOFF_MS = 4_000;

/** True for DescribeEndpoint's answer about an endpoint that does not exist. */
function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; message?: string } | undefined;
  return e?.name === 'ValidationException' && /Could not find endpoint\b/.test(e.message ?? '');
}

/** Sentinel: DescribeEndpoint was still throttled when the attempts or the time budget ran out. */
const STILL_THROTTLED = Symbol('still throttled');

/**
 * DescribeEndpoint with throttling retried (capped exponential backoff, full jitter) within the attempt
 * count and the time budget. Returns {@link STILL_THROTTLED} instead of throwing when throttling persists;
 * a missing endpoint becomes a clear error; other errors propagate.
 */
async function describe(endpointName: string, opts: VerifyEndpointOptions): Promise<DescribeEndpointCommandOutput | typeof STILL_THROTTLED> {
  const maxAttempts = opts.maxAttempts ?? DESCRIBE_ATTEMPTS;
  const budget = opts.budgetMs ?? RETRY_BUDGET_MS;
  const sleep = opts.sleep ?? defaultSleep;
  const now = opts.now ?? Date.now;
  const started = now();
  const what = `DescribeEndpoint(${endpointName})`;
  for (let attempt = 1; ; attempt++) {
    try {
      return await opts.client.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
    } catch (e) {
      if (isNotFound(e)) {
        throw new Error(`SageMaker endpoint ${endpointName} does not exist (${(e as Error).message}); ` +
          'check EndpointName and that the verification depends on the endpoint resource', { cause: e });
      }
      if (!isThrottling(e)) { throw e; }
      const backoff = Math.round(Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempt) * Math.random());
      if (attempt >= maxAttempts || now() - started + backoff > budget) {
        opts.log?.(`${what} still throttled after ${attempt} attempts (${(e as Error).message}); will ask again later`);
        return STILL_THROTTLED;
      }
      opts.log?.(`${what} throttled (attempt ${attempt}), retrying in ${backoff} ms`);
      await sleep(backoff);
    }
  }
}

function reasonOf(endpoint: DescribeEndpointCommandOutput): string {
  return endpoint.FailureReason ? `FailureReason: ${endpoint.FailureReason}` : 'no FailureReason given';
}

function rollbackAlarms(endpoint: DescribeEndpointCommandOutput): string[] {
  return (endpoint.LastDeploymentConfig?.AutoRollbackConfiguration?.Alarms ?? [])
    .map(a => a.AlarmName)
    .filter((name): name is string => !!name);
}

/** Statuses that still move on by themselves: keep polling. */
const TRANSITIONAL = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack']);
/** Statuses that will never reach InService on their own. */
const TERMINAL = new Set(['Failed', 'UpdateRollbackFailed', 'OutOfService']);

/**
 * One look at the endpoint: complete when it is InService on `props.EndpointConfigName`, not complete while it
 * is still getting there (or DescribeEndpoint stays throttled), and an Error when it never will.
 */
export async function verifyEndpoint(props: VerifyEndpointProps, opts: VerifyEndpointOptions): Promise<VerifyEndpointResult> {
  const name = props.EndpointName;
  const desired = props.EndpointConfigName;
  const endpoint = await describe(name, opts);
  if (endpoint === STILL_THROTTLED) {
    return { complete: false };
  }
  const status = endpoint.EndpointStatus ?? 'unknown';
  const current = endpoint.EndpointConfigName;
  const result = (complete: boolean): VerifyEndpointResult => ({ complete, configName: current, status });

  if (status === 'InService') {
    if (current === desired) {
      opts.log?.(`Endpoint ${name} is InService on ${desired}`);
      return result(true);
    }
    const pending = endpoint.PendingDeploymentSummary?.EndpointConfigName;
    if (pending === desired) {
      opts.log?.(`Endpoint ${name} is InService on ${current} and still deploying ${desired}`);
      return result(false);
    }
    if (pending) {
      throw new Error(`SageMaker endpoint ${name} is deploying endpoint config ${pending}, not the desired ${desired} ` +
        `(it serves ${current}): another update superseded this one`);
    }
    const alarms = rollbackAlarms(endpoint);
    throw new Error(`SageMaker endpoint ${name} is InService on endpoint config ${current}, not the desired ${desired}: ` +
      `the update was rolled back (${reasonOf(endpoint)})` +
      (alarms.length > 0 ? `; auto-rollback alarms that could have triggered it: ${alarms.join(', ')}` : '') +
      `. CloudFormation reported success, but the endpoint serves the old model (${current}).`);
  }
  if (TERMINAL.has(status)) {
    throw new Error(`SageMaker endpoint ${name} is ${status} on endpoint config ${current ?? 'none'} ` +
      `(desired ${desired}): ${reasonOf(endpoint)}`);
  }
  if (status === 'Deleting') {
    throw new Error(`SageMaker endpoint ${name} is being deleted; it will never serve ${desired}`);
  }
  opts.log?.(TRANSITIONAL.has(status)
    ? `Endpoint ${name} is ${status} (on ${current ?? 'no config yet'}, desired ${desired}); waiting`
    : `Endpoint ${name} has status ${status}, unknown to this handler (on ${current}, desired ${desired}); waiting`);
  return result(false);
}

/** The subset of the CloudFormation custom resource event these handlers read. */
export interface VerifyEndpointEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: VerifyEndpointProps & { readonly TimeoutSeconds?: string };
  /** What onEvent returned; the Provider framework hands it to isComplete. */
  readonly Data?: { readonly StartedAt?: string };
}

/** isComplete fails with its own message this long before the framework's total timeout would. */
export const TIMEOUT_MARGIN_MS = 90_000;

function checkProps(props: VerifyEndpointProps): void {
  const missing = (['EndpointName', 'EndpointConfigName'] as const).filter(k => typeof props?.[k] !== 'string' || props[k] === '');
  if (missing.length > 0) {
    throw new Error(`Endpoint verification needs the resource properties ${missing.join(' and ')}`);
  }
}

let client: SageMakerClient | undefined;
const log = (message: string) => console.log(message);

/** Provider-framework onEvent handler: no waiting, only a fail-fast check that the endpoint exists. */
export async function onEvent(event: VerifyEndpointEvent): Promise<{ PhysicalResourceId: string; Data?: { StartedAt: string } }> {
  if (event.RequestType === 'Delete') {
    // Nothing was created: deleting the check deletes nothing.
    return { PhysicalResourceId: event.PhysicalResourceId! };
  }
  const props = event.ResourceProperties;
  checkProps(props);
  client ??= new SageMakerClient({});
  const endpoint = await describe(props.EndpointName, { client, log });
  if (endpoint !== STILL_THROTTLED) {
    log(`${event.RequestType}: verifying that endpoint ${props.EndpointName} (now ${endpoint.EndpointStatus} on ` +
      `${endpoint.EndpointConfigName}) serves ${props.EndpointConfigName}${props.Nonce ? ` (nonce ${props.Nonce})` : ''}`);
  }
  // Persistent throttling here is not fatal: isComplete looks again.
  return { PhysicalResourceId: props.EndpointName, Data: { StartedAt: new Date().toISOString() } };
}

/** What isComplete answers the framework. */
export interface IsCompleteResponse {
  readonly IsComplete: boolean;
  readonly Data?: { readonly EndpointConfigName: string; readonly EndpointStatus: string };
}

/** Provider-framework isComplete handler. */
export async function isComplete(event: VerifyEndpointEvent): Promise<IsCompleteResponse> {
  if (event.RequestType === 'Delete') {
    return { IsComplete: true };
  }
  const props = event.ResourceProperties;
  checkProps(props);
  client ??= new SageMakerClient({});
  const result = await verifyEndpoint(props, { client, log });
  if (!result.complete) {
    // Fail with the endpoint's state shortly before the framework would fail with a bare "timed out".
    const started = Date.parse(event.Data?.StartedAt ?? '');
    const timeout = Number(props.TimeoutSeconds) * 1000;
    if (Number.isFinite(started) && Number.isFinite(timeout) && timeout > 0 && Date.now() - started > timeout - TIMEOUT_MARGIN_MS) {
      throw new Error(`Endpoint ${props.EndpointName} did not settle on ${props.EndpointConfigName} within ` +
        `${Math.round(timeout / 60_000)} minutes (last status ${result.status ?? 'unknown'} on ${result.configName ?? 'unknown config'}); ` +
        'check the deployment in the SageMaker console, or raise verifyTimeout');
    }
    return { IsComplete: false };
  }
  return { IsComplete: true, Data: { EndpointConfigName: result.configName!, EndpointStatus: result.status! } };
}

/**
 * Single Lambda entry point (`index.handler`, as projen's generated VerifyEndpointFunction sets it): the
 * construct deploys this bundle twice and tells each function its role with the VERIFY_PHASE environment
 * variable, `onEvent` or `isComplete`.
 */
export async function handler(event: VerifyEndpointEvent):
Promise<{ PhysicalResourceId: string; Data?: { StartedAt: string } } | IsCompleteResponse> {
  const phase = process.env.VERIFY_PHASE;
  if (phase === 'onEvent') { return onEvent(event); }
  if (phase === 'isComplete') { return isComplete(event); }
  throw new Error(`VERIFY_PHASE must be onEvent or isComplete, got ${phase === undefined ? 'nothing' : `'${phase}'`}`);
}
