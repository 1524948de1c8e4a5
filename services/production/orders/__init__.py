"""Production orders: make-to-order and make-to-stock, start, runs, QC and reprint chains."""
