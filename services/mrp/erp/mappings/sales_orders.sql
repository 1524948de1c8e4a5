-- sales_orders.sql: the ERP's open sales orders, one row per line still to ship.
--
-- A new order is created in the portal with the ERP's number as its external reference
-- (external_ref, one order per number), by which the next import finds it again; its notes are
-- the ERP's notes as they are (none when this query returns no notes column). The portal cannot
-- change an order's customer or lines: when those differ later, the order is reported as held
-- for a person to change; the contractual penalty and the notes (when given here) are brought
-- to the ERP's. Give the quantity still to ship, so what the ERP has shipped is not planned
-- again.
--
--   so_ref             required  the ERP's order number, kept as the order's external_ref
--                                (64 characters at most)
--   customer_code      required  a customer (customers.sql, or already in the portal)
--   line_no            required  the line's number in the ERP (the portal numbers 1, 2, ...)
--   sku                required  an item
--   qty_ordered        required  more than zero: ordered less shipped
--   unit_price         required  zero or more
--   due_date                     the due-to-ship date
--   business_unit                the line's business unit
--   order_date                   the same on every line of an order (the plant's today)
--   contractual_penalty          Y/N: shipping late costs a penalty; the same on every line
--   notes                        the same on every line of an order
--
-- This sample reads SO_HDR and SO_LINE of the sample ERP: open orders, lines not yet shipped.
SELECT
    TRIM(H.SO_NO) AS so_ref,
    TRIM(H.CUST_NO) AS customer_code,
    H.ORDER_DT AS order_date,
    H.PENALTY_FLAG AS contractual_penalty,
    L.LINE_NO AS line_no,
    TRIM(L.ITEM_NO) AS sku,
    ROUND(L.QTY_ORD - L.QTY_SHIPPED, 4) AS qty_ordered,
    L.UNIT_PRICE AS unit_price,
    L.PROMISE_DT AS due_date,
    H.DIVISION AS business_unit
FROM SO_HDR H
JOIN SO_LINE L ON L.SO_NO = H.SO_NO
WHERE H.STATUS = 'O' AND L.QTY_ORD > L.QTY_SHIPPED
ORDER BY H.SO_NO, L.LINE_NO
