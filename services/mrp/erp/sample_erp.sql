-- A small ERP database of the kind plants migrate from, for trying the ERP import (and for its
-- tests): the shipped mappings in mappings/ read exactly these tables. Plain SQL that both
-- PostgreSQL and SQLite take:
--
--   createdb erp_sample && psql -d erp_sample -f services/mrp/erp/sample_erp.sql
--   PORTAL_ERP_ODBC='SERVER=127.0.0.1;PORT=5432;DATABASE=erp_sample;UID=postgres' \
--       portal erp import --dry-run
--
-- Like many older ERPs it pads codes in CHAR columns, keeps quantities to six decimals, codes
-- item classes and flags in single letters, and keeps closed orders beside open ones.

CREATE TABLE IM_ITEM (
    ITEM_NO CHAR(20) PRIMARY KEY,
    DESCR VARCHAR(60) NOT NULL,
    UOM CHAR(4) NOT NULL,
    ITEM_CLASS CHAR(2) NOT NULL,      -- RM raw, CP component, FG finished, PK packaging
    SOURCE_CD CHAR(1) NOT NULL,       -- M made here, P purchased
    CUST_SUPPLIED CHAR(1) NOT NULL,   -- Y / N
    PROD_FAMILY VARCHAR(20),
    REORDER_PT NUMERIC(18, 6),
    REORDER_QTY NUMERIC(18, 6),
    INSPECT CHAR(1) NOT NULL,         -- Y: received into inspection
    STATUS CHAR(1) NOT NULL,          -- A active, I inactive
    STD_COST NUMERIC(18, 6)           -- standard unit cost
);

CREATE TABLE BM_BOM (
    PARENT_ITEM CHAR(20) NOT NULL,
    SEQ_NO INTEGER NOT NULL,
    COMP_ITEM CHAR(20) NOT NULL,
    QTY_PER NUMERIC(18, 6) NOT NULL,
    SCRAP_PCT NUMERIC(8, 4),
    BATCH_QTY NUMERIC(18, 6) NOT NULL,
    PRIMARY KEY (PARENT_ITEM, SEQ_NO)
);

CREATE TABLE AR_CUST (
    CUST_NO CHAR(10) PRIMARY KEY,
    CUST_NAME VARCHAR(60) NOT NULL,
    PRIORITY_CD INTEGER
);

CREATE TABLE SO_HDR (
    SO_NO CHAR(10) PRIMARY KEY,
    CUST_NO CHAR(10) NOT NULL,
    ORDER_DT DATE NOT NULL,
    STATUS CHAR(1) NOT NULL,          -- O open, C closed
    PENALTY_FLAG CHAR(1) NOT NULL,    -- Y: late delivery costs us
    DIVISION VARCHAR(20)
);

CREATE TABLE SO_LINE (
    SO_NO CHAR(10) NOT NULL,
    LINE_NO INTEGER NOT NULL,
    ITEM_NO CHAR(20) NOT NULL,
    QTY_ORD NUMERIC(18, 6) NOT NULL,
    QTY_SHIPPED NUMERIC(18, 6) NOT NULL,
    UNIT_PRICE NUMERIC(18, 4) NOT NULL,
    PROMISE_DT DATE,
    PRIMARY KEY (SO_NO, LINE_NO)
);

CREATE TABLE AP_VEND (
    VEND_NO CHAR(10) PRIMARY KEY,
    VEND_NAME VARCHAR(60) NOT NULL
);

CREATE TABLE PO_HDR (
    PO_NO CHAR(10) PRIMARY KEY,
    VEND_NO CHAR(10) NOT NULL,
    PO_DT DATE NOT NULL,
    STATUS CHAR(1) NOT NULL           -- O open, C closed
);

CREATE TABLE PO_LINE (
    PO_NO CHAR(10) NOT NULL,
    LINE_NO INTEGER NOT NULL,
    ITEM_NO CHAR(20) NOT NULL,
    QTY_ORD NUMERIC(18, 6) NOT NULL,
    QTY_RECV NUMERIC(18, 6) NOT NULL,
    UNIT_COST NUMERIC(18, 4) NOT NULL,
    DUE_DT DATE,
    PRIMARY KEY (PO_NO, LINE_NO)
);

CREATE TABLE IN_ONHAND (
    ITEM_NO CHAR(20) NOT NULL,
    WHSE CHAR(4) NOT NULL,
    QTY_ON_HAND NUMERIC(18, 6) NOT NULL,
    AVG_COST NUMERIC(18, 6),
    PRIMARY KEY (ITEM_NO, WHSE)
);

INSERT INTO IM_ITEM VALUES
    ('RESIN-GRY', 'Resin, grey, 1 L', 'L', 'RM', 'P', 'N', NULL, 10, 40, 'Y', 'A', 3.000000),
    ('BOX-S', 'Shipping box, small', 'EA', 'PK', 'P', 'N', NULL, 0, 0, 'N', 'A', 0.400000),
    ('KIT-CS', 'Customer''s fixing kit', 'EA', 'RM', 'P', 'Y', NULL, NULL, NULL, 'N', 'A', 0),
    ('BRKT-100', 'Bracket 100', 'EA', 'CP', 'M', 'N', 'BRACKETS', NULL, NULL, 'N', 'A', 0.55),
    ('LAMP-1', 'Desk lamp', 'EA', 'FG', 'M', 'N', 'LAMPS', NULL, NULL, 'N', 'A', 17.50),
    ('OLD-9', 'Discontinued lamp', 'EA', 'FG', 'M', 'N', 'LAMPS', NULL, NULL, 'N', 'I', NULL);

INSERT INTO BM_BOM VALUES
    ('BRKT-100', 10, 'RESIN-GRY', 0.125000, 2, 1),
    ('LAMP-1', 10, 'BRKT-100', 2, 0, 1),
    ('LAMP-1', 20, 'KIT-CS', 1, 0, 1),
    ('LAMP-1', 30, 'BOX-S', 1, NULL, 1);

INSERT INTO AR_CUST VALUES
    ('C-ACME', 'Acme Retail', 1),
    ('C-BETA', 'Beta Stores', NULL);

INSERT INTO SO_HDR VALUES
    ('S1001', 'C-ACME', '2026-11-02', 'O', 'Y', 'RETAIL'),
    ('S1002', 'C-BETA', '2026-11-20', 'O', 'N', NULL),
    ('S0990', 'C-ACME', '2026-09-14', 'C', 'N', 'RETAIL');

INSERT INTO SO_LINE VALUES
    ('S1001', 10, 'LAMP-1', 50, 10, 24.50, '2026-12-15'),
    ('S1001', 20, 'BRKT-100', 100, 0, 1.25, '2026-12-20'),
    ('S1002', 10, 'LAMP-1', 5, 0, 25.00, '2027-01-10'),
    ('S0990', 10, 'LAMP-1', 20, 20, 24.00, '2026-10-01');

INSERT INTO AP_VEND VALUES
    ('V-RES', 'Resin Works'),
    ('V-BOX', 'Box & Carton Co');

INSERT INTO PO_HDR VALUES
    ('P5001', 'V-RES', '2026-11-10', 'O'),
    ('P5002', 'V-BOX', '2026-11-12', 'O'),
    ('P4990', 'V-RES', '2026-08-01', 'C');

INSERT INTO PO_LINE VALUES
    ('P5001', 1, 'RESIN-GRY', 100, 20, 3.10, '2026-12-01'),
    ('P5002', 1, 'BOX-S', 500, 0, 0.415, '2026-12-05'),
    ('P4990', 1, 'RESIN-GRY', 50, 50, 3.00, '2026-08-20');

INSERT INTO IN_ONHAND VALUES
    ('RESIN-GRY', 'MAIN', 12.5, 3.05),
    ('BOX-S', 'MAIN', 200, 0.41),
    ('BOX-S', 'OVFL', 50, 0.43),
    ('LAMP-1', 'FGW', 7, NULL),
    ('KIT-CS', 'MAIN', 0, NULL);
