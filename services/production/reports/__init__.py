"""Production reports: yield, scrap Pareto."""
