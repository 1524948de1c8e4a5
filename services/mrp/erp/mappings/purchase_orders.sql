-- purchase_orders.sql: the ERP's open purchase orders, one row per line still to receive.
--
-- A new order is created in purchasing and submitted, with the ERP's number as its external
-- reference (external_ref, one order per number) and the ERP's notes as they are; a vendor the
-- portal lacks is created first (named vendor_name, or its code). As with sales orders, a later
-- difference in vendor or lines is reported as held.
-- Give the quantity still to receive, so what has arrived is not counted twice (it is in
-- stock.sql already).
--
--   po_ref             required  the ERP's order number, kept as the order's external_ref
--                                (64 characters at most)
--   vendor_code        required
--   line_no            required  the line's number in the ERP (the portal numbers 1, 2, ...)
--   sku                required  an item
--   qty_ordered        required  more than zero: ordered less received
--   unit_cost          required  zero or more
--   due_date                     when the line is expected
--   vendor_name                  names a vendor the import creates
--   order_date                   the same on every line of an order (the plant's today)
--   notes                        the same on every line of an order
--
-- This sample reads PO_HDR, PO_LINE and AP_VEND of the sample ERP: open orders, lines not yet
-- received in full.
SELECT
    TRIM(H.PO_NO) AS po_ref,
    TRIM(H.VEND_NO) AS vendor_code,
    TRIM(V.VEND_NAME) AS vendor_name,
    H.PO_DT AS order_date,
    L.LINE_NO AS line_no,
    TRIM(L.ITEM_NO) AS sku,
    ROUND(L.QTY_ORD - L.QTY_RECV, 4) AS qty_ordered,
    L.UNIT_COST AS unit_cost,
    L.DUE_DT AS due_date
FROM PO_HDR H
JOIN PO_LINE L ON L.PO_NO = H.PO_NO
LEFT JOIN AP_VEND V ON V.VEND_NO = H.VEND_NO
WHERE H.STATUS = 'O' AND L.QTY_ORD > L.QTY_RECV
ORDER BY H.PO_NO, L.LINE_NO
