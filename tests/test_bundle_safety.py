"""A bundle's recompute.py never imports modules planted beside it, and says when it lacks the project's
environment (issue 12)."""

import subprocess
import sys

import pandas as pd

from evidence.corpus import curated_records
from evidence.schema import FIELDS
from meta.bundle import write_bundle
from tests.test_bundle import _env

PLANT = "import pathlib; pathlib.Path({marker!r}).write_text('planted code ran')\n"


def test_recompute_ignores_modules_planted_beside_it(tmp_path):
    bundle = tmp_path / "bundle"
    write_bundle(pd.DataFrame([r.to_dict() for r in curated_records()], columns=list(FIELDS)), bundle)
    markers = []
    for name in ("csv.py", "json.py", "hashlib.py", "pandas.py", "meta/__init__.py", "meta/table.py"):
        marker = tmp_path / f"ran-{name.replace('/', '-')}"
        markers.append(marker)
        (bundle / name).parent.mkdir(exist_ok=True)
        (bundle / name).write_text(PLANT.format(marker=str(marker)), encoding="utf-8")
    res = subprocess.run([sys.executable, "recompute.py", str(tmp_path / "out.csv"), "--check"], cwd=bundle,
                         env=_env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert [m.name for m in markers if m.exists()] == []
    assert "identical" in res.stderr


def test_recompute_says_it_needs_the_project_environment(tmp_path):
    bundle = tmp_path / "bundle"
    write_bundle(pd.DataFrame([r.to_dict() for r in curated_records()], columns=list(FIELDS)), bundle)
    text = (bundle / "recompute.py").read_text(encoding="utf-8")
    assert "needs the project's environment" in text
    # an isolated interpreter of the same Python without the project's packages on its path
    env = {"PATH": "/usr/bin:/bin"}
    res = subprocess.run([sys.executable, "-I", "-S", "recompute.py", str(tmp_path / "out.csv")], cwd=bundle,
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert "needs the sarcoma-evidence environment" in res.stderr and "Traceback" not in res.stderr
