"""What the MRP plans from: mrp's read models of stock, BOMs, open purchase orders, production
lines and their capacity (built from events, rebuildable by replay), and the engine's rules."""
