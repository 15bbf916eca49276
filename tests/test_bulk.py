"""Loading an extraction output folder into the store in batches; a rerun is idempotent."""

import json

import pyarrow.parquet as pq
import pytest

from evidence.bulk import is_extract_folder, load_parquet_folder, part_files
from evidence.errors import ImportFileError
from extraction.engine import run_extraction
from tests.fixtures.make_pubmed import make_baseline_files


@pytest.fixture(scope="module")
def out_folder(tmp_path_factory):
    base = tmp_path_factory.mktemp("bulk")
    make_baseline_files(base / "in", n_files=2, per_file=150, seed=5, sarcoma_fraction=0.1)
    manifest = run_extraction([base / "in"], base / "out")
    assert manifest.totals()["extracted"] > 20
    return base / "out"


def _n_rows(folder):
    return sum(pq.read_metadata(f).num_rows for f in folder.glob("part-*.parquet"))


def test_load_in_batches_then_rerun_is_idempotent(store, out_folder):
    n = _n_rows(out_folder)
    seen = []
    counts = load_parquet_folder(store, out_folder, batch_size=7, progress=lambda done, total: seen.append(done))
    assert counts["inserted"] == counts["rows"] == n == store.count()
    assert counts["parts"] == 2 and counts["batches"] >= n // 7
    assert seen[0] == 0 and seen[-1] == n and seen == sorted(seen)
    batches = set(store.audit()["batch"])
    assert len(batches) == counts["batches"]  # one transaction (and audit batch) per batch

    rec = store.records()[0]
    store.update_record(rec.record_id, {}, reviewer="ana", version=1, status="accepted")
    again = load_parquet_folder(store, out_folder, batch_size=1000)
    assert again["inserted"] == 0 and again["kept_curated"] == 1 and again["refreshed"] == n - 1
    assert store.count() == n and store.get(rec.record_id)[0].status == "accepted"


def test_only_done_parts_of_the_manifest_are_read(out_folder, tmp_path):
    assert is_extract_folder(out_folder) and not is_extract_folder(tmp_path)
    manifest = json.loads((out_folder / "manifest.json").read_text(encoding="utf-8"))
    assert [p.name for p in part_files(out_folder)] == [p["part"] for p in manifest["parts"]]
    folder = tmp_path / "copy"
    folder.mkdir()
    for p in out_folder.iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / f".{manifest['parts'][0]['part']}.1-dead.tmp").write_bytes(b"half a part")
    manifest["parts"][0]["status"] = "failed"
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert [p.name for p in part_files(folder)] == [manifest["parts"][1]["part"]]
    (folder / manifest["parts"][1]["part"]).unlink()
    with pytest.raises(ImportFileError, match="missing part"):
        part_files(folder)


def test_unusable_folders_are_rejected(store, tmp_path):
    with pytest.raises(ImportFileError, match="no part-"):
        load_parquet_folder(store, tmp_path)
    with pytest.raises(ImportFileError, match="not a folder"):
        load_parquet_folder(store, tmp_path / "missing")
    (tmp_path / "part-0.parquet").write_bytes(b"not parquet")
    with pytest.raises(ImportFileError, match="not a readable Parquet"):
        load_parquet_folder(store, tmp_path)
    with pytest.raises(ImportFileError, match="Invalid batch_size 0"):
        load_parquet_folder(store, tmp_path, batch_size=0)


def test_cli_extract_to_folder_then_ingest_the_folder(tmp_path):
    from typer.testing import CliRunner

    from evidence.cli import app
    from evidence.store import Store

    make_baseline_files(tmp_path / "in", n_files=1, per_file=60, seed=9, sarcoma_fraction=0.2)
    runner = CliRunner()
    res = runner.invoke(app, ["extract", str(tmp_path / "in"), "--format", "parquet", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "manifest.json").is_file() and list((tmp_path / "out").glob("part-*.parquet"))
    db = f"sqlite:///{tmp_path / 'e.db'}"
    res = runner.invoke(app, ["ingest", str(tmp_path / "out"), "--db", db])
    assert res.exit_code == 0, res.output
    store = Store(db)
    assert store.count() == _n_rows(tmp_path / "out") > 0
    store.close()
    res = runner.invoke(app, ["extract", str(tmp_path / "in"), "--engine", "dask", "--format", "csv"])
    assert res.exit_code == 2


def test_manifest_naming_a_file_outside_its_folder_is_refused(tmp_path):
    """bulk loading reads only part files inside the output folder."""
    import json

    import pytest

    from evidence.bulk import part_files
    from evidence.errors import ImportFileError

    (tmp_path / "manifest.json").write_text(json.dumps({"parts": [{"part": "../../etc/x.parquet", "status": "done"}]}))
    with pytest.raises(ImportFileError, match="not a file name inside"):
        part_files(tmp_path)
