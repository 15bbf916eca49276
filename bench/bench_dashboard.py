"""Dashboard benchmark: the server-side recompute when a committee changes a filter, on 10,000 records.

Builds a SQLite store of 10,000 generated records (valid schema; a realistic spread over histotypes,
comparisons, endpoints and measures; several reports per trial), then times, as medians of repeated
runs:

1. the pure functions a page calls after a filter change — ``views.filter_records`` +
   ``views.map_table`` (the evidence map of the question, pooled by ``meta.pool_table``) +
   ``analysis.analyse_cell`` (the chosen cell's pooled estimate) — with caches cold;
2. an ``AppTest`` rerun of the evidence-table page after changing the histotype filter widget (Streamlit's
   script run with its caches warm for the store, cold for the new filter).

Goal: < 200 ms for (1). Writes its section of bench/RESULTS.md ("## dashboard benchmark (DATE)").
Run: ``.venv/bin/python bench/bench_dashboard.py [--records 10000] [--repeat 15]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboards import analysis, views  # noqa: E402
from dashboards.state import ViewState  # noqa: E402
from evidence.store import Store  # noqa: E402

HISTOTYPES = ["soft_tissue_sarcoma", "leiomyosarcoma", "uterine_leiomyosarcoma", "liposarcoma",
              "dedifferentiated_liposarcoma", "myxoid_liposarcoma", "synovial_sarcoma",
              "undifferentiated_pleomorphic_sarcoma", "angiosarcoma", "gist", "rhabdomyosarcoma", "mpnst",
              "desmoid_tumor", "ewing_sarcoma", "myxofibrosarcoma", "solitary_fibrous_tumor"]
H_WEIGHT = np.array([30, 14, 5, 8, 4, 3, 5, 5, 4, 10, 3, 2, 3, 3, 2, 2], float)
COMPARISONS = [("doxorubicin+olaratumab", "doxorubicin"), ("trabectedin", "dacarbazine"),
               ("eribulin", "dacarbazine"), ("pazopanib", "placebo"), ("docetaxel+gemcitabine", "gemcitabine"),
               ("doxorubicin+ifosfamide", "doxorubicin"), ("regorafenib", "placebo"), ("imatinib", "placebo"),
               ("sunitinib", "imatinib"), ("ripretinib", "placebo"),
               ("nirogacestat", "placebo"), ("cabozantinib", "placebo"), ("doxorubicin", "observation"),
               ("ifosfamide", "doxorubicin"), ("paclitaxel", "best_supportive_care"), ("temozolomide", "dacarbazine")]
ENDPOINTS = ["OS", "PFS", "ORR", "DFS", "EFS"]
E_WEIGHT = np.array([35, 40, 15, 6, 4], float)


def generate(n_records: int, seed: int = 20240611) -> list[dict]:
    """Valid records: trials of 3–6 records each (a contrast HR/OR with CI, arm medians or rates)."""
    rng = np.random.default_rng(seed)
    out: list[dict] = []
    t = 0
    while len(out) < n_records:
        t += 1
        hist = [HISTOTYPES[rng.choice(len(HISTOTYPES), p=H_WEIGHT / H_WEIGHT.sum())]]
        if rng.random() < 0.08:
            hist.append(HISTOTYPES[rng.integers(1, len(HISTOTYPES))])
        inter, comp = COMPARISONS[int(rng.integers(len(COMPARISONS)))]
        year, phase = int(rng.integers(2000, 2025)), str(rng.choice(["2", "3", "1/2", "2/3"]))
        n = int(rng.integers(40, 700))
        sid = f"PMID:{10_000_000 + t}"
        base = {"source_id": sid, "source_title": f"Generated trial {t}", "year": year, "trial": f"GEN-{t}",
                "phase": phase, "randomized": True, "setting": "advanced", "histotypes": hist,
                "intervention": inter, "comparator": comp, "status": "accepted" if rng.random() < 0.85 else "extracted"}
        for j in range(int(rng.integers(3, 7))):
            ep = ENDPOINTS[rng.choice(len(ENDPOINTS), p=E_WEIGHT / E_WEIGHT.sum())]
            start = 400 * j
            if j % 3 == 0:
                measure = "OR" if ep == "ORR" else "HR"
                se = rng.uniform(0.08, 0.4)
                y = rng.normal(-0.2, 0.25)
                v, lo, hi = (round(float(np.exp(x)), 2) for x in (y, y - 1.96 * se, y + 1.96 * se))
                lo, hi = min(lo, v), max(hi, v)
                rec = {"arm": "contrast", "measure": measure, "value": v, "ci_low": lo, "ci_high": hi, "n": n}
                text = f"The {measure} for {ep} was {v} (95% CI {lo} to {hi})."
            elif ep == "ORR":
                v = round(float(rng.uniform(0.02, 0.5)), 2)
                rec = {"arm": "intervention" if j % 2 else "comparator", "measure": "rate", "value": v, "n": n // 2}
                text = f"Objective response occurred in {v} of patients."
            else:
                v = round(float(rng.uniform(2, 30)), 1)
                lo, hi = round(v * 0.8, 1), round(v * 1.25, 1)
                rec = {"arm": "intervention" if j % 2 else "comparator", "measure": "median", "value": v,
                       "ci_low": lo, "ci_high": hi, "unit": "months", "n": n // 2}
                text = f"Median {ep} was {v} months ({lo} to {hi})."
            vpos = text.index(str(v))
            out.append({**base, **rec, "endpoint": ep, "evidence_text": text, "char_start": start,
                        "char_end": start + len(text), "value_start": start + vpos,
                        "value_end": start + vpos + len(str(v))})
    return out[:n_records]


def recompute(df: pd.DataFrame, state: ViewState) -> tuple[int, int]:
    """What a page computes after a filter change: filter, the map of the question, the top cell's pool."""
    f = views.filter_records(df, state)
    endpoint, measure, arm = views.resolve_question(f, state)
    table = views.map_table(f, endpoint, measure, arm if measure in ("rate", "median") else "")
    top = table.sort_values("k", ascending=False).iloc[0] if len(table) else None
    cp = analysis.analyse_cell(f, None if top is None else top.to_dict())
    return len(table), 0 if cp is None else cp.k


def median_ms(fn, repeat: int) -> tuple[float, list[float]]:
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore", RuntimeWarning)  # non-converged cells are reported on the page, not here

    tmp = Path(tempfile.mkdtemp(prefix="bench_dash_"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    recs = generate(args.records)
    t0 = time.perf_counter()
    store = Store(url)
    store.import_records([__import__("evidence.schema", fromlist=["x"]).validate_record(r) for r in recs],
                         reviewer="bench")
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    df = store.records_frame()
    load_ms = (time.perf_counter() - t0) * 1000
    print(f"store of {len(df)} records built in {build_s:.1f} s; records_frame() {load_ms:.0f} ms")

    filters = [ViewState(), ViewState(histotypes=("leiomyosarcoma",)), ViewState(agents=("doxorubicin",)),
               ViewState(histotypes=("gist", "liposarcoma")), ViewState(phases=("3",)),
               ViewState(endpoints=("PFS",)), ViewState(statuses=())]
    rows = []
    for name, fn in [("filter_records", lambda i: views.filter_records(df, filters[i % len(filters)])),
                     ("map_table (question of the view)", lambda i: views.map_table(
                         views.filter_records(df, filters[i % len(filters)]), "PFS", "HR")),
                     ("filter + map + cell pool (page recompute)", lambda i: recompute(df, filters[i % len(filters)]))]:
        med, times = median_ms(fn, args.repeat)
        rows.append((name, med, min(times), max(times)))
        print(f"{name:45s} median {med:7.1f} ms  (min {min(times):.1f}, max {max(times):.1f})")

    from streamlit.testing.v1 import AppTest

    os.environ["SARCOMA_EVIDENCE_DB"] = url
    at = AppTest.from_file(str(ROOT / "dashboards" / "app.py"), default_timeout=120).run()
    # the evidence-table page: AppTest does not replay a sidebar change on the map page (its plotly
    # selection widget is an element AppTest does not model); in a browser the map reruns the same way
    at.switch_page("screens/evidence_table.py").run()
    assert not at.exception, at.exception
    choices = ["leiomyosarcoma", "gist", "liposarcoma", "synovial_sarcoma", "angiosarcoma", "desmoid_tumor",
               "mpnst", "ewing_sarcoma", "myxofibrosarcoma", "rhabdomyosarcoma", "soft_tissue_sarcoma",
               "undifferentiated_pleomorphic_sarcoma", "dedifferentiated_liposarcoma", "myxoid_liposarcoma",
               "uterine_leiomyosarcoma"]

    def rerun(i: int) -> None:
        at.multiselect(key="f_histotype").set_value([choices[i % len(choices)]]).run()
        assert not at.exception, at.exception

    med, times = median_ms(rerun, min(args.repeat, len(choices)))
    rows.append(("AppTest rerun of the evidence-table page after a filter change", med, min(times), max(times)))
    print(f"{'AppTest rerun (table page, filter change)':45s} median {med:7.1f} ms  "
          f"(min {min(times):.1f}, max {max(times):.1f})")
    store.close()
    if not args.no_write:
        write_results(rows, len(df), build_s, load_ms, args.repeat)


def write_results(rows, n, build_s, load_ms, repeat) -> None:
    import numpy
    import streamlit

    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    head = f"## dashboard benchmark ({date.today().isoformat()})"
    lines = [head, "",
             f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
             f"numpy {numpy.__version__}, streamlit {streamlit.__version__}.",
             f"Data: a SQLite store of {n} generated records (seed 20240611; 16 histotypes, 16 comparisons, "
             "5 endpoints, "
             f"HR/OR contrasts, arm medians and rates; built in {build_s:.1f} s, `records_frame()` {load_ms:.0f} ms — "
             "cached by the app, not part of a rerun). Medians of "
             f"{repeat} runs, each after a different filter (caches cold for the pure functions); "
             "run with `.venv/bin/python bench/bench_dashboard.py`. Goal: page recompute < 200 ms.", "",
             "| what | median (ms) | min (ms) | max (ms) |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {med:.1f} | {lo:.1f} | {hi:.1f} |" for name, med, lo, hi in rows]
    section = "\n".join(lines) + "\n"
    pattern = re.compile(r"## dashboard benchmark \([^)]*\)\n.*?(?=\n## |\Z)", re.S)
    text = pattern.sub(lambda _: section.rstrip("\n"), text) if pattern.search(text) else \
        text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")
    print(f"wrote {head} to {path}")


if __name__ == "__main__":
    main()
