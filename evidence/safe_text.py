"""Text from files and documents shown on one terminal line: no forged log lines, no hidden characters.

A file name may hold a newline (``"a.txt\\nerror: all inputs stored"`` forges a log line), a carriage
return, ANSI escape sequences or bidirectional overrides (U+202E shows ``txt.exe`` as ``exe.txt``); a
name that is not valid UTF-8 comes back from the OS with lone surrogates. :func:`escaped` writes every
such character as a Python-style escape, so what is printed is one line and says exactly what the
name holds; other characters (accents, Greek, CJK) stay as they are.

>>> escaped("trial\\nerror: forged.txt"), escaped("a\\x1b[31mb"), escaped("\\u202etxt.exe"), escaped("é.txt")
('trial\\\\nerror: forged.txt', 'a\\\\x1b[31mb', '\\\\u202etxt.exe', 'é.txt')
"""

from __future__ import annotations

import os
import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: Unicode categories escaped: controls, format characters (bidi overrides, zero-width), line and
#: paragraph separators, and surrogates (undecodable bytes of a file name)
_UNSAFE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    o = ord(ch)
    if 0xDC80 <= o <= 0xDCFF:  # os.fsdecode's surrogateescape: the undecodable byte itself
        return f"\\x{o - 0xDC00:02x}"
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def escaped(text: str | os.PathLike[str]) -> str:
    """``text`` (or a path) with control, format and separator characters written as escapes."""
    s = os.fspath(text) if not isinstance(text, str) else text
    if isinstance(s, bytes):
        s = os.fsdecode(s)
    if s.isprintable():  # the common case: nothing to escape
        return s
    return "".join(_escape(c) if unicodedata.category(c) in _UNSAFE else c for c in s)


def one_line(message: str) -> str:
    """An error message as one line: every unsafe character escaped (see :func:`escaped`)."""
    return escaped(message)
