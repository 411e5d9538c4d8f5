"""The Metod page (``/metod``): the indices, the area types and the intervals in plain language."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bryta.web.pages._common import common, environment, finish, language_of

router = APIRouter(include_in_schema=False)


# ---- the Metod page ---------------------------------------------------------------------------
@router.get("/metod", response_model=None)
def metod(request: Request) -> Response:
    """The Metod page: the indices, the area types and the intervals in plain language."""
    language = language_of(request)
    html = environment(language).get_template("metod.html").render(**common(request, language))
    return finish(HTMLResponse(html), request, language)
