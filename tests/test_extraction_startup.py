"""Issue 13: ``sarcoma-evidence extract`` starts fast — its path imports neither the store (SQLAlchemy,
Alembic) nor pandas — and ``--processes`` defaults to the machine's cores."""

import json
import os
import subprocess
import sys

from evidence.extract_cli import DEFAULT_PROCESSES

_PROBE = """
import sys
from evidence import launcher
sys.argv = ["sarcoma-evidence", "extract", sys.argv[1], "--out", sys.argv[2], "--processes", "1"]
try:
    launcher.main()
except SystemExit:
    pass
print("HEAVY", sorted(m for m in ("sqlalchemy", "alembic", "pandas") if m in sys.modules))
"""


def test_extract_path_needs_neither_the_store_nor_pandas(tmp_path):
    doc = tmp_path / "a.txt"
    doc.write_text("Sunitinib versus placebo in angiosarcoma: a randomised phase 3 trial\n\nMedian overall survival "
                   "was 11.0 months with sunitinib versus 9.0 months with placebo (HR 0.80, 95% CI 0.64-0.99).",
                   encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = subprocess.run([sys.executable, "-c", _PROBE, str(doc), str(out)], capture_output=True, text=True,
                       timeout=300, check=False)
    assert "HEAVY []" in r.stdout, r.stdout + r.stderr
    recs = [json.loads(ln) for ln in out.read_text(encoding="utf-8").splitlines() if ln.strip()]
    assert {r["value"] for r in recs} == {11.0, 9.0, 0.8}


def test_processes_default_to_the_cores():
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    assert DEFAULT_PROCESSES == max(1, cores)
