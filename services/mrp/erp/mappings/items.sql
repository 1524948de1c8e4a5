-- items.sql: the ERP's items, one row per SKU. Applied first: everything else names items.
--
-- Each column is named with AS as the portal calls it; a column left out keeps the portal's
-- value (and its default for a new item). Returned columns that are not ours are ignored, with
-- a warning.
--
--   sku                required  the item's code (a new item is created; the SKU never changes)
--   name               required
--   uom                          unit of measure, e.g. ea, kg, L ('ea' for a new item without)
--   item_type                    raw, component, finished or packaging
--   make_or_buy                  make or buy
--   customer_supplied            Y/N, 1/0 or true/false: the customer supplies it
--   family                       product family (lines' capacities may be given per family)
--   reorder_point                quantity, zero or more
--   reorder_qty                  quantity, zero or more
--   requires_qc                  Y/N: receipts go into the QC hold
--   standard_cost                zero or more: values the item's opening stock when stock.sql
--                                gives no unit_cost (the portal keeps a moving average, not this)
--
-- This sample reads IM_ITEM of the sample ERP (../sample_erp.sql): active items only, its
-- class and source letters turned into our words, its six-decimal figures rounded to our four.
SELECT
    TRIM(ITEM_NO) AS sku,
    TRIM(DESCR) AS name,
    CASE TRIM(UOM) WHEN 'EA' THEN 'ea' ELSE TRIM(UOM) END AS uom,
    CASE ITEM_CLASS
        WHEN 'FG' THEN 'finished'
        WHEN 'CP' THEN 'component'
        WHEN 'PK' THEN 'packaging'
        ELSE 'raw'
    END AS item_type,
    CASE SOURCE_CD WHEN 'M' THEN 'make' ELSE 'buy' END AS make_or_buy,
    CUST_SUPPLIED AS customer_supplied,
    PROD_FAMILY AS family,
    ROUND(COALESCE(REORDER_PT, 0), 4) AS reorder_point,
    ROUND(COALESCE(REORDER_QTY, 0), 4) AS reorder_qty,
    INSPECT AS requires_qc,
    ROUND(STD_COST, 4) AS standard_cost
FROM IM_ITEM
WHERE STATUS = 'A'
ORDER BY ITEM_NO
