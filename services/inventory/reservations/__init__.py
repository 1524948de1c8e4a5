"""Reservations of stock for production orders and sales orders."""
