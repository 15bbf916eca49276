"""Fuzz every reader of untrusted input on demand: N mutated inputs per reader (default 100,000).

    .venv/bin/python bench/fuzz_readers.py [--n 100000] [--readers pubmed,gzip,pdf,ctgov,text,csv]
                                           [--processes 2] [--nice 10] [--budget SECONDS]

Cases are ``tests/fuzz_harness.py``'s: seeded mutations of a valid file per reader (PubMed XML, the
same gzipped, a PDF, ClinicalTrials.gov JSON, a text file, a CSV of records for ``import``), so any
failure is rerun from its reader and seed (``run_case("pdf", 4711)``). Each reader's seeds are split
over ``--processes`` fresh processes (lowered to ``--nice``); each records, per case, whether the
reader returned valid output (ok), refused it with its one-line error (refused), raised anything
else (crash), returned output that breaks an invariant (wrong) or ran over 10 s (hang), and its peak
RSS. ``--budget`` stops a process after that many seconds and reports how many cases it ran.
Prints a Markdown table for bench/RESULTS.md and the seeds of every crash, wrong output and hang.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _shard(reader: str, start: int, stop: int, budget: float, nice: int, hang_limit: float) -> dict:
    os.nice(nice)
    logging.disable(logging.CRITICAL)  # pypdf and the CT.gov reader log every broken input
    from tests.fuzz_harness import run_many

    counts: collections.Counter[str] = collections.Counter()
    slowest = [0.0]
    t0 = time.perf_counter()
    done = [0]

    class Budget(Exception):
        pass

    def seen(o) -> None:
        counts[o.kind] += 1
        slowest[0] = max(slowest[0], o.seconds)
        done[0] += 1
        if budget and time.perf_counter() - t0 > budget:
            raise Budget

    bad = []
    try:
        bad = run_many(reader, range(start, stop), on_outcome=seen, time_limit=hang_limit)
    except Budget:
        pass
    return {"reader": reader, "cases": done[0], "counts": dict(counts), "slowest": slowest[0],
            "seconds": time.perf_counter() - t0, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "bad": [(o.seed, o.kind, o.detail) for o in bad]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="cases per reader")
    ap.add_argument("--readers", default="pubmed,gzip,pdf,ctgov,text,csv")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--nice", type=int, default=10)
    ap.add_argument("--budget", type=float, default=0, help="seconds per process and reader (0: no limit)")
    ap.add_argument("--hang", type=float, default=10.0, help="seconds after which a case is a hang")
    args = ap.parse_args(argv)
    readers = [r.strip() for r in args.readers.split(",") if r.strip()]
    step = -(-args.n // args.processes)
    tasks = [(r, i, min(i + step, args.n), args.budget, args.nice, args.hang)
             for r in readers for i in range(0, args.n, step)]
    results: dict[str, list[dict]] = collections.defaultdict(list)
    with ProcessPoolExecutor(args.processes, max_tasks_per_child=1) as pool:
        for res in pool.map(_shard, *zip(*tasks, strict=True)):
            results[res["reader"]].append(res)
            print(f"{res['reader']}: {res['cases']} cases in {res['seconds']:.0f} s {res['counts']}, slowest "
                  f"{res['slowest']:.2f} s, peak RSS {res['rss_mib']:.0f} MiB, {len(res['bad'])} bad", file=sys.stderr)
    print("| reader | cases | ok | refused (one line) | crashes | wrong | hangs (> "
          f"{args.hang:g} s) | slowest case | peak RSS per process |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in readers:
        c: collections.Counter[str] = collections.Counter()
        for res in results[r]:
            c.update(res["counts"])
        print(f"| {r} | {sum(x['cases'] for x in results[r]):,} | {c['ok']:,} | {c['refused']:,} | {c['crash']} | "
              f"{c['wrong']} | {c['hang']} | {max(x['slowest'] for x in results[r]):.2f} s | "
              f"{max(x['rss_mib'] for x in results[r]):.0f} MiB |")
    bad = [(r, *b) for r in readers for res in results[r] for b in res["bad"]]
    for r, seed, kind, detail in bad[:50]:
        print(f"- {kind}: run_case({r!r}, {seed}): {detail}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
