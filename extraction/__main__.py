"""``python -m extraction PATH... [--out FILE] [--n-process N]``: evidence records as JSONL.

Files that cannot be read are named on stderr and skipped; the exit code is 1 when some failed,
2 when all did (DESIGN.md, "CLI").
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from extraction.extract import extract_paths
from extraction.pipeline import build_pipeline


def _default(o: Any) -> Any:
    if isinstance(o, datetime):
        return o.isoformat()
    raise TypeError(type(o).__name__)


def main(argv: list[str] | None = None) -> int:
    """Run the extractor over the given files and write one JSON record per line."""
    ap = argparse.ArgumentParser(prog="python -m extraction", description=__doc__)
    ap.add_argument("paths", nargs="+", help="input files (text, PDF, PubMed XML, CT.gov JSON)")
    ap.add_argument("--out", help="output JSONL file (default: stdout)")
    ap.add_argument("--n-process", type=int, default=1, help="worker processes for nlp.pipe")
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args(argv)
    failed: list[str] = []

    def on_error(path: str, exc: BaseException) -> None:
        failed.append(path)
        print(f"error: {path}: {exc}", file=sys.stderr)

    nlp = build_pipeline()
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    count = 0
    try:
        for rec in extract_paths(args.paths, nlp, n_process=args.n_process, batch_size=args.batch_size,
                                 on_error=on_error):
            out.write(json.dumps(rec, ensure_ascii=False, default=_default) + "\n")
            count += 1
    finally:
        if args.out:
            out.close()
    print(f"{count} records from {len(args.paths) - len(failed)} of {len(args.paths)} files", file=sys.stderr)
    if failed:
        return 2 if len(failed) == len(args.paths) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
