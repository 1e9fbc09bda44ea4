import * as fs from 'fs';
import * as path from 'path';
import { App, IPolicyValidationPlugin, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { MlOpsChecks } from '../../src/governance/mlops-checks';

/** One unacknowledged finding of a rule pack, as the validation report lists it. */
export interface NagFinding {
  readonly pack: string;
  readonly rule: string;
  readonly severity: string;
  readonly constructPath: string;
}

/**
 * Registers the rule packs every construct and example must pass: cdk-nag AwsSolutions and NIST 800-53 R5.
 * cdk-nag 3 runs as an aws-cdk-lib policy-validation plugin, so `app.synth()` fails on any finding that
 * is not acknowledged inside our constructs.
 */
export function addNagPacks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
}

/** Registers every pack the examples must pass: AwsSolutions, NIST 800-53 R5 and our MlOpsChecks. */
export function addAllPacks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app), new MlOpsChecks(app));
}

/**
 * Synthesizes `app` with the rule packs (by default AwsSolutions and NIST 800-53 R5; `register` chooses others)
 * and returns every unacknowledged finding (empty when clean).
 * A synth failure that is not a validation failure is rethrown as is.
 */
export function nagFindings(app: App, register: (app: App) => void = addNagPacks): NagFinding[] {
  register(app);
  try {
    app.synth();
    return [];
  } catch (e) {
    const reportFile = path.join(app.outdir, 'validation-report.json');
    if (!fs.existsSync(reportFile)) { throw e; }
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
    const findings: NagFinding[] = [];
    for (const plugin of report.pluginReports ?? []) {
      for (const v of plugin.violations ?? []) {
        for (const r of v.violatingConstructs ?? v.violatingResources ?? []) {
          findings.push({
            pack: plugin.pluginName ?? plugin.summary?.pluginName ?? 'unknown',
            rule: v.ruleName,
            severity: v.severity,
            constructPath: r.constructPath ?? r.resourceLogicalId ?? '(unknown)',
          });
        }
      }
    }
    if (findings.length === 0) { throw e; }
    return findings;
  }
}

/**
 * Builds a fresh app with one environment-agnostic stack, lets `build` define constructs in it,
 * and returns the unacknowledged cdk-nag findings.
 */
export function nagFindingsFor(build: (stack: Stack) => void, context?: Record<string, unknown>): NagFinding[] {
  const app = new App({ context });
  const stack = new Stack(app, 'NagTest');
  build(stack);
  return nagFindings(app);
}

/**
 * Synthesizes `app` with only the given validation plugins and returns their unacknowledged findings.
 */
export function pluginFindings(app: App, ...plugins: IPolicyValidationPlugin[]): NagFinding[] {
  return nagFindings(app, a => Validations.of(a).addPlugins(...plugins));
}
