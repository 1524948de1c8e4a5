-- boms.sql: the current BOM of each product the ERP has one for, one row per BOM line.
--
-- When a product's lines differ from its released BOM in the portal (or it has none), the
-- import creates a new version with the ERP's lines and releases it; the version it replaces
-- becomes obsolete. Line order and numbers alone are no difference.
--
--   parent_sku         required  the product made
--   component_sku      required  an item (items.sql, or already in the portal)
--   qty_per            required  more than zero, per output_qty of the product
--   scrap_pct                     percent of the component lost in making, 0 up to 100 (0)
--   line_no                       the line's number (by position when left out)
--   uom                           the line's unit (the component's unit when left out)
--   output_qty                    how many of the product the lines make (1); the same on
--                                 every line of a product
--
-- This sample reads BM_BOM of the sample ERP, whose BATCH_QTY is the output quantity.
SELECT
    TRIM(PARENT_ITEM) AS parent_sku,
    SEQ_NO AS line_no,
    TRIM(COMP_ITEM) AS component_sku,
    ROUND(QTY_PER, 4) AS qty_per,
    COALESCE(SCRAP_PCT, 0) AS scrap_pct,
    ROUND(BATCH_QTY, 4) AS output_qty
FROM BM_BOM
ORDER BY PARENT_ITEM, SEQ_NO
