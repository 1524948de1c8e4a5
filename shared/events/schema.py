"""JSON Schema export of the event contracts (DESIGN §3), behind `portal events schema`.

Schemas are generated in pydantic's validation mode: they describe what a payload may contain
when it is sent (decimals as strings or integers, never floats; timestamps as ISO 8601 with an
offset). Output is deterministic (sorted keys), so the files can be committed and diffed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.events.catalogue import CATALOGUE, EventPayload
from shared.events.envelope import Envelope

__all__ = [
    "ENVELOPE_FILE",
    "JSON_SCHEMA_DIALECT",
    "catalogue_json_schema",
    "envelope_json_schema",
    "payload_json_schema",
    "schema_file_name",
    "write_json_schema",
]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ENVELOPE_FILE = "envelope.json"


def schema_file_name(model: type[EventPayload]) -> str:
    """`<Type>.v<version>.json`."""
    return f"{model.event_type}.v{model.version}.json"


def envelope_json_schema() -> dict[str, Any]:
    """The envelope's JSON Schema (the payload is an object validated per `type`)."""
    schema = Envelope.model_json_schema()
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": ENVELOPE_FILE, **schema}


def payload_json_schema(model: type[EventPayload]) -> dict[str, Any]:
    """One payload model's JSON Schema, tagged with its event type and version."""
    schema = model.model_json_schema()
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_file_name(model),
        "x-event-type": model.event_type,
        "x-event-version": model.version,
        **schema,
    }


def catalogue_json_schema() -> dict[str, Any]:
    """One document: the envelope schema plus every payload schema keyed by event type.

    Shape::

        {"$schema": ..., "title": ..., "envelope": {...},
         "events": {"MaterialReceived": {"version": 1, "schema": {...}}, ...}}
    """
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "Production Portal event catalogue",
        "description": (
            "Every message is an Envelope whose `payload` validates against the schema of its "
            "`type` at its `version`. Quantities and money are decimal strings, never floats."
        ),
        "envelope": envelope_json_schema(),
        "events": {
            event_type: {"version": model.version, "schema": payload_json_schema(model)}
            for event_type, model in sorted(CATALOGUE.items())
        },
    }


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json_schema(out_dir: Path) -> list[Path]:
    """Write `envelope.json` and one `<Type>.v<version>.json` per event type into `out_dir`
    (created if missing; existing files of the same names are overwritten). Returns the paths
    written, envelope first, then event types in name order."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    envelope_path = out_dir / ENVELOPE_FILE
    envelope_path.write_text(_dump(envelope_json_schema()), encoding="utf-8")
    written.append(envelope_path)

    for _, model in sorted(CATALOGUE.items()):
        path = out_dir / schema_file_name(model)
        path.write_text(_dump(payload_json_schema(model)), encoding="utf-8")
        written.append(path)
    return written
