"""MRP runs: the planner's priority settings, each run's result per sales-order line with its
component detail, and the actions taken from it (create a job, suggest purchases)."""
