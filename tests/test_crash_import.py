"""``kill -9`` in the middle of a 10,000-record import: the store keeps none or all of it, and every
curation decision made before the import is intact."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from evidence.curation import Curation
from evidence.io import read_records, write_records
from evidence.store import Store
from tests.conftest import make_record

N = 10_000
CLI = Path(sys.executable).with_name("sarcoma-evidence")


def _big_csv(path: Path, n: int = N) -> None:
    base = make_record(source_id="BIG:0").to_dict()
    write_records([{**base, "record_id": f"big{i:07d}", "source_id": f"BIG:{i // 10}", "char_start": i,
                    "char_end": i + 80, "value_start": i + 30, "value_end": i + 34} for i in range(n)], path)


def _mid_transaction(url: str) -> bool:
    """True while another connection holds an open write transaction on the store."""
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0)
        try:
            con.execute("BEGIN IMMEDIATE")  # refused while the importer holds the write lock
            con.rollback()
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            con.close()
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return bool(c.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                      "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL")))
    finally:
        engine.dispose()


def _snapshot(store: Store, ids: list[str]) -> tuple:
    """The earlier records (with versions and originals) and their audit rows, comparable across restarts."""
    audit = store.audit()
    rows = audit[audit["record_id"].isin(ids)].astype(str).to_dict("records")
    return tuple(store.get(i) for i in ids), tuple(store.original(i)["value"] for i in ids), len(audit), rows


def test_kill_9_mid_import_keeps_none_or_all(store, tmp_path):
    cur = Curation(store)
    earlier = [make_record(source_id="PMID:1"), make_record(source_id="PMID:2")]
    store.add_records(earlier)
    ids = [r.record_id for r in earlier]
    cur.edit(ids[0], {"value": 0.78}, reviewer="ana", reason="table 2")
    cur.reject(ids[1], reviewer="bo", reason="not ITT")
    before = _snapshot(store, ids)
    big = tmp_path / "big.csv"
    _big_csv(big)
    env = {k: v for k, v in os.environ.items() if k != "SARCOMA_EVIDENCE_DB"}
    proc = subprocess.Popen([str(CLI), "import", str(big), "--db", store.url], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and not _mid_transaction(store.url):
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.01)
        time.sleep(0.1)  # well inside the transaction: thousands of rows written, none committed
        assert proc.poll() is None, f"the import finished before it could be killed: {proc.communicate()}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    store.close()
    after = Store(store.url)  # "restart": a new engine, SQLite replays or drops its WAL
    try:
        n_big = after.count() - len(earlier)
        assert n_big in (0, N)
        assert n_big == 0  # killed before the commit: nothing of the import is visible
        assert _snapshot(after, ids) == before
        assert after.get(ids[0])[0].note == "table 2" and after.original(ids[0])["value"] == 0.77
        # the store still works: a later import commits as usual, earlier decisions untouched
        small = tmp_path / "small.csv"
        _big_csv(small, 5)
        after.import_records(read_records(small), reviewer="import")
        assert after.count() == len(earlier) + 5
        assert _snapshot(after, ids)[:2] == before[:2]
    finally:
        after.close()
