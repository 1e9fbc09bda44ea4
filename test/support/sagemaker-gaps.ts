import {
  DeploymentConfig, DescribeEndpointCommand, DescribeEndpointCommandOutput, DescribeModelPackageCommand, DescribePipelineExecutionCommand,
  SageMakerClient, StartPipelineExecutionCommand, UpdateEndpointCommand, UpdateEndpointCommandInput, UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import { AwsStub, mockClient } from 'aws-sdk-client-mock';

/**
 * What moto_server (5.2.1, probed) cannot do for the continuous-training loop, layered on a REAL SDK client that
 * talks to moto. Every call not listed here goes to moto unchanged, so tests exercise moto's real behaviour
 * wherever it has one. One home for these shims: the loop-control, loop-deploy and loop e2e tests share them.
 *
 * SageMaker ({@link SageMakerGaps}, aws-sdk-client-mock on the client's `send`, everything else passed through):
 *   - StartPipelineExecution: moto ignores ClientRequestToken and creates a new execution on every call; SageMaker
 *     returns the first execution again for a repeated token (per pipeline). The shim forwards the first call per
 *     pipeline and token to moto and replays its answer for a repeat.
 *   - DescribePipelineExecution: moto always reports Succeeded with an empty FailureReason. A test sets another
 *     outcome (Executing, Failed with a reason, ...) per execution ARN in `pipelineOutcomes`; otherwise moto answers.
 *   - UpdateModelPackage: moto replaces CustomerMetadataProperties with null when the request omits them (SageMaker
 *     keeps them). That hides a package's pipeline_execution_arn and baseline_uri after its approval changes, which
 *     is also why an approved package seems to have no CustomerMetadataProperties in DescribeModelPackage. The shim
 *     sends the package's current properties along; the update itself is moto's.
 *   - UpdateEndpoint: not implemented in moto (HTTP 500). The shim records the input (`updates`) and moves a
 *     simulated deployment ({@link EndpointSim}): the endpoint becomes Updating with the new config pending.
 *     `finishDeployment` completes it as SageMaker would after the rollout.
 *   - DescribeEndpoint: moto's answer (name, ARN, creation) overlaid with the simulated deployment of that endpoint:
 *     EndpointConfigName and EndpointStatus, plus PendingDeploymentSummary, FailureReason and LastDeploymentConfig,
 *     which moto never returns.
 * A test replaces one operation's behaviour with `fake(Command, (input, next) => ...)`, `next` being the default
 * (the shim above, else moto).
 *
 * Throttling ({@link throttleNext}, any client): moto never throttles. An SDK middleware makes the next N calls of an
 * operation fail with a throttling error before they are sent; N = Infinity throttles until {@link stopThrottling}.
 */

/** A command class, e.g. `StartPipelineExecutionCommand`. */
export type CommandClass = new (input: any) => any;
/** Replaces an operation: `next` is its default behaviour (the shim, else moto). */
export type Fake = (input: any, next: (input: any) => Promise<any>) => Promise<any>;

/** DescribePipelineExecution's answer for one execution. */
export interface PipelineOutcome {
  readonly status: string;
  readonly reason?: string;
}

/** The simulated deployment state of one endpoint overlaid on moto's DescribeEndpoint (undefined: moto's answer). */
export interface EndpointSim {
  config?: string;
  status?: DescribeEndpointCommandOutput['EndpointStatus'];
  pending?: string;
  failure?: string;
  last?: DeploymentConfig;
}

export interface SageMakerGapsOptions {
  /** PendingDeploymentSummary.StartTime. Default: the real time. */
  readonly now?: () => Date;
}

/** The SageMaker shims of one client; see the file comment. */
export class SageMakerGaps {
  /** The aws-sdk-client-mock stub (every call, shimmed or not, is in its history: `commandCalls`). */
  public readonly stub: AwsStub<any, any, any>;
  /** UpdateEndpoint inputs, in order. */
  public readonly updates: UpdateEndpointCommandInput[] = [];
  /** DescribePipelineExecution outcomes by execution ARN; an execution not listed is moto's (Succeeded). */
  public readonly pipelineOutcomes = new Map<string, PipelineOutcome>();
  private readonly realSend: (command: any) => Promise<any>;
  private readonly defaults = new Map<string, Fake>();
  private readonly fakes = new Map<string, Fake>();
  private readonly endpoints = new Map<string, EndpointSim>();
  private readonly started = new Map<string, Promise<any>>();

  constructor(client: SageMakerClient, private readonly options: SageMakerGapsOptions = {}) {
    this.realSend = client.send.bind(client) as (command: any) => Promise<any>;
    this.stub = mockClient(client);
    // One dispatcher for every command (sinon's default behaviour gets the command object, so its class is known).
    this.stub.send.callsFake((command: any) => this.dispatch(command));

    this.defaults.set(StartPipelineExecutionCommand.name, input => {
      if (!input.ClientRequestToken) { return this.moto(StartPipelineExecutionCommand, input); }
      const key = `${input.PipelineName} ${input.ClientRequestToken}`;
      if (!this.started.has(key)) {
        const first = this.moto(StartPipelineExecutionCommand, input);
        this.started.set(key, first);
        first.catch(() => this.started.delete(key)); // a failed start (e.g. throttled) is not remembered
      }
      return this.started.get(key)!;
    });
    this.defaults.set(DescribePipelineExecutionCommand.name, async input => {
      const answer = await this.moto(DescribePipelineExecutionCommand, input);
      const outcome = this.pipelineOutcomes.get(input.PipelineExecutionArn);
      return outcome ? { ...answer, PipelineExecutionStatus: outcome.status, FailureReason: outcome.reason } : answer;
    });
    this.defaults.set(UpdateModelPackageCommand.name, async input => {
      const current = await this.moto(DescribeModelPackageCommand, { ModelPackageName: input.ModelPackageArn });
      return this.moto(UpdateModelPackageCommand, { CustomerMetadataProperties: current.CustomerMetadataProperties, ...input });
    });
    this.defaults.set(UpdateEndpointCommand.name, async (input: UpdateEndpointCommandInput) => {
      this.updates.push(input);
      const sim = this.endpoint(input.EndpointName!);
      sim.pending = input.EndpointConfigName;
      sim.status = 'Updating';
      return { EndpointArn: `arn:aws:sagemaker:us-east-1:123456789012:endpoint/${input.EndpointName}` };
    });
    this.defaults.set(DescribeEndpointCommand.name, async input => {
      const answer: DescribeEndpointCommandOutput = await this.moto(DescribeEndpointCommand, input);
      const sim = this.endpoints.get(input.EndpointName);
      if (!sim) { return answer; }
      return {
        ...answer,
        EndpointConfigName: sim.config ?? answer.EndpointConfigName,
        EndpointStatus: sim.status ?? answer.EndpointStatus,
        PendingDeploymentSummary: sim.pending ? { EndpointConfigName: sim.pending, StartTime: this.options.now?.() ?? new Date() } : undefined,
        FailureReason: sim.failure,
        LastDeploymentConfig: sim.last,
      };
    });
  }

  /** The simulated deployment state of an endpoint (created on first use; mutate it to set up a test). */
  public endpoint(name: string): EndpointSim {
    let sim = this.endpoints.get(name);
    if (!sim) {
      sim = {};
      this.endpoints.set(name, sim);
    }
    return sim;
  }

  /** SageMaker finished rolling out the pending config: it is now served, InService, nothing pending. */
  public finishDeployment(name: string): void {
    const sim = this.endpoint(name);
    if (!sim.pending) { throw new Error(`finishDeployment: endpoint ${name} has no deployment in progress`); }
    Object.assign(sim, { config: sim.pending, pending: undefined, status: 'InService' });
  }

  /** Replaces how `command` is answered; `next` is the default (shim or moto). */
  public fake(command: CommandClass, fn: Fake): void {
    this.fakes.set(command.name, fn);
  }

  /** The inputs of the calls of `command` since the last {@link resetHistory}. */
  public inputs(command: CommandClass): any[] {
    return this.stub.commandCalls(command as any).map(c => c.args[0].input);
  }

  public resetHistory(): void {
    this.stub.resetHistory();
  }

  public restore(): void {
    this.stub.restore();
  }

  private moto(command: CommandClass, input: any): Promise<any> {
    return this.realSend(new command(input));
  }

  private dispatch(command: any): Promise<any> {
    const name: string = command.constructor.name;
    const byDefault = this.defaults.get(name);
    const next = (input: any) => (byDefault ? byDefault(input, i => this.moto(command.constructor, i)) : this.moto(command.constructor, input));
    const fake = this.fakes.get(name);
    return fake ? fake(command.input, next) : next(command.input);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Throttling (any client) and call recording

interface MiddlewareClient {
  readonly middlewareStack: { add: (middleware: any, options: any) => void };
}

interface Throttler {
  /** Calls left to throttle, by command name ('StartPipelineExecutionCommand'). */
  readonly left: Map<string, { times: number; name: string; status: number }>;
  /** Throttled calls so far, by command name. */
  readonly served: Map<string, number>;
}

const throttlers = new WeakMap<object, Throttler>();

function throttlerOf(client: MiddlewareClient): Throttler {
  let t = throttlers.get(client);
  if (!t) {
    const throttler: Throttler = { left: new Map(), served: new Map() };
    client.middlewareStack.add((next: any, context: any) => async (args: any) => {
      const rule = throttler.left.get(context.commandName);
      if (rule && rule.times > 0) {
        rule.times--;
        throttler.served.set(context.commandName, (throttler.served.get(context.commandName) ?? 0) + 1);
        throw throttlingError(rule.name, rule.status);
      }
      return next(args);
    }, { step: 'initialize', name: 'testThrottler' });
    throttlers.set(client, throttler);
    t = throttler;
  }
  return t;
}

/** The error a service sends when it rate-limits: `ThrottlingException` (SageMaker, CloudWatch), `SlowDown` (S3), ... */
export function throttlingError(name = 'ThrottlingException', status = 400): Error {
  return Object.assign(new Error('Rate exceeded'), { name, $fault: 'client', $metadata: { httpStatusCode: status, attempts: 1 } });
}

/**
 * The next `times` calls of `command` through `client` fail with a throttling error (`errorName`, default
 * ThrottlingException; S3 answers SlowDown with HTTP 503, DynamoDB ProvisionedThroughputExceededException) before
 * reaching moto. Infinity: every call until {@link stopThrottling}.
 */
export function throttleNext(client: MiddlewareClient, command: CommandClass | string, times: number, errorName = 'ThrottlingException'): void {
  const name = typeof command === 'string' ? command : command.name;
  throttlerOf(client).left.set(name, { times, name: errorName, status: errorName === 'SlowDown' ? 503 : 400 });
}

/** Ends every throttling rule of `client`. */
export function stopThrottling(client: MiddlewareClient): void {
  throttlerOf(client).left.clear();
}

/** How many calls of `command` through `client` were throttled so far. */
export function throttledCalls(client: MiddlewareClient, command: CommandClass | string): number {
  return throttlerOf(client).served.get(typeof command === 'string' ? command : command.name) ?? 0;
}

/** One call as sent by a client. */
export interface RecordedCall {
  readonly command: string;
  readonly input: any;
}

/** Records every command sent through `client` (before the SDK's own retries), without changing anything. */
export function recordCalls(client: MiddlewareClient): RecordedCall[] {
  const calls: RecordedCall[] = [];
  client.middlewareStack.add((next: any, context: any) => async (args: any) => {
    calls.push({ command: context.commandName, input: args.input });
    return next(args);
  }, { step: 'initialize', name: 'testCallRecorder', priority: 'high' });
  return calls;
}
