"""Languages of the pages: Swedish first, English second, through gettext catalogues.

The messages are written in English in the templates (``{% trans %}``) and in Python (marked
with :func:`N_`); ``locale/sv/LC_MESSAGES/messages.po`` translates them to Swedish. The
compiled ``.mo`` files are committed beside the catalogues so that ``bryta serve`` works from
a fresh clone with no build step; ``tests/test_web_pages.py`` fails when one is stale. After
changing a message, see "Pages" in ``docs/web.md`` for the three ``pybabel`` commands.

The language of a request: ``?lang=``, then the ``lang`` cookie, then the first of ``sv`` and
``en`` in Accept-Language (by q-value), then Swedish.

>>> choose_language(query=None, cookie=None, accept="en-GB,en;q=0.9,sv;q=0.8")
'en'
>>> choose_language(query="sv", cookie="en", accept="en")
'sv'
>>> choose_language(query="de", cookie=None, accept="de-DE,de;q=0.9")
'sv'
>>> number(0.298607, "sv"), number(0.298607, "en")
('0,299', '0.299')
"""

from __future__ import annotations

import functools
import gettext
from pathlib import Path

from babel.numbers import format_decimal

LANGUAGES = ("sv", "en")
DEFAULT = "sv"
LOCALES = {"sv": "sv_SE", "en": "en_GB"}
LOCALE_DIR = Path(__file__).parent / "locale"


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue; it is translated where it is shown."""
    return message


def choose_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    """The page language: ``query``, then ``cookie``, then Accept-Language, then Swedish."""
    for given in (query, cookie):
        if given in LANGUAGES:
            return given
    return _from_accept(accept or "") or DEFAULT


def _from_accept(header: str) -> str | None:
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else None


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of ``language`` (English messages are their own translation)."""
    return gettext.translation("messages", LOCALE_DIR, languages=[language], fallback=True)


def number(value: float | None, language: str, pattern: str = "0.000") -> str:
    """``value`` written the way ``language`` writes numbers (decimal comma in Swedish)."""
    if value is None:
        return "–"
    return format_decimal(value, format=pattern, locale=LOCALES[language])
