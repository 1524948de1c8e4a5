-- stock.sql: what is on hand per item (and location), as the ERP counts it. Applied last.
--
-- Where the portal holds another quantity at that location (all lots and statuses together),
-- an inventory adjustment brings it to the ERP's figure, note "ERP import". An item this query
-- does not return is left as it is: return it with 0 to empty it.
--
-- Stock of an item the portal has none of yet (nothing held anywhere, average cost 0) is its
-- opening balance: reason opening_balance, valued at unit_cost (else at the item's
-- standard_cost from items.sql), which accounting books against opening-balance equity (3900).
-- Without either cost it is a count_correction at the portal's average cost (0 for a new item),
-- and the dry run says so. Every later difference is a count_correction at the average.
--
--   sku                required  an item
--   qty_on_hand        required  zero or more
--   location                     the portal's location code: FG for finished items, RAW for
--                                the others when left out
--   unit_cost                    zero or more: what one unit on hand is worth in the ERP
--
-- This sample reads IN_ONHAND of the sample ERP, every warehouse of an item added together, at
-- the average cost of its warehouses weighted by quantity (none when a warehouse has no cost).
SELECT
    TRIM(ITEM_NO) AS sku,
    ROUND(SUM(QTY_ON_HAND), 4) AS qty_on_hand,
    CASE
        WHEN COUNT(AVG_COST) = COUNT(*) AND SUM(QTY_ON_HAND) > 0
        THEN ROUND(SUM(QTY_ON_HAND * AVG_COST) / SUM(QTY_ON_HAND), 4)
    END AS unit_cost
FROM IN_ONHAND
GROUP BY ITEM_NO
ORDER BY ITEM_NO
