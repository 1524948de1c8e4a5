"""English and Spanish: translatable messages, the catalogues, and numbers and dates per locale.

Source strings are US English, written in code as `_("Item {sku} was not found.", sku=sku)`:
`_` makes a `Text`, which keeps the message id and its values and is rendered in a language
only when shown, so an error raised deep in a use case reaches a Spanish-speaking user in
Spanish. Placeholders use `str.format` braces everywhere, in Python and in templates alike.

Spanish texts live in `locale/es.po` files (gettext PO, edited with any PO editor), one beside
each package that has strings of its own: `shared/locale/`, `services/<service>/locale/`, and
each gateway UI feature's `services/gateway/ui/<feature>/locale/`. All of them are merged into
one catalogue at first use. `missing_translations()` extracts every `_()` message from the code
and templates with Babel and lists those without Spanish text; a test keeps that list empty.

The language of the work in hand is a context variable: the gateway sets it from the signed-in
user's profile, and services from the Accept-Language header the gateway sends them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.pofile import read_po

DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "es")
# US English and US Spanish (DESIGN §7): dates as 11/25/2026 and 25/11/2026, numbers 1,234.5.
LOCALES = {"en": Locale.parse("en_US"), "es": Locale.parse("es_US")}
LANGUAGE_NAMES = {"en": "English", "es": "Español"}

ROOT = Path(__file__).resolve().parent.parent
# Where catalogues and translatable sources live, relative to ROOT.
PACKAGES = ("shared", "services")

_language: ContextVar[str] = ContextVar("portal_language", default=DEFAULT_LANGUAGE)


@dataclass(frozen=True, slots=True)
class Text:
    """A message to show to a person, translated when rendered: `_("Hello {name}", name=n)`."""

    msgid: str
    params: Mapping[str, Any]

    def render(self, language: str | None = None) -> str:
        return translate(self.msgid, language, **self.params)

    def __str__(self) -> str:
        return self.render()


def _(msgid: str, /, **params: Any) -> Text:
    """Mark a message for translation; it is rendered in the reader's language when shown."""
    return Text(msgid, params)


def translate(msgid: str, language: str | None = None, /, **params: Any) -> str:
    """`msgid` in `language` (the current one by default), its placeholders filled."""
    text = catalogue(language or current_language()).get(msgid) or msgid
    if not params:
        return text
    try:
        return text.format(**{key: _shown(value, language) for key, value in params.items()})
    except (KeyError, IndexError, ValueError):
        # A translation with a broken placeholder must not hide the message: use the source.
        return msgid.format(**params)


def render(message: str | Text | None, language: str | None = None) -> str | None:
    """Plain strings pass through unchanged (names, numbers, texts a user typed)."""
    if isinstance(message, Text):
        return message.render(language)
    return message


def _shown(value: Any, language: str | None) -> Any:
    # A Text inside a Text (a field name, a status) is translated too.
    return value.render(language) if isinstance(value, Text) else value


def current_language() -> str:
    return _language.get()


@contextmanager
def language_scope(language: str | None) -> Iterator[str]:
    """Work in `language` (a supported one, else English) until the block ends."""
    chosen = language if language in LANGUAGES else DEFAULT_LANGUAGE
    token = _language.set(chosen)
    try:
        yield chosen
    finally:
        _language.reset(token)


def negotiate(accept_language: str | None) -> str:
    """The supported language an Accept-Language header prefers ('es-US,es;q=0.9' -> 'es')."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _sep, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        ranked.append((weight, tag.strip().lower()[:2]))
    for _weight, language in sorted(ranked, key=lambda pair: -pair[0]):
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


# --- catalogues -------------------------------------------------------------------------------


def catalogue_files(language: str) -> list[Path]:
    return sorted(
        path for package in PACKAGES for path in (ROOT / package).glob(f"**/locale/{language}.po")
    )


@cache
def catalogue(language: str) -> dict[str, str]:
    """msgid -> translated text for `language`, merged from every package's PO file."""
    if language == DEFAULT_LANGUAGE:
        return {}
    texts: dict[str, str] = {}
    for path in catalogue_files(language):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=language):
                if message.id and message.string and not message.fuzzy:
                    texts[str(message.id)] = str(message.string)
    return texts


def extract_messages() -> dict[str, list[str]]:
    """Every `_()` message in the code and templates -> where it is used ('path:line')."""
    from babel.messages.extract import extract_from_dir

    method_map = [
        ("**/node_modules/**", "ignore"),
        ("**.py", "python"),
        ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ]
    found: dict[str, list[str]] = {}
    for package in PACKAGES:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / package, method_map, keywords={"_": None}
        ):
            msgid = message if isinstance(message, str) else message[0]
            if msgid:
                found.setdefault(msgid, []).append(f"{package}/{filename}:{lineno}")
    return found


def missing_translations(language: str = "es") -> dict[str, list[str]]:
    """Messages used in the code or templates that have no `language` text yet."""
    known = catalogue(language)
    return {msgid: where for msgid, where in extract_messages().items() if msgid not in known}


# --- numbers and dates ------------------------------------------------------------------------


def locale_of(language: str | None = None) -> Locale:
    return LOCALES.get(language or current_language(), LOCALES[DEFAULT_LANGUAGE])


def format_number(value: Decimal | int | None, language: str | None = None) -> str:
    """1234.5000 -> '1,234.5' (en) / '1,234.5' (es_US): no trailing zeros, grouping kept."""
    if value is None:
        return ""
    number = Decimal(value)
    places = max(0, -number.normalize().as_tuple().exponent)  # type: ignore[operator]
    return babel_numbers.format_decimal(
        number,
        format=f"#,##0.{'#' * min(places, 4)}" if places else "#,##0",
        locale=locale_of(language),
    )


def format_money(value: Decimal | None, currency: str = "USD", language: str | None = None) -> str:
    if value is None:
        return ""
    return babel_numbers.format_currency(value, currency, locale=locale_of(language))


def format_datetime(
    value: datetime | None, timezone: str = "UTC", language: str | None = None
) -> str:
    """An aware UTC time shown in the plant's time zone, short form per locale."""
    if value is None:
        return ""
    return babel_dates.format_datetime(
        value, format="short", tzinfo=ZoneInfo(timezone), locale=locale_of(language)
    )


def format_date(value: date | None, language: str | None = None) -> str:
    if value is None:
        return ""
    return babel_dates.format_date(value, format="medium", locale=locale_of(language))
