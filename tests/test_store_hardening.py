"""The store under contention and in read-only places (issue 12): a bounded wait then one clear line,
export/pool from a read-only file system, a store from a newer schema named as such."""

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from evidence.errors import StoreBusyError
from evidence.io import write_records
from evidence.store import Store, head_revision
from tests.conftest import make_record
from tests.test_cli import EXE, run

BUSY = "the store is busy (another import is running); try again"


def _store_with_records(path: Path) -> str:
    db = f"sqlite:///{path}"
    s = Store(db)
    s.add_records([make_record(status="accepted"), make_record(source_id="PMID:2", status="accepted")])
    s.close()
    return db


def test_locked_store_waits_then_says_busy_without_sql(tmp_path, monkeypatch):
    db = _store_with_records(tmp_path / "e.db")
    src = tmp_path / "in.csv"
    write_records([make_record(source_id="PMID:9")], src)
    holder = sqlite3.connect(tmp_path / "e.db")
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        monkeypatch.setenv("SARCOMA_EVIDENCE_LOCK_TIMEOUT", "1")
        res = run("import", str(src), "--db", db)
        assert res.returncode == 2
        assert res.stderr.strip() == f"error: {BUSY}"
        # the dashboard and the curation CLI get the same exception from the store
        store = Store(db)
        rec, version = store.get(make_record().record_id)
        with pytest.raises(StoreBusyError, match="store is busy"):
            store.update_record(rec.record_id, {"value": 0.7}, reviewer="r", version=version)
    finally:
        holder.rollback()
        holder.close()
    assert run("import", str(src), "--db", db).returncode == 0  # free again: the import goes through


def test_export_and_pool_on_a_read_only_file_system(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    _store_with_records(ro / "e.db")
    assert not list(ro.glob("e.db-*"))  # closed cleanly: no -wal / -shm beside it
    before = (ro / "e.db").read_bytes()
    out = tmp_path / "out.csv"
    script = (f"mount --bind {ro} {ro} && mount -o remount,ro,bind {ro} && "
              f"{EXE} export --db sqlite:///{ro}/e.db --out {out} && "
              f"{EXE} pool --db sqlite:///{ro}/e.db --by endpoint")
    unshare = shutil.which("unshare")
    assert unshare, "util-linux unshare is needed to mount a read-only file system"
    res = subprocess.run([unshare, "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "wrote 2 records" in res.stderr and "Pooled estimates" in res.stdout
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3
    assert (ro / "e.db").read_bytes() == before


def test_read_only_store_is_never_migrated_or_written(tmp_path):
    db = _store_with_records(tmp_path / "e.db")
    s = Store(db, read_only=True)
    assert s.count() == 2
    with pytest.raises(Exception, match=r"readonly|read-only|query_only|attempt to write"):
        s.add_records([make_record(source_id="PMID:5")])


def test_newer_schema_says_which_version_is_supported(tmp_path):
    db = _store_with_records(tmp_path / "e.db")
    s = Store(db)
    with s.engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    s.close()
    for args in (["export", "--db", db], ["import", str(tmp_path / "none.csv"), "--db", db]):
        if args[0] == "import":
            write_records([make_record(source_id="PMID:7")], tmp_path / "none.csv")
        res = run(*args)
        assert res.returncode == 2, res.stderr
        line = res.stderr.strip()
        assert "\n" not in line and "0099_from_the_future" in line and head_revision() in line, line
        assert "newer than this program supports" in line and "Traceback" not in res.stderr
