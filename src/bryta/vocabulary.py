"""The registry's vocabularies, defined once, with the values of docs/registry.md.

Pure (no SQLAlchemy): the registry stores these values as text (never a database-native enum
type, so the same schema works on SQLite and PostgreSQL and adding a value needs no type
migration), and the portfolio diagnostics in :mod:`bryta.compute.diagnostics` read the same
values from their frames.
"""

from __future__ import annotations

from enum import StrEnum


class Sector(StrEnum):
    STATE_AGENCY = "state_agency"
    MUNICIPALITY = "municipality"
    REGION = "region"
    CIVIL_SOCIETY = "civil_society"
    BUSINESS = "business"
    HOUSING_COMPANY = "housing_company"
    ACADEMIA = "academia"


class OrgLevel(StrEnum):
    NATIONAL = "national"
    REGIONAL = "regional"
    LOCAL = "local"


class Form(StrEnum):
    PROJECT = "project"
    PERMANENT_OPERATION = "permanent_operation"
    PILOT = "pilot"
    GRANT_PROGRAMME = "grant_programme"
    ONE_OFF = "one_off"
    POLICY = "policy"  # a policy decision (not in the minimum model; asked for by users)


class Status(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    ENDED = "ended"
    INSTITUTIONALISED = "institutionalised"
    CANCELLED = "cancelled"


class AgeBand(StrEnum):
    PRENATAL = "prenatal"
    AGE_0_5 = "0-5"
    AGE_6_15 = "6-15"
    AGE_16_19 = "16-19"
    AGE_20_64 = "20-64"
    AGE_65_PLUS = "65+"


class PreventionLevel(StrEnum):
    UNIVERSAL = "universal"
    SELECTIVE = "selective"
    INDICATED = "indicated"
    REACTIVE = "reactive"


class Setting(StrEnum):
    CHILD_HEALTH_CENTRE = "child_health_centre"
    PRESCHOOL = "preschool"
    COMPULSORY_SCHOOL = "compulsory_school"
    UPPER_SECONDARY = "upper_secondary"
    LEISURE = "leisure"
    SOCIAL_SERVICES = "social_services"
    LABOUR_MARKET = "labour_market"
    HOUSING_PROPERTY = "housing_property"
    POLICE_JUSTICE = "police_justice"
    LOCAL_CIVIL_SOCIETY = "local_civil_society"
    DIGITAL = "digital"


class OutcomeDomain(StrEnum):
    EDUCATION = "education"
    WORK = "work"
    HOUSING = "housing"
    DEMOCRACY_CIVIL_SOCIETY = "democracy_civil_society"
    SAFETY = "safety"
    HEALTH = "health"
    INCOME = "income"


class EvaluationType(StrEnum):
    NONE = "none"
    FOLLOW_UP = "follow_up"
    PROCESS = "process"
    QUASI_EXPERIMENTAL = "quasi_experimental"
    RANDOMISED = "randomised"


class Role(StrEnum):
    FUNDING = "funding"
    ACCOUNTABLE = "accountable"
    IMPLEMENTING = "implementing"
    PARTNER = "partner"


class Instrument(StrEnum):
    CORE_BUDGET = "core_budget"
    TARGETED_STATE_GRANT = "targeted_state_grant"
    EU = "eu"
    ARVSFONDEN = "arvsfonden"
    FOUNDATION = "foundation"
    SOCIAL_INVESTMENT_FUND = "social_investment_fund"


class AreaLevel(StrEnum):
    KOMMUN = "kommun"
    REGSO = "regso"
    DESO = "deso"


class SuccessionKind(StrEnum):
    """How intervention A went on as intervention B."""

    INSTITUTIONALISED = "institutionalised"  # project → permanent operation
    CONTINUED = "continued"  # a follow-up project or a new funding round
    SCALED_UP = "scaled_up"  # the same work in more areas or for more people
    MERGED = "merged"  # A became part of a larger B
    SPLIT = "split"  # A was divided; B is one of the parts
    REPLACED = "replaced"  # B took over A's purpose in another form


class UserRole(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


class AuditAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
