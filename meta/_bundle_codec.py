"""Deterministic CSV codec of a reproducibility bundle (:mod:`meta.bundle`).

Standard library only: this module's source is copied verbatim into every bundle's ``recompute.py``,
so a bundle recomputes its results with the same encoding rules even where ``meta.bundle`` changed.

Rules, for both files of a bundle:

* UTF-8, RFC 4180 rows (``csv`` module, ``\\r\\n`` line ends, quoting only where needed);
* an empty cell is null (``None``, ``NaN``, ``pd.NA``, ``NaT``);
* floats are written with ``repr`` of the Python float (shortest round-trip text), so reading one back
  gives the same float, bit for bit; booleans as ``true``/``false``; datetimes as ISO 8601;
* lists (and any value of a ``json`` column) as JSON arrays with NaN written as null;
* a text cell that a spreadsheet would run as a formula (it begins with ``=``, ``+``, ``-``, ``@``, a tab
  or a carriage return) is written with a leading ``'`` (OWASP "CSV Injection"), and a text that already
  begins with ``'`` before such a character gets one more, so reading it back restores the text exactly.
  Numbers are never prefixed. These are the rules of ``evidence/csv_cells.py``, repeated here because this
  module may import nothing of the project.

Each column of ``records.csv`` has a *kind* (``float``, ``int``, ``bool``, ``str``, ``list``,
``datetime``, ``json``, ``null``) inferred from its values and kept in the manifest, so reading the
file back gives the same Python values, hence the same DataFrame, as the one written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from datetime import date, datetime
from typing import Any

KINDS = ("float", "int", "bool", "str", "list", "datetime", "json", "null")
#: First characters that make a spreadsheet cell a formula (OWASP).
FORMULA_STARTS = frozenset("=+-@\t\r")


def _needs_prefix(text: str) -> bool:
    i = 0
    while i < len(text) and text[i] == "'":
        i += 1
    return i < len(text) and text[i] in FORMULA_STARTS


def neutralise(text: str) -> str:
    """``text`` as a cell a spreadsheet shows as text: ``'`` prefixed when it would be a formula.

    >>> neutralise("=1+1"), neutralise("'=1"), neutralise("x"), restore(neutralise("''-2"))
    ("'=1+1", "''=1", 'x', "''-2")
    """
    return "'" + text if _needs_prefix(text) else text


def restore(cell: str) -> str:
    """Inverse of :func:`neutralise`."""
    return cell[1:] if cell.startswith("'") and _needs_prefix(cell[1:]) else cell


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as 64 hex digits."""
    return hashlib.sha256(data).hexdigest()


def is_null(v: Any) -> bool:
    """True for None, a float NaN, pandas NA/NaT (anything that is not equal to itself)."""
    if v is None:
        return True
    if isinstance(v, (list, tuple, dict, str, bool)):
        return False
    try:
        return bool(v != v)
    except (TypeError, ValueError):
        return str(v) in ("<NA>", "NaT")


def plain(v: Any) -> Any:
    """A numpy/pandas scalar or array as the plain Python value (float, int, bool, str, list, …)."""
    if is_null(v):
        return None
    if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):
        v = v.tolist()  # numpy scalars and arrays
    if isinstance(v, tuple):
        v = list(v)
    if hasattr(v, "to_pydatetime"):
        v = v.to_pydatetime()
    return v


def kind_of(values: list[Any]) -> str:
    """The kind of a column from its values (nulls ignored)."""
    kinds = set()
    for v in values:
        v = plain(v)
        if v is None:
            continue
        if isinstance(v, bool):
            kinds.add("bool")
        elif isinstance(v, int):
            kinds.add("int")
        elif isinstance(v, float):
            kinds.add("float")
        elif isinstance(v, str):
            kinds.add("str")
        elif isinstance(v, list):
            kinds.add("list")
        elif isinstance(v, (datetime, date)):
            kinds.add("datetime")
        else:
            kinds.add("json")
    if not kinds:
        return "null"
    if len(kinds) == 1:
        return kinds.pop()
    return "json"


def _json_safe(v: Any) -> Any:
    v = plain(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, list):
        return [_json_safe(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return v


def to_json(v: Any) -> str:
    """Compact, deterministic JSON text (NaN as null, non-ASCII kept)."""
    return json.dumps(_json_safe(v), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_cell(v: Any, kind: str | None = None) -> str:
    """One CSV cell. ``kind`` forces a JSON cell for ``list``/``json`` columns."""
    v = plain(v)
    if v is None:
        return ""
    if kind in ("list", "json") or isinstance(v, (list, dict)):
        return to_json(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, str):
        return neutralise(v)
    return str(v)


def decode_cell(text: str, kind: str) -> Any:
    """Inverse of :func:`encode_cell` for a column of ``kind`` (an empty cell is None)."""
    if text == "":
        return None
    if kind == "float":
        return float(text)
    if kind == "int":
        return int(text)
    if kind == "bool":
        if text not in ("true", "false"):
            raise ValueError(f"{text!r} is not true or false")
        return text == "true"
    if kind in ("list", "json"):
        return json.loads(text)
    if kind == "datetime":
        return datetime.fromisoformat(text)
    if kind == "null":
        raise ValueError(f"{text!r} in a column recorded as all-null")
    return restore(text)


def write_csv(columns: list[str], rows: list[list[Any]], kinds: dict[str, str] | None = None) -> bytes:
    """The CSV bytes of ``rows`` under the header ``columns``."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([neutralise(c) for c in columns])
    kinds = kinds or {}
    for row in rows:
        w.writerow([encode_cell(v, kinds.get(c)) for c, v in zip(columns, row, strict=True)])
    return buf.getvalue().encode("utf-8")


def read_csv(data: bytes, kinds: dict[str, str]) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and rows of CSV bytes written by :func:`write_csv`, cells decoded per column kind.

    Raises ValueError naming the row and column of a cell that does not decode.
    """
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader, None)
    if header is None:
        raise ValueError("empty file: no header row")
    header = [restore(c) for c in header]
    unknown = [c for c in header if c not in kinds]
    if unknown:
        raise ValueError(f"column {unknown[0]!r} has no kind in the manifest")
    out = []
    for i, cells in enumerate(reader, 2):
        if len(cells) != len(header):
            raise ValueError(f"row {i}: {len(cells)} cells, expected {len(header)}")
        row = {}
        for col, text in zip(header, cells, strict=True):
            try:
                row[col] = decode_cell(text, kinds[col])
            except ValueError as exc:
                raise ValueError(f"row {i}, column {col!r}: {exc}") from None
        out.append(row)
    return header, out


#: Column order of results.csv after the grouping keys; other columns follow, sorted by name.
RESULT_ORDER = (
    "scale", "rollup", "k", "n_total",
    "estimate_exp", "ci_low_exp", "ci_high_exp", "pi_low_exp", "pi_high_exp",
    "estimate", "se", "ci_low", "ci_high", "stat", "p_value",
    "tau2", "tau2_ci_low", "tau2_ci_high", "i2", "h2", "q", "q_df", "q_p", "pi_low", "pi_high",
    "converged", "weights", "record_ids", "trials", "method", "test", "level", "version",
)  # fmt: skip


def result_columns(table_columns: list[str], by: list[str]) -> list[str]:
    """Fixed column order of a results table: the keys, :data:`RESULT_ORDER`, then the rest sorted."""
    fixed = [*by, *(c for c in RESULT_ORDER if c not in by)]
    return fixed + sorted(c for c in table_columns if c not in fixed)


def result_rows(table: Any, by: list[str]) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of a ``pool_table`` DataFrame, rows sorted by the keys, scale and rollup."""
    columns = result_columns([str(c) for c in table.columns], list(by))
    rows = [[rec.get(c) for c in columns] for rec in table.to_dict("records")]
    nkeys = len(by) + 2  # the keys, then scale and rollup: together they identify a cell
    rows.sort(key=lambda r: sort_key(r[:nkeys]))
    return columns, rows


def results_csv(table: Any, by: list[str]) -> bytes:
    """results.csv bytes of a ``pool_table`` DataFrame (deterministic: same table, same bytes)."""
    columns, rows = result_rows(table, by)
    return write_csv(columns, rows, {"weights": "list", "record_ids": "list", "trials": "list"})


def results_json(table: Any, by: list[str]) -> bytes:
    """The same table as a JSON array of objects (NaN as null), deterministic like :func:`results_csv`."""
    columns, rows = result_rows(table, by)
    objs = [{c: _json_safe(v) for c, v in zip(columns, row, strict=True)} for row in rows]
    return (json.dumps(objs, ensure_ascii=False, indent=1, allow_nan=False) + "\n").encode("utf-8")


def sort_key(values: list[Any]) -> tuple[tuple[int, float, str], ...]:
    """A total order over cells of mixed types: nulls first, then numbers by value, then text."""
    key = []
    for v in values:
        v = plain(v)
        if v is None:
            key.append((0, 0.0, ""))
        elif isinstance(v, (bool, int, float)):
            key.append((1, float(v), ""))
        else:
            key.append((2, 0.0, encode_cell(v)))
    return tuple(key)
