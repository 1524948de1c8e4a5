"""Production orders' material in WIP: issue, relief at run completion, QC decisions, returns."""
