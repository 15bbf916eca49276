"""Reviewer accounts: who may curate. Names with a slow salted password hash, in the store.

A password is stored as ``scrypt$N$r$p$salt$hash`` (hex): :func:`hashlib.scrypt` (RFC 7914) with a
random 16-byte salt per account and N = 2**14, r = 8, p = 1 (the parameters RFC 7914 §2 and OWASP's
password-storage cheat sheet give for interactive logins), compared in constant time
(:func:`hmac.compare_digest`). The dashboard and ``sarcoma-evidence curate`` sign a reviewer in with
:meth:`Reviewers.authenticate` and write that account's name into the audit log, never free text.

>>> from evidence.store import Store
>>> accounts = Reviewers(Store("sqlite://"))
>>> accounts.add("ana", "a long passphrase")
'ana'
>>> accounts.authenticate("ana", "a long passphrase")
'ana'
>>> accounts.verify("ana", "wrong"), accounts.names()
(False, ['ana'])
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select

from evidence.errors import EvidenceError
from evidence.store import Store, now
from evidence.tables import reviewers

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")
MIN_PASSWORD = 8
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_DUMMY = "scrypt$16384$8$1$" + "00" * 16 + "$" + "00" * 32  # verified against for unknown names (same cost)


class ReviewerError(EvidenceError, ValueError):
    """A reviewer account that cannot be created, found, or signed in to (one line)."""


@dataclass(frozen=True)
class Account:
    """One reviewer account as listed (never the hash)."""

    name: str
    created_at: datetime


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """The stored form of ``password``: scrypt (RFC 7914) with a random 16-byte salt.

    >>> h = hash_password("secret pass", salt=bytes(16))
    >>> h.split("$")[:4], check_password("secret pass", h), check_password("other", h)
    (['scrypt', '16384', '8', '1'], True, False)
    """
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a :func:`hash_password` string (constant-time compare)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def check_name(name: str) -> str:
    """``name`` when it is a valid account name (a letter, then letters, digits, ``._-``; at most 64)."""
    if not isinstance(name, str) or not NAME.match(name):
        raise ReviewerError(f"reviewer name {name!r}: use a letter, then letters, digits, '.', '_' or '-' "
                            "(at most 64 characters)")
    return name


class Reviewers:
    """The reviewer accounts of one :class:`~evidence.store.Store`."""

    def __init__(self, store: Store):
        self.store = store

    def add(self, name: str, password: str) -> str:
        """Create an account; refuses a taken name or a password shorter than :data:`MIN_PASSWORD`."""
        check_name(name)
        if len(password) < MIN_PASSWORD:
            raise ReviewerError(f"the password of {name!r} must have at least {MIN_PASSWORD} characters")
        hashed = hash_password(password)
        with self.store.engine.begin() as c:
            if c.scalar(select(reviewers.c.name).where(reviewers.c.name == name)) is not None:
                raise ReviewerError(f"reviewer {name!r} exists already; remove it first to reset the password")
            c.execute(insert(reviewers).values(name=name, password_hash=hashed, created_at=now()))
        return name

    def remove(self, name: str) -> None:
        """Delete an account (its name stays in the audit log of what it did)."""
        with self.store.engine.begin() as c:
            if c.execute(delete(reviewers).where(reviewers.c.name == name)).rowcount != 1:
                raise ReviewerError(f"no reviewer {name!r}; see `sarcoma-evidence reviewers list`")

    def accounts(self) -> list[Account]:
        """Every account, by name."""
        with self.store.engine.connect() as c:
            rows = c.execute(select(reviewers.c.name, reviewers.c.created_at).order_by(reviewers.c.name)).all()
        return [Account(r.name, r.created_at) for r in rows]

    def names(self) -> list[str]:
        """The account names, sorted."""
        return [a.name for a in self.accounts()]

    def exists(self, name: str) -> bool:
        """Whether an account ``name`` exists (a removed account can no longer write)."""
        with self.store.engine.connect() as c:
            return c.scalar(select(reviewers.c.name).where(reviewers.c.name == name)) is not None

    def verify(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s (an unknown name costs the same time and gives False)."""
        with self.store.engine.connect() as c:
            stored = c.scalar(select(reviewers.c.password_hash).where(reviewers.c.name == name))
        ok = check_password(password or "", stored or _DUMMY)
        return ok and stored is not None

    def authenticate(self, name: str, password: str | None) -> str:
        """The account name when ``password`` is right; else :class:`ReviewerError` (one line, no hint which)."""
        if not name or password is None or not self.verify(name, password):
            raise ReviewerError(f"reviewer {name!r}: unknown account or wrong password "
                                "(accounts: `sarcoma-evidence reviewers add NAME`)")
        return name


__all__ = ["Account", "ReviewerError", "Reviewers", "check_name", "check_password", "hash_password"]
