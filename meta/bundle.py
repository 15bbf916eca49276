"""Reproducibility bundle of a pooled-estimate table: the exact inputs, the options, the results and a
script that recomputes them.

A bundle is a folder of four files:

``records.csv``
    The exact input records, in their given order (``pool_table`` lets the later report of a trial win
    a tie, so order is an input), one column per record field; lists as JSON arrays, floats as ``repr``
    (they read back bit for bit), an empty cell is null.
``manifest.json``
    Package and dependency versions, the SHA-256 of ``records.csv`` and of ``results.csv``, every
    option of the call, the kind of each records column, the excluded records with their reasons and
    the creation time. The time is only here: the other three files are byte-identical for the same
    inputs.
``results.csv``
    :func:`meta.pool_table`'s output with a fixed column order, rows sorted by their keys, floats as
    ``repr``, lists as JSON (:func:`results_csv`).
``recompute.py``
    A standalone script: ``python recompute.py OUT.csv [--check]`` checks the input checksum, calls
    ``meta.pool_table`` with the manifest's options and writes ``OUT.csv`` byte for byte as
    ``results.csv`` when the versions are the same. Its CSV rules are the source of
    ``meta/_bundle_codec.py`` copied in, so they cannot drift from the ones that wrote the bundle.

Like metafor's ``rma`` result, which records the call, the version and checksums of its inputs, a
bundle lets a reader show that a number on the dashboard came from these records with these options.
``meta`` imports nothing of the project: the caller passes the records and the histotype parents.

>>> import tempfile
>>> recs = [dict(record_id=f"r{i}", source_id=f"PMID:{i}", histotypes=["leiomyosarcoma"],
...              intervention="trabectedin", comparator="dacarbazine", arm="contrast",
...              endpoint="PFS", measure="HR", value=v, ci_low=lo, ci_high=hi, status="accepted")
...         for i, (v, lo, hi) in enumerate([(0.55, 0.44, 0.70), (0.70, 0.50, 0.98)])]
>>> m = write_bundle(recs, tempfile.mkdtemp())
>>> m.n_records, m.n_cells, m.n_pooled, sorted(p.name for p in m.files)
(2, 1, 1, ['manifest.json', 'recompute.py', 'records.csv', 'results.csv'])
"""

from __future__ import annotations

import inspect
import json
import platform
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from meta import _bundle_codec as codec
from meta.table import pool_table

__all__ = [
    "BUNDLE_FILES",
    "DEFAULT_BY",
    "BundleManifest",
    "ChecksumError",
    "read_bundle_records",
    "records_csv",
    "results_csv",
    "results_json",
    "versions",
    "write_bundle",
]

DEFAULT_BY: tuple[str, ...] = ("histotype", "intervention", "comparator", "endpoint", "measure")
DEFAULT_STATUSES: tuple[str, ...] = ("extracted", "accepted", "edited")
BUNDLE_FILES = ("records.csv", "manifest.json", "results.csv", "recompute.py")
FORMAT = "sarcoma-evidence pooled-estimate bundle"
FORMAT_VERSION = 1
_PACKAGES = ("sarcoma-evidence", "numpy", "scipy", "pandas")

results_csv = codec.results_csv
results_json = codec.results_json


class ChecksumError(ValueError):
    """records.csv does not have the SHA-256 its manifest recorded: the input was changed."""


@dataclass(frozen=True)
class BundleManifest:
    """What :func:`write_bundle` wrote (the content of ``manifest.json`` plus the folder)."""

    path: Path
    records_sha256: str
    results_sha256: str
    n_records: int
    n_cells: int
    n_pooled: int
    options: dict[str, Any]
    versions: dict[str, str]
    columns: dict[str, str]
    excluded: list[dict[str, Any]] = field(repr=False)
    created_at: str = ""

    @property
    def files(self) -> list[Path]:
        """The four files of the bundle."""
        return [self.path / name for name in BUNDLE_FILES]

    def to_dict(self) -> dict[str, Any]:
        """The manifest as written to ``manifest.json``."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": self.created_at,
            "versions": self.versions,
            "options": self.options,
            "input": {"file": "records.csv", "sha256": self.records_sha256, "rows": self.n_records,
                      "columns": self.columns},
            "results": {"file": "results.csv", "sha256": self.results_sha256, "cells": self.n_cells,
                        "pooled_cells": self.n_pooled, "excluded": self.excluded},
            "recompute": "python recompute.py OUT.csv --check",
        }


def versions() -> dict[str, str]:
    """Installed versions of sarcoma-evidence, numpy, scipy, pandas and Python."""
    out = {}
    for pkg in _PACKAGES:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover - a source tree that is not installed
            out[pkg] = "unknown"
    out["python"] = platform.python_version()
    return out


def _frame(records: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    df = records if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records))
    return df.reset_index(drop=True)


def records_csv(records: pd.DataFrame | Iterable[Mapping[str, Any]]) -> tuple[bytes, dict[str, str]]:
    """records.csv bytes of ``records`` (columns in their given order) and each column's kind."""
    df = _frame(records)
    columns = [str(c) for c in df.columns]
    kinds = {c: codec.kind_of(df[c].tolist()) for c in columns}
    rows = [list(r) for r in df.itertuples(index=False, name=None)]
    return codec.write_csv(columns, rows, kinds), kinds


def read_bundle_records(bundle_dir: str | Path) -> pd.DataFrame:
    """The records of a bundle as a DataFrame, after checking records.csv against its checksum.

    Raises
    ------
    ChecksumError
        When records.csv is not the file the bundle was written with.
    """
    d = Path(bundle_dir)
    manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    data = (d / "records.csv").read_bytes()
    want, got = manifest["input"]["sha256"], codec.sha256_hex(data)
    if want != got:
        raise ChecksumError(f"records.csv checksum mismatch: manifest says sha256 {want}, the file has {got}")
    header, rows = codec.read_csv(data, manifest["input"]["columns"])
    return pd.DataFrame(rows, columns=header)


def _options(by: Sequence[str], method: str, test: str, level: float, rollup: bool,
             statuses: Sequence[str], parents: Mapping[str, str] | None) -> dict[str, Any]:
    return {"by": list(by), "method": method, "test": test, "level": float(level), "rollup": bool(rollup),
            "statuses": list(statuses),
            "parents": None if parents is None else {str(k): str(parents[k]) for k in sorted(parents)}}


def write_bundle(
    records: pd.DataFrame | Iterable[Mapping[str, Any]],
    out_dir: str | Path,
    by: Sequence[str] = DEFAULT_BY,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    rollup: bool = False,
    parents: Mapping[str, str] | None = None,
    statuses: Sequence[str] = DEFAULT_STATUSES,
    *,
    plan: Mapping[str, Any] | None = None,
) -> BundleManifest:
    """Pool ``records`` with :func:`meta.pool_table` and write a reproducibility bundle to ``out_dir``.

    Parameters
    ----------
    records : DataFrame or iterable of dict
        Evidence records (DESIGN.md field names), exactly as they are to be pooled.
    out_dir : path
        Folder to write (created if missing; the four bundle files are overwritten).
    by, method, test, level, rollup, parents, statuses
        As :func:`meta.pool_table`; all are recorded in the manifest.
    plan : mapping, optional
        Further :func:`meta.pool_table` options (``include_flagged``, ``multi_arm``, ``trial_aliases``, …;
        JSON values), recorded in the manifest as ``options["plan"]`` and passed again by recompute.py.

    Returns
    -------
    BundleManifest

    Raises
    ------
    ValueError
        For an invalid option (as :func:`meta.pool_table`), before anything is written.
    """
    df = _frame(records)
    opts = _options(by, method, test, level, rollup, statuses, parents)
    if plan:
        opts["plan"] = json.loads(json.dumps(dict(plan), sort_keys=True))
    table = pool_table(df, by=tuple(opts["by"]), method=method, test=test, level=level, rollup=rollup,
                       statuses=tuple(opts["statuses"]), parents=opts["parents"], **opts.get("plan", {}))
    rec_bytes, kinds = records_csv(df)
    res_bytes = results_csv(table, opts["by"])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = BundleManifest(
        path=out, records_sha256=codec.sha256_hex(rec_bytes), results_sha256=codec.sha256_hex(res_bytes),
        n_records=len(df), n_cells=len(table), n_pooled=int((table["k"] >= 2).sum()) if len(table) else 0,
        options=opts, versions=versions(), columns=kinds,
        excluded=sorted(table.attrs.get("excluded", []), key=lambda e: (str(e["record_id"]), str(e["reason"]))),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    (out / "records.csv").write_bytes(rec_bytes)
    (out / "results.csv").write_bytes(res_bytes)
    (out / "recompute.py").write_bytes(recompute_script().encode("utf-8"))
    text = json.dumps(manifest.to_dict(), ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    return manifest


_SCRIPT_HEAD = '''\
#!/usr/bin/env python3
"""Recompute the pooled estimates of this bundle (written by meta.bundle, sarcoma-evidence {version}).

Usage: python recompute.py OUT.csv [--check]

1. Refuses records.csv (exit 2) unless its SHA-256 is the one in manifest.json.
2. Reads the records, calls meta.pool_table with the manifest's options and writes OUT.csv with the
   same rules as results.csv: with the versions in the manifest, OUT.csv is byte-identical to it.
3. Says on stderr whether OUT.csv equals the bundle's results.csv; with --check, exits 1 when not.

It needs the project's environment: numpy, scipy, pandas and sarcoma-evidence (for ``meta``)
installed, e.g. ``.venv/bin/python recompute.py OUT.csv`` from the project folder; it says so and
exits 2 when ``meta`` cannot be imported. Everything else is below.

A bundle is a folder someone may send you: this script never imports a module placed beside it
(a ``csv.py`` or ``meta/`` in the bundle folder). Python puts the script's own folder first on
``sys.path``; it is removed below, before any other import.
"""
from __future__ import annotations

import sys as _sys  # built into the interpreter: never read from a file

if __name__ == "__main__" and not getattr(_sys.flags, "safe_path", False) and _sys.path:
    del _sys.path[0]  # this script's folder (python -P would not have added it)
'''

_SCRIPT_MAIN = '''

# -- recompute --------------------------------------------------------------------------------------
def main(argv: list[str]) -> int:
    import sys
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path

    args = [a for a in argv if a != "--check"]
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python recompute.py OUT.csv [--check]", file=sys.stderr)
        return 2
    try:
        from meta.table import pool_table  # meta.pool_table, imported from its module
    except ImportError as exc:
        print(f"error: recompute.py needs the sarcoma-evidence environment (numpy, scipy, pandas and the "
              f"meta package; here: {exc}); run it with that environment's python, "
              "e.g. .venv/bin/python recompute.py OUT.csv", file=sys.stderr)
        return 2
    here = Path(__file__).resolve().parent
    manifest = json.loads((here / "manifest.json").read_text(encoding="utf-8"))
    data = (here / "records.csv").read_bytes()
    want, got = manifest["input"]["sha256"], sha256_hex(data)
    if want != got:
        print(f"error: records.csv checksum mismatch: manifest says sha256 {want}, the file has {got}; "
              "the input was changed after the bundle was written", file=sys.stderr)
        return 2
    for pkg, then in manifest["versions"].items():
        try:
            now = version(pkg) if pkg != "python" else ".".join(map(str, sys.version_info[:3]))
        except PackageNotFoundError:
            now = "not installed"
        if now != then:
            print(f"note: {pkg} {now} here, {then} when the bundle was written; results may differ",
                  file=sys.stderr)

    import pandas as pd

    header, rows = read_csv(data, manifest["input"]["columns"])
    records = pd.DataFrame(rows, columns=header)
    o = manifest["options"]
    table = pool_table(records, by=tuple(o["by"]), method=o["method"], test=o["test"], level=o["level"],
                       rollup=o["rollup"], statuses=tuple(o["statuses"]), parents=o["parents"], **o.get("plan", {}))
    out = results_csv(table, o["by"])
    Path(args[0]).write_bytes(out)
    same = sha256_hex(out) == manifest["results"]["sha256"]
    print(f"wrote {len(table)} cells to {args[0]}: "
          + ("identical to the bundle's results.csv" if same else "DIFFERENT from the bundle's results.csv"),
          file=sys.stderr)
    return 1 if "--check" in argv and not same else 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
'''


def recompute_script() -> str:
    """Source of a bundle's ``recompute.py``: a header, the codec module's source, and ``main``."""
    src = inspect.getsource(codec)
    future = "from __future__ import annotations"
    body = src[src.index(future) + len(future):]  # drop the docstring and the __future__ line (in the head)
    return _SCRIPT_HEAD.format(version=versions()["sarcoma-evidence"]) + "\n" + body + _SCRIPT_MAIN
