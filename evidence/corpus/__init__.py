"""The bundled demo corpus: trial reports in the project's own words and their curated table.

>>> docs = corpus_documents()
>>> len(docs) >= 10 and all(d["text"] for d in docs)
True
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

from evidence.io import read_records
from evidence.schema import EvidenceRecord


def corpus_dir() -> Path:
    """The folder of the bundled texts."""
    return Path(str(resources.files("evidence") / "corpus" / "texts"))


def manifest() -> list[dict[str, Any]]:
    """One entry per bundled document: file, source_id, citation, trial, registry, year, …"""
    text = (resources.files("evidence") / "corpus" / "manifest.json").read_text(encoding="utf-8")
    return json.loads(text)["documents"]


def practice_manifest() -> list[dict[str, Any]]:
    """Bundled reports left uncurated on purpose: the demo extracts them so a reviewer has records to curate."""
    text = (resources.files("evidence") / "corpus" / "manifest.json").read_text(encoding="utf-8")
    return json.loads(text).get("practice", [])


def corpus_documents(practice: bool = False) -> list[dict[str, Any]]:
    """The bundled documents as store sources (source_id, title, year, text, source_file, meta).

    ``practice=True`` gives the uncurated practice reports instead of the curated ones.
    """
    out = []
    for d in (practice_manifest() if practice else manifest()):
        path = corpus_dir() / d["file"]
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        out.append({"source_id": d["source_id"], "source_file": f"texts/{d['file']}",
                    "title": text.splitlines()[0], "year": d["year"], "text": text,
                    "meta": {"citation": d["citation"], "trial": d["trial"], "registry": d["registry"],
                             "file_id": "file:" + hashlib.sha256(raw).hexdigest()[:12]}})
    return out


def curated_records() -> list[EvidenceRecord]:
    """The curated evidence table of the corpus (status ``accepted``)."""
    return read_records(Path(str(resources.files("evidence") / "corpus" / "curated.csv")))
