"""CSV cells that a spreadsheet cannot run: formula neutralisation for every CSV the product writes.

A cell whose text begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula (or
turns into one) in Excel, LibreOffice and Google Sheets; a document or a reviewer's note can put such
text in any field. OWASP's advice ("CSV Injection", owasp.org/www-community/attacks/CSV_Injection) is
followed: such a cell is written with a leading ``'``, which spreadsheets show as text. Numbers (the
numeric columns: ``-0.5`` is a value, not a formula) are never prefixed.

The prefix is reversible, so ``import`` of the product's own CSV gets the original text back: a text
that *already* begins with ``'`` followed by something that would be prefixed gets one more ``'``.

>>> neutralise("=HYPERLINK(\\"http://x\\")"), neutralise("-0.5"), neutralise("'=1"), neutralise("'t Hooft")
('\\'=HYPERLINK("http://x")', "'-0.5", "''=1", "'t Hooft")
>>> all(restore(neutralise(s)) == s for s in ["=1", "'=1", "''=1", "'x", "x", "", "\\tx", "@a"])
True

Rows are written with :mod:`csv` and ``\\r\\n`` line ends (RFC 4180), so a cell holding a bare ``\\r``
or ``\\n`` is always quoted (:func:`write_rows`, :func:`frame_csv`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Container, Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a frame is written: `extract` never needs it
    import pandas as pd

#: First characters that make a spreadsheet cell a formula (OWASP).
FORMULA_STARTS = frozenset("=+-@\t\r")


def _needs(text: str) -> bool:
    """Whether ``text`` must be written with a ``'`` prefix (a formula start, or ``'`` before one)."""
    i = 0
    while i < len(text) and text[i] == "'":
        i += 1
    return i < len(text) and text[i] in FORMULA_STARTS


def neutralise(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows as text (``'`` prefixed when it would be a formula)."""
    return "'" + text if _needs(text) else text


def restore(cell: str) -> str:
    """The text :func:`neutralise` was given (inverse of it on every string)."""
    return cell[1:] if cell.startswith("'") and _needs(cell[1:]) else cell


def cell(v: Any) -> Any:
    """A value as written: strings neutralised, everything else (numbers, None) as it is."""
    return neutralise(v) if isinstance(v, str) else v


def write_rows(fh: Any, header: Sequence[str], rows: Iterable[Sequence[Any]],
               numeric: Container[str] = ()) -> int:
    """Write a header and rows of strings to a text stream; cells of non-``numeric`` columns neutralised.

    Returns the number of rows written.
    """
    w = csv.writer(fh, lineterminator="\r\n")  # a cell holding \\r or \\n is quoted
    w.writerow([neutralise(h) for h in header])
    keep = [h in numeric for h in header]
    n = 0
    for row in rows:
        w.writerow([v if k or not isinstance(v, str) else neutralise(v) for v, k in zip(row, keep, strict=True)])
        n += 1
    return n


def frame_csv(frame: pd.DataFrame) -> str:
    """A DataFrame as CSV text: string cells neutralised (numeric columns are numbers, never prefixed),
    ``\\r\\n`` line ends so a bare ``\\r`` inside a cell is quoted."""
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = [cell(v) for v in out[col]]
    out.columns = [neutralise(str(c)) for c in out.columns]
    buf = io.StringIO()
    out.to_csv(buf, index=False, lineterminator="\r\n")
    return buf.getvalue()
