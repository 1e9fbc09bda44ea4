/**
 * Typed builders for SageMaker Pipelines definitions (JSON schema version 2020-12-01).
 *
 * Internal module: GpuTrainingPipeline assembles its step graph with these, and tests read the graph back.
 * Step `Arguments` are the request bodies of the corresponding SageMaker APIs (CreateTrainingJob,
 * CreateProcessingJob, CreateModelPackage) without the job name, which Pipelines generates.
 */
import { Token } from 'aws-cdk-lib';

/** A pipeline expression: a literal, a property reference (`Get`) or a join (`Std:Join`). */
export type Expr = string | number | boolean | { readonly Get: string } | { readonly 'Std:Join': { readonly On: string; readonly Values: Expr[] } };

/** A reference to a pipeline property, e.g. `Parameters.InputDataUri` or `Execution.PipelineExecutionId`. */
export function get(path: string): { readonly Get: string } {
  return { Get: path };
}

/** Joins values with a separator at execution time. */
export function join(on: string, values: Expr[]): Expr {
  return { 'Std:Join': { On: on, Values: values } };
}

/** A Lambda or Callback step's output parameter. */
export function stepOutput(stepName: string, outputName: string): { readonly Get: string } {
  return get(`Steps.${stepName}.OutputParameters['${outputName}']`);
}

export type ParameterType = 'String' | 'Integer' | 'Float' | 'Boolean';

export interface PipelineParameter {
  readonly Name: string;
  readonly Type: ParameterType;
  readonly DefaultValue?: string | number | boolean;
}

/** One step as it appears in the definition. */
export interface StepJson {
  readonly Name: string;
  readonly Type: 'Training' | 'Processing' | 'Lambda' | 'Callback' | 'Condition' | 'RegisterModel' | 'Fail';
  readonly DependsOn?: string[];
  readonly Arguments?: Record<string, unknown>;
  readonly [extra: string]: unknown;
}

export interface LambdaOutput {
  readonly OutputName: string;
  readonly OutputType: 'String' | 'Integer' | 'Float' | 'Boolean';
}

export function lambdaStep(o: {
  name: string;
  functionArn: string;
  args: Record<string, Expr>;
  outputs: LambdaOutput[];
  dependsOn?: string[];
}): StepJson {
  return {
    Name: o.name,
    Type: 'Lambda',
    DependsOn: o.dependsOn,
    Arguments: o.args,
    FunctionArn: o.functionArn,
    OutputParameters: o.outputs,
  };
}

/**
 * A Callback step: SageMaker sends `{ token, arguments, ... }` to the queue and waits for
 * SendPipelineExecutionStepSuccess/Failure; outputs are read as `Steps.<name>.OutputParameters['<output>']`
 * (the shape the SageMaker Python SDK's CallbackStep serializes).
 */
export function callbackStep(o: {
  name: string;
  queueUrl: string;
  args: Record<string, Expr>;
  outputs: LambdaOutput[];
  dependsOn?: string[];
}): StepJson {
  return { Name: o.name, Type: 'Callback', DependsOn: o.dependsOn, Arguments: o.args, SqsQueueUrl: o.queueUrl, OutputParameters: o.outputs };
}

export function trainingStep(o: { name: string; args: Record<string, unknown>; dependsOn?: string[] }): StepJson {
  return { Name: o.name, Type: 'Training', DependsOn: o.dependsOn, Arguments: o.args };
}

export interface PropertyFile {
  readonly PropertyFileName: string;
  readonly OutputName: string;
  readonly FilePath: string;
}

export function processingStep(o: { name: string; args: Record<string, unknown>; dependsOn?: string[]; propertyFiles?: PropertyFile[] }): StepJson {
  return { Name: o.name, Type: 'Processing', DependsOn: o.dependsOn, Arguments: o.args, PropertyFiles: o.propertyFiles };
}

export interface Condition {
  readonly Type: 'Equals' | 'GreaterThan' | 'GreaterThanOrEqualTo' | 'LessThan' | 'LessThanOrEqualTo';
  readonly LeftValue: Expr;
  readonly RightValue: Expr;
}

export function conditionStep(o: {
  name: string; conditions: Condition[]; ifSteps: StepJson[]; elseSteps: StepJson[]; dependsOn?: string[];
}): StepJson {
  return { Name: o.name, Type: 'Condition', DependsOn: o.dependsOn, Arguments: { Conditions: o.conditions, IfSteps: o.ifSteps, ElseSteps: o.elseSteps } };
}

export function registerModelStep(o: { name: string; args: Record<string, unknown>; dependsOn?: string[] }): StepJson {
  return { Name: o.name, Type: 'RegisterModel', DependsOn: o.dependsOn, Arguments: o.args };
}

export function failStep(o: { name: string; errorMessage: Expr }): StepJson {
  return { Name: o.name, Type: 'Fail', Arguments: { ErrorMessage: o.errorMessage } };
}

/** The whole definition. */
export interface PipelineDefinition {
  readonly Version: '2020-12-01';
  readonly Metadata: Record<string, unknown>;
  readonly Parameters: PipelineParameter[];
  readonly PipelineExperimentConfig?: Record<string, unknown>;
  readonly Steps: StepJson[];
}

const STEP_NAME = /^[A-Za-z0-9\-_]{1,64}$/;

/** Every step, including those nested in condition branches, in definition order. */
export function allSteps(steps: StepJson[]): StepJson[] {
  return steps.flatMap(s => {
    if (s.Type !== 'Condition') { return [s]; }
    const args = s.Arguments as { IfSteps: StepJson[]; ElseSteps: StepJson[] };
    return [s, ...allSteps(args.IfSteps), ...allSteps(args.ElseSteps)];
  });
}

/**
 * Checks the graph: unique, valid step names; every DependsOn and every `Steps.X` / `Parameters.Y`
 * reference points at something that exists. Returns the problems (empty when the graph is sound).
 */
export function checkDefinition(def: PipelineDefinition): string[] {
  const problems: string[] = [];
  const steps = allSteps(def.Steps);
  const names = new Set<string>();
  for (const s of steps) {
    if (!STEP_NAME.test(s.Name)) { problems.push(`step name '${s.Name}' must be 1-64 letters, digits, '-' or '_'`); }
    if (names.has(s.Name)) { problems.push(`step name '${s.Name}' is used twice`); }
    names.add(s.Name);
  }
  const params = new Set(def.Parameters.map(p => p.Name));
  const byName = new Map(steps.map(s => [s.Name, s]));
  for (const s of steps) {
    for (const d of s.DependsOn ?? []) {
      if (!names.has(d)) { problems.push(`step '${s.Name}' depends on unknown step '${d}'`); }
    }
  }
  const visit = (v: unknown, where: string) => {
    if (v === null || typeof v !== 'object') { return; }
    if (Array.isArray(v)) { v.forEach(x => visit(x, where)); return; }
    const ref = (v as { Get?: unknown }).Get;
    if (typeof ref === 'string') {
      const step = /^Steps\.([^.[]+)/.exec(ref);
      if (step && !names.has(step[1])) { problems.push(`${where} references unknown step '${step[1]}' (${ref})`); }
      const target = step ? byName.get(step[1]) : undefined;
      if (target) {
        // The property must exist on that kind of step: outputs of Lambda/Callback steps, job properties otherwise.
        const output = /^Steps\.[^.[]+\.OutputParameters\['([^']+)'\]$/.exec(ref);
        if (output) {
          const declared = (target.OutputParameters as LambdaOutput[] | undefined ?? []).map(o => o.OutputName);
          if (!['Lambda', 'Callback'].includes(target.Type) || !declared.includes(output[1])) {
            problems.push(`${where} reads output '${output[1]}' that ${target.Type} step '${target.Name}' does not declare (${ref})`);
          }
        } else if (/^Steps\.[^.[]+\.ModelArtifacts\b/.test(ref) && target.Type !== 'Training') {
          problems.push(`${where} reads ModelArtifacts of ${target.Type} step '${target.Name}', which only Training steps have (${ref})`);
        }
      }
      const param = /^Parameters\.(.+)$/.exec(ref);
      if (param && !params.has(param[1])) { problems.push(`${where} references unknown parameter '${param[1]}'`); }
    }
    Object.values(v).forEach(x => visit(x, where));
  };
  for (const s of steps) {
    if (s.Type === 'Condition') {
      visit((s.Arguments as { Conditions: unknown }).Conditions, `step '${s.Name}'`);
    } else {
      visit(s.Arguments, `step '${s.Name}'`);
    }
  }
  return problems;
}

/** Marker that stands for a deploy-time value in the definition template. */
const MARKER = (i: number) => `@@cdkml:${i}@@`;
const TOKEN_STRING = /\$\{Token\[[^\]]+\]\}/g;

/**
 * Replaces every CDK token in the definition by a marker, so the definition can ship as an asset
 * (a file CloudFormation never resolves). Returns the template text and the markers' values, which
 * go into a custom resource's properties, where CloudFormation resolves them at deploy time.
 */
export function tokenizeDefinition(def: PipelineDefinition): { template: string; substitutions: Record<string, string> } {
  const substitutions: Record<string, string> = {};
  const index = new Map<string, number>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      return v.replace(TOKEN_STRING, token => {
        let i = index.get(token);
        if (i === undefined) {
          i = index.size;
          index.set(token, i);
          substitutions[`m${i}`] = token;
        }
        return MARKER(i);
      });
    }
    if (typeof v === 'number' && Token.isUnresolved(v)) {
      throw new Error('a number token cannot be shipped in a pipeline definition asset; pass a literal number');
    }
    if (Array.isArray(v)) {
      if (Token.isUnresolved(v)) { throw new Error('a list token cannot be shipped in a pipeline definition asset; pass a literal list'); }
      return v.map(walk);
    }
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  const template = JSON.stringify(walk(def), undefined, 1);
  return { template, substitutions };
}
