from services.purchasing.models import metadata
from shared.migrations import run_migrations

run_migrations(metadata)
