"""Customers and sales orders (minimal; the MRP engine comes later)."""
