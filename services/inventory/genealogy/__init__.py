"""Lot genealogy: what went into a finished lot, and where a component lot went."""
