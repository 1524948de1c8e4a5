"""The floor tablet for downtime: the line chooser and one line's tablet (pages.py)."""
