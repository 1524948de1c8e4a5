-- One database per service (DESIGN §2: a service never reads another service's database).
-- Run once by the postgres image's entrypoint on an empty data volume, as POSTGRES_USER
-- (portal), which therefore owns them. portal_gateway comes last: the compose healthcheck
-- waits for it to know this script has finished.
CREATE DATABASE portal_inventory;
CREATE DATABASE portal_purchasing;
CREATE DATABASE portal_production;
CREATE DATABASE portal_mrp;
CREATE DATABASE portal_downtime;
CREATE DATABASE portal_accounting;
CREATE DATABASE portal_gateway;
