#!/usr/bin/env python3
"""Python reference of the drift benchmark (see README.md): `json` + numpy/scipy doing what our engine does.

    python3 reference.py --baseline baseline.json --capture capture.jsonl [--out report.json]
        Streams the capture file, json.loads every line and its input payload (and, like decodeCaptureLine, the
        output payload), gathers per-feature values, then computes with numpy/scipy against the SAME baseline JSON
        our BaselineBuilder wrote: PSI over the baseline decile bins (1e-6 clipping, natural log), Jensen-Shannon
        distance (base 2) over the same bins, scipy.stats.ks_2samp against the baseline's 1001-point sketch,
        chi2_contingency for categoricals, missing rates. Prints timing + a summary as one JSON line.

    python3 reference.py --table DIR N
        Reads DIR/{floor,floor-payload,node,python}-N.rep-K.time and DIR/{node,python}-report-N.json written by
        run.sh (the best wall time of the K runs of each) and prints the result table
        and the Node-vs-Python agreement check.
"""
import base64
import json
import math
import os
import re
import sys
import time
from collections import Counter

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

# classifyValue rules of src/core/baseline.ts: what counts as a missing value, a number, a category.
MISSING_TOKENS = {'', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN',
                  '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null'}
NUMERIC = re.compile(r'[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?')
INFINITE = {'inf', 'infinity', '+inf', '+infinity', '-inf', '-infinity'}
EPSILON = 1e-6
CHUNK = 100_000


def classify(value):
    """None (missing), a float (number or numeric string) or a category string, as classifyValue."""
    if value is None:
        return None
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if text in MISSING_TOKENS or text.lower() in INFINITE:
            return None
        if NUMERIC.fullmatch(text):
            n = float(text)
            return n if math.isfinite(n) else None
        return value
    return json.dumps(value, separators=(',', ':'))


def category_key(value):
    """The category key of a value (numbers as JavaScript's String(n) would print them), or None when missing."""
    v = classify(value)
    if isinstance(v, float) and not isinstance(value, str):
        return str(int(v)) if v.is_integer() and abs(v) < 1e21 else repr(v)
    return value if isinstance(v, float) else v


def payload_records(part):
    """Input records of an endpointInput (JSON or base64 JSON payloads; the bench writes JSON)."""
    encoding = part['encoding']
    if encoding == 'JSON':
        value = json.loads(part['data'])
    elif encoding == 'BASE64' and 'json' in part.get('observedContentType', '').lower():
        value = json.loads(base64.b64decode(part['data']))
    else:
        raise ValueError(f'unsupported payload encoding {encoding}')
    if isinstance(value, dict):
        value = value['instances'] if isinstance(value.get('instances'), list) else [value]
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise ValueError('payload is not a record or a list of records')
    return value


def psi(expected, actual):
    e = np.maximum(expected / expected.sum(), EPSILON)
    a = np.maximum(actual / actual.sum(), EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def run(baseline_path, capture_path, out_path):
    t0 = time.perf_counter()
    with open(baseline_path) as f:
        baseline = json.load(f)['features']
    numeric = [n for n, f in baseline.items() if f['kind'] == 'numeric']
    categorical = [n for n, f in baseline.items() if f['kind'] == 'categorical']
    chunks = {n: [] for n in numeric}          # float64 arrays of finite values
    non_numeric = Counter()
    counters = {n: Counter() for n in categorical}  # raw value -> count, classified at the end
    pending = {n: [] for n in baseline}
    records = malformed = 0

    def flush():
        for name in numeric:
            raw = pending[name]
            # Fast path for the common case (all JSON numbers or None); classify() only the odd values.
            vals = [v if type(v) is float or type(v) is int else classify(v) for v in raw]
            strings = [v for v in vals if isinstance(v, str)]
            if strings:
                non_numeric[name] += len(strings)
                vals = [None if isinstance(v, str) else v for v in vals]
            arr = np.array(vals, dtype=np.float64)  # None -> nan
            chunks[name].append(arr[np.isfinite(arr)])
            raw.clear()
        for name in categorical:
            counters[name].update(pending[name])
            pending[name].clear()

    with open(capture_path, 'rb') as f:
        for line in f:
            if not line.strip():
                continue
            try:
                event = json.loads(line)
                data = event['captureData']
                inputs = payload_records(data['endpointInput']) if 'endpointInput' in data else []
                if 'endpointOutput' in data and data['endpointOutput']['encoding'] == 'JSON':
                    json.loads(data['endpointOutput']['data'])
            except (ValueError, KeyError, TypeError):
                malformed += 1
                continue
            for rec in inputs:
                records += 1
                for name, values in pending.items():
                    values.append(rec.get(name))
            if len(pending[numeric[0] if numeric else categorical[0]]) >= CHUNK:
                flush()
    flush()
    t_parse = time.perf_counter()

    features = {}
    for name in numeric:
        b = baseline[name]
        values = np.concatenate(chunks[name]) if chunks[name] else np.empty(0)
        edges = np.asarray(b['histogram']['edges'], dtype=np.float64)
        base_counts = np.asarray(b['histogram']['counts'], dtype=np.float64)
        counts = np.bincount(np.searchsorted(edges[1:-1], values, side='left'), minlength=len(edges) - 1)
        count = int(values.size)
        f = {'kind': 'numeric', 'count': count, 'missing': records - count,
             'missingRate': (records - count) / records if records else 0, 'nonNumeric': non_numeric[name],
             'binCounts': counts.tolist(), 'psi': None, 'jsDistance': None, 'ks': None}
        if count:
            f['psi'] = psi(base_counts, counts.astype(np.float64))
            f['jsDistance'] = float(jensenshannon(base_counts, counts, base=2))
            if 'sketch' in b:
                d = float(stats.ks_2samp(values, np.asarray(b['sketch']['quantiles'])).statistic)
                n_eff = max(1, round(b['count'] * count / (b['count'] + count)))
                f['ks'] = {'statistic': d, 'pValue': float(stats.kstwo.sf(d, n_eff))}
        features[name] = f
    for name in categorical:
        b = baseline[name]
        current = Counter()
        for raw, n in counters[name].items():
            key = category_key(raw)
            if key is not None:
                current[key] += n
        count = sum(current.values())
        keys = sorted(set(b['categories']) | set(current))
        expected = np.array([b['categories'].get(k, 0) for k in keys] + [b['otherCount']], dtype=np.float64)
        actual = np.array([current.get(k, 0) for k in keys] + [0], dtype=np.float64)
        f = {'kind': 'categorical', 'count': count, 'missing': records - count,
             'missingRate': (records - count) / records if records else 0,
             'newCategoryRate': sum(n for k, n in current.items() if k not in b['categories']) / count if count else 0,
             'chiSquare': None, 'psi': None, 'jsDistance': None, 'distinct': len(current)}
        if b['count'] and count:
            table = np.array([expected, actual])
            table = table[:, table.sum(axis=0) > 0]
            if table.shape[1] >= 2:
                chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
                f['chiSquare'] = {'statistic': float(chi2), 'pValue': float(p), 'dof': int(dof)}
            else:
                f['chiSquare'] = {'statistic': 0.0, 'pValue': 1.0, 'dof': 0}
            f['psi'] = psi(expected, actual)
            f['jsDistance'] = float(jensenshannon(expected, actual, base=2))
        features[name] = f
    t_end = time.perf_counter()

    report = {'recordCount': records, 'malformedRecords': malformed, 'features': features,
              'overallDriftScore': max([f['psi'] for f in features.values() if f['psi'] is not None], default=0)}
    if out_path:
        with open(out_path, 'w') as f:
            json.dump(report, f)
    try:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except ImportError:
        peak = None
    print(json.dumps({'mode': 'python', 'records': records, 'malformed': malformed, 'seconds': t_end - t0,
                      'parseSeconds': t_parse - t0, 'statsSeconds': t_end - t_parse, 'peakRssMb': peak,
                      'summary': {'overallDriftScore': report['overallDriftScore'],
                                  'psi': {n: f['psi'] for n, f in features.items()}}}))


def read_time(path):
    """Wall seconds, peak RSS (MB) and CPU seconds from a `/usr/bin/time -v` log."""
    out = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.strip().rpartition(': ')
            if key == 'Elapsed (wall clock) time (h:mm:ss or m:ss)':
                secs = 0.0
                for part in value.split(':'):
                    secs = secs * 60 + float(part)
                out['wall'] = secs
            elif key == 'Maximum resident set size (kbytes)':
                out['rssMb'] = int(value) / 1024
            elif key in ('User time (seconds)', 'System time (seconds)'):
                out['cpu'] = out.get('cpu', 0) + float(value)
            elif key == 'Exit status' and value != '0':
                raise SystemExit(f'{path}: the measured process exited with status {value}')
    return out


def table(directory, n):
    runs = {}
    for name in ('floor', 'floor-payload', 'node', 'python'):
        reps = [read_time(os.path.join(directory, p)) for p in sorted(os.listdir(directory))
                if p.startswith(f'{name}-{n}.rep-') and p.endswith('.time')]
        if not reps:
            raise SystemExit(f'no {name}-{n}.rep-*.time in {directory}')
        runs[name] = min(reps, key=lambda r: r['wall'])  # best of REPEAT runs
        runs[name]['reps'] = len(reps)
    with open(os.path.join(directory, f'node-report-{n}.json')) as f:
        node = json.load(f)
    with open(os.path.join(directory, f'python-report-{n}.json')) as f:
        py = json.load(f)
    label = {'floor': 'Node floor: stream + JSON.parse',
             'floor-payload': 'Node floor + payload JSON.parse (info)',
             'node': 'Node engine: decode + DriftEngine',
             'python': 'Python json + numpy/scipy reference'}
    print(f'\n{int(n):,} capture records, {len(node["features"])} features\n')
    print(f'| {"run":<40} | {"wall s":>7} | {"CPU s":>7} | {"peak MB":>7} |')
    print(f'|{"-" * 42}|{"-" * 8}:|{"-" * 8}:|{"-" * 8}:|')
    for name, r in runs.items():
        print(f'| {label[name]:<40} | {r["wall"]:7.2f} | {r["cpu"]:7.2f} | {r["rssMb"]:7.0f} |')
    speedup = runs['python']['wall'] / runs['node']['wall']
    over_floor = runs['node']['wall'] / runs['floor']['wall']
    peak = runs['node']['rssMb']
    verdict = lambda ok: 'PASS' if ok else 'MISS'  # noqa: E731
    print()
    print(f'| {"target":<40} | {"measured":>9} | {"result":>6} |')
    print(f'|{"-" * 42}|{"-" * 10}:|{"-" * 7}:|')
    print(f'| {"python / node wall time >= 4x":<40} | {speedup:8.2f}x | {verdict(speedup >= 4):>6} |')
    print(f'| {"node / floor wall time <= 1.5x":<40} | {over_floor:8.2f}x | {verdict(over_floor <= 1.5):>6} |')
    print(f'| {"node peak RSS < 256 MB":<40} | {peak:6.0f} MB | {verdict(peak < 256):>6} |')
    print(f'\n(info) python / node CPU time: {runs["python"]["cpu"] / runs["node"]["cpu"]:.2f}x; node / floor CPU time: '
          f'{runs["node"]["cpu"] / runs["floor"]["cpu"]:.2f}x; node / (floor + payload parse) wall: '
          f'{runs["node"]["wall"] / runs["floor-payload"]["wall"]:.2f}x')

    # Sanity check (not a target): do both sides compute the same statistics?
    diffs = {}
    for name, f in node['features'].items():
        p = py['features'][name]
        d = {}
        for key in ('psi', 'jsDistance', 'missingRate'):
            if f.get(key) is not None and p.get(key) is not None:
                d[key] = abs(f[key] - p[key])
        if f.get('ks') and p.get('ks'):
            d['ks'] = abs(f['ks']['statistic'] - p['ks']['statistic'])
        if f.get('chiSquare') and p.get('chiSquare'):
            d['chi2'] = abs(f['chiSquare']['statistic'] - p['chiSquare']['statistic']) / max(1, p['chiSquare']['statistic'])
        diffs[name] = d
    worst = lambda key: max((d[key], n) for n, d in diffs.items() if key in d)  # noqa: E731
    print('\nNode vs Python agreement (sanity check, not a target):')
    print(f'  records      node {node["recordCount"]:,} / python {py["recordCount"]:,}')
    for key, what in (('psi', 'PSI (abs)'), ('jsDistance', 'JS distance (abs)'), ('missingRate', 'missing rate (abs)'),
                      ('ks', 'KS statistic (abs; node: 100k reservoir vs sketch CDF, python: all values vs sketch points)'),
                      ('chi2', 'chi-square statistic (relative)')):
        if any(key in d for d in diffs.values()):
            value, name = worst(key)
            print(f'  max diff {what}: {value:.3g} ({name})')
    print('  PSI per feature, |node - python|: ' + ', '.join(
        f'{n}={d["psi"]:.1e}' for n, d in diffs.items() if 'psi' in d))
    print(f'  drifted (PSI >= 0.2): node {node["driftedFeatures"]}, python '
          f'{sorted(n for n, f in py["features"].items() if f["psi"] is not None and f["psi"] >= 0.2)}')


def main(argv):
    if argv[:1] == ['--table'] and len(argv) == 3:
        table(argv[1], argv[2])
        return
    opts = dict(zip(argv[::2], argv[1::2]))
    if '--baseline' not in opts or '--capture' not in opts:
        raise SystemExit(__doc__)
    run(opts['--baseline'], opts['--capture'], opts.get('--out'))


if __name__ == '__main__':
    main(sys.argv[1:])
