"""Where every number came from: the source sentence with the number marked, and the source's link.

Extracted text is untrusted (it comes from PDFs, XML and web pages), so every piece of it is passed
through :func:`dashboards.safe.html_text` (neither HTML nor markdown in it takes effect) before any
markup is added, and links are built only from identifiers we parse (PMID, DOI, NCT), never copied
from the text.

>>> highlight_number("HR 0.77 <b>", 0, 3, 7)
'HR <mark>0&#46;77</mark> &#60;b&#62;'
>>> source_url("PMID:26874885")
'https://pubmed.ncbi.nlm.nih.gov/26874885/'
"""

from __future__ import annotations

import html
import math
import re
from typing import Any
from urllib.parse import quote

import pandas as pd

from dashboards.safe import html_text

_PMID = re.compile(r"^PMID:\s*(\d{1,9})$", re.IGNORECASE)
_DOI = re.compile(r"^DOI:\s*(10\.\d{4,9}/\S+)$", re.IGNORECASE)
_NCT = re.compile(r"^(NCT\d{8})$", re.IGNORECASE)


def _int(x: Any) -> int | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    try:
        return int(x)
    except (TypeError, ValueError):
        return None


def highlight_number(text: Any, char_start: Any, value_start: Any, value_end: Any) -> str:
    """The sentence as safe HTML with the number wrapped in ``<mark>``.

    The number's span in the sentence is ``[value_start − char_start, value_end − char_start)``
    (offsets are in the document). Each part is escaped on its own, so the offsets stay those of the
    raw text; when the offsets are missing or fall outside the sentence, the sentence is returned
    escaped and unmarked.

    Parameters
    ----------
    text : str or None
        The record's ``evidence_text``.
    char_start, value_start, value_end : int or None
        Offsets in the document text.

    Returns
    -------
    str
        HTML safe to render with ``unsafe_allow_html=True``.

    Examples
    --------
    >>> highlight_number("<script>alert(1)</script> HR 0.5", 100, 129, 132)
    '&#60;script&#62;alert&#40;1&#41;&#60;&#47;script&#62; HR <mark>0&#46;5</mark>'
    >>> highlight_number(None, None, None, None)
    ''
    """
    if not isinstance(text, str):
        return ""
    cs, vs, ve = _int(char_start), _int(value_start), _int(value_end)
    if cs is None or vs is None or ve is None:
        return html_text(text)
    a, b = vs - cs, ve - cs
    if not 0 <= a < b <= len(text):
        return html_text(text)
    return f"{html_text(text[:a])}<mark>{html_text(text[a:b])}</mark>{html_text(text[b:])}"


def source_url(source_id: Any) -> str | None:
    """PubMed, DOI or ClinicalTrials.gov address of a source id; None for a local file.

    >>> source_url("DOI:10.1200/JCO.2012.44.3683")
    'https://doi.org/10.1200/JCO.2012.44.3683'
    >>> source_url("NCT00753688")
    'https://clinicaltrials.gov/study/NCT00753688'
    >>> source_url("file:0123456789ab") is None
    True
    """
    if not isinstance(source_id, str):
        return None
    sid = source_id.strip()
    if m := _PMID.match(sid):
        return f"https://pubmed.ncbi.nlm.nih.gov/{m.group(1)}/"
    if m := _DOI.match(sid):
        return "https://doi.org/" + quote(m.group(1), safe="/:;()._-")
    if m := _NCT.match(sid):
        return f"https://clinicaltrials.gov/study/{m.group(1).upper()}"
    return None


def source_kind(source_id: Any) -> str:
    """``PubMed``, ``DOI``, ``ClinicalTrials.gov`` or ``file``."""
    url = source_url(source_id) or ""
    return ("PubMed" if "pubmed" in url else "DOI" if "doi.org" in url
            else "ClinicalTrials.gov" if "clinicaltrials" in url else "file")


def link_html(source_id: Any) -> str:
    """An escaped ``<a>`` to the source (opens in a new tab), or the escaped id when it has no address.

    >>> link_html("PMID:1")
    '<a href="https://pubmed.ncbi.nlm.nih.gov/1/" target="_blank" rel="noopener noreferrer">PMID&#58;1</a>'
    """
    url = source_url(source_id)
    label = html_text(source_id) if source_id is not None else ""
    if url is None:
        return label
    return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{label}</a>'


def evidence_rows_html(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    """An HTML table: ``columns`` are (key, header); the keys ``sentence`` and ``source`` are rendered
    with :func:`highlight_number` and :func:`link_html`, every other value escaped."""
    head = "".join(f"<th>{html_text(h)}</th>" for _, h in columns)
    body = []
    for r in rows:
        cells = []
        for key, _ in columns:
            if key == "sentence":
                v = highlight_number(r.get("evidence_text"), r.get("char_start"), r.get("value_start"),
                                     r.get("value_end"))
            elif key == "source":
                v = link_html(r.get("source_id"))
            else:
                x = r.get(key)
                v = "—" if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)) else html_text(x)
            if key == "sentence":  # the sentence gets room to be read; the short columns stay on one line
                cells.append(f'<td style="min-width:24rem;white-space:normal">{v}</td>')
            else:
                wrap = len(v) > 40
                cells.append(f"<td>{v}</td>" if wrap else f'<td style="white-space:nowrap">{v}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="evidence"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")
