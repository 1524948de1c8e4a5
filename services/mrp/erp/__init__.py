"""Import from an existing ERP database over a read-only ODBC connection: one SQL file per entity
maps the ERP's columns to ours; changes are applied through the owning services' APIs."""
