"""Initial schema: every table of the registry (docs/registry.md)

Revision ID: 0001
Revises:
Create Date: 2026-11-22 05:06:06.881287
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interventions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("theory_of_change", sa.Text(), nullable=False),
        sa.Column(
            "form",
            sa.Enum(
                "project",
                "permanent_operation",
                "pilot",
                "grant_programme",
                "one_off",
                "policy",
                name="form",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "active",
                "ended",
                "institutionalised",
                "cancelled",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("planned_start", sa.Date(), nullable=True),
        sa.Column("planned_end", sa.Date(), nullable=True),
        sa.Column("actual_start", sa.Date(), nullable=True),
        sa.Column("actual_end", sa.Date(), nullable=True),
        sa.Column("age_bands", sa.JSON(), nullable=False),
        sa.Column("group_tags", sa.JSON(), nullable=False),
        sa.Column(
            "prevention_level",
            sa.Enum(
                "universal",
                "selective",
                "indicated",
                "reactive",
                name="prevention_level",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("outcome_domains", sa.JSON(), nullable=False),
        sa.Column(
            "evaluation_type",
            sa.Enum(
                "none",
                "follow_up",
                "process",
                "quasi_experimental",
                "randomised",
                name="evaluation_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("evaluation_report_url", sa.String(length=2000), nullable=True),
        sa.Column("evidence_reference", sa.String(length=2000), nullable=True),
        sa.Column("reported_by", sa.String(length=300), nullable=True),
        sa.Column("verified_by", sa.String(length=300), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interventions")),
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("org_number", sa.String(length=16), nullable=True),
        sa.Column(
            "sector",
            sa.Enum(
                "state_agency",
                "municipality",
                "region",
                "civil_society",
                "business",
                "housing_company",
                "academia",
                name="sector",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "level",
            sa.Enum(
                "national",
                "regional",
                "local",
                name="org_level",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("org_number", name=op.f("uq_organisations_org_number")),
    )
    op.create_table(
        "area_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intervention_id", sa.Integer(), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "kommun",
                "regso",
                "deso",
                name="area_level",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.Column("share_of_effort", sa.Float(), nullable=True),
        sa.Column("reach_participants", sa.Integer(), nullable=True),
        sa.Column("reach_share", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "reach_participants IS NULL OR reach_participants >= 0",
            name=op.f("ck_area_links_reach_participants_not_negative"),
        ),
        sa.CheckConstraint(
            "reach_share IS NULL OR (reach_share >= 0 AND reach_share <= 1)",
            name=op.f("ck_area_links_reach_share_range"),
        ),
        sa.CheckConstraint(
            "share_of_effort IS NULL OR (share_of_effort >= 0 AND share_of_effort <= 1)",
            name=op.f("ck_area_links_share_of_effort_range"),
        ),
        sa.ForeignKeyConstraint(
            ["intervention_id"],
            ["interventions.id"],
            name=op.f("fk_area_links_intervention_id_interventions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area_links")),
        sa.UniqueConstraint("intervention_id", "area_code", name="uq_area_links_intervention_area"),
    )
    op.create_index(op.f("ix_area_links_area_code"), "area_links", ["area_code"], unique=False)
    op.create_index(
        op.f("ix_area_links_intervention_id"), "area_links", ["intervention_id"], unique=False
    )
    op.create_table(
        "fundings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intervention_id", sa.Integer(), nullable=False),
        sa.Column("funder_id", sa.Integer(), nullable=False),
        sa.Column(
            "instrument",
            sa.Enum(
                "core_budget",
                "targeted_state_grant",
                "eu",
                "arvsfonden",
                "foundation",
                "social_investment_fund",
                name="instrument",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("amount_sek", sa.BigInteger(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.CheckConstraint("amount_sek >= 0", name=op.f("ck_fundings_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["funder_id"],
            ["organisations.id"],
            name=op.f("fk_fundings_funder_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["intervention_id"],
            ["interventions.id"],
            name=op.f("fk_fundings_intervention_id_interventions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fundings")),
    )
    op.create_index(op.f("ix_fundings_funder_id"), "fundings", ["funder_id"], unique=False)
    op.create_index(
        op.f("ix_fundings_intervention_id"), "fundings", ["intervention_id"], unique=False
    )
    op.create_table(
        "indicator_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intervention_id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.String(length=100), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("actual", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["intervention_id"],
            ["interventions.id"],
            name=op.f("fk_indicator_links_intervention_id_interventions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_links")),
    )
    op.create_index(
        op.f("ix_indicator_links_indicator_id"), "indicator_links", ["indicator_id"], unique=False
    )
    op.create_index(
        op.f("ix_indicator_links_intervention_id"),
        "indicator_links",
        ["intervention_id"],
        unique=False,
    )
    op.create_table(
        "participations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("intervention_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "funding",
                "accountable",
                "implementing",
                "partner",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["intervention_id"],
            ["interventions.id"],
            name=op.f("fk_participations_intervention_id_interventions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_participations_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participations")),
    )
    op.create_index(
        op.f("ix_participations_intervention_id"),
        "participations",
        ["intervention_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_participations_organisation_id"),
        "participations",
        ["organisation_id"],
        unique=False,
    )
    op.create_table(
        "successions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_id", sa.Integer(), nullable=False),
        sa.Column("to_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "institutionalised",
                "continued",
                "scaled_up",
                "merged",
                "split",
                "replaced",
                name="succession_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("succeeded_on", sa.Date(), nullable=True),
        sa.CheckConstraint("from_id <> to_id", name=op.f("ck_successions_not_self")),
        sa.ForeignKeyConstraint(
            ["from_id"],
            ["interventions.id"],
            name=op.f("fk_successions_from_id_interventions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_id"],
            ["interventions.id"],
            name=op.f("fk_successions_to_id_interventions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_successions")),
        sa.UniqueConstraint("from_id", "to_id", name="uq_successions_from_to"),
    )
    op.create_index(op.f("ix_successions_from_id"), "successions", ["from_id"], unique=False)
    op.create_index(op.f("ix_successions_to_id"), "successions", ["to_id"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "editor",
                "viewer",
                name="user_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "role <> 'editor' OR organisation_id IS NOT NULL",
            name=op.f("ck_users_editor_has_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_users_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_index(op.f("ix_users_organisation_id"), "users", ["organisation_id"], unique=False)
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "create",
                "update",
                "delete",
                name="audit_action",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_audit_entries_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index(
        "ix_audit_entries_entity", "audit_entries", ["entity", "entity_id"], unique=False
    )
    op.create_index(op.f("ix_audit_entries_user_id"), "audit_entries", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("audit_entries")
    op.drop_table("users")
    op.drop_table("successions")
    op.drop_table("participations")
    op.drop_table("indicator_links")
    op.drop_table("fundings")
    op.drop_table("area_links")
    op.drop_table("organisations")
    op.drop_table("interventions")
