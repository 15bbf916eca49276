"""Every extraction/meta/evidence module imports on its own in a fresh interpreter (no import cycle that
only an earlier import hides, as a test file importing ``extraction.assembly`` first once showed)."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(
    f"{pkg}.{m.name}" for pkg in ("extraction", "extraction.components", "meta")
    for m in pkgutil.iter_modules([str(ROOT.joinpath(*pkg.split(".")))]) if not m.ispkg or m.name == "components"
)


def test_each_module_imports_alone_in_a_fresh_interpreter():
    code = ("import importlib, subprocess, sys\n"
            "bad = []\n"
            f"for name in {MODULES!r}:\n"
            "    r = subprocess.run([sys.executable, '-c', 'import ' + name], capture_output=True, text=True)\n"
            "    if r.returncode: bad.append((name, r.stderr.strip().splitlines()[-1]))\n"
            "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize("name", ["extraction.assembly", "extraction.context"])
def test_the_modules_that_once_formed_a_cycle(name):
    r = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
