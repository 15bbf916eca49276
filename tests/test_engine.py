"""Corpus-scale extraction: the dask engine equals the local one, resumes, survives a killed worker.

Dask runs on 2-worker ``LocalCluster``s (processes, one thread each) over generated baseline files.
"""

import gzip
import os
import signal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from evidence.io import ARROW_SCHEMA
from extraction.engine import run_extraction
from extraction.manifest import Manifest
from extraction.partitions import Partition, part_name, plan_partitions
from extraction.worker import process_partition
from tests.fixtures.make_pubmed import make_baseline_files

N_FILES, PER_FILE = 3, 400


def crash_once(partition, out_dir, options):
    """Test-only task: the first time it meets the partition named in ``<out_dir>/../crash-once``, it
    leaves a half-written temporary part and kills its own worker process (SIGKILL)."""
    trigger = Path(out_dir).parent / "crash-once"
    claimed = trigger.with_suffix(".claimed")
    if trigger.exists() and partition.key.endswith(trigger.read_text(encoding="utf-8")):
        try:
            os.rename(trigger, claimed)  # atomic: only one attempt claims the crash
        except FileNotFoundError:
            pass
        else:
            (Path(out_dir) / f".{partition.part}.{os.getpid()}-dead.tmp").write_bytes(b"PAR1 half a part")
            os.kill(os.getpid(), signal.SIGKILL)
    return process_partition(partition, out_dir, options)


def always_fails(partition, out_dir, options):
    """Test-only task: fails for the first partition, works for the others."""
    if partition.key.endswith("0001.xml.gz"):
        raise RuntimeError("disk full")
    return process_partition(partition, out_dir, options)


def read_folder(out: Path) -> list[dict]:
    rows = [r for f in sorted(out.glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]
    return sorted(rows, key=lambda r: r["record_id"])


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    folder = tmp_path_factory.mktemp("baseline")
    paths, articles = make_baseline_files(folder, N_FILES, PER_FILE, seed=11, sarcoma_fraction=0.05)
    return folder, paths, articles


@pytest.fixture(scope="module")
def local_run(baseline, tmp_path_factory):
    folder, _, _ = baseline
    out = tmp_path_factory.mktemp("local") / "out"
    manifest = run_extraction([folder], out, engine="local")
    return manifest, read_folder(out), out


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    yield c
    c.close()


def test_manifest_counts_match_the_generated_corpus(baseline, local_run):
    _, paths, articles = baseline
    manifest, records, out = local_run
    totals = manifest.totals()
    assert totals["scanned"] == N_FILES * PER_FILE
    assert totals["kept"] == sum(a.sarcoma for a in articles) > 0
    assert totals["extracted"] == len(records) > totals["kept"]
    assert {p.key: p.part for p in manifest.parts.values()} == {os.path.normpath(p): part_name(os.path.normpath(p))
                                                                 for p in map(str, paths)}
    assert [i["sha256"] is not None for i in manifest.inputs] == [True] * N_FILES
    assert {r["source_id"] for r in records} <= {f"PMID:{a.pmid}" for a in articles if a.sarcoma}
    on_disk = Manifest.read(out)
    assert on_disk is not None and on_disk.to_dict() == manifest.to_dict()


def test_dask_engine_returns_the_records_of_the_local_engine(baseline, local_run, tmp_path):
    folder, _, _ = baseline
    seen: list[tuple[int, int]] = []
    manifest = run_extraction([folder], tmp_path / "out", engine="dask", workers=2,
                              progress=lambda done, total: seen.append((done, total)))
    assert read_folder(tmp_path / "out") == local_run[1]
    assert manifest.totals() == local_run[0].totals()
    assert seen[0] == (0, N_FILES) and seen[-1] == (N_FILES, N_FILES)
    for part in (tmp_path / "out").glob("part-*.parquet"):
        assert pq.read_schema(part).remove_metadata().equals(ARROW_SCHEMA)


def test_rerun_skips_finished_parts_and_replaces_stale_temps(baseline, local_run, cluster, tmp_path):
    folder, paths, _ = baseline
    out = tmp_path / "out"
    run_extraction([folder], out, engine="dask", scheduler=cluster.scheduler_address)
    parts = sorted(out.glob("part-*.parquet"))
    mtimes = {p.name: p.stat().st_mtime_ns for p in parts}
    parts[0].unlink()  # a part lost (or never written)
    stale = out / f".{parts[1].name}.999-dead.tmp"
    stale.write_bytes(b"half a part")
    manifest = run_extraction([folder], out, engine="dask", scheduler=cluster.scheduler_address)
    assert manifest.last_run["skipped"] == N_FILES - 1 and manifest.last_run["processed"] == 1
    assert not stale.exists() and not list(out.glob("*.tmp"))
    assert {p.name: p.stat().st_mtime_ns for p in sorted(out.glob("part-*.parquet"))[1:]} == \
        {k: v for k, v in mtimes.items() if k != parts[0].name}
    assert read_folder(out) == local_run[1]
    # a changed input is redone; the others are skipped
    changed = Path(paths[2])
    data = gzip.decompress(changed.read_bytes()).replace(b"Journal of Generated Results", b"Generated Journal")
    changed.write_bytes(gzip.compress(data, mtime=0))
    try:
        manifest = run_extraction([folder], out, engine="local")
        assert manifest.last_run["skipped"] == N_FILES - 1 and manifest.last_run["processed"] == 1
        assert read_folder(out) == local_run[1]
    finally:
        changed.write_bytes(gzip.compress(data.replace(b"Generated Journal", b"Journal of Generated Results"),
                                          mtime=0))


def test_killed_worker_partition_is_redone(baseline, local_run, cluster, tmp_path):
    folder, _, _ = baseline
    (tmp_path / "crash-once").write_text("0002.xml.gz", encoding="utf-8")
    manifest = run_extraction([folder], tmp_path / "out", engine="dask", scheduler=cluster.scheduler_address,
                              task=crash_once)
    assert (tmp_path / "crash-once.claimed").exists(), "the worker was not killed"
    records = read_folder(tmp_path / "out")
    assert records == local_run[1]
    assert len({r["record_id"] for r in records}) == len(records)
    assert manifest.totals()["failed"] == 0 and manifest.totals() == local_run[0].totals()
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_corrupt_file_is_recorded_and_the_rest_goes_on(baseline, tmp_path):
    _, paths, _ = baseline
    data = Path(paths[0]).read_bytes()
    (tmp_path / "pubmed24n9998.xml.gz").write_bytes(data[: len(data) // 2])  # truncated gzip
    (tmp_path / "pubmed24n9999.xml.gz").write_bytes(b"not gzip, not xml")
    manifest = run_extraction([*paths, tmp_path / "pubmed24n9998.xml.gz", tmp_path / "pubmed24n9999.xml.gz"],
                              tmp_path / "out")
    assert manifest.failed_paths == sorted([str(tmp_path / "pubmed24n9998.xml.gz"),
                                            str(tmp_path / "pubmed24n9999.xml.gz")])
    assert all(f["reason"] for f in manifest.failures)
    assert manifest.totals()["done"] == N_FILES + 2 and manifest.totals()["failed"] == 0
    truncated = manifest.parts[os.path.normpath(str(tmp_path / "pubmed24n9998.xml.gz"))]
    assert 0 < truncated.scanned < PER_FILE  # the articles before the break are kept


def test_failed_task_is_recorded_and_retried_on_rerun(baseline, local_run, tmp_path):
    folder, _, _ = baseline
    manifest = run_extraction([folder], tmp_path / "out", task=always_fails)
    assert manifest.totals()["failed"] == 1 and manifest.last_run["failed"] == 1
    assert "RuntimeError: disk full" in manifest.failures[0]["reason"]
    manifest = run_extraction([folder], tmp_path / "out")
    assert manifest.last_run["processed"] == 1 and manifest.totals()["failed"] == 0
    assert read_folder(tmp_path / "out") == local_run[1]


def test_text_folders_are_chunked_and_rechunking_replaces_old_parts(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(5):
        (docs / f"r{i}.txt").write_text(f"Report {i}: eribulin in leiomyosarcoma; median overall survival was "
                                        f"1{i}.5 months with eribulin.", encoding="utf-8")
    assert [len(p.files) for p in plan_partitions([docs], chunk_size=2)] == [2, 2, 1]
    run_extraction([docs], tmp_path / "out", chunk_size=2)
    first = read_folder(tmp_path / "out")
    manifest = run_extraction([docs], tmp_path / "out", chunk_size=3)
    assert len(manifest.parts) == 2 and len(list((tmp_path / "out").glob("part-*.parquet"))) == 2
    assert read_folder(tmp_path / "out") == first
    assert Partition("a.xml.gz", ("a.xml.gz",)).part == part_name("a.xml.gz")


def test_invalid_arguments_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="Invalid engine 'spark'"):
        run_extraction([tmp_path], tmp_path / "out", engine="spark")
    with pytest.raises(ValueError, match="Invalid workers=0"):
        run_extraction([tmp_path], tmp_path / "out", engine="dask", workers=0)
