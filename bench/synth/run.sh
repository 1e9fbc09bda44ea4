#!/usr/bin/env bash
# Synth scaling benchmark: the floor (the same libraries loaded, one empty stack) against the example platforms
# (examples/, as `npx cdk synth` builds them) and MlPlatform with 1, 10, 50 and 100 models; each measurement in a fresh node process, REPEAT times (default 3), median reported.
# Usage: bash bench/synth/run.sh   (or: npx projen bench:synth)   Env: REPEAT=5 COUNTS="1 10 50 100"
set -euo pipefail
cd "$(dirname "$0")/../.."
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 NODE_NO_WARNINGS=1
[ -f lib/index.js ] || npx projen compile > /dev/null
# Handlers must be bundled for their assets.
ls assets/*/ > /dev/null 2>&1 || npx projen bundle > /dev/null
REPEAT="${REPEAT:-3}"
COUNTS="${COUNTS:-1 10 50 100}"
status=0
# Twice: as users run it (aws-cdk-lib's built-in CloudFormation validation on, its default), and with that
# validation off (CDK_VALIDATION=false), which isolates what this library costs.
for validation in default false; do
  echo
  if [ "$validation" = default ]; then echo "## aws-cdk-lib defaults (built-in CloudFormation validation on)"; else echo "## CDK_VALIDATION=false (the library's own cost)"; fi
  out="$(mktemp)"
  for run in $(seq "$REPEAT"); do
    for scenario in floor:0 examples:0 $(for n in $COUNTS; do echo "models:$n"; done); do
      kind="${scenario%%:*}"; n="${scenario#*:}"
      if [ "$validation" = default ]; then node bench/synth/scenario.js "$kind" "$n" 2>/dev/null | tail -1 >> "$out"
      else CDK_VALIDATION=false node bench/synth/scenario.js "$kind" "$n" 2>/dev/null | tail -1 >> "$out"; fi
    done
  done
  node bench/synth/report.js < "$out" || status=1
  rm -f "$out"
done
exit "$status"
