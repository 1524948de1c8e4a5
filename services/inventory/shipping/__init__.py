"""Shipments of sales orders, allocation of FG, and the read model of sales orders."""
