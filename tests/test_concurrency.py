"""Two processes save the same record at once: exactly one wins, the other gets ConflictError."""

import multiprocessing as mp

import pytest

from tests.conftest import make_record

_barrier = None


def _init(barrier):
    global _barrier
    _barrier = barrier


def _save(url, record_id, reviewer, value):
    """Worker: read the record, wait until the other process has read it too, then save."""
    from evidence.curation import Curation
    from evidence.errors import ConflictError
    from evidence.store import Store

    store = Store(url, migrate=False)
    try:
        _, version = store.get(record_id)
        _barrier.wait(timeout=60)
        try:
            Curation(store).edit(record_id, {"value": value}, reviewer=reviewer, reason=f"{reviewer} read the pdf",
                                 version=version)
            return reviewer, version, "saved", ""
        except ConflictError as exc:
            return reviewer, version, "conflict", str(exc)
    finally:
        store.close()


@pytest.fixture(scope="module")
def pool():
    """Two spawned worker processes sharing a barrier (started once for every backend)."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(2, initializer=_init, initargs=(ctx.Barrier(2),)) as p:
        yield p


def test_two_processes_one_wins(store, pool):
    """Both processes read version 1, then both save: one wins, the other's ConflictError names the
    winner's change, and the audit log holds only the winning change."""
    rec = make_record()
    store.add_records([rec])
    tasks = [pool.apply_async(_save, (store.url, rec.record_id, who, value)) for who, value in
             (("ana", 0.78), ("bo", 0.79))]
    got = sorted(t.get(timeout=120) for t in tasks)
    assert [g[1] for g in got] == [1, 1]  # both read version 1 before either saved
    outcome = {g[0]: g[2] for g in got}
    assert sorted(outcome.values()) == ["conflict", "saved"]
    winner = next(w for w, o in outcome.items() if o == "saved")
    loser_msg = next(g[3] for g in got if g[2] == "conflict")
    won_value = {"ana": 0.78, "bo": 0.79}[winner]
    assert f"changed by {winner}" in loser_msg and f"value: 0.77 → {won_value}" in loser_msg
    assert "\n" not in loser_msg
    current, version = store.get(rec.record_id)
    assert (current.value, current.reviewer, version) == (won_value, winner, 2)
    audit = store.audit(rec.record_id)
    edits = audit[audit["action"] == "edit"]
    assert set(edits["reviewer"]) == {winner}
    assert list(edits.query("field == 'value'")["new"]) == [repr(won_value)]
