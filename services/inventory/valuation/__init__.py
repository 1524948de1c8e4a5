"""Inventory's own valuation of its stock, by accounting class (raw, WIP, finished), and the
value each business document moved: what accounting's reconciliation compares the ledger with."""
