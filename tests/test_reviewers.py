"""Reviewer accounts (issue 12): a slow salted hash, add/list/remove on the command line, sign-in."""

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from evidence.cli import app
from evidence.reviewers import ReviewerError, Reviewers, check_password, hash_password
from evidence.tables import reviewers as reviewers_table

PW = "a long passphrase"


def test_hash_is_salted_scrypt_and_checks(store):
    h1, h2 = hash_password(PW), hash_password(PW)
    assert h1 != h2 and h1.startswith("scrypt$16384$8$1$") and PW not in h1  # salted: never the same twice
    assert check_password(PW, h1) and check_password(PW, h2) and not check_password(PW + "x", h1)
    assert not check_password(PW, "md5$abc") and not check_password(PW, "garbage")
    accounts = Reviewers(store)
    accounts.add("ana", PW)
    with store.engine.connect() as c:
        stored = c.scalar(select(reviewers_table.c.password_hash))
    assert stored.startswith("scrypt$") and PW not in stored


def test_accounts_refuse_bad_names_short_passwords_duplicates(store):
    accounts = Reviewers(store)
    accounts.add("ana", PW)
    for name in ("", "a b", "x" * 65, "9lives", "ana\nforged"):
        with pytest.raises(ReviewerError, match="reviewer name"):
            accounts.add(name, PW)
    with pytest.raises(ReviewerError, match="at least 8"):
        accounts.add("bo", "short")
    with pytest.raises(ReviewerError, match="exists already"):
        accounts.add("ana", "another passphrase")
    assert accounts.authenticate("ana", PW) == "ana"
    for name, pw in (("ana", "wrong password"), ("nobody", PW), ("ana", None), ("", PW)):
        with pytest.raises(ReviewerError, match="unknown account or wrong password"):
            accounts.authenticate(name, pw)
    accounts.remove("ana")
    assert not accounts.exists("ana") and accounts.names() == []
    with pytest.raises(ReviewerError, match="no reviewer 'ana'"):
        accounts.remove("ana")


def test_reviewers_cli_add_list_remove(store):
    runner = CliRunner()

    def run(*args, stdin=None):
        return runner.invoke(app, ["reviewers", *args, "--db", store.url], input=stdin)

    res = run("add", "ana", stdin=PW + "\n")
    assert res.exit_code == 0, res.stderr
    assert "added reviewer ana" in res.stderr and PW not in res.stdout + res.stderr
    assert Reviewers(store).authenticate("ana", PW) == "ana"
    assert run("add", "bo", stdin="another passphrase\n").exit_code == 0
    res = run("list")
    assert res.exit_code == 0 and [ln.split("\t")[0] for ln in res.stdout.splitlines()] == ["name", "ana", "bo"]
    assert "scrypt" not in res.stdout
    res = run("add", "ana", stdin=PW + "\n")
    assert res.exit_code == 2 and res.stderr.strip().count("\n") == 0 and "exists already" in res.stderr
    res = run("add", "cy", stdin="short\n")
    assert res.exit_code == 2 and "at least 8" in res.stderr
    assert run("remove", "bo").exit_code == 0 and Reviewers(store).names() == ["ana"]
    res = run("remove", "bo")
    assert res.exit_code == 2 and "no reviewer 'bo'" in res.stderr
