"""The accounting reports: trial balance, general-ledger detail, profit and loss, balance
sheet, COGS by item, inventory valuation by account, the ledger check, and the reconciliation
of the inventory accounts with inventory's own valuation."""
