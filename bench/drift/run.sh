#!/usr/bin/env bash
# The drift benchmark, one command (see bench/drift/README.md):
#   bash bench/drift/run.sh                 # 1,000,000 capture records
#   RECORDS=100000 bash bench/drift/run.sh  # quick run
# Optional env: TRAINING (baseline records, 200000), REPEAT (runs per measurement, best wall time kept, 1),
# DATA_DIR (bench/drift/.data). Generates the data once (seeded, reused), builds the baseline with our
# BaselineBuilder, then measures the Node parse floor, the Node engine and the Python reference under
# /usr/bin/time -v and prints the table. Exits 0 when a target is missed (it is a report); non-zero on errors.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
RECORDS="${RECORDS:-1000000}"
TRAINING="${TRAINING:-200000}"
REPEAT="${REPEAT:-1}"
DATA_DIR="${DATA_DIR:-$HERE/.data}"
mkdir -p "$DATA_DIR"

[ -x /usr/bin/time ] || { echo "run.sh: /usr/bin/time (GNU time) is required" >&2; exit 1; }
python3 -c 'import numpy, scipy' || { echo "run.sh: python3 with numpy and scipy is required" >&2; exit 1; }

echo "== machine: $(nproc) cores, node $(node -v), python $(python3 -c 'import sys, numpy, scipy; print(sys.version.split()[0], "numpy", numpy.__version__, "scipy", scipy.__version__)')"
echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ), RECORDS=$RECORDS TRAINING=$TRAINING REPEAT=$REPEAT, load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# Bundle the TypeScript sources (not lib/) with esbuild.
for entry in generate node-engine; do
  (cd "$ROOT" && npx --no-install esbuild --bundle --platform=node --target=node20 --log-level=warning \
    "$HERE/$entry.ts" --outfile="$DATA_DIR/$entry.js")
done

echo "== data (seeded; reused when present)"
node "$DATA_DIR/generate.js" --dir "$DATA_DIR" --records "$RECORDS" --training "$TRAINING"
BASELINE="$DATA_DIR/baseline-$TRAINING.json"
CAPTURE="$DATA_DIR/capture-$RECORDS.jsonl"
echo "capture file: $(du -h "$CAPTURE" | cut -f1), $RECORDS lines"
cat "$CAPTURE" > /dev/null # warm the page cache so the first run does not pay for the disk

rm -f "$DATA_DIR"/*-"$RECORDS".rep-*.time
measure() { # name, command...
  local name="$1"; shift
  for rep in $(seq 1 "$REPEAT"); do
    /usr/bin/time -v -o "$DATA_DIR/$name-$RECORDS.rep-$rep.time" "$@" > "$DATA_DIR/$name-$RECORDS.json"
    echo "$name #$rep: $(cut -c1-240 "$DATA_DIR/$name-$RECORDS.json")"
  done
}
echo "== runs (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
measure floor node "$DATA_DIR/node-engine.js" --floor --capture "$CAPTURE"
measure floor-payload node "$DATA_DIR/node-engine.js" --floor-payload --capture "$CAPTURE"
measure node node "$DATA_DIR/node-engine.js" --baseline "$BASELINE" --capture "$CAPTURE" --out "$DATA_DIR/node-report-$RECORDS.json"
measure python python3 "$HERE/reference.py" --baseline "$BASELINE" --capture "$CAPTURE" --out "$DATA_DIR/python-report-$RECORDS.json"
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 "$HERE/reference.py" --table "$DATA_DIR" "$RECORDS"
