#!/usr/bin/env python3
"""Reads a Prometheus text exposition (0.0.4) on stdin, parses it with
prometheus_client's parser (Debian python3-prometheus-client) and checks:
every family has # TYPE before its samples, no series twice, histogram
buckets cumulative and ending in +Inf equal to _count. Prints one JSON
object: {"errors": [...], "families": {name: {"type", "help", "samples": [[name,
labels, value], ...]}}}; exits 1 when there are errors."""
import json
import math
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
errors = []

# raw pass: # TYPE precedes every sample of its family, once per family
typed = {}
sample_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$')
for n, line in enumerate(text.split('\n'), 1):
    if not line:
        continue
    if line.startswith('# TYPE '):
        parts = line.split()
        if len(parts) != 4:
            errors.append('line %d: malformed # TYPE' % n)
            continue
        if parts[2] in typed:
            errors.append('line %d: second # TYPE for %s' % (n, parts[2]))
        typed[parts[2]] = parts[3]
        continue
    if line.startswith('#'):
        if not line.startswith('# HELP '):
            errors.append('line %d: a comment that is neither HELP nor TYPE' % n)
        continue
    m = sample_re.match(line)
    if not m:
        errors.append('line %d: not a sample line' % n)
        continue
    name = m.group(1)
    base = None
    for cand in (name, re.sub(r'_(bucket|sum|count)$', '', name)):
        if cand in typed:
            base = cand
            break
    if base is None:
        errors.append('line %d: sample %s has no # TYPE before it' % (n, name))
    elif base != name and typed[base] != 'histogram' and typed[base] != 'summary':
        errors.append('line %d: %s under non-histogram %s' % (n, name, base))

families = {}
seen = set()
try:
    parsed = list(text_string_to_metric_families(text))
except Exception as e:  # the real parser refused it
    print(json.dumps({'errors': ['parser: %s' % e], 'families': {}}))
    sys.exit(1)
for fam in parsed:
    if fam.type in ('unknown', 'untyped'):
        errors.append('family %s has no type' % fam.name)
    samples = []
    for s in fam.samples:
        key = (s.name, tuple(sorted(s.labels.items())))
        if key in seen:
            errors.append('duplicate series %s %s' % (s.name, sorted(s.labels.items())))
        seen.add(key)
        value = s.value
        if math.isinf(value) or math.isnan(value):
            errors.append('series %s: value %s' % (s.name, value))
            value = None
        samples.append([s.name, s.labels, value])
    if fam.type == 'histogram':
        groups = {}
        for name, labels, value in samples:
            rest = tuple(sorted((k, v) for k, v in labels.items() if k != 'le'))
            g = groups.setdefault(rest, {'buckets': [], 'count': None, 'sum': None})
            if name.endswith('_bucket'):
                g['buckets'].append((float(labels['le']), labels['le'], value))
            elif name.endswith('_count'):
                g['count'] = value
            elif name.endswith('_sum'):
                g['sum'] = value
        for rest, g in groups.items():
            b = g['buckets']
            where = '%s%s' % (fam.name, dict(rest))
            if not b:
                errors.append('%s: no buckets' % where)
                continue
            if [x[0] for x in b] != sorted(x[0] for x in b):
                errors.append('%s: buckets not in le order' % where)
            if any(b[i][2] > b[i + 1][2] for i in range(len(b) - 1)):
                errors.append('%s: buckets not cumulative' % where)
            if not math.isinf(b[-1][0]) or b[-1][1] != '+Inf':
                errors.append('%s: the last bucket is not le="+Inf"' % where)
            if g['count'] is None or b[-1][2] != g['count']:
                errors.append('%s: +Inf bucket %s != _count %s' % (where, b[-1][2], g['count']))
            if g['sum'] is None:
                errors.append('%s: no _sum' % where)
    families[fam.name] = {'type': fam.type, 'help': fam.documentation, 'samples': samples}

print(json.dumps({'errors': errors, 'families': families}))
sys.exit(1 if errors else 0)
