"""Production's read model of the item master (ItemUpserted)."""
