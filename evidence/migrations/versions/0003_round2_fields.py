"""Round-2 record fields (DESIGN.md): design, registry ids, subgroups, events, p sidedness, prognostic factors.

Existing rows get the schema's defaults: empty lists, ``p_sided`` 2, ``question`` 'treatment'.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

def _columns() -> list[sa.Column]:
    return [
        sa.Column("design", sa.String(20)),
        sa.Column("registry_ids", sa.JSON, nullable=False, server_default="[]"),
        sa.Column("subgroup", sa.Text),
        sa.Column("subgroup_label", sa.Text),
        sa.Column("events", sa.Integer),
        sa.Column("p_sided", sa.Integer, nullable=False, server_default="2"),
        sa.Column("question", sa.String(12), nullable=False, server_default="treatment"),
        sa.Column("factor", sa.Text),
        sa.Column("factor_level", sa.Text),
        sa.Column("factor_reference", sa.Text),
        sa.Column("adjusted", sa.Boolean),
        sa.Column("covariates", sa.JSON, nullable=False, server_default="[]"),
    ]


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        for column in _columns():
            batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("records") as batch:
        for column in reversed(_columns()):
            batch.drop_column(column.name)
