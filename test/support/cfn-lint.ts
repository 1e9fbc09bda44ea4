import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** cfn-lint findings that we accept everywhere, each with the reason. */
export const ACCEPTED_CFN_LINT_RULES: Record<string, string> = {
  // Redundant DependsOn: CDK adds explicit dependencies that are also implied by Ref/GetAtt.
  W3005: 'CDK emits explicit DependsOn next to implicit references; harmless.',
};

/** One cfn-lint match, as `cfn-lint --format json` prints it. */
export interface CfnLintMatch {
  readonly Rule: { readonly Id: string; readonly Description: string };
  readonly Level: string;
  readonly Message: string;
  readonly Filename: string;
}

/** Every `*.template.json` under `dir`, nested stacks included (`*.nested.template.json`), recursively. */
export function findTemplates(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) { out.push(...findTemplates(full)); } else if (entry.name.endsWith('.template.json')) { out.push(full); }
  }
  return out.sort();
}

/**
 * Runs cfn-lint on `templates` and returns the errors and warnings that are not accepted.
 * Throws with the fix when cfn-lint is not installed: a missing linter is a failure, never a skip.
 */
export function cfnLint(templates: string[]): CfnLintMatch[] {
  if (templates.length === 0) { throw new Error('cfnLint: no templates to lint'); }
  const result = spawnSync('cfn-lint', ['--format', 'json', '--', ...templates], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error || result.status === null) {
    throw new Error(`cfn-lint could not run (${result.error?.message ?? 'killed'}). Install it with 'pip install cfn-lint' (Python 3.8+) and make sure it is on PATH.`);
  }
  let matches: CfnLintMatch[];
  try {
    matches = JSON.parse(result.stdout || '[]');
  } catch {
    throw new Error(`cfn-lint exited ${result.status} without JSON output:\n${result.stdout}\n${result.stderr}`);
  }
  return matches.filter(m => m.Level !== 'Informational' && !(m.Rule.Id in ACCEPTED_CFN_LINT_RULES));
}
