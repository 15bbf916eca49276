"""Gold smoke tests (score.py logic on both gold sets), the real seed documents, robustness and scale."""

import contextlib
import gc
import glob
import importlib.util
import io
import os
import re
import time
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence.schema import FIELDS
from extraction.extract import SimpleDocument, chunk_bounds, extract_document, extract_paths
from extraction.pipeline import build_pipeline

GOLD = "/work/shared/gold"
SEEDS = "/work/shared/seeds"
needs_gold = pytest.mark.skipif(not os.path.isdir(GOLD), reason="shared gold sets not mounted")


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _score(gold_dir, records, tmp_path):
    """Run score.py's own logic and return (P, R, arms, histotypes)."""
    import json

    spec = importlib.util.spec_from_file_location("gold_score", os.path.join(GOLD, "score.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    pred = tmp_path / "pred.jsonl"
    pred.write_text("".join(json.dumps(r, default=str) + "\n" for r in records), encoding="utf-8")
    buf = io.StringIO()
    # score.py (read-only, shared) leaves files to the garbage collector: collect them here, quietly
    with contextlib.redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        mod.main(["score.py", gold_dir, str(pred)])
        gc.collect()
    m = re.search(r"records P=([\d.]+) R=([\d.]+).*arms=([\d.na/]+) histotypes=([\d.na/]+)", buf.getvalue())
    assert m, buf.getvalue()
    return tuple(float(x) if x != "n/a" else 1.0 for x in m.groups())


@needs_gold
@pytest.mark.parametrize("subset", ["dev", "synthetic"])
def test_gold_smoke(nlp, subset, tmp_path):
    paths = sorted(glob.glob(os.path.join(GOLD, subset, "*.txt")))
    records = list(extract_paths(paths, nlp))
    assert records and all(tuple(r) == FIELDS for r in records)
    p, r, arms, hist = _score(os.path.join(GOLD, subset), records, tmp_path)
    assert p >= 0.95 and r >= 0.90 and arms >= 0.90 and hist >= 0.90


@needs_gold
def test_seeds_no_crash_and_eribulin_hr(nlp):
    errors = []
    records = list(extract_paths(sorted(glob.glob(os.path.join(SEEDS, "*.txt"))), nlp,
                                 on_error=lambda p, e: errors.append((p, e))))
    assert not errors
    hits = [r for r in records if r["measure"] == "HR" and r["value"] == 0.77]
    assert hits and hits[0]["ci_low"] == 0.62 and hits[0]["ci_high"] == 0.95
    assert (hits[0]["intervention"], hits[0]["comparator"], hits[0]["endpoint"]) == ("eribulin", "dacarbazine", "OS")


def test_on_error_reports_a_missing_file_and_the_batch_goes_on(nlp, tmp_path):
    good = tmp_path / "ok.txt"
    good.write_text("Sunitinib versus placebo: a randomised phase 3 trial\n\nOS was longer (HR 0.70, "
                    "95% CI 0.55-0.89; p=0.004).", encoding="utf-8")
    errors = []
    recs = list(extract_paths([str(tmp_path / "missing.txt"), str(good)], nlp,
                              on_error=lambda p, e: errors.append(p)))
    assert errors == [str(tmp_path / "missing.txt")]
    assert [r["value"] for r in recs] == [0.7]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
       | st.lists(st.sampled_from(["HR", "95% CI", "0·5–0·9", "p<0·001", "(", ")", "months", "vs", "1e308",
                                   "9" * 40, "%", "placebo", "versus", "doxorubicin", "LMS", "median", "OS",
                                   "respectively", "\n", ";", ".", "2 of 12", "at 3 years", "n = 0"]),
                  max_size=60).map(" ".join))
def test_arbitrary_unicode_never_raises(nlp, text):
    recs = extract_document(nlp, SimpleDocument(text=text, source_id="file:000000000000"))
    assert all(tuple(r) == FIELDS for r in recs)


def test_ten_megabyte_text_is_split_and_processed(nlp):
    stat = ("Sunitinib versus placebo in angiosarcoma. Median OS was 9.0 months with sunitinib and 6.0 months "
            "with placebo (HR 0.70, 95% CI 0.55-0.89; p=0.004).\n\n")
    prose = ("Soft-tissue sarcomas are rare tumours of mesenchymal origin, and their management needs a team "
             "with experience of surgery, radiotherapy and systemic treatment for each histotype.\n\n")
    block = stat + prose * 40
    text = block * (10_000_000 // len(block) + 1)
    assert len(chunk_bounds(text)) >= 11
    t0 = time.perf_counter()
    recs = extract_document(nlp, SimpleDocument(text=text, source_id="file:000000000000"))
    assert time.perf_counter() - t0 < 150
    assert recs and all(text[r["value_start"]:r["value_end"]] in ("9.0", "6.0", "0.70") for r in recs)


@needs_gold
def test_two_processes_give_the_same_records_in_the_same_order(nlp, tmp_path):
    paths = sorted(glob.glob(os.path.join(GOLD, "*", "*.txt")))
    missing = str(tmp_path / "missing.txt")
    errors: dict[int, list] = {1: [], 2: []}
    one, two = (list(extract_paths([*paths[:3], missing, *paths[3:]], nlp, n_process=n, batch_size=4,
                                   on_error=lambda p, e, n=n: errors[n].append((p, type(e), str(e)))))
                for n in (1, 2))
    assert one and two == one
    assert errors[2] == errors[1] and [e[0] for e in errors[1]] == [missing]


def test_start_method_forks_only_without_other_threads(monkeypatch):
    import threading

    from extraction.extract import start_method

    monkeypatch.delenv("SARCOMA_EVIDENCE_START_METHOD", raising=False)
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert start_method() == "spawn"  # forking a threaded process can deadlock
    finally:
        stop.set()
        t.join()
    if threading.active_count() == 1:
        assert start_method() == "fork"
    monkeypatch.setenv("SARCOMA_EVIDENCE_START_METHOD", "spawn")
    assert start_method() == "spawn"


@needs_gold
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_both_start_methods_give_the_one_process_records(method, nlp, monkeypatch):
    """This process and a worker share the tasks; forked or spawned, the records are the same, in order."""
    import extraction.extract as ex

    paths = sorted(glob.glob(os.path.join(GOLD, "*", "*.txt")))
    one = list(extract_paths(paths, nlp))
    monkeypatch.setenv("SARCOMA_EVIDENCE_START_METHOD", method)
    local = []
    real = ex.extract_path_events
    monkeypatch.setattr(ex, "extract_path_events", lambda n, p, *a: local.append(p) or real(n, p, *a))
    two = list(extract_paths(paths, nlp, n_process=2, batch_size=2))
    assert two == one
    assert 0 < len(local) < len(paths)  # both processes did some of the work


def _dying_task(paths, *args):
    """A worker task that kills its process, as the OOM killer would, the first time it runs."""
    marker = os.environ["SARCOMA_TEST_KILL_MARKER"]
    if not os.path.exists(marker):
        with open(marker, "w") as fh:
            fh.write(" ".join(paths))
        os._exit(9)
    import extraction.extract as ex

    return ex._real_worker_task(paths, *args)


@needs_gold
def test_a_killed_worker_loses_no_file_and_does_not_hang(nlp, monkeypatch, tmp_path):
    import extraction.extract as ex

    paths = sorted(glob.glob(os.path.join(GOLD, "*", "*.txt")))
    one = list(extract_paths(paths, nlp))
    marker = tmp_path / "killed"
    monkeypatch.setenv("SARCOMA_TEST_KILL_MARKER", str(marker))
    monkeypatch.setenv("SARCOMA_EVIDENCE_START_METHOD", "fork")  # the worker inherits the patched task
    monkeypatch.setattr(ex, "_real_worker_task", ex._worker_task, raising=False)
    monkeypatch.setattr(ex, "_worker_task", _dying_task)
    t0 = time.perf_counter()
    two = list(extract_paths(paths, nlp, n_process=2, batch_size=2))
    assert marker.exists()  # a worker did die, holding a task
    assert two == one  # its task and every later one were done here
    assert time.perf_counter() - t0 < 60
