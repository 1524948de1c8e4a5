-- customers.sql: the ERP's customers, one row per customer code.
--
--   code               required  the customer's code (letters, digits, '.', '_', '-')
--   name               required
--   priority                     1 (most important) to 5; a new customer gets 3 without one
--
-- This sample reads AR_CUST of the sample ERP.
SELECT
    TRIM(CUST_NO) AS code,
    TRIM(CUST_NAME) AS name,
    PRIORITY_CD AS priority
FROM AR_CUST
ORDER BY CUST_NO
