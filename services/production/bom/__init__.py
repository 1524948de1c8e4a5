"""BOMs: versions, release, explosion and where-used."""
