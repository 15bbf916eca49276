"""Extraction throughput (abstracts/s) and streaming memory, plus both gold-set scores.

usage: python bench/bench_extraction.py [--docs 10000] [--stream 100000] [--repeats 3] [--n-process 1 2]
                                        [--cli-docs 5040] [--results bench/RESULTS.md]

Documents are generated (seeded) by recombining sentence templates: a title, methods, result sentences
in the reporting styles the extractor reads, mixed with unrelated sentences. Throughput is the median of
``--repeats`` runs of ``extract_paths`` over ``--docs`` documents written as text files; peak memory is
the ``ru_maxrss`` of a child process that streams ``--stream`` documents (memory should stay flat:
nothing is kept per document).
The CLI figure times ``sarcoma-evidence extract FOLDER --out FILE`` as a user runs it, the whole process
with default options (start-up, imports, the default ``--processes``, writing the JSONL), over
``--cli-docs`` files (5,040 by default), beside the start-up time of ``extract`` on one file and the
machine's load average when the run started.
The figures and the summary lines of ``score.py`` on both gold sets are appended to ``bench/RESULTS.md``
under a dated section of their own.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import glob
import io
import json
import multiprocessing as mp
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

DRUGS = [("pazopanib", "placebo"), ("trabectedin", "dacarbazine"), ("eribulin", "dacarbazine"),
         ("doxorubicin plus olaratumab", "doxorubicin alone"), ("regorafenib", "placebo"),
         ("gemcitabine plus docetaxel", "gemcitabine alone"), ("imatinib", "observation")]
HISTO = ["advanced soft-tissue sarcoma", "leiomyosarcoma", "liposarcoma or leiomyosarcoma", "angiosarcoma",
         "desmoid tumors", "synovial sarcoma", "undifferentiated pleomorphic sarcoma"]
RESULTS = [
    "Median progression-free survival was {m1} months (95% CI {l1}–{h1}) with {a} and {m2} months ({l2}–{h2}) "
    "with {b} (hazard ratio {hr}, 95% CI {hl}–{hh}; p={p}).",
    "Median overall survival with {a} and {b} was {m1} and {m2} months, respectively (HR {hr}; 95% CI {hl} to "
    "{hh}; P = .{pp}).",
    "Objective responses occurred in {r1}% of patients receiving {a} and in {r2}% of those receiving {b} (P<0.001).",
    "The 2-year PFS rate was {r1}% with {a} and {r2}% with {b}.",
    "PFS was longer with {a} (HR, {hr} [95% CI, {hl}-{hh}]; P<.001), with median PFS of {m1} vs {m2} months.",
]
FILLER = [
    "The median follow-up was {m1} months.", "Grade 3 neutropenia occurred in {r1}% of patients.",
    "Patients were enrolled at {n} centres in {k} countries.", "The median age was {age} years.",
    "Quality of life was assessed with the EORTC QLQ-C30 questionnaire.",
    "Safety was consistent with the known profile of each drug.",
    "Enrollment ran between 2015 and 2019.", "Toxicity was manageable, and no new safety signals emerged.",
]


def make_abstract(rng: random.Random) -> str:
    """One abstract-length document (about 1,500–2,000 characters)."""
    a, b = rng.choice(DRUGS)
    h = rng.choice(HISTO)
    n1, n2 = rng.randint(30, 300), rng.randint(30, 300)
    v = {"a": a, "b": b, "n": rng.randint(5, 90), "k": rng.randint(2, 20), "age": rng.randint(40, 70),
         "m1": round(rng.uniform(2, 30), 1), "m2": round(rng.uniform(1, 20), 1), "l1": 1.0, "h1": 40.0,
         "l2": 0.5, "h2": 30.0, "hr": round(rng.uniform(0.3, 1.2), 2), "hl": 0.2, "hh": 1.5,
         "p": round(rng.uniform(0.001, 0.5), 3), "pp": rng.randint(1, 99), "r1": rng.randint(5, 80),
         "r2": rng.randint(1, 60)}
    v["m2"] = min(v["m2"], v["m1"])
    parts = [f"{a.capitalize()} versus {b} in {h}: a randomised phase {rng.choice([2, 3])} trial", "",
             "Background", f"Outcomes in {h} remain poor. We compared {a} with {b}.", "", "Methods",
             f"Patients were randomly assigned to {a} or {b}. The primary endpoint was progression-free survival.",
             "", "Results", f"{n1 + n2} patients were randomised, {n1} to {a} and {n2} to {b}."]
    sents = [t.format(**v) for t in rng.sample(RESULTS, 3)] + [t.format(**v) for t in rng.sample(FILLER, 4)]
    rng.shuffle(sents)
    parts.append(" ".join(sents))
    parts += ["", "Conclusions", f"{a.capitalize()} is an option in {h}, with a manageable safety profile."]
    return "\n".join(parts)


def corpus(n: int, seed: int = 7) -> Iterator[str]:
    """``n`` generated abstracts (seeded, reproducible)."""
    rng = random.Random(seed)
    for _ in range(n):
        yield make_abstract(rng)


def write_corpus(n_docs: int, folder: str) -> list[str]:
    """The generated abstracts as ``.txt`` files in ``folder`` (paths in order)."""
    paths = []
    for i, text in enumerate(corpus(n_docs)):
        path = os.path.join(folder, f"abstract{i:06d}.txt")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        paths.append(path)
    return paths


def throughput(n_docs: int, n_process: int, repeats: int, batch_size: int = 64) -> list[float]:
    """Abstracts per second through ``extract_paths`` (files read, records validated), one per repeat.

    The pipeline is built once, before timing, for every ``n_process``; with ``n_process > 1`` the time
    includes starting the worker processes (forked with the pipeline, or spawned where this process runs
    threads, see ``extraction.extract.start_method``).
    """
    from extraction.extract import extract_paths
    from extraction.pipeline import build_pipeline

    nlp = build_pipeline()
    out = []
    with tempfile.TemporaryDirectory() as folder:
        paths = write_corpus(n_docs, folder)
        for _ in range(repeats):
            t0 = time.perf_counter()
            count = sum(1 for _ in extract_paths(paths, nlp, n_process=n_process, batch_size=batch_size))
            out.append(n_docs / (time.perf_counter() - t0))
            assert count > 0
    return out


def cli_throughput(n_docs: int, repeats: int) -> tuple[list[float], float]:
    """(abstracts/s of the whole ``sarcoma-evidence extract`` process per repeat, start-up seconds on one file)."""
    cli = os.path.join(os.path.dirname(sys.executable), "sarcoma-evidence")
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        docs = os.path.join(folder, "docs")
        os.mkdir(docs)
        paths = write_corpus(n_docs, docs)
        out = os.path.join(folder, "out.jsonl")
        t0 = time.perf_counter()
        subprocess.run([cli, "extract", paths[0], "--out", out], check=True, capture_output=True)
        startup = time.perf_counter() - t0
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([cli, "extract", docs, "--out", out], check=True, capture_output=True)
            runs.append(n_docs / (time.perf_counter() - t0))
    return runs, startup


def _stream_child(n_docs: int, q: mp.Queue) -> None:
    from extraction.extract import SimpleDocument, extract_document
    from extraction.pipeline import build_pipeline

    nlp = build_pipeline()
    rss = []
    for i, text in enumerate(corpus(n_docs)):
        # the whole path per document: pipeline, finalised and validated records (then dropped)
        _ = extract_document(nlp, SimpleDocument(text=text, source_id=f"file:{i:012d}"))
        if i % max(1, n_docs // 10) == 0:
            rss.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    rss.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    q.put(rss)


def stream_memory(n_docs: int) -> list[int]:
    """``ru_maxrss`` (KiB) of a child streaming ``n_docs`` documents, sampled ten times along the way."""
    q: mp.Queue = mp.Queue()
    p = mp.get_context("fork").Process(target=_stream_child, args=(n_docs, q)) if sys.platform != "win32" \
        else mp.Process(target=_stream_child, args=(n_docs, q))
    p.start()
    rss = q.get()
    p.join()
    return rss


def gold_summaries(gold_root: str = "/work/shared/gold") -> dict[str, str]:
    """score.py's summary line for each gold set (the extractor run in this process)."""
    from extraction.extract import extract_paths

    out = {}
    for subset in ("dev", "synthetic"):
        paths = sorted(glob.glob(os.path.join(gold_root, subset, "*.txt")))
        if not paths:
            continue
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
            for r in extract_paths(paths):
                fh.write(json.dumps(r, default=str) + "\n")
        res = subprocess.run([sys.executable, os.path.join(gold_root, "score.py"), os.path.join(gold_root, subset),
                              fh.name], capture_output=True, text=True, check=False)
        os.unlink(fh.name)
        out[subset] = next((ln for ln in res.stdout.splitlines() if ln.startswith("records")), res.stdout.strip())
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--stream", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n-process", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cli-docs", type=int, default=5040, help="files for the CLI run (0: skip it)")
    ap.add_argument("--results", default=os.path.join(os.path.dirname(__file__), "RESULTS.md"))
    args = ap.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [f"- machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load average {load:.2f} at start; "
             f"{args.docs} generated abstracts (mean {statistics.mean(len(t) for t in corpus(200)):.0f} chars)"]
    if args.cli_docs:
        runs, startup = cli_throughput(args.cli_docs, args.repeats)
        msg = (f"- `sarcoma-evidence extract DIR --out FILE` (whole process, default options) over {args.cli_docs} "
               f"files: median {statistics.median(runs):.0f} abstracts/s (runs: {', '.join(f'{r:.0f}' for r in runs)}); "
               f"`extract` on one file: {startup:.2f} s")
        print(msg)
        lines.append(msg)
    for n_proc in args.n_process:
        runs = throughput(args.docs, n_proc, args.repeats)
        msg = f"- extract_paths n_process={n_proc}: median {statistics.median(runs):.0f} abstracts/s " \
              f"(runs: {', '.join(f'{r:.0f}' for r in runs)})"
        print(msg)
        lines.append(msg)
    if args.stream:
        rss = stream_memory(args.stream)
        msg = (f"- streaming {args.stream} abstracts: peak RSS {rss[-1] / 1024:.0f} MiB; "
               f"RSS along the stream (MiB): {', '.join(f'{r / 1024:.0f}' for r in rss)}")
        print(msg)
        lines.append(msg)
    with contextlib.redirect_stderr(io.StringIO()):
        gold = gold_summaries()
    for subset, line in gold.items():
        msg = f"- gold {subset}: `{line}`"
        print(msg)
        lines.append(msg)
    section = f"\n## extraction benchmark and gold scores ({dt.date.today().isoformat()})\n\n" + "\n".join(lines) + "\n"
    with open(args.results, "a", encoding="utf-8") as fh:
        fh.write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
