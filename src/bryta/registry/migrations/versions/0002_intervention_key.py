"""A stable key per intervention; evidence references as a JSON list

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 09:40:00

``interventions.key`` identifies an intervention across databases and files: an import
updates the intervention with the file's key instead of adding a copy. Interventions stored
before get a random key. ``evidence_reference`` (text, one reference per line) becomes
``evidence_references`` (a JSON list, like the other lists).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _table(*columns: sa.ColumnClause[Any]) -> sa.TableClause:
    return sa.table("interventions", sa.column("id", sa.Integer()), *columns)


def upgrade() -> None:
    with op.batch_alter_table("interventions") as batch:
        batch.add_column(sa.Column("key", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("evidence_references", sa.JSON(), nullable=True))
    table = _table(
        sa.column("key", sa.String()),
        sa.column("evidence_reference", sa.String()),
        sa.column("evidence_references", sa.JSON()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(table.c.id, table.c.evidence_reference)).all()
    for id, text in rows:
        references = [line for line in (text or "").split("\n") if line]
        connection.execute(
            table.update()
            .where(table.c.id == id)
            .values(key=str(uuid.uuid4()), evidence_references=references)
        )
    with op.batch_alter_table("interventions") as batch:
        batch.alter_column("key", existing_type=sa.String(length=200), nullable=False)
        batch.alter_column("evidence_references", existing_type=sa.JSON(), nullable=False)
        batch.create_unique_constraint(batch.f("uq_interventions_key"), ["key"])
        batch.drop_column("evidence_reference")


def downgrade() -> None:
    with op.batch_alter_table("interventions") as batch:
        batch.add_column(sa.Column("evidence_reference", sa.String(length=2000), nullable=True))
    table = _table(
        sa.column("evidence_reference", sa.String()), sa.column("evidence_references", sa.JSON())
    )
    connection = op.get_bind()
    for id, references in connection.execute(
        sa.select(table.c.id, table.c.evidence_references)
    ).all():
        connection.execute(
            table.update()
            .where(table.c.id == id)
            .values(evidence_reference="\n".join(references or []) or None)
        )
    with op.batch_alter_table("interventions") as batch:
        batch.drop_constraint("uq_interventions_key", type_="unique")
        batch.drop_column("key")
        batch.drop_column("evidence_references")
