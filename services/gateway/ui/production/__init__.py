"""Production pages: the order queue and each order, the QC station, BOMs and scrap codes."""
