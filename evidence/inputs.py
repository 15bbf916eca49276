"""The input files of ``extract`` and ``ingest``: paths named on the command line, folders walked.

A folder of downloaded documents is untrusted: a symbolic link in it may point anywhere (``~/.ssh``,
``/etc``, a folder that links back to itself). While walking a folder, links — to files or to
folders — are skipped (and reported through ``on_skip``) unless ``follow_links``; followed folders are
visited once each, so a link cycle ends. A file named on the command line is read even when it is a
link: the user chose it. Hidden files and folders (a name starting with ``.``) are skipped.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "a.txt").write_text("x"); (d / "l.txt").symlink_to(d / "a.txt")
>>> [p.name for p in expand_paths([d])], [p.name for p in expand_paths([d], follow_links=True)]
(['a.txt'], ['a.txt', 'l.txt'])
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path


def expand_paths(paths: Iterable[Path], *, follow_links: bool = False,
                 on_skip: Callable[[Path, str], None] | None = None) -> list[Path]:
    """Files named, folders expanded to their files (sorted within each folder).

    Parameters
    ----------
    paths : iterable of Path
        Files and folders as the user gave them.
    follow_links : bool
        Follow symbolic links met inside folders (each real folder is still visited once).
    on_skip : callable, optional
        ``on_skip(path, reason)`` for each link left out.
    """
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if not p.is_dir():
            files.append(p)
            continue
        seen: set[tuple[int, int]] = set()
        files.extend(_walk(p, follow_links, on_skip, seen))
    return files


def _walk(folder: Path, follow: bool, on_skip: Callable[[Path, str], None] | None,
          seen: set[tuple[int, int]]) -> list[Path]:
    try:
        st = folder.stat()
    except OSError:
        return []
    if (st.st_dev, st.st_ino) in seen:  # a link cycle, or a folder linked twice
        return []
    seen.add((st.st_dev, st.st_ino))
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    out: list[Path] = []
    for e in entries:
        if e.name.startswith("."):
            continue
        path = Path(e.path)
        if e.is_symlink() and not follow:
            if on_skip is not None:
                on_skip(path, "symbolic link not followed (pass --follow-links to read it)")
            continue
        try:
            if e.is_dir():
                out.extend(_walk(path, follow, on_skip, seen))
            elif e.is_file():
                out.append(path)
        except OSError:
            continue
    return out
