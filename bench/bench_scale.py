"""Corpus-scale extraction throughput: abstracts/s of the ``local`` and ``dask`` engines.

Generates PubMed-baseline-style files (``tests/fixtures/make_pubmed.py``; default 100,000 abstracts in
20 files, 5 % sarcoma trials) and runs :func:`extraction.engine.run_extraction` on them with each
engine into a fresh output folder, ``--repeats`` times, printing the median abstracts/s. It also times
the two stages apart on one file — reading + pre-filter per abstract, pipeline per kept abstract — so
the rate can be projected to another keep rate (``--pubmed-keep``) and to all of PubMed.

    python bench/bench_scale.py [--n 100000] [--files 20] [--repeats 3] [--workers 2] [--results bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extraction.engine import run_extraction
from extraction.ingest import read_documents
from extraction.prefilter import document_is_relevant
from extraction.worker import extract_stream, get_pipeline
from tests.fixtures.make_pubmed import make_baseline_files

PUBMED_ABSTRACTS = 36_000_000


def corpus(folder: Path, n: int, files: int, seed: int) -> list[Path]:
    """The generated baseline files (reused when already there)."""
    want = [folder / f"pubmed24n{i + 1:04d}.xml.gz" for i in range(files)]
    stamp = folder / f".made-{n}-{files}-{seed}"
    if not stamp.exists():
        shutil.rmtree(folder, ignore_errors=True)
        make_baseline_files(folder, files, n // files, seed=seed, sarcoma_fraction=0.05)
        stamp.touch()
    return want


def time_engine(paths: list[Path], engine: str, workers: int, repeats: int, scratch: Path) -> list[tuple[float, dict]]:
    """(seconds, totals) per repeat, each into a fresh output folder (a LocalCluster started each time)."""
    runs = []
    for i in range(repeats):
        out = scratch / f"{engine}-{i}"
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        manifest = run_extraction(paths, out, engine=engine, workers=workers if engine == "dask" else None)
        runs.append((time.perf_counter() - start, manifest.totals()))
        shutil.rmtree(out, ignore_errors=True)
    return runs


def stage_costs(path: Path) -> dict[str, float]:
    """Seconds per abstract to read + pre-filter, and per kept abstract in the pipeline (one core)."""
    start = time.perf_counter()
    docs = list(read_documents(path))
    kept = [d for d in docs if document_is_relevant(d)]
    scan = (time.perf_counter() - start) / len(docs)
    nlp = get_pipeline()
    list(extract_stream(nlp, kept[:20]))  # warm-up
    start = time.perf_counter()
    list(extract_stream(nlp, kept))
    pipe = (time.perf_counter() - start) / len(kept)
    chars = statistics.mean(len(d.text) for d in docs)
    return {"scan": scan, "pipeline": pipe, "keep": len(kept) / len(docs), "chars": chars}


def main() -> None:
    """Run the benchmark, print medians, optionally append them to RESULTS.md."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "sarcoma-bench-pubmed")
    ap.add_argument("--pubmed-keep", type=float, default=0.015, help="assumed sarcoma share of real PubMed")
    ap.add_argument("--results", type=Path, help="append a '## scale benchmark (DATE)' section to this file")
    a = ap.parse_args()

    paths = corpus(a.data, a.n, a.files, a.seed)
    costs = stage_costs(paths[0])
    scratch = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        results = {engine: time_engine(paths, engine, a.workers, a.repeats, scratch) for engine in ("local", "dask")}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    n = results["local"][0][1]["scanned"]
    kept = results["local"][0][1]["kept"]
    rate = {e: statistics.median(n / s for s, _ in runs) for e, runs in results.items()}
    per_abstract = costs["scan"] + a.pubmed_keep * costs["pipeline"]  # core-seconds at the real keep rate
    core_hours = PUBMED_ABSTRACTS * per_abstract / 3600
    load = os.getloadavg()[0]
    lines = [
        f"## scale benchmark ({date.today().isoformat()})",
        "",
        f"`python bench/bench_scale.py --n {a.n} --files {a.files} --repeats {a.repeats} --workers {a.workers}` on "
        f"{os.cpu_count()} cores (load average {load:.1f} at the end: the machine is shared). {n:,} generated "
        f"baseline-style abstracts in {a.files} gzipped files (mean {costs['chars']:.0f} characters), "
        f"{kept:,} kept by the pre-filter ({kept / n:.1%}); medians of {a.repeats} runs, each into a fresh folder.",
        "",
        "| engine | abstracts/s (median) | runs (s) |",
        "|---|---|---|",
        *(f"| {e}{' (' + str(a.workers) + ' workers, LocalCluster start included)' if e == 'dask' else ' (1 process)'}"
          f" | {rate[e]:,.0f} | {', '.join(f'{s:.1f}' for s, _ in runs)} |" for e, runs in results.items()),
        "",
        f"Stages on one core: read + pre-filter {costs['scan'] * 1e6:.0f} µs per abstract; pipeline "
        f"{costs['pipeline'] * 1e3:.1f} ms per kept abstract. At a real sarcoma share of {a.pubmed_keep:.1%}, "
        f"one core costs {per_abstract * 1e6:.0f} µs per PubMed abstract: {PUBMED_ABSTRACTS / 1e6:.0f}M abstracts = "
        f"{core_hours:.1f} core-hours.",
        "",
    ]
    print("\n".join(lines))
    if a.results:
        with a.results.open("a", encoding="utf-8") as fh:
            fh.write(("\n" if a.results.exists() and a.results.stat().st_size else "") + "\n".join(lines))


if __name__ == "__main__":
    main()
