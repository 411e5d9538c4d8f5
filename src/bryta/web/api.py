"""The JSON API, version 1 (``/api/v1``), and its interactive docs (``/api/docs``).

Every route is a thin wrapper around a use case of :mod:`bryta.app`: the parameters are typed
(enums where the values are known), so ``/openapi.json`` states exactly what is accepted and
what comes back. Errors are RFC 9457 problem details (``application/problem+json``):

* a parameter of the wrong type or outside its choices → 422 naming the parameter and what it
  accepts (FastAPI's own validation errors are turned into problem details by
  :class:`ProblemRoute`; the use cases' :class:`~bryta.errors.InputError` by the app's handler);
* an unknown area code → 404 (:class:`~bryta.errors.NotFound`);
* an unknown path under ``/api`` → 404, a known path with another method → 405.

Values that are not numbers (an index undefined for a kommun with a single RegSO) are JSON
``null``, never ``NaN``.

The docs page loads Swagger UI from the package (``static/vendor/swagger-ui``), never from a
CDN, so it works offline.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field

from bryta.app import barometer, profiles
from bryta.errors import NotFound
from bryta.web._json import finite

API_PREFIX = "/api/v1"
_MEDIA = "application/problem+json"

Level = Literal["riket", "lan", "kommun"]
Grouping = Literal["birth_region", "tenure"]
Group = Literal["born_sweden", "born_abroad", "rental", "tenant_owned", "owner_occupied"]
Index = Literal[
    "dissimilarity",
    "gini",
    "entropy",
    "isolation",
    "exposure",
    "atkinson",
    "correlation_ratio",
    "hutchens_square_root",
    "mutual_information",
    "theil_h",
    "multigroup_dissimilarity",
    "multigroup_gini",
    "normalized_exposure",
    "relative_diversity",
    "squared_coefficient_of_variation",
    "simpson_concentration",
    "simpson_interaction",
    "diversity",
    "con_prof",
    "min_max",
    "density_corrected_dissimilarity",
    "multigroup_divergence",
]
AreaLevel = Literal["regso", "kommun", "lan", "riket"]
#: the years of the bundled panel
FIRST_YEAR, LAST_YEAR = 2020, 2023


# --------------------------------------------------------------------------------------------
# Models: what /openapi.json documents


class ParameterError(BaseModel):
    """One parameter that was not accepted."""

    parameter: str = Field(description="The parameter's name, e.g. `level`.")
    location: str = Field(description="Where it was given: `query` or `path`.")
    message: str = Field(description="What is wrong and what is accepted.")


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = "about:blank"
    title: str = Field(examples=["Unprocessable content"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["level must be one of riket, lan, kommun, not 'x'"])
    instance: str = Field(description="The path that was asked for.", examples=["/api/v1/x"])
    errors: list[ParameterError] | None = Field(
        default=None, description="The parameters not accepted (422 only)."
    )


class Kommun(BaseModel):
    """A kommun: its code, name and län."""

    code: str = Field(examples=["0114"])
    name: str = Field(examples=["Upplands Väsby"])
    lan: str = Field(description="The län's code.", examples=["01"])


class SegregationValue(BaseModel):
    """One index for one area and year."""

    code: str = Field(description="Riket `00`, a län or a kommun code.", examples=["0114"])
    name: str | None = Field(examples=["Upplands Väsby"])
    grouping: Grouping = Field(
        description="`birth_region`: born_sweden, born_abroad; "
        "`tenure`: rental, tenant_owned, owner_occupied."
    )
    year: int = Field(examples=[2023])
    index: Index
    group: Group | None = Field(description="The focal group; null for a multigroup index.")
    value: float | None = Field(
        description="The index over the area's RegSO; null where it is undefined "
        "(e.g. a kommun with a single RegSO)."
    )


class Parent(BaseModel):
    """An area that contains the profiled one."""

    level: AreaLevel
    code: str
    name: str


class Indicator(BaseModel):
    """One indicator for one year, with its rank (1 = highest value), the number of areas
    ranked and their median in each comparison group: a RegSO among the RegSO of its kommun
    and of its official area type, a kommun among the kommuner of its län and of the country,
    a län among the 21 län."""

    indicator: str
    name: str | None
    domain: str | None
    unit: str | None
    year: int
    value: float | None
    rank_kommun: int | None = None
    n_kommun: int | None = None
    median_kommun: float | None = None
    rank_area_type: int | None = None
    n_area_type: int | None = None
    median_area_type: float | None = None
    rank_lan: int | None = None
    n_lan: int | None = None
    median_lan: float | None = None
    rank_riket: int | None = None
    n_riket: int | None = None
    median_riket: float | None = None


class AreaType(BaseModel):
    """A RegSO's area type in a year (``official``: SCB's; ``proxy``: from the bundled panel),
    or for a larger area the RegSO and the population in each type."""

    source: Literal["official", "proxy"]
    year: int
    area_type: int | None
    areas: int | None = None
    population: int | None = None
    share: float | None = None


class AreaSegregation(BaseModel):
    """Segregation within the area (kommun, län, riket: indices over its RegSO, ranked among
    areas of the same level) or, for a RegSO, its local measures within its kommun."""

    dimension: Grouping
    index: str
    group: str | None
    year: int
    value: float | None
    rank: int | None = None
    n: int | None = None


class AreaProfile(BaseModel):
    """Everything bryta knows about one area (bundled SCB data 2020–2023)."""

    code: str = Field(examples=["0114"])
    level: AreaLevel
    name: str = Field(examples=["Upplands Väsby"])
    parents: list[Parent]
    indicators: list[Indicator]
    area_types: list[AreaType]
    segregation: list[AreaSegregation]
    notes: list[str]


# --------------------------------------------------------------------------------------------
# Problem details for FastAPI's own validation errors


Form = Literal["project", "permanent_operation", "pilot", "grant_programme", "one_off", "policy"]
Status = Literal["planned", "active", "ended", "institutionalised", "cancelled"]


class Intervention(BaseModel):
    """A published intervention of the registry."""

    key: str | None = Field(
        description="Its stable key, the same in every database.", examples=["SE-NAT-2008-LUA"]
    )
    title: str = Field(examples=["Lokala utvecklingsavtal (LUA)"])
    organisations: list[str] = Field(
        description="The organisations accountable for it or implementing it (else every "
        "organisation taking part)."
    )
    form: Form
    status: Status
    start: str | None = Field(
        description="Actual start, else planned (ISO date); null if unknown.",
        examples=["2008-01-01"],
    )
    end: str | None = Field(
        description="Actual end, else planned (ISO date); null if unknown or still running.",
        examples=["2014-12-31"],
    )
    areas: list[str] = Field(
        description="The area codes it is linked to (kommun, RegSO or DeSO); with `kommun`, "
        "those within that kommun.",
        examples=[["1280"]],
    )
    other_areas: int = Field(
        description="With `kommun`: how many of its linked areas lie outside that kommun."
    )
    link: str | None = Field(
        description="Its evaluation report, else its first web reference; null if none."
    )


class Evaluation(BaseModel):
    """What one evaluation of an intervention found, with its evidence level."""

    id: int
    design: Literal["did", "synth", "twfe"] = Field(
        description="did: staggered difference-in-differences (Callaway–Sant'Anna); synth: "
        "synthetic control; twfe: two-way fixed effects."
    )
    outcome: str = Field(description="The indicator id.", examples=["born_abroad_pct"])
    aggregation: str = Field(description="Which overall estimate.", examples=["simple"])
    estimate: float = Field(description="The effect, in the units of the outcome.")
    se: float | None = Field(description="Its standard error.")
    ci_low: float | None = Field(description="Lower end of the 95 % interval.")
    ci_high: float | None = Field(description="Upper end of the 95 % interval.")
    mde: float | None = Field(
        description="Minimum detectable effect (80 % power, 5 % two-sided level)."
    )
    placebo_p: float | None = Field(description="Placebo p-value; null if no placebos were run.")
    n_treated: int = Field(description="Treated units (RegSO).")
    n_control: int = Field(description="Comparison units (never-treated RegSO).")
    first_year: int = Field(description="First year of data covered.")
    last_year: int = Field(description="Last year of data covered.")
    direction: Literal[1, -1] | None = Field(
        description="The intended direction: 1 raise, -1 lower the outcome; null if not stated."
    )
    meaningful: float | None = Field(description="The smallest effect judged meaningful.")
    pre_trend: bool | None = Field(
        description="Whether the placebo in time flagged a pre-trend; null if not checked."
    )
    evidence_level: Literal[
        "effective", "promising", "no_detectable_effect", "insufficient_evidence"
    ] = Field(description="Derived by the rule in docs/evaluation.md, 'Results in the registry'.")
    provenance: dict[str, Any] = Field(
        description="The data (warehouse datasets with checksums, or 'bundled'), bryta's "
        "version and the panel."
    )
    created_at: str = Field(description="When it was recorded (ISO, UTC).")


class WatchIntervention(BaseModel):
    """A published intervention of the registry linked to a flagged area (or one of its DeSO)."""

    key: str | None = Field(description="Its key: its page is /insats/{key}.")
    title: str


class WatchArea(BaseModel):
    """One RegSO of the watch list: the columns of `bryta watch`'s file and more."""

    regso: str = Field(
        description="The code in the index history.", examples=["0114R003_RegSO2025"]
    )
    code: str = Field(description="The code without SCB's version suffix.", examples=["0114R003"])
    name: str | None = Field(description="The bundled RegSO 2020 name of that code, if any.")
    kommun: str | None = Field(examples=["0114"])
    type_last: int | None = Field(description="The area type (1–5) in the last period.")
    index_last: float | None = Field(description="The socioeconomic index in the last period.")
    trend: float | None = Field(description="OLS slope of the index, points per period.")
    trend_low: float | None
    trend_high: float | None
    threshold: float | None = Field(description="The type-2 threshold of the last period.")
    gap: float | None = Field(description="threshold − index_last: points to go.")
    crossing_period: int | None = Field(
        description="The period the trend reaches the type-2 threshold, within the horizon."
    )
    crossing_low: int | None = Field(description="Its interval in whole periods (Fieller).")
    crossing_high: int | None
    risk_1: float | None = Field(description="Probability of type 1 or 2 after 1 period.")
    risk_3: float | None
    risk_5: float | None
    flagged: bool
    reason: str = Field(description="Why the rule flags it, in English; empty when not flagged.")
    interventions: list[WatchIntervention] | None = Field(
        description="For a flagged area: the registry's published interventions there (an "
        "empty list: none); null when not flagged or without a registry."
    )


class WatchRuleModel(BaseModel):
    """The watch list rule (docs/early_warning.md)."""

    horizon: int
    risk_threshold: float
    level: float


class WatchBacktest(BaseModel):
    """The rule's track record on the same history."""

    horizon: int
    min_lead: int
    origins: list[int] = Field(description="The periods flagged from and scored.")
    complete: bool = Field(description="Whether every origin had its whole horizon observed.")
    precision: float | None
    recall: float | None
    recall_lead: float | None = Field(description="Recall of entries at least min_lead after.")
    median_lead: float | None
    flags: int
    entries: int


class WatchList(BaseModel):
    """The early warning's watch list of a kommun or the country, with its track record."""

    kommun: str | None = Field(description="The kommun; null for the whole country.")
    last_period: int | None
    threshold: float | None = Field(description="The type-2 threshold of the last period.")
    rule: WatchRuleModel
    backtest: WatchBacktest
    areas: list[WatchArea] = Field(
        description="Every area, flagged first, then by risk_5 (highest first)."
    )


class ProblemRoute(APIRoute):
    """A route whose request validation errors are 422 problem details naming each parameter
    and what it accepts (FastAPI answers ``{"detail": [...]}`` otherwise)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return _invalid(request, exc)

        return route


def _invalid(request: Request, exc: RequestValidationError) -> Response:
    from bryta.web.app import problem

    errors = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        location = loc[0] if loc else "request"
        name = loc[-1] if len(loc) > 1 else location
        message = str(error.get("msg", "not accepted"))
        if "input" in error and error.get("type") != "missing":
            message = f"{message}, not {error['input']!r}"
        errors.append({"parameter": name, "location": location, "message": message})
    detail = "; ".join(
        f"{e['location']} parameter {e['parameter']!r}: {e['message']}" for e in errors
    )
    return problem(422, detail or "the request was not accepted", request, errors=errors)


_PROBLEM = {"schema": {"$ref": "#/components/schemas/Problem"}}
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "Unknown code", "content": {_MEDIA: _PROBLEM}},
    422: {
        "model": Problem,
        "description": "A parameter is not accepted",
        "content": {_MEDIA: _PROBLEM},
    },
}


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: _ERRORS[status] for status in statuses}


# --------------------------------------------------------------------------------------------
# Routes

router = APIRouter(prefix="/api")
v1 = APIRouter(prefix="/v1", tags=["barometer"], route_class=ProblemRoute)


@v1.get("/kommuner", response_model=list[Kommun])
def kommuner() -> list[dict[str, Any]]:
    """Sweden's 290 kommuner, sorted by code."""
    return barometer.kommuner().to_dicts()


@v1.get("/segregation", response_model=list[SegregationValue], responses=_responses(422))
def segregation(
    level: Annotated[
        Level, Query(description="Whose segregation: the country, län or kommun.")
    ] = "kommun",
    year: Annotated[
        int | None,
        Query(ge=FIRST_YEAR, le=LAST_YEAR, description="One year; all years if omitted."),
    ] = None,
    index: Annotated[Index | None, Query(description="One index; every index if omitted.")] = None,
    group: Annotated[
        Group | None,
        Query(
            description="One focal group; every group (and the multigroup indices, with "
            "`group` null) if omitted."
        ),
    ] = None,
) -> list[dict[str, Any]]:
    """Segregation over RegSO within each area of ``level``, per year, index and focal group:
    the numbers ``bryta measure`` gives on the bundled panel (birth region and tenure)."""
    import polars as pl

    table = barometer.segregation(level, year=year, index=index, group=group)
    return table.with_columns(pl.col("value").fill_nan(None)).to_dicts()


@v1.get(
    "/areas/{code}",
    response_model=AreaProfile,
    response_model_exclude_unset=True,  # the comparison groups of the area's level only
    responses=_responses(404),
)
def area(code: str) -> dict[str, Any]:
    """The profile of a RegSO (``0114R001``), kommun (``0114``), län (``01``) or the country
    (``00``): indicators with ranks, area types over the years, segregation within it."""
    result = finite(profiles.area_profile(code).to_dict())
    assert isinstance(result, dict)
    return result


@v1.get(
    "/interventions",
    response_model=list[Intervention],
    responses=_responses(404, 422),
    tags=["registry"],
)
def interventions(
    request: Request,
    kommun: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{4}$",
            description="A kommun code: the interventions linked to it or to an area in it. "
            "Every published intervention if omitted.",
            examples=["1280"],
        ),
    ] = None,
) -> list[dict[str, Any]]:
    """The published interventions of the registry (what the public may see), linked to
    ``kommun`` or to any RegSO or DeSO in it; sorted by start, then title. An empty list when
    the app has no registry."""
    from bryta.app.kommun import interventions_in

    return interventions_in(request.app.state.context, kommun) or []


@v1.get(
    "/interventions/{key}/evaluations",
    response_model=list[Evaluation],
    responses=_responses(404),
    tags=["registry"],
)
def evaluations(request: Request, key: str) -> list[dict[str, Any]]:
    """The evaluation records of a published intervention, oldest first: estimate, interval,
    minimum detectable effect and evidence level. 404 for an unknown or unpublished key."""
    from bryta.app.evaluation import evaluations_of

    result = finite(evaluations_of(request.app.state.context, key))
    assert isinstance(result, list)
    return result


@v1.get(
    "/watch",
    response_model=WatchList,
    responses=_responses(404, 422),
    tags=["early warning"],
)
def watch(
    request: Request,
    kommun: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{4}$",
            description="A kommun code: the watch list of its RegSO. The whole country if omitted.",
            examples=["1280"],
        ),
    ] = None,
) -> dict[str, Any]:
    """The early warning's watch list (`bryta watch --kommun` / `--country`) from the index
    history the app's warehouse holds: per RegSO the trend, the crossing of the type-2
    threshold, the transition risks, the flag and its reason, the registry's interventions in
    flagged areas, and the rule's backtest. 404 when no index history is loaded (the detail
    names the command that loads it) or it holds no RegSO of `kommun`."""
    from bryta.app import watch as use_case

    ctx = request.app.state.context
    report = use_case.watch_country(ctx) if kommun is None else use_case.watch_kommun(ctx, kommun)
    record = report.backtest
    result = finite(
        {
            "kommun": report.kommun,
            "last_period": report.last_period,
            "threshold": report.threshold,
            "rule": {
                "horizon": report.rule.horizon,
                "risk_threshold": report.rule.risk_threshold,
                "level": report.rule.level,
            },
            "backtest": {
                "horizon": record.horizon,
                "min_lead": record.min_lead,
                "origins": [int(o) for o in record.origins],
                "complete": record.complete,
                "precision": record.precision,
                "recall": record.recall,
                "recall_lead": record.recall_lead,
                "median_lead": record.median_lead,
                "flags": record.flags,
                "entries": record.entries,
            },
            "areas": use_case.watch_rows(report),
        }
    )
    assert isinstance(result, dict)
    return result


router.include_router(v1)


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    """Swagger UI on the API, every asset served by the app.

    For WCAG 2.1 AA: the page says its language, darker colours where Swagger UI's text has
    too little contrast (``static/swagger-ui-contrast.css``), and no deep links, which
    Swagger UI puts inside the operations' buttons (a link inside a button).
    """
    root = request.scope.get("root_path", "").rstrip("/")
    vendor = f"{root}/static/vendor/swagger-ui"
    page = get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title="bryta API",
        swagger_js_url=f"{vendor}/swagger-ui-bundle.js",
        swagger_css_url=f"{vendor}/swagger-ui.css",
        swagger_favicon_url=f"{vendor}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None, "deepLinking": False},
    )
    contrast = f'<link rel="stylesheet" href="{root}/static/swagger-ui-contrast.css">'
    html = bytes(page.body).decode()
    html = html.replace("<html>", '<html lang="en">', 1).replace("</head>", contrast + "</head>", 1)
    return HTMLResponse(html)


_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route("", methods=_METHODS, include_in_schema=False)
@router.api_route("/{path:path}", methods=_METHODS, include_in_schema=False)
def unknown(request: Request) -> Response:
    """Anything else under /api: 405 where the path exists with other methods, else 404."""
    from bryta.web.app import problem

    root = request.scope.get("root_path", "")
    path = request.url.path.removeprefix(root) if root else request.url.path
    allowed: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        regex, methods = getattr(route, "path_regex", None), route.methods
        if route.endpoint is unknown or regex is None or methods is None:
            continue
        if regex.match(path):
            allowed |= methods
    if allowed:
        shown = ", ".join(sorted(allowed))
        response = problem(
            405,
            f"{request.method} is not allowed on {request.url.path}; allowed: {shown}",
            request,
            title="Method not allowed",
        )
        response.headers["Allow"] = shown
        return response
    raise NotFound(f"no such API path: {request.url.path} (see /api/docs)")
