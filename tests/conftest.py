"""Shared fixtures: stores on SQLite and, when SARCOMA_EVIDENCE_TEST_PG is set, on PostgreSQL."""

from __future__ import annotations

import os
import sys
import uuid

import pytest

from evidence.schema import validate_record

PG_URL = os.environ.get("SARCOMA_EVIDENCE_TEST_PG")


@pytest.fixture(autouse=True)
def _keep_main_module():
    """Streamlit's script runner (AppTest) leaves the page it ran as ``sys.modules["__main__"]``; a process
    spawned later (a Dask worker, an extraction worker) would then run that page on start. Restore it."""
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


def _fresh_pg_url() -> str:
    """A new, empty database on the test server, so each test starts from nothing."""
    from sqlalchemy import create_engine, text

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_URL.rsplit("/", 1)[0] + "/" + name


def _backends():
    params = [pytest.param("sqlite", id="sqlite")]
    if PG_URL:
        params.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    elif os.environ.get("CI"):
        params.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    return params


@pytest.fixture(params=_backends())
def store_url(request, tmp_path):
    """A URL of an empty store on each backend (PostgreSQL is required under CI)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'evidence.db'}"
    if not PG_URL:
        pytest.fail("CI=true but SARCOMA_EVIDENCE_TEST_PG is not set: .ci/run must start PostgreSQL")
    return _fresh_pg_url()


@pytest.fixture
def store(store_url):
    from evidence.store import Store

    s = Store(store_url)
    yield s
    s.close()


def make_record(**kw):
    """A valid record with sensible defaults, overridable per field."""
    base = {"source_id": "PMID:100", "endpoint": "OS", "measure": "HR", "arm": "contrast", "value": 0.77,
            "ci_low": 0.62, "ci_high": 0.95, "p_value": 0.017, "p_relation": "=", "n": 452,
            "intervention": "eribulin", "comparator": "dacarbazine", "histotypes": ["leiomyosarcoma"],
            "char_start": 10, "char_end": 90, "value_start": 40, "value_end": 44,
            "evidence_text": "OS was longer with eribulin (HR 0.77, 95% CI 0.62–0.95; p=0.017)."}
    base.update(kw)
    return validate_record(base)
