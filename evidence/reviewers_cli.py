"""``sarcoma-evidence reviewers add|list|remove``: reviewer accounts (registered in :mod:`evidence.cli`).

``add NAME`` reads the password from stdin: asked twice at a terminal, else the first line of stdin
(``printf '%s\\n' "$PW" | sarcoma-evidence reviewers add ana``). :func:`signed_in` is how ``curate``
checks who is writing: the password is asked at a terminal, else read from
``$SARCOMA_EVIDENCE_REVIEWER_PASSWORD``; a wrong or missing one is one line on stderr and exit 2.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Annotated

import typer
from rich.console import Console

from evidence.errors import EvidenceError
from evidence.reviewers import ReviewerError, Reviewers
from evidence.store import Store

PASSWORD_ENV = "SARCOMA_EVIDENCE_REVIEWER_PASSWORD"

reviewers_app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                            help="Reviewer accounts: only a signed-in reviewer may curate.")
_err = Console(stderr=True, soft_wrap=True)

Db = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store "
                                        "(default: $SARCOMA_EVIDENCE_DB, else sqlite:///evidence.db)")]
Name = Annotated[str, typer.Argument(help="the account name (as the audit log shows it)")]


def _fail(message: str) -> None:
    _err.print(f"error: {message}", markup=False, highlight=False)
    raise typer.Exit(2)


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def read_new_password(name: str) -> str:
    """A new password: asked twice at a terminal, else the first line of stdin."""
    if _stdin_is_tty():
        first = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != first:
            _fail("the two passwords differ; nothing stored")
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


def signed_in(store: Store, name: str) -> str:
    """``name`` once its password is right: asked at a terminal, else ``$SARCOMA_EVIDENCE_REVIEWER_PASSWORD``.

    Exits 2 with one line when the password is missing or wrong, or the account does not exist.
    """
    if _stdin_is_tty():
        password: str | None = getpass.getpass(f"password for reviewer {name}: ")
    else:
        password = os.environ.get(PASSWORD_ENV)
        if password is None:
            _fail(f"reviewer {name!r}: no password (no terminal to ask; set {PASSWORD_ENV})")
    try:
        return Reviewers(store).authenticate(name, password)
    except ReviewerError as exc:
        _fail(str(exc))
    raise AssertionError("unreachable")


def _with_store(db: str | None) -> Store:
    try:
        return Store(db)
    except EvidenceError as exc:
        _fail(str(exc).splitlines()[0])
    raise AssertionError("unreachable")


@reviewers_app.command()
def add(name: Name, db: Db = None):
    """Create the account NAME; its password is read from stdin (asked twice at a terminal)."""
    store = _with_store(db)
    try:
        Reviewers(store).add(name, read_new_password(name))
    except ReviewerError as exc:
        _fail(str(exc))
    finally:
        store.close()
    _err.print(f"added reviewer {name}", markup=False, highlight=False)


@reviewers_app.command("list")
def list_(db: Db = None):
    """The accounts, one per line: name, tab, when it was created."""
    store = _with_store(db)
    try:
        accounts = Reviewers(store).accounts()
    finally:
        store.close()
    sys.stdout.write("name\tcreated_at\n")
    for a in accounts:
        sys.stdout.write(f"{a.name}\t{a.created_at}\n")


@reviewers_app.command()
def remove(name: Name, db: Db = None):
    """Delete the account NAME (what it did stays in the audit log under its name)."""
    store = _with_store(db)
    try:
        Reviewers(store).remove(name)
    except ReviewerError as exc:
        _fail(str(exc))
    finally:
        store.close()
    _err.print(f"removed reviewer {name}", markup=False, highlight=False)
