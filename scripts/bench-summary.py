#!/usr/bin/env python3
"""Median ratios of interleaved benchmark repetitions.

bench-summary.py FILE.tsv BASELINE: FILE has columns rep, job, device, iops,
MBps, cpu_ticks. For every job and every device other than BASELINE, the
ratio device/baseline is taken per repetition (the two ran back to back),
then reported as median (min..max), beside the median absolute figures.
"""
import statistics
import sys
from collections import defaultdict

path, base = sys.argv[1], sys.argv[2]
rows = defaultdict(dict)  # (job, device) -> rep -> row
with open(path) as f:
    next(f)
    for line in f:
        rep, job, dev, iops, mbps, cpu, secs = line.rstrip("\n").split("\t")
        ios = float(iops) * float(secs)
        rows[(job, dev)][rep] = (float(iops), float(mbps), float(cpu) / ios * 1e6 if ios else 0)

print(f"| job | device | median IOPS | median MB/s | {base} median IOPS "
      f"| ratio (median, min..max) | CPU s per 1M I/O | {base} CPU s per 1M I/O | n |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for job in sorted({j for j, _ in rows}):
    b = rows.get((job, base), {})
    for dev in sorted({d for j, d in rows if j == job and d != base}):
        r = rows[(job, dev)]
        reps = sorted(set(r) & set(b))
        ratios = [r[k][0] / b[k][0] for k in reps if b[k][0]]
        ios = [r[k][0] for k in reps]
        mb = [r[k][1] for k in reps]
        cpu = [r[k][2] for k in reps]
        bcpu = [b[k][2] for k in reps]
        if not ratios:
            continue
        print(f"| {job} | {dev} | {statistics.median(ios):.0f} | {statistics.median(mb):.1f} "
              f"| {statistics.median([b[k][0] for k in reps]):.0f} "
              f"| {statistics.median(ratios):.2f} ({min(ratios):.2f}..{max(ratios):.2f}) "
              f"| {statistics.median(cpu):.1f} | {statistics.median(bcpu):.1f} | {len(ratios)} |")
print("\nCPU: user+system seconds per million I/O of the initiator process alone (netublkd "
      "or netublk-perf; iscsi-perf where measured). 0 means not measurable: a kernel "
      "initiator or null_blk has no process of its own.")
