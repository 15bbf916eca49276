"""SQLAlchemy table definitions of the store (the Alembic migrations create exactly these).

``records`` holds every field of the evidence record (lists as JSON) plus what curation needs:
``version`` for optimistic locking, ``original`` (the values as first extracted, kept beside edits),
``batch`` (the import that brought the record). ``audit_log`` is append-only: one row per change of
one field (or one status change), never updated or deleted. ``reviews`` holds each reviewer's own
decision in dual extraction (append-only too: a changed mind is a new row, the latest one counts);
a review does not touch the record until the two reviewers agree or an adjudicator decides
(:mod:`evidence.curation`). Triggers added by migration 0002 refuse UPDATE and DELETE on both.
"""

from __future__ import annotations

from sqlalchemy import (
                        JSON,
                        Boolean,
                        Column,
                        DateTime,
                        Float,
                        ForeignKey,
                        Index,
                        Integer,
                        MetaData,
                        String,
                        Table,
                        Text,
)

metadata = MetaData()

sources = Table(
    "sources", metadata,
    Column("source_id", String(200), primary_key=True),
    Column("source_file", Text),
    Column("title", Text),
    Column("year", Integer),
    Column("text", Text, nullable=False),
    Column("sha256", String(64)),
    Column("meta", JSON),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
)

records = Table(
    "records", metadata,
    Column("record_id", String(64), primary_key=True),
    Column("source_id", String(200), nullable=False, index=True),
    Column("source_file", Text),
    Column("source_title", Text),
    Column("year", Integer),
    Column("trial", Text),
    Column("phase", String(8)),
    Column("randomized", Boolean),
    Column("setting", String(20)),
    Column("line", String(20)),
    Column("histotypes", JSON, nullable=False),
    Column("intervention", Text),
    Column("comparator", Text),
    Column("arm", String(20), nullable=False),
    Column("endpoint", String(8), nullable=False),
    Column("measure", String(8), nullable=False),
    Column("value", Float, nullable=False),
    Column("unit", String(20), nullable=False),
    Column("ci_low", Float),
    Column("ci_high", Float),
    Column("ci_level", Float, nullable=False),
    Column("p_value", Float),
    Column("p_relation", String(2)),
    Column("n", Integer),
    Column("timepoint_months", Float),
    Column("evidence_text", Text),
    Column("char_start", Integer),
    Column("char_end", Integer),
    Column("value_start", Integer),
    Column("value_end", Integer),
    Column("page", Integer),
    Column("flags", JSON, nullable=False),
    Column("extractor", Text),
    Column("confidence", Float),
    Column("status", String(10), nullable=False, index=True),
    Column("reviewer", Text),
    Column("note", Text),
    Column("updated_at", DateTime(timezone=True)),
    # round 2 (migration 0003)
    Column("design", String(20)),
    Column("registry_ids", JSON, nullable=False),
    Column("subgroup", Text),
    Column("subgroup_label", Text),
    Column("events", Integer),
    Column("p_sided", Integer, nullable=False),
    Column("question", String(12), nullable=False),
    Column("factor", Text),
    Column("factor_level", Text),
    Column("factor_reference", Text),
    Column("adjusted", Boolean),
    Column("covariates", JSON, nullable=False),
    # curation bookkeeping
    Column("version", Integer, nullable=False),
    Column("original", JSON),
    Column("batch", String(64)),
    Index("ix_records_cell", "endpoint", "measure"),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("reviewer", Text, nullable=False),
    Column("record_id", String(64), ForeignKey("records.record_id"), index=True),
    Column("action", String(20), nullable=False),
    Column("field", String(40)),
    Column("old", Text),
    Column("new", Text),
    Column("reason", Text),
    Column("batch", String(64)),
)

reviews = Table(
    "reviews", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(64), ForeignKey("records.record_id"), nullable=False, index=True),
    Column("source_id", String(200), nullable=False, index=True),
    Column("reviewer", Text, nullable=False),
    Column("decision", String(10), nullable=False),
    Column("values", JSON, nullable=False),
    Column("reason", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
)

reviewers = Table(
    "reviewers", metadata,  # reviewer accounts (migration 0004): who may curate; see evidence.reviewers
    Column("name", String(64), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# -- living evidence (migration 0005): dated snapshots of every pooled question -------------------
# ``snapshots`` is one row per snapshot (when, why, which inputs, a fingerprint of its content);
# ``snapshot_questions`` one row per pooled question in it (keys, k, trials, estimate, CI, PI, τ²,
# model, certainty, records waiting for review). Both are append-only (evidence.snapshots).
snapshots = Table(
    "snapshots", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("taken_at", DateTime(timezone=True), nullable=False),
    Column("note", Text),
    Column("fingerprint", String(64), nullable=False),
    Column("n_questions", Integer, nullable=False),
    Column("inputs", JSON, nullable=False),
)

snapshot_questions = Table(
    "snapshot_questions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("snapshot_id", Integer, ForeignKey("snapshots.id"), nullable=False, index=True),
    Column("question", String(400), nullable=False, index=True),
    Column("keys", JSON, nullable=False),
    Column("k", Integer, nullable=False),
    Column("scale", String(10)),
    Column("estimate", Float),
    Column("ci_low", Float),
    Column("ci_high", Float),
    Column("pi_low", Float),
    Column("pi_high", Float),
    Column("tau2", Float),
    Column("i2", Float),
    Column("model", Text),
    Column("certainty", String(20)),
    Column("waiting", Integer, nullable=False),
    Column("studies", JSON, nullable=False),
)

# -- risk of bias and GRADE judgements (migration 0006): append-only, the latest row per key counts ---------
# ``rob_judgements``: one RoB 2 domain judgement of one study (its trial identity) for one endpoint;
# ``certainty_judgements``: a reviewer's confirmation or override of one GRADE domain of one pooled question
# (``question`` is the question's key text, e.g. "soft_tissue_sarcoma|eribulin|dacarbazine|advanced|second_plus|OS|HR").
rob_judgements = Table(
    "rob_judgements", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study", String(200), nullable=False, index=True),
    Column("endpoint", String(8), nullable=False),
    Column("domain", String(40), nullable=False),
    Column("judgement", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    Column("reviewer", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

certainty_judgements = Table(
    "certainty_judgements", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("question", String(400), nullable=False, index=True),
    Column("domain", String(40), nullable=False),
    Column("judgement", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    Column("reviewer", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
