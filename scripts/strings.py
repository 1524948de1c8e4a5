"""Add every `_()` message that has no Spanish text yet to the right `locale/es.po`.

    .venv/bin/python scripts/strings.py          # add the missing ones (empty msgstr) and list them
    .venv/bin/python scripts/strings.py --check  # only list them; exit 1 when there are any
    .venv/bin/python scripts/strings.py services/gateway/ui/admin   # only messages used there

A message goes to the catalogue of where it is first used: a gateway UI feature
(`services/gateway/ui/<feature>/locale/`), the UI frame, a service, or `shared`; fill the
empty msgstr lines in with any PO editor or by hand. See shared/i18n.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.i18n import ROOT, missing_translations


def catalogue_for(source: Path) -> Path:
    """A UI feature's own catalogue, else the UI frame's, else its service's, else shared's."""
    parts = source.relative_to(ROOT).parts
    if parts[:3] == ("services", "gateway", "ui"):
        feature = ROOT.joinpath(*parts[:4])
        is_feature = len(parts) > 4 and (feature / "pages.py").exists()
        folder = feature if is_feature else ROOT.joinpath(*parts[:3])
    elif parts[0] == "services" and len(parts) > 2:
        folder = ROOT.joinpath(*parts[:2])
    else:
        folder = ROOT / "shared"
    return folder / "locale" / "es.po"


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
    """Arguments other than --check limit the work to sources under those paths."""
    prefixes = tuple(
        arg if Path(arg).suffix else arg.rstrip("/") + "/"
        for arg in sys.argv[1:]
        if not arg.startswith("--")
    )
    missing = {
        msgid: where
        for msgid, where in missing_translations("es").items()
        if not prefixes or where[0].startswith(prefixes)
    }
    for msgid, where in missing.items():
        print(f"{where[0]}: {msgid!r}")
    if "--check" in sys.argv:
        return 1 if missing else 0
    if missing:
        add_missing(missing)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
