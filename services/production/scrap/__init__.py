"""Scrap reason codes: the standard set, added and deactivated by admin."""
