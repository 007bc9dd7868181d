#!/usr/bin/env python3
"""Ratios from the JSON lines bench/run.sh collected (bench/measure.py and probe.py output).

usage: bench/ratios.py RESULTS.jsonl OBJECTS
Shallow and deep objects/s of bucket-delta over the baseline's and rclone's; client CPU per object of
the baseline over bucket-delta's; the deep check's request rate (4 requests per key: HEAD and
GetObjectTagging on both sides) against the raw HEAD ceiling; the shallow check's listing rate (two
buckets listed) against one raw sequential listing; the same speed and CPU ratios for one stream per
bucket; and the upper bound of the shallow speed ratio that the server's raw parallel listing rate
allows (two buckets of keys at that rate, over the baseline's objects/s).
"""
import json, sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith('{')]
objects = int(sys.argv[2])
by = {r['label']: r for r in rows if 'label' in r}
ceil = {r['ceiling']: r for r in rows if 'ceiling' in r}


def rate(label):
    r = by.get(label)
    return r and r.get('exit') in (0, 1) and r.get('objects_per_s_wall')


def cpu(label):
    r = by.get(label)
    return r and r.get('cpu_ms_per_object')


out = {}
for mode in ('shallow', 'deep'):
    bd = rate(f'bucket-delta-{mode}')
    for other in (f'baseline-{mode}', 'rclone-check' if mode == 'shallow' else None):
        if other and bd and rate(other):
            out[f'{mode}_speed_vs_{other.split("-")[0]}'] = round(bd / rate(other), 2)
    if cpu(f'bucket-delta-{mode}') and cpu(f'baseline-{mode}'):
        out[f'{mode}_cpu_per_object_baseline_over_ours'] = round(cpu(f'baseline-{mode}') / cpu(f'bucket-delta-{mode}'), 1)
if rate('bucket-delta-deep') and 'head' in ceil:
    ours = 4 * rate('bucket-delta-deep')
    out['deep_requests_per_s'] = round(ours)
    out['raw_head_ceiling_req_per_s'] = ceil['head']['req_per_s']
    out['deep_share_of_head_ceiling'] = round(ours / ceil['head']['req_per_s'], 2)
for mode in ('shallow', 'deep'):
    if rate(f'bucket-delta-{mode}') and rate(f'bucket-delta-{mode}-single'):
        out[f'{mode}_key_ranges_over_single_stream'] = round(rate(f'bucket-delta-{mode}') / rate(f'bucket-delta-{mode}-single'), 2)
if rate('bucket-delta-shallow') and 'list' in ceil:
    # the shallow check lists two buckets of about `objects` keys each
    out['shallow_keys_listed_per_s'] = round(2 * rate('bucket-delta-shallow'))
    out['shallow_single_stream_keys_listed_per_s'] = round(2 * (rate('bucket-delta-shallow-single') or 0))
    out['raw_sequential_list_keys_per_s'] = ceil['list']['keys_per_s']
    if 'listpar' in ceil:
        out['raw_parallel_list_keys_per_s'] = ceil['listpar']['keys_per_s']
for mode in ('shallow', 'deep'):
    # the same ratios for one stream per bucket (--range_listers 1)
    single, base = rate(f'bucket-delta-{mode}-single'), rate(f'baseline-{mode}')
    if single and base:
        out[f'{mode}_single_stream_speed_vs_baseline'] = round(single / base, 2)
    if cpu(f'bucket-delta-{mode}-single') and cpu(f'baseline-{mode}'):
        out[f'{mode}_single_stream_cpu_per_object_baseline_over_ours'] = round(
            cpu(f'baseline-{mode}') / cpu(f'bucket-delta-{mode}-single'), 1)
if 'listpar' in ceil and rate('baseline-shallow'):
    # the most any client can reach here: two buckets listed at the server's parallel listing rate
    out['shallow_speed_vs_baseline_upper_bound'] = round(ceil['listpar']['keys_per_s'] / 2 / rate('baseline-shallow'), 2)
print(json.dumps({'ratios': out}))
