"""The QuickBooks feed of the ledger: signed webhooks of every posted journal entry, in the shape
of a QuickBooks Online JournalEntry, and IIF (QuickBooks Desktop) and CSV exports.

A sub-package of accounting with the usual files (models, domain, schemas, service, api) plus
`worker.py`, the delivery loop the service runs beside its consumer. It reads the journal and
never writes it: entries are queued for delivery by a worker step that follows the journal by
id, so the posting code knows nothing of webhooks.
"""
