"""Evaluation records of the interventions, with their evidence level

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 13:40:00

One row per evaluation of an intervention (``bryta evaluate registry --record``): design,
outcome, estimate, interval, minimum detectable effect, placebo p-value, sizes, years covered,
provenance and the evidence level derived from them (docs/evaluation.md, "Results in the
registry"). Nothing stored before changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intervention_id", sa.Integer(), nullable=False),
        sa.Column("design", _enum("design", "did", "synth", "twfe"), nullable=False),
        sa.Column("outcome", sa.String(length=100), nullable=False),
        sa.Column("aggregation", sa.String(length=32), nullable=False),
        sa.Column("estimate", sa.Float(), nullable=False),
        sa.Column("se", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("mde", sa.Float(), nullable=True),
        sa.Column("placebo_p", sa.Float(), nullable=True),
        sa.Column("n_treated", sa.Integer(), nullable=False),
        sa.Column("n_control", sa.Integer(), nullable=False),
        sa.Column("first_year", sa.Integer(), nullable=False),
        sa.Column("last_year", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column(
            "evidence_level",
            _enum(
                "evidence_level",
                "effective",
                "promising",
                "no_detectable_effect",
                "insufficient_evidence",
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["intervention_id"],
            ["interventions.id"],
            name=op.f("fk_evaluations_intervention_id_interventions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
    )
    op.create_index(
        op.f("ix_evaluations_intervention_id"), "evaluations", ["intervention_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_evaluations_intervention_id"), table_name="evaluations")
    op.drop_table("evaluations")
