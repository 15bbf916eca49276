"""Initial schema: sources, records, audit_log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("source_id", sa.String(200), primary_key=True),
        sa.Column("source_file", sa.Text),
        sa.Column("title", sa.Text),
        sa.Column("year", sa.Integer),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("meta", sa.JSON),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "records",
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("source_file", sa.Text),
        sa.Column("source_title", sa.Text),
        sa.Column("year", sa.Integer),
        sa.Column("trial", sa.Text),
        sa.Column("phase", sa.String(8)),
        sa.Column("randomized", sa.Boolean),
        sa.Column("setting", sa.String(20)),
        sa.Column("line", sa.String(20)),
        sa.Column("histotypes", sa.JSON, nullable=False),
        sa.Column("intervention", sa.Text),
        sa.Column("comparator", sa.Text),
        sa.Column("arm", sa.String(20), nullable=False),
        sa.Column("endpoint", sa.String(8), nullable=False),
        sa.Column("measure", sa.String(8), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("ci_low", sa.Float),
        sa.Column("ci_high", sa.Float),
        sa.Column("ci_level", sa.Float, nullable=False),
        sa.Column("p_value", sa.Float),
        sa.Column("p_relation", sa.String(2)),
        sa.Column("n", sa.Integer),
        sa.Column("timepoint_months", sa.Float),
        sa.Column("evidence_text", sa.Text),
        sa.Column("char_start", sa.Integer),
        sa.Column("char_end", sa.Integer),
        sa.Column("value_start", sa.Integer),
        sa.Column("value_end", sa.Integer),
        sa.Column("page", sa.Integer),
        sa.Column("flags", sa.JSON, nullable=False),
        sa.Column("extractor", sa.Text),
        sa.Column("confidence", sa.Float),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reviewer", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("original", sa.JSON),
        sa.Column("batch", sa.String(64)),
    )
    op.create_index("ix_records_source_id", "records", ["source_id"])
    op.create_index("ix_records_status", "records", ["status"])
    op.create_index("ix_records_cell", "records", ["endpoint", "measure"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewer", sa.Text, nullable=False),
        sa.Column("record_id", sa.String(64), sa.ForeignKey("records.record_id")),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("field", sa.String(40)),
        sa.Column("old", sa.Text),
        sa.Column("new", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("batch", sa.String(64)),
    )
    op.create_index("ix_audit_log_record_id", "audit_log", ["record_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_record_id", "audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_records_cell", "records")
    op.drop_index("ix_records_status", "records")
    op.drop_index("ix_records_source_id", "records")
    op.drop_table("records")
    op.drop_table("sources")
