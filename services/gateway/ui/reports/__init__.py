"""Production reports: yield with the scrap Pareto, certificates of compliance, live open jobs."""
