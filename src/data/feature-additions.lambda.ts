// Custom resource handler: applies feature additions to an existing SageMaker feature group with
// UpdateFeatureGroup, so adding features never replaces the group (CloudFormation would).
// Idempotent: features already present with the same definition are skipped; a second invocation for the
// same additions changes nothing. Runs behind the aws-cdk-lib custom-resources Provider framework.
import {
  DescribeFeatureGroupCommand,
  DescribeFeatureGroupCommandOutput,
  FeatureDefinition,
  SageMakerClient,
  UpdateFeatureGroupCommand,
} from '@aws-sdk/client-sagemaker';
import { defaultSleep, isThrottling } from '../core/aws-retry';

export { isThrottling };

/** A feature as the construct passes it (JSON in the `FeatureAdditions` property). */
export interface FeatureAddition {
  readonly name: string;
  readonly type: string;
  readonly collectionType?: string;
  readonly vectorDimension?: number;
}

/** What {@link applyFeatureAdditions} did. */
export interface AdditionsResult {
  /** Features this invocation added. */
  readonly added: string[];
  /** Features that were already there with the same definition. */
  readonly alreadyPresent: string[];
}

/** Seams for tests: time, sleeping and pacing. */
export interface AdditionsOptions {
  readonly client: SageMakerClient;
  /** Epoch milliseconds after which the handler gives up with a clear error. */
  readonly deadline: number;
  /** Milliseconds between status polls. */
  readonly pollIntervalMs?: number;
  /** Attempts for a throttled call, including the first. */
  readonly maxAttempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly log?: (message: string) => void;
}

/** UpdateFeatureGroup accepts at most this many additions per call. */
export const MAX_ADDITIONS_PER_CALL = 100;

/** How long AccessDenied counts as IAM propagation (a policy statement added in the same deployment). */
export const ACCESS_DENIED_GRACE_MS = 60_000;
const ACCESS_DENIED = new Set(['AccessDeniedException', 'AccessDenied']);

/**
 * Retries `call` on throttling with capped exponential backoff and full jitter, within the deadline; also
 * retries AccessDenied during the first {@link ACCESS_DENIED_GRACE_MS} of the invocation, while IAM
 * propagates this function's freshly added permissions.
 */
async function withRetry<T>(what: string, call: () => Promise<T>, opts: AdditionsOptions): Promise<T> {
  const maxAttempts = opts.maxAttempts ?? 8;
  const sleep = opts.sleep ?? defaultSleep;
  const now = opts.now ?? Date.now;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      if (ACCESS_DENIED.has((e as Error)?.name) && now() - started < ACCESS_DENIED_GRACE_MS) {
        opts.log?.(`${what} denied (attempt ${attempt}); IAM may still be propagating, retrying`);
        await sleep(2_000);
        continue;
      }
      if (!isThrottling(e) || attempt >= maxAttempts) {
        if (isThrottling(e)) {
          throw new Error(`${what} was still throttled after ${attempt} attempts: ${(e as Error).message}`);
        }
        throw e;
      }
      const backoff = Math.min(20_000, 250 * 2 ** attempt) * Math.random();
      if (now() + backoff > opts.deadline) {
        throw new Error(`${what} was throttled and the time budget ran out after ${attempt} attempts: ${(e as Error).message}`);
      }
      opts.log?.(`${what} throttled (attempt ${attempt}), retrying in ${Math.round(backoff)} ms`);
      await sleep(backoff);
    }
  }
}

function toDefinition(f: FeatureAddition): FeatureDefinition {
  const def: FeatureDefinition = { FeatureName: f.name, FeatureType: f.type as FeatureDefinition['FeatureType'] };
  if (f.collectionType) {
    def.CollectionType = f.collectionType as FeatureDefinition['CollectionType'];
    if (f.collectionType === 'Vector') {
      def.CollectionConfig = { VectorConfig: { Dimension: f.vectorDimension } };
    }
  }
  return def;
}

function sameDefinition(existing: FeatureDefinition, wanted: FeatureAddition): boolean {
  return existing.FeatureType === wanted.type
    && (existing.CollectionType ?? undefined) === (wanted.collectionType ?? undefined)
    && (wanted.collectionType !== 'Vector' || existing.CollectionConfig?.VectorConfig?.Dimension === wanted.vectorDimension);
}

function describeDefinition(d: FeatureDefinition): string {
  return d.CollectionType ? `${d.CollectionType} of ${d.FeatureType}` : `${d.FeatureType}`;
}

/**
 * Adds every feature of `additions` that the group lacks, at most 100 per UpdateFeatureGroup call,
 * waiting for each update to finish. Fails with the reason when the service reports a failure, when a
 * feature exists with another type, or when the deadline passes.
 */
export async function applyFeatureAdditions(featureGroupName: string, additions: FeatureAddition[],
  opts: AdditionsOptions): Promise<AdditionsResult> {
  const sleep = opts.sleep ?? defaultSleep;
  const now = opts.now ?? Date.now;
  const poll = opts.pollIntervalMs ?? 5_000;
  const added: string[] = [];
  let alreadyPresent: string[] | undefined;
  let waitingFor: string | undefined;
  // Our last UpdateFeatureGroup call, until its features show up. `marker` is the group's update status as
  // it was before the call: a Describe that still shows it is stale, not the outcome of our update.
  let pending: { readonly batch: string[]; readonly marker: string } | undefined;

  const describe = () => withRetry(`DescribeFeatureGroup(${featureGroupName})`,
    () => opts.client.send(new DescribeFeatureGroupCommand({ FeatureGroupName: featureGroupName })), opts);
  const markerOf = (g: DescribeFeatureGroupCommandOutput) =>
    JSON.stringify([g.LastModifiedTime ?? null, g.LastUpdateStatus ?? null]);

  for (;;) {
    if (now() > opts.deadline) {
      throw new Error(`Timed out waiting for feature group ${featureGroupName}${waitingFor ? ` (${waitingFor})` : ''}; ` +
        `added so far: ${added.join(', ') || 'none'}. Check its status with DescribeFeatureGroup and deploy again: ` +
        'the handler skips features that are already there.');
    }
    const group: DescribeFeatureGroupCommandOutput = await describe();
    const status = group.FeatureGroupStatus;
    if (status === 'CreateFailed' || status === 'Deleting' || status === 'DeleteFailed') {
      throw new Error(`Feature group ${featureGroupName} is ${status}${group.FailureReason ? `: ${group.FailureReason}` : ''}; features cannot be added`);
    }
    const update = group.LastUpdateStatus;
    if (status === 'Creating' || update?.Status === 'InProgress') {
      waitingFor = status === 'Creating' ? 'creation in progress' : pending ? 'our update' : 'an update in progress';
      await sleep(poll);
      continue;
    }

    const existing = new Map((group.FeatureDefinitions ?? []).map(d => [d.FeatureName!, d]));
    if (pending) {
      const fresh = markerOf(group) !== pending.marker;
      if (fresh && update?.Status === 'Failed') {
        throw new Error(`UpdateFeatureGroup failed for ${featureGroupName}: ${update.FailureReason ?? 'no reason given'}`);
      }
      if (!pending.batch.every(name => existing.has(name))) {
        // Not visible yet (or a stale Describe): never send the same additions twice.
        waitingFor = 'our update';
        await sleep(poll);
        continue;
      }
      pending = undefined;
    }

    const conflicts = additions.filter(f => existing.has(f.name) && !sameDefinition(existing.get(f.name)!, f));
    if (conflicts.length > 0) {
      throw new Error(`Feature group ${featureGroupName} already has ${conflicts.map(f =>
        `${f.name} as ${describeDefinition(existing.get(f.name)!)} (wanted ${f.collectionType ? `${f.collectionType} of ` : ''}${f.type})`).join(', ')}; ` +
        'a feature cannot change its type: add it under a new name');
    }
    const missing = additions.filter(f => !existing.has(f.name));
    alreadyPresent ??= additions.filter(f => existing.has(f.name)).map(f => f.name);
    if (missing.length === 0) {
      return { added, alreadyPresent };
    }

    const batch = missing.slice(0, MAX_ADDITIONS_PER_CALL);
    try {
      await withRetry(`UpdateFeatureGroup(${featureGroupName})`, () => opts.client.send(new UpdateFeatureGroupCommand({
        FeatureGroupName: featureGroupName,
        FeatureAdditions: batch.map(toDefinition),
      })), opts);
    } catch (e) {
      // Another update (or a duplicate invocation of this one) got there first: wait and look again.
      if ((e as Error).name === 'ResourceInUse' || (e as Error).name === 'ConflictException') {
        opts.log?.(`UpdateFeatureGroup(${featureGroupName}) found an update in progress; waiting`);
        waitingFor = 'an update in progress';
        await sleep(poll);
        continue;
      }
      throw e;
    }
    added.push(...batch.map(f => f.name));
    opts.log?.(`Requested ${batch.length} feature addition(s) on ${featureGroupName}: ${batch.map(f => f.name).join(', ')}`);
    pending = { batch: batch.map(f => f.name), marker: markerOf(group) };
    waitingFor = 'our update';
    await sleep(poll);
  }
}

/** The subset of the CloudFormation custom resource event this handler reads. */
export interface AdditionsEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: { readonly FeatureGroupName: string; readonly FeatureAdditions: string };
}

/** The subset of the Lambda context this handler reads. */
export interface AdditionsContext {
  getRemainingTimeInMillis(): number;
}

let client: SageMakerClient | undefined;

/** Provider-framework onEvent handler. */
export async function handler(event: AdditionsEvent, context: AdditionsContext) {
  const name = event.ResourceProperties.FeatureGroupName;
  if (event.RequestType === 'Delete') {
    // Features cannot be removed from a group; the group's own resource decides its fate.
    return { PhysicalResourceId: event.PhysicalResourceId ?? name };
  }
  const additions: FeatureAddition[] = JSON.parse(event.ResourceProperties.FeatureAdditions);
  client ??= new SageMakerClient({});
  const result = await applyFeatureAdditions(name, additions, {
    client,
    // Leave 30 s to report back to CloudFormation.
    deadline: Date.now() + context.getRemainingTimeInMillis() - 30_000,
    log: message => console.log(message),
  });
  console.log(JSON.stringify({ featureGroupName: name, ...result }));
  return {
    PhysicalResourceId: name,
    Data: { AddedFeatures: result.added.join(','), FeatureCount: String(additions.length) },
  };
}
