"""Risk of bias (RoB 2) per study and outcome, and reviewers' GRADE certainty judgements; both append-only.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("rob_judgements", "certainty_judgements")


def upgrade() -> None:
    op.create_table(
        "rob_judgements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("study", sa.String(200), nullable=False),
        sa.Column("endpoint", sa.String(8), nullable=False),
        sa.Column("domain", sa.String(40), nullable=False),
        sa.Column("judgement", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("reviewer", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rob_judgements_study", "rob_judgements", ["study"])
    op.create_table(
        "certainty_judgements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("question", sa.String(400), nullable=False),
        sa.Column("domain", sa.String(40), nullable=False),
        sa.Column("judgement", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("reviewer", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_certainty_judgements_question", "certainty_judgements", ["question"])
    if op.get_bind().dialect.name == "postgresql":  # evidence_append_only() comes with migration 0002
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION evidence_append_only()")
    else:
        for table in TABLES:
            for event in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def downgrade() -> None:
    for table in TABLES:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
    op.drop_index("ix_certainty_judgements_question", "certainty_judgements")
    op.drop_table("certainty_judgements")
    op.drop_index("ix_rob_judgements_study", "rob_judgements")
    op.drop_table("rob_judgements")
