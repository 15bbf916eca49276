"""The dashboard launcher warms the heavy imports before Streamlit serves (issue 15, first load)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dashboards import serve
from evidence.dashboard_server import streamlit_command


def test_launcher_runs_streamlit_through_the_warm_up():
    cmd = streamlit_command(Path("dashboards/app.py"), "sqlite:///x.db", "127.0.0.1", 8610)
    assert cmd[1:4] == ["-m", "dashboards.serve", "run"]
    assert cmd[-2:] == ["--db", "sqlite:///x.db"]


def test_warm_imports_the_heavy_modules_and_skips_a_broken_one():
    done = serve.warm(("scipy.stats", "meta", "no_such_module_xyz"))
    assert done == ["scipy.stats", "meta"]
    assert "scipy.stats" in sys.modules and "meta" in sys.modules
    # nothing that binds a Streamlit cache before the runtime exists
    assert not any(m in serve.PRELOAD for m in ("dashboards.data", "dashboards.widgets", "dashboards.network_view"))


def test_the_wrapper_hands_over_to_streamlits_cli():
    out = subprocess.run([sys.executable, "-m", "dashboards.serve", "version"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "Streamlit, version" in out.stdout
