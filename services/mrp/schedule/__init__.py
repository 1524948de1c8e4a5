"""The planners' scheduling grid: open sales-order lines with their "No/Low Risk" and "High
Risk" projections, saved cell by cell with who, when and the history."""
