"""Stock by item, location, lot and status; the stock ledger; lot genealogy (issue 6)."""
