#!/usr/bin/env python3
"""Median ratios of interleaved benchmark repetitions.

bench-summary.py FILE.tsv BASELINE: FILE has columns rep, job, device, iops,
MBps, cpu_s, secs and, from the VM benchmarks, sys_cpu_s (the whole
machine's busy time; older files lack it). For every job and every device
other than BASELINE, the ratio device/baseline is taken per repetition (the
two ran back to back), then reported as median (min..max), beside the
median absolute figures.
"""
import statistics
import sys
from collections import defaultdict

path, base = sys.argv[1], sys.argv[2]
rows = defaultdict(dict)  # (job, device) -> rep -> row
with open(path) as f:
    next(f)
    for line in f:
        rep, job, dev, iops, mbps, cpu, secs, *rest = line.rstrip("\n").split("\t")
        ios = float(iops) * float(secs)
        per_io = (lambda t: float(t) / ios * 1e6 if ios else 0)
        rows[(job, dev)][rep] = (float(iops), float(mbps), per_io(cpu),
                                 per_io(rest[0]) if rest else None)
has_sys = all(v[3] is not None for r in rows.values() for v in r.values())

print(f"| job | device | median IOPS | median MB/s | {base} median IOPS "
      f"| ratio (median, min..max) | CPU s per 1M I/O | {base} CPU s per 1M I/O |"
      + (f" machine CPU s per 1M I/O | {base} machine CPU s per 1M I/O |" if has_sys else "")
      + " n |")
print("| --- " * (11 if has_sys else 9) + "|")
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
              f"| {statistics.median(cpu):.1f} | {statistics.median(bcpu):.1f} |"
              + (f" {statistics.median([r[k][3] for k in reps]):.1f}"
                 f" | {statistics.median([b[k][3] for k in reps]):.1f} |" if has_sys else "")
              + f" {len(ratios)} |")
print("\nCPU: user+system seconds per million I/O of the initiator process alone (netublkd "
      "or netublk-perf; iscsi-perf where measured). 0 means not measurable: a kernel "
      "initiator or null_blk has no process of its own."
      + (" Machine CPU: every CPU's busy time (all processes, kernel threads and "
         "interrupts) per million I/O, the only CPU figure a kernel initiator has."
         if has_sys else ""))

# FILE.profile (NU_BENCH_PROFILE=1): each run's samples by CPU and thread
# name. Threads' busy time is scaled to the run's sys_cpu_s, per million I/O;
# each CPU's busy share is of that CPU's samples.
try:
    prof = open(path + ".profile")
except FileNotFoundError:
    sys.exit(0)
# (job, dev) -> rep -> (cpu, thread) -> pct
shares = defaultdict(lambda: defaultdict(lambda: defaultdict(float)))
for line in prof:
    rep, job, dev, cpu, thread, pct = line.rstrip("\n").split("\t")
    shares[(job, dev)][rep][(cpu, thread)] += float(pct)


def busy(s, cpu=None):
    """Non-idle share of the samples s, on one CPU or on all."""
    return sum(p for (c, t), p in s.items() if t != "idle" and cpu in (None, c))


def median_of(by_rep, value):
    """Median of value(rep, samples) over the repetitions where it is defined."""
    vals = [v for v in (value(rep, s) for rep, s in by_rep.items()) if v is not None]
    return (statistics.median(vals), len(vals)) if vals else (None, 0)


print("\n| job | device | thread | machine CPU s per 1M I/O (median) | n |")
print("| --- | --- | --- | --- | --- |")
for (job, dev), by_rep in sorted(shares.items()):
    def thread_per_io(rep, s, thread):
        row, all_busy = rows[(job, dev)].get(rep), busy(s)
        if not all_busy or not row or row[3] is None:
            return None
        return sum(p for (_, t), p in s.items() if t == thread) / all_busy * row[3]
    threads = {t for s in by_rep.values() for (_, t) in s if t != "idle"}
    out = [(*median_of(by_rep, lambda rep, s: thread_per_io(rep, s, t)), t) for t in threads]
    for v, n, t in sorted((o for o in out if o[0] is not None), reverse=True):
        if v >= 1:
            print(f"| {job} | {dev} | {t} | {v:.1f} | {n} |")

print("\n| job | device | CPU | busy % (median) | its largest threads, % of the CPU |")
print("| --- | --- | --- | --- | --- |")
for (job, dev), by_rep in sorted(shares.items()):
    for cpu in sorted({c for s in by_rep.values() for (c, _) in s}):
        def percent_of_cpu(s, part):
            total = sum(p for (c, _), p in s.items() if c == cpu)
            return 100 * part / total if total else None
        busy_pct, n = median_of(by_rep, lambda rep, s: percent_of_cpu(s, busy(s, cpu)))
        threads = {t for s in by_rep.values() for (c, t) in s if c == cpu and t != "idle"}
        top = sorted(((median_of(by_rep,
                                 lambda rep, s: percent_of_cpu(s, s.get((cpu, t), 0)))[0], t)
                      for t in threads), reverse=True)[:4]
        print(f"| {job} | {dev} | {cpu} | {busy_pct:.0f} | "
              + ", ".join(f"{t} {v:.0f}" for v, t in top if v >= 1) + " |")
