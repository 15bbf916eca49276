"""Read and write evidence records as CSV, JSONL or Parquet, losslessly.

Conventions (DESIGN.md): the columns are the schema's fields in order; in CSV a list is a JSON array
(``["leiomyosarcoma","liposarcoma"]``) and an empty cell is null; datetimes are ISO 8601 with their
zone. Floats are written with Python's shortest round-trip repr, so what is read back is the same
float. An empty string and a null are the same thing in every format (the schema stores null).

>>> import tempfile, pathlib
>>> from evidence.schema import validate_record
>>> r = validate_record({"source_id": "PMID:1", "endpoint": "OS", "measure": "HR", "arm": "contrast",
...                      "value": 0.77, "ci_low": 0.62, "ci_high": 0.95, "histotypes": ["leiomyosarcoma"]})
>>> p = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
>>> write_records([r], p)
1
>>> read_records(p)[0] == r
True
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from evidence.csv_cells import neutralise, restore
from evidence.errors import ImportFileError, RecordError
from evidence.schema import FIELDS, LIST_FIELDS, EvidenceRecord, validate_record

FORMATS = ("csv", "jsonl", "parquet")
_INT = {"year", "n", "char_start", "char_end", "value_start", "value_end", "page", "events", "p_sided"}
_FLOAT = {"value", "ci_low", "ci_high", "ci_level", "p_value", "timepoint_months", "confidence"}
_BOOL = {"randomized", "adjusted"}
#: CSV columns written as numbers: never prefixed against formulas (evidence.csv_cells)
NUMERIC = frozenset(_INT | _FLOAT)
#: The store's integer columns are 32-bit on PostgreSQL: a larger integer is refused on import
INT_RANGE = (-(2**31), 2**31 - 1)
#: Largest CSV cell read (the csv module's default, 128 KiB, is less than a long evidence_text)
CSV_FIELD_LIMIT = 64 * 1024 * 1024
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


@functools.lru_cache(maxsize=1)
def arrow_schema() -> Any:
    """The Parquet schema of the record fields (pyarrow is imported here, on first use: writing JSONL or
    CSV, as ``extract`` does by default, never loads it nor the pandas it pulls in)."""
    import pyarrow as pa

    return pa.schema([
        pa.field(f, pa.list_(pa.string()) if f in LIST_FIELDS else pa.int64() if f in _INT
                 else pa.float64() if f in _FLOAT else pa.bool_() if f in _BOOL
                 else pa.timestamp("us", tz="UTC") if f == "updated_at" else pa.string())
        for f in FIELDS
    ])


def __getattr__(name: str) -> Any:
    if name == "ARROW_SCHEMA":  # ``from evidence.io import ARROW_SCHEMA`` keeps working, built lazily
        return arrow_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """The format named, else the one the file's suffix says."""
    if fmt:
        if fmt not in FORMATS:
            raise ImportFileError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower().lstrip(".")
    suffix = {"json": "jsonl", "ndjson": "jsonl", "pq": "parquet"}.get(suffix, suffix)
    if suffix not in FORMATS:
        raise ImportFileError(f"{path}: cannot tell the format from the suffix; use .csv, .jsonl or .parquet")
    return suffix


# -- writing -------------------------------------------------------------------------------------
def _plain(rec: EvidenceRecord | dict[str, Any]) -> dict[str, Any]:
    d = rec.to_dict() if isinstance(rec, EvidenceRecord) else {f: rec.get(f) for f in FIELDS}
    return d


def _csv_cell(field: str, v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if field in LIST_FIELDS:
        return json.dumps(list(v), ensure_ascii=False)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, datetime):
        return v.isoformat()
    return str(v) if field in NUMERIC else neutralise(str(v))


def write_records(recs: Iterable[EvidenceRecord | dict[str, Any]], path: str | Path | None,
                  fmt: str | None = None, *, stream: io.TextIOBase | None = None) -> int:
    """Write records to ``path`` (or a text ``stream`` for CSV/JSONL); returns how many."""
    fmt = detect_format(path, fmt) if path is not None else (fmt or "jsonl")
    rows = [_plain(r) for r in recs]
    if fmt == "parquet":
        if path is None:
            raise ImportFileError("parquet needs --out FILE")
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(rows, schema=arrow_schema())
        pq.write_table(table, str(path))
        return len(rows)
    own = stream is None
    fh = open(path, "w", encoding="utf-8", newline="") if own else stream  # type: ignore[arg-type]
    try:
        if fmt == "csv":
            w = csv.writer(fh, lineterminator="\r\n")  # RFC 4180 rows: a cell holding \r or \n is quoted
            w.writerow(FIELDS)
            for r in rows:  # text cells neutralised against formulas (evidence.csv_cells), numbers not
                w.writerow([_csv_cell(f, r[f]) for f in FIELDS])
        else:
            for r in rows:
                fh.write(json.dumps({k: (v.isoformat() if isinstance(v, datetime) else v)
                                     for k, v in r.items()}, ensure_ascii=False) + "\n")
    finally:
        if own:
            fh.close()
    return len(rows)


# -- reading -------------------------------------------------------------------------------------
def _number(field: str, v: Any) -> Any:
    """A numeric field's value, strictly: digits only (no ``1_0``), never a boolean, in the store's range."""
    if isinstance(v, bool):
        raise ValueError(f"{field}={v!r}: must be a number, not true/false")
    if isinstance(v, str):
        t = v.strip()
        if field in _INT:
            if not _INT_TEXT.fullmatch(t):
                raise ValueError(f"{field}={v!r}: must be a whole number written with digits")
            v = int(t)
        else:
            if not _FLOAT_TEXT.fullmatch(t):
                raise ValueError(f"{field}={v!r}: must be a number written with digits (such as 0.77)")
            v = float(t)
    if isinstance(v, int) and field in _INT and not INT_RANGE[0] <= v <= INT_RANGE[1]:
        raise ValueError(f"{field}={v}: beyond the store's integer range ({INT_RANGE[0]}..{INT_RANGE[1]})")
    if isinstance(v, int) and field in _FLOAT:
        try:
            v = float(v)
        except OverflowError:
            raise ValueError(f"{field}={v}: beyond the range of a floating-point number") from None
    return v


def _no_surrogates(field: str, v: Any) -> None:
    """Refuse text the store cannot encode (a lone UTF-16 surrogate, e.g. ``"\\ud800"`` in JSON)."""
    for s in (v if isinstance(v, list) else [v]):
        if isinstance(s, str):
            try:
                s.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError(f"{field}: holds a lone surrogate (U+{ord(s[exc.start]):04X}) at character "
                                 f"{exc.start}, which is not text") from None


def _coerce(field: str, v: Any) -> Any:
    """A cell to the schema's type (a CSV cell is a string); numbers are parsed strictly, bad text refused."""
    _no_surrogates(field, v)
    if field in NUMERIC and v is not None and v != "":
        return _number(field, v)
    if not isinstance(v, str):
        return v
    if v == "":
        return [] if field in LIST_FIELDS else None
    if field in LIST_FIELDS:
        try:
            out = json.loads(v)
        except json.JSONDecodeError:
            raise ValueError(f"{field}={v!r}: a list must be a JSON array such as [\"leiomyosarcoma\"]") from None
        if not isinstance(out, list):
            raise ValueError(f"{field}={v!r}: a list must be a JSON array such as [\"leiomyosarcoma\"]")
        return out
    if field in _BOOL:
        low = v.strip().lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise ValueError(f"{field}={v!r}: must be true or false")
    return v


def iter_rows(path: str | Path, fmt: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """Raw rows of a file as (location, dict), the location naming the row for error messages."""
    fmt = detect_format(path, fmt)
    p = Path(path)
    if not p.exists():
        raise ImportFileError(f"{path}: no such file")
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(str(p))
        except (pa.ArrowInvalid, OSError) as exc:
            raise ImportFileError(f"{path}: not a readable Parquet file ({exc})") from None
        for i, row in enumerate(table.to_pylist(), 1):
            yield f"row {i}", row
        return
    try:
        with p.open(encoding="utf-8-sig", newline="") as fh:  # keep \r inside quoted cells
            text = fh.read()
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    if fmt == "jsonl":
        for i, line in enumerate(text.split("\n"), 1):  # not splitlines: U+2028 may sit in a string
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ImportFileError(f"{path}: line {i}: not JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise ImportFileError(f"{path}: line {i}: expected a JSON object, got {type(obj).__name__}")
            yield f"line {i}", obj
        return
    if csv.field_size_limit() < CSV_FIELD_LIMIT:  # the product's own long evidence texts must re-import
        csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    unknown = [h for h in header if h not in FIELDS]
    if unknown:
        raise ImportFileError(f"{path}: unknown column {unknown[0]!r}; allowed: {', '.join(FIELDS)}")
    for i, row in enumerate(reader, 2):  # row 1 is the header
        if None in row:
            raise ImportFileError(f"{path}: row {i}: more cells than columns")
        # undo the product's own formula prefix (evidence.csv_cells); numbers are never prefixed
        yield f"row {i}", {k: v if k in NUMERIC or v is None else restore(v) for k, v in row.items()}


def read_records(path: str | Path, fmt: str | None = None) -> list[EvidenceRecord]:
    """Read and validate every record of a file, all or nothing.

    Raises :class:`ImportFileError` naming the file, the row and the field on the first bad row.
    """
    out = []
    seen: dict[str, str] = {}
    where = "row 1"
    try:
        for where, raw in iter_rows(path, fmt):
            try:
                raw = {k: _coerce(k, v) for k, v in raw.items()}
                rec = validate_record(raw, row=where, add_flags=False)
            except (RecordError, ValueError) as exc:
                msg = str(exc)
                raise ImportFileError(f"{path}: {msg if msg.startswith(where) else f'{where}: {msg}'}") from None
            if rec.record_id in seen:
                raise ImportFileError(f"{path}: {where}: record_id={rec.record_id!r} repeats {seen[rec.record_id]}; "
                                      "each record may appear once")
            seen[rec.record_id] = where
            out.append(rec)
    except csv.Error as exc:
        raise ImportFileError(f"{path}: after {where}: not a readable CSV row ({exc})") from None
    return out
