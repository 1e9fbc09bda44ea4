#!/usr/bin/env node
// Validates core Kubernetes manifests with npm kubernetes-models (ESM-only, hence this script).
// Input: a JSON array of manifests on stdin. Output: {"problems": ["<apiVersion> <Kind>/<name>: <pointer> <message>", ...]}
// on stdout, exit 0. Exit 2 when kubernetes-models cannot be loaded or the input is not a JSON array: a missing
// validator must fail the test run, never skip it.
// Usage: node test/support/validate-core-manifests.mjs < manifests.json

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) { chunks.push(chunk); }
  return Buffer.concat(chunks).toString('utf8');
}

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

function describe(m) {
  return `${m?.apiVersion ?? '?'} ${m?.kind ?? '?'}/${m?.metadata?.name ?? '?'}`;
}

/** `apps/v1` → `kubernetes-models/apps/v1`; the core group `v1` → `kubernetes-models/v1`. */
function modulePath(apiVersion) {
  return `kubernetes-models/${apiVersion}`;
}

try {
  await import('kubernetes-models/v1');
} catch (e) {
  fail(`kubernetes-models is not installed or cannot be loaded (${e.message}); run npm ci`);
}

let manifests;
try {
  manifests = JSON.parse(await readStdin());
} catch (e) {
  fail(`stdin is not JSON: ${e.message}`);
}
if (!Array.isArray(manifests)) { fail('stdin must be a JSON array of manifests'); }

const modules = new Map();
const problems = [];
for (const m of manifests) {
  const apiVersion = typeof m?.apiVersion === 'string' ? m.apiVersion : '';
  if (!/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion) || typeof m?.kind !== 'string') {
    problems.push(`${describe(m)}: / apiVersion and kind must be set, e.g. apps/v1 Deployment`);
    continue;
  }
  if (!modules.has(apiVersion)) {
    modules.set(apiVersion, await import(modulePath(apiVersion)).catch(() => undefined));
  }
  const Model = modules.get(apiVersion)?.[m.kind];
  if (typeof Model !== 'function') {
    problems.push(`${describe(m)}: / kubernetes-models has no model for ${apiVersion} ${m.kind} `
      + '(a custom resource? validate it against its CRD instead)');
    continue;
  }
  try {
    new Model(m).validate();
  } catch (e) {
    const errors = Array.isArray(e?.errors) ? e.errors : undefined;
    if (!errors) {
      problems.push(`${describe(m)}: / ${e?.message ?? e}`);
      continue;
    }
    for (const err of errors) {
      const detail = err.params?.additionalProperty ? ` '${err.params.additionalProperty}'`
        : err.params?.allowedValues ? ` ${JSON.stringify(err.params.allowedValues)}` : '';
      problems.push(`${describe(m)}: ${err.instancePath || '/'} ${err.message}${detail}`);
    }
  }
}
process.stdout.write(JSON.stringify({ problems }));
