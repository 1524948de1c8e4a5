-- stock.sql: what is on hand per item (and location), as the ERP counts it. Applied last.
--
-- Where the portal holds another quantity at that location (all lots and statuses together),
-- an inventory adjustment brings it to the ERP's figure: reason count_correction, note "ERP
-- import". An item this query does not return is left as it is: return it with 0 to empty it.
--
--   sku                required  an item
--   qty_on_hand        required  zero or more
--   location                     the portal's location code: FG for finished items, RAW for
--                                the others when left out
--
-- This sample reads IN_ONHAND of the sample ERP, every warehouse of an item added together.
SELECT
    TRIM(ITEM_NO) AS sku,
    ROUND(SUM(QTY_ON_HAND), 4) AS qty_on_hand
FROM IN_ONHAND
GROUP BY ITEM_NO
ORDER BY ITEM_NO
