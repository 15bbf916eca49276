"""The ``manifest.json`` of an extraction output folder: what was read, what was written, what failed.

An output folder of :func:`extraction.engine.run_extraction` holds one Parquet part per input
partition and this manifest. Per part it records the inputs with their SHA-256 digests, a checksum
over them and the options that shape the output (extractor version, pre-filter on or off), the counts
(documents scanned, kept by the pre-filter, records extracted) and the failures with their reasons.
A rerun skips a part whose file exists and whose checksum still matches; the manifest is rewritten
atomically (temporary file, then ``os.replace``) as parts finish (at most every
``extraction.engine.MANIFEST_EVERY`` seconds, and at the end), so a killed run leaves a manifest that
never lists a part that is not on disk; a part written but not yet listed is simply redone.

>>> m = Manifest(package_version="0.1.0", extractor="x/0.1.0")
>>> m.parts["a.xml.gz"] = PartReport(key="a.xml.gz", part="part-1.parquet", checksum="c", status="done",
...                                  files=[{"path": "a.xml.gz", "sha256": "d"}], scanned=10, kept=2, extracted=5)
>>> m.totals()
{'parts': 1, 'done': 1, 'failed': 0, 'scanned': 10, 'kept': 2, 'extracted': 5, 'failures': 0}
>>> Manifest.from_dict(m.to_dict()) == m
True
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST_NAME", "Manifest", "PartReport", "write_json_atomic"]

MANIFEST_NAME = "manifest.json"
#: Version of the manifest layout (bumped when a field changes meaning).
MANIFEST_FORMAT = 1


@dataclass
class PartReport:
    """What happened to one partition.

    Attributes
    ----------
    key, part : str
        The partition key and its part file name (see :mod:`extraction.partitions`).
    checksum : str
        SHA-256 over the inputs' digests and the output-shaping options; a rerun with the same
        checksum and an existing part file skips the partition.
    status : str
        ``done`` (part written; per-file failures may be listed) or ``failed`` (no part: the task
        itself failed, or its worker died more often than allowed; a rerun tries again).
    files : list of dict
        ``{"path": …, "sha256": …}`` per input file (``sha256`` None when it could not be read).
    scanned, kept, extracted : int
        Documents read, documents the pre-filter let through, records written.
    failures : list of dict
        ``{"path": …, "reason": …}`` (plus ``source_id`` for a document-level failure).
    seconds : float
        Wall time of the task.
    """

    key: str
    part: str
    checksum: str
    status: str
    files: list[dict[str, Any]] = field(default_factory=list)
    scanned: int = 0
    kept: int = 0
    extracted: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartReport:
        """A report from its JSON form (unknown keys are ignored, for forward compatibility)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Manifest:
    """The manifest of one output folder (see the module docstring).

    Attributes
    ----------
    package_version, extractor : str
        ``sarcoma-evidence`` version and extractor name/version that wrote the parts.
    parts : dict of str to PartReport
        By partition key, parts of earlier runs included.
    last_run : dict
        Engine, workers, and how many parts the latest run processed, skipped and failed, its seconds.
    updated_at : str
        ISO 8601 time of the last write.
    """

    package_version: str
    extractor: str
    parts: dict[str, PartReport] = field(default_factory=dict)
    last_run: dict[str, Any] = field(default_factory=dict)
    updated_at: str = ""

    # -- summaries ----------------------------------------------------------------------------------
    def totals(self) -> dict[str, int]:
        """Counts over all parts: parts, done, failed, scanned, kept, extracted, failures."""
        reps = list(self.parts.values())
        return {"parts": len(reps), "done": sum(r.status == "done" for r in reps),
                "failed": sum(r.status == "failed" for r in reps), "scanned": sum(r.scanned for r in reps),
                "kept": sum(r.kept for r in reps), "extracted": sum(r.extracted for r in reps),
                "failures": sum(len(r.failures) for r in reps)}

    @property
    def failures(self) -> list[dict[str, Any]]:
        """Every failure of every part, each with its partition ``key``."""
        return [{"key": r.key, **f} for r in self.parts.values() for f in r.failures]

    @property
    def failed_paths(self) -> list[str]:
        """Input files that failed (read errors, or a part that failed as a whole), sorted, unique."""
        return sorted({f["path"] for f in self.failures if f.get("path")})

    @property
    def inputs(self) -> list[dict[str, Any]]:
        """Every input file with its SHA-256 and part."""
        return [{**f, "part": r.part} for r in self.parts.values() for f in r.files]

    # -- JSON ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON form: layout version, versions, totals, inputs and parts."""
        return {"format": MANIFEST_FORMAT, "package_version": self.package_version, "extractor": self.extractor,
                "updated_at": self.updated_at, "totals": self.totals(), "last_run": self.last_run,
                "inputs": self.inputs, "parts": [asdict(r) for r in self.parts.values()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """A manifest from its JSON form."""
        parts = [PartReport.from_dict(p) for p in data.get("parts", [])]
        return cls(package_version=data.get("package_version", ""), extractor=data.get("extractor", ""),
                   parts={p.key: p for p in parts}, last_run=data.get("last_run", {}),
                   updated_at=data.get("updated_at", ""))

    @classmethod
    def read(cls, folder: str | os.PathLike[str]) -> Manifest | None:
        """The manifest of ``folder``, or None when it has none (or an unreadable one: rebuilt)."""
        path = Path(folder) / MANIFEST_NAME
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def write(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``manifest.json`` into ``folder`` atomically; returns its path."""
        self.updated_at = datetime.now(UTC).isoformat(timespec="seconds")
        return write_json_atomic(Path(folder) / MANIFEST_NAME, self.to_dict())


def write_json_atomic(path: Path, data: Any) -> Path:
    """Write JSON to a temporary file beside ``path``, then ``os.replace`` it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
