"""Errors of the evidence package, each with a one-line message a user can act on.

Like spaCy's ``errors.py``: the message says which field, which value and why, so a user can search
for it; the CLI prints ``str(error)`` on one line and maps the class to an exit code.
"""


class EvidenceError(Exception):
    """Base class of the project's user-facing errors."""


class RecordError(EvidenceError, ValueError):
    """A record that violates the schema: the message names the row (if any), field and value."""


class VocabularyError(EvidenceError, ValueError):
    """A vocabulary data file with an unknown key, a duplicate id or a dangling parent."""


class ImportFileError(EvidenceError):
    """A file that cannot be imported as a whole (unreadable, wrong columns, a malformed row)."""


class ConflictError(EvidenceError):
    """Optimistic-locking conflict: someone else saved the record since it was read."""

    def __init__(self, message: str, *, record_id: str = "", theirs: dict | None = None):
        super().__init__(message)
        self.record_id = record_id
        self.theirs = theirs or {}


class NotFoundError(EvidenceError, KeyError):
    """A record or source id that is not in the store."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class StoreBusyError(EvidenceError):
    """A write waited its bounded time for another writer's lock (CLI and dashboard show the message)."""

    def __init__(self, message: str = "the store is busy (another import is running); try again"):
        super().__init__(message)


class StoreSchemaError(EvidenceError):
    """A store whose schema this program cannot use (newer than it knows, or older and read-only)."""
