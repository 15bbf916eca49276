"""Living evidence: dated snapshots of every pooled question (tables snapshots, snapshot_questions).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("n_questions", sa.Integer, nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
    )
    op.create_table(
        "snapshot_questions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=False),
        sa.Column("question", sa.String(400), nullable=False),
        sa.Column("keys", sa.JSON, nullable=False),
        sa.Column("k", sa.Integer, nullable=False),
        sa.Column("scale", sa.String(10)),
        sa.Column("estimate", sa.Float),
        sa.Column("ci_low", sa.Float),
        sa.Column("ci_high", sa.Float),
        sa.Column("pi_low", sa.Float),
        sa.Column("pi_high", sa.Float),
        sa.Column("tau2", sa.Float),
        sa.Column("i2", sa.Float),
        sa.Column("model", sa.Text),
        sa.Column("certainty", sa.String(20)),
        sa.Column("waiting", sa.Integer, nullable=False),
        sa.Column("studies", sa.JSON, nullable=False),
    )
    op.create_index("ix_snapshot_questions_snapshot_id", "snapshot_questions", ["snapshot_id"])
    op.create_index("ix_snapshot_questions_question", "snapshot_questions", ["question"])


def downgrade() -> None:
    op.drop_index("ix_snapshot_questions_question", "snapshot_questions")
    op.drop_index("ix_snapshot_questions_snapshot_id", "snapshot_questions")
    op.drop_table("snapshot_questions")
    op.drop_table("snapshots")
