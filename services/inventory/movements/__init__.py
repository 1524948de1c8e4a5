"""Transfers, cycle-count adjustments and QC release of received material."""
