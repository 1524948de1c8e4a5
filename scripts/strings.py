"""Add every `_()` message that has no Spanish text yet to the right `locale/es.po`.

    .venv/bin/python scripts/strings.py          # add the missing ones (empty msgstr) and list them
    .venv/bin/python scripts/strings.py --check  # only list them; exit 1 when there are any

A message goes to the catalogue of the nearest package above its first use that has a
`locale/` folder (a gateway UI feature, a service, or `shared`); fill the empty msgstr lines
in with any PO editor or by hand. See shared/i18n.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.i18n import ROOT, missing_translations


def catalogue_for(source: Path) -> Path:
    for folder in source.parents:
        if (folder / "locale").is_dir() or folder.parent == ROOT:
            return folder / "locale" / "es.po"
    return ROOT / "shared" / "locale" / "es.po"


def add_missing(missing: dict[str, list[str]]) -> None:
    by_file: dict[Path, list[tuple[str, list[str]]]] = {}
    for msgid, where in missing.items():
        source = ROOT / where[0].rsplit(":", 1)[0]
        by_file.setdefault(catalogue_for(source), []).append((msgid, where))
    for path, messages in by_file.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale="es")
        else:
            catalog = Catalog(locale="es", project="Production Portal")
        for msgid, where in messages:
            locations = [(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in where]
            catalog.add(msgid, "", locations=locations)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=False)
        print(f"{path.relative_to(ROOT)}: {len(messages)} message(s) to translate")


def main() -> int:
    missing = missing_translations("es")
    for msgid, where in missing.items():
        print(f"{where[0]}: {msgid!r}")
    if "--check" in sys.argv:
        return 1 if missing else 0
    if missing:
        add_missing(missing)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
