import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as cdk8s from 'cdk8s';
import { BAD_INPUTS, BadInputCase, HOSTILE_INPUTS, HostileInputCase } from './corpus';
import { MlPlatformContext } from '../../src';
import { MlPlatformError } from '../../src/core/errors';

process.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = '20';

/** Temporary directories (cloud assemblies, schema lock files), removed after the suite. */
const tmpDirs: string[] = [];
afterAll(() => { for (const dir of tmpDirs) { fs.rmSync(dir, { recursive: true, force: true }); } });

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bad-input-'));
  tmpDirs.push(dir);
  return dir;
}

function newStack(context: Record<string, unknown> = {}): { app: App; stack: Stack } {
  const dir = tmpDir();
  const app = new App({
    outdir: path.join(dir, 'cdk.out'),
    context: {
      [MlPlatformContext.CODE_VERSION_FROM_GIT]: false,
      [MlPlatformContext.FEATURE_SCHEMA_LOCK_FILE]: path.join(dir, 'feature-schemas.lock.json'),
      [MlPlatformContext.FROZEN_FEATURE_SCHEMAS]: 'false',
      ...context,
    },
  });
  const stack = new Stack(app, 'Platform', { env: { account: '123456789012', region: 'us-east-1' } });
  return { app, stack };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** `[Code] what[, got value]; fix (at path)`, on one line, with a non-empty fix. */
function codedLine(code: string, constructPath: string): RegExp {
  return new RegExp(`\\[${escape(code)}\\] [^\\n]+; [^\\n]*\\S[^\\n]* \\(at ${escape(constructPath)}\\)`);
}

/** Errors that mean a construct crashed on its input instead of validating it. */
function isCrash(e: unknown): boolean {
  return e instanceof TypeError || e instanceof ReferenceError || e instanceof RangeError || e instanceof SyntaxError;
}

function describeError(e: unknown): string {
  if (e instanceof Error) { return `${e.constructor.name}: ${e.message}\n${e.stack?.split('\n').slice(1, 6).join('\n')}`; }
  return String(e);
}

function run(build: () => void): unknown {
  try {
    build();
    return undefined;
  } catch (e) {
    return e;
  }
}

const BROKEN_TEXT = /\bundefined\b|\bNaN\b|-?\bInfinity\b|\[object Object\]/;

/**
 * Places in a synthesized template (or Kubernetes manifest) that CloudFormation or the API server would reject or
 * misread: `null` values, non-finite numbers and strings that carry `undefined`, `NaN`, `Infinity` or `[object Object]`.
 * JSON turns NaN and Infinity into null, so a NaN that reached a property shows up as null.
 */
export function brokenValues(node: unknown, at = '$'): string[] {
  if (node === null) { return [`${at}: null`]; }
  if (node === undefined) { return [`${at}: undefined`]; }
  if (typeof node === 'number') { return Number.isFinite(node) ? [] : [`${at}: ${node}`]; }
  if (typeof node === 'string') {
    const m = BROKEN_TEXT.exec(node);
    return m ? [`${at}: '${node.slice(Math.max(0, m.index - 60), m.index + 60)}'`] : [];
  }
  if (Array.isArray(node)) { return node.flatMap((v, i) => brokenValues(v, `${at}[${i}]`)); }
  if (typeof node === 'object') {
    return Object.entries(node as Record<string, unknown>).flatMap(([k, v]) => [
      ...BROKEN_TEXT.test(k) ? [`${at}: key '${k}'`] : [],
      ...brokenValues(v, `${at}.${k}`),
    ]);
  }
  return [];
}

/** Broken values in every template of the app's cloud assembly. */
function brokenTemplates(app: App): string[] {
  const assembly = app.synth();
  return assembly.stacks.flatMap(s => brokenValues(s.template, s.stackName));
}

function assertCoded(error: unknown, code: string, constructPath: string): void {
  if (isCrash(error) || !(error instanceof MlPlatformError)) {
    throw new Error(`expected MlPlatformError [${code}] at ${constructPath}, got ${describeError(error)}`);
  }
  expect(error.codes).toContain(code);
  expect(error.constructPath).toBe(constructPath);
  expect(error.message).toMatch(codedLine(code, constructPath));
}

describe('bad-input corpus: each invalid configuration fails with its coded error and construct path', () => {
  test.each(BAD_INPUTS.map(c => [c.name, c] as [string, BadInputCase]))('%s', (_name, c) => {
    const { app, stack } = newStack(c.context);
    if ((c.phase ?? 'construct') === 'construct') {
      const error = run(() => c.build(stack));
      if (error === undefined) { throw new Error(`building '${c.name}' did not throw; expected [${c.code}] at ${c.path}`); }
      assertCoded(error, c.code, c.path);
    } else {
      const built = run(() => c.build(stack));
      if (built !== undefined) { throw new Error(`building '${c.name}' threw before synth: ${describeError(built)}`); }
      const error = run(() => app.synth());
      if (error === undefined) { throw new Error(`synthesizing '${c.name}' did not throw; expected [${c.code}] at ${c.path}`); }
      // aws-cdk aggregates node.addValidation results into its own error; the coded line must be in it, intact.
      expect(isCrash(error)).toBe(false);
      expect((error as Error).message).toMatch(codedLine(c.code, c.path));
    }
  });
});

describe('hostile but type-correct inputs: a clean template or a coded error, never a crash', () => {
  test.each(HOSTILE_INPUTS.map(c => [c.name, c] as [string, HostileInputCase]))('%s', (_name, c) => {
    const { app, stack } = newStack(c.context);
    let output: unknown;
    const error = run(() => { output = c.build(stack); });
    if (error !== undefined) {
      if (isCrash(error) || !(error instanceof MlPlatformError)) {
        throw new Error(`'${c.name}' crashed instead of a coded error: ${describeError(error)}`);
      }
      const prefixes = c.codePrefixes ?? [`${c.construct}.`];
      for (const code of error.codes) {
        expect(prefixes.some(p => code.startsWith(p))).toBe(true);
        expect(error.message).toContain(`[${code}] `);
      }
      expect(error.constructPath).toMatch(/^(Platform|jobs)\//);
      expect(error.message).toContain(`(at ${error.constructPath})`);
      return;
    }
    const synthError = run(() => {
      expect(brokenTemplates(app)).toEqual([]);
      for (const chart of charts(output)) {
        expect(brokenValues(chart.toJson(), chart.node.path)).toEqual([]);
      }
    });
    if (synthError !== undefined) {
      if (isCrash(synthError)) { throw new Error(`'${c.name}' crashed at synth: ${describeError(synthError)}`); }
      throw synthError;
    }
  });
});

/** cdk8s charts a hostile case returned (stand-alone Kubernetes constructs), to check their manifests too. */
function charts(output: unknown): cdk8s.Chart[] {
  return output instanceof cdk8s.Chart ? [output] : [];
}

describe('the corpus itself', () => {
  test('at least 40 cases over at least 15 constructs, every construct family covered, unique names', () => {
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(40);
    const constructs = new Set(BAD_INPUTS.map(c => c.construct));
    expect(constructs.size).toBeGreaterThanOrEqual(15);
    expect([...constructs].sort()).toEqual(expect.arrayContaining([
      'AuditTrail', 'ContinuousTraining', 'CostReport', 'DataLake', 'DeploymentStrategy', 'DriftMonitor', 'ExperimentTracking', 'FeatureStore',
      'GpuCluster', 'GpuNodePool', 'GpuTrainingPipeline', 'KubeflowTraining', 'KubeflowTrainingJob', 'KubernetesModelServer', 'Lineage',
      'ModelCard', 'ModelEndpoint', 'ModelRegistry', 'Personas', 'PredictionHealthMonitor', 'RetrainTrigger', 'TrainingDataGate',
    ]));
    const names = [...BAD_INPUTS, ...HOSTILE_INPUTS].map(c => c.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    for (const c of BAD_INPUTS) {
      expect(c.code).toMatch(/^[A-Z][A-Za-z0-9]*\.[A-Z][A-Za-z0-9]*$/);
      expect(c.path).toMatch(/^(Platform|jobs)(\/[^/]+)+$/);
    }
  });

  test('every case names a distinct invalid configuration, not a copy of another', () => {
    const sources = BAD_INPUTS.map(c => `${c.build.toString()}|${JSON.stringify(c.context ?? {})}`);
    expect(sources.filter((s, i) => sources.indexOf(s) !== i)).toEqual([]);
  });
});
