"""Every message a person can read has its Spanish text; numbers and dates follow the locale."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from shared.i18n import (
    _,
    catalogue,
    extract_messages,
    format_datetime,
    format_number,
    language_scope,
    missing_translations,
    negotiate,
    translate,
)


def test_every_message_in_code_and_templates_has_spanish_text() -> None:
    missing = missing_translations("es")

    assert not missing, (
        "messages without Spanish text (run `.venv/bin/python scripts/strings.py`, then fill "
        "in the empty msgstr lines):\n"
        + "\n".join(f"  {where[0]}: {msgid!r}" for msgid, where in sorted(missing.items()))
    )


def test_the_extraction_finds_messages_in_python_and_templates() -> None:
    found = extract_messages()

    assert "This field is required." in found
    assert all(where[0].startswith(("shared/", "services/")) for where in found.values())


def test_spanish_texts_keep_every_placeholder_of_the_english() -> None:
    import string

    def placeholders(text: str) -> set[str]:
        return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}

    broken = {
        msgid: text
        for msgid, text in catalogue("es").items()
        if placeholders(msgid) != placeholders(text)
    }
    assert not broken


def test_a_message_is_rendered_in_the_language_of_the_work_in_hand() -> None:
    message = _("Must be greater than {gt}.", gt=0)

    assert message.render("en") == "Must be greater than 0."
    with language_scope("es"):
        assert str(message) == "Debe ser mayor que 0."
    assert translate("Not found", "es") == "No encontrado"
    assert translate("a message nobody translated", "es") == "a message nobody translated"


def test_accept_language_picks_a_supported_language() -> None:
    assert negotiate("es-US,es;q=0.9,en;q=0.8") == "es"
    assert negotiate("fr-FR,en;q=0.5") == "en"
    assert negotiate("fr-FR") == "en"
    assert negotiate(None) == "en"
    assert negotiate("en;q=0.2,es;q=0.9") == "es"


def test_numbers_and_dates_follow_the_locale() -> None:
    assert format_number(Decimal("1234.5000"), "en") == "1,234.5"
    assert format_number(Decimal("12"), "es") == "12"
    moment = datetime(2026, 11, 25, 18, 30, tzinfo=UTC)
    assert format_datetime(moment, "America/Chicago", "en").startswith("11/25/26")
    assert format_datetime(moment, "America/Chicago", "es").startswith("25/11/2026")
