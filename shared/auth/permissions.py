"""The one permission matrix: which roles may do what (DESIGN §7, issue 5).

Every service enforces it on its own endpoints with `shared.web.security.require_permission`,
and the gateway will hide what a role may not do from the same table, so the two never
disagree. `docs/permissions.md` is this table rendered (`render_markdown`); a test keeps the two
identical. Admin may do everything and is not listed.

A feature adds its actions here, named `<service>.<thing>.<verb>`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from shared.auth.tokens import Role
from shared.i18n import Text, _

EVERYONE = frozenset(Role) - {Role.ADMIN}


class Action(StrEnum):
    ITEMS_READ = "inventory.items.read"
    ITEMS_WRITE = "inventory.items.write"
    STOCK_READ = "inventory.stock.read"
    STOCK_MOVE = "inventory.stock.move"
    STOCK_ADJUST = "inventory.stock.adjust"
    STOCK_RELEASE = "inventory.stock.release"
    RESERVATIONS_WRITE = "inventory.reservations.write"
    SHIPMENTS_WRITE = "inventory.shipments.write"
    BOMS_READ = "production.boms.read"
    BOMS_WRITE = "production.boms.write"
    PRODUCTION_ORDERS_READ = "production.orders.read"
    PRODUCTION_ORDERS_WRITE = "production.orders.write"
    PRODUCTION_RUN = "production.orders.run"
    QC_WRITE = "production.qc.write"
    SCRAP_CODES_MANAGE = "production.scrap_codes.manage"
    PRODUCTION_REPORTS_READ = "production.reports.read"
    SALES_ORDERS_READ = "mrp.sales_orders.read"
    SALES_ORDERS_WRITE = "mrp.sales_orders.write"
    PAYMENTS_WRITE = "mrp.payments.write"
    MRP_READ = "mrp.plan.read"
    MRP_RUN = "mrp.plan.run"
    MRP_ACT = "mrp.plan.act"
    SCHEDULE_WRITE = "mrp.schedule.write"
    ERP_IMPORT = "mrp.erp.import"
    VENDORS_READ = "purchasing.vendors.read"
    VENDORS_WRITE = "purchasing.vendors.write"
    PURCHASE_ORDERS_READ = "purchasing.orders.read"
    PURCHASE_ORDERS_WRITE = "purchasing.orders.write"
    PURCHASE_SUGGEST = "purchasing.orders.suggest"
    RECEIPTS_WRITE = "purchasing.receipts.write"
    BOOKS_READ = "accounting.books.read"
    BOOKS_POST = "accounting.books.post"
    BOOKS_ACCOUNTS = "accounting.accounts.manage"
    BOOKS_PERIODS = "accounting.periods.manage"
    BOOKS_WEBHOOKS = "accounting.webhooks.manage"
    DOWNTIME_READ = "downtime.entries.read"
    DOWNTIME_RECORD = "downtime.entries.record"
    DOWNTIME_DAYS_LOCK = "downtime.days.lock"
    DOWNTIME_LOCKED_EDIT = "downtime.days.edit_locked"
    DOWNTIME_REASONS_MANAGE = "downtime.reasons.manage"
    PLANT_MANAGE = "downtime.plant.manage"
    CAPACITY_MANAGE = "downtime.capacity.manage"
    DOWNTIME_REPORTS_READ = "downtime.reports.read"
    USERS_MANAGE = "gateway.users.manage"
    AUDIT_READ = "gateway.audit.read"
    SETTINGS_MANAGE = "gateway.settings.manage"
    OPS_READ = "ops.dashboard.read"
    DEAD_LETTERS_REPLAY = "ops.dead_letters.replay"


MATRIX: dict[Action, frozenset[Role]] = {
    Action.ITEMS_READ: EVERYONE,
    Action.ITEMS_WRITE: frozenset({Role.PLANNER, Role.BUYER, Role.STORE}),
    Action.STOCK_READ: EVERYONE,
    Action.STOCK_MOVE: frozenset({Role.STORE, Role.SUPERVISOR}),
    Action.STOCK_ADJUST: frozenset({Role.STORE, Role.SUPERVISOR}),
    Action.STOCK_RELEASE: frozenset({Role.QUALITY, Role.SUPERVISOR}),
    # Reservations and allocations are made on behalf of whoever starts an order or allocates
    # a sales order: the production and mrp services forward that user's token.
    Action.RESERVATIONS_WRITE: frozenset({Role.SUPERVISOR, Role.OPERATOR, Role.PLANNER}),
    Action.SHIPMENTS_WRITE: frozenset({Role.STORE, Role.SUPERVISOR}),
    Action.BOMS_READ: EVERYONE,
    Action.BOMS_WRITE: frozenset({Role.PLANNER, Role.SUPERVISOR}),
    Action.PRODUCTION_ORDERS_READ: EVERYONE,
    Action.PRODUCTION_ORDERS_WRITE: frozenset({Role.PLANNER, Role.SUPERVISOR}),
    Action.PRODUCTION_RUN: frozenset({Role.SUPERVISOR, Role.OPERATOR}),
    Action.QC_WRITE: frozenset({Role.QUALITY, Role.SUPERVISOR}),
    Action.SCRAP_CODES_MANAGE: frozenset(),
    Action.PRODUCTION_REPORTS_READ: EVERYONE,
    Action.SALES_ORDERS_READ: EVERYONE,
    Action.SALES_ORDERS_WRITE: frozenset({Role.PLANNER, Role.SUPERVISOR}),
    Action.PAYMENTS_WRITE: frozenset({Role.ACCOUNTANT}),
    Action.MRP_READ: EVERYONE,
    Action.MRP_RUN: frozenset({Role.PLANNER, Role.SUPERVISOR}),
    # Creating jobs and draft purchase orders from the plan (issue 9).
    Action.MRP_ACT: frozenset({Role.PLANNER, Role.SUPERVISOR}),
    Action.SCHEDULE_WRITE: frozenset({Role.PLANNER, Role.SUPERVISOR}),
    # Reads another system's database and writes through every service: admin's.
    Action.ERP_IMPORT: frozenset(),
    Action.VENDORS_READ: EVERYONE,
    Action.VENDORS_WRITE: frozenset({Role.BUYER}),
    Action.PURCHASE_ORDERS_READ: EVERYONE,
    Action.PURCHASE_ORDERS_WRITE: frozenset({Role.BUYER}),
    # Draft purchase orders from the MRP's shortages, at each item's preferred vendor.
    Action.PURCHASE_SUGGEST: frozenset({Role.PLANNER, Role.BUYER, Role.SUPERVISOR}),
    Action.RECEIPTS_WRITE: frozenset({Role.STORE, Role.BUYER}),
    Action.BOOKS_READ: frozenset({Role.ACCOUNTANT, Role.SUPERVISOR}),
    Action.BOOKS_POST: frozenset({Role.ACCOUNTANT}),
    Action.BOOKS_ACCOUNTS: frozenset({Role.ACCOUNTANT}),
    # Closing and reopening a month is the owner's call: admin only.
    Action.BOOKS_PERIODS: frozenset(),
    Action.BOOKS_WEBHOOKS: frozenset({Role.ACCOUNTANT}),
    Action.DOWNTIME_READ: EVERYONE,
    Action.DOWNTIME_RECORD: frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    Action.DOWNTIME_DAYS_LOCK: frozenset({Role.SUPERVISOR}),
    # A locked day is the plant's record: changing it is admin's, with a reason (issue 8).
    Action.DOWNTIME_LOCKED_EDIT: frozenset(),
    Action.DOWNTIME_REASONS_MANAGE: frozenset({Role.SUPERVISOR}),
    Action.PLANT_MANAGE: frozenset(),
    Action.CAPACITY_MANAGE: frozenset({Role.PLANNER, Role.SUPERVISOR}),
    Action.DOWNTIME_REPORTS_READ: EVERYONE,
    Action.USERS_MANAGE: frozenset(),
    Action.AUDIT_READ: frozenset(),
    Action.SETTINGS_MANAGE: frozenset(),
    Action.OPS_READ: frozenset({Role.SUPERVISOR}),
    Action.DEAD_LETTERS_REPLAY: frozenset(),
}

DESCRIPTIONS: dict[Action, Text] = {
    Action.ITEMS_READ: _("see items"),
    Action.ITEMS_WRITE: _("create and change items"),
    Action.STOCK_READ: _("see stock, balances and the stock ledger"),
    Action.STOCK_MOVE: _("transfer stock between locations"),
    Action.STOCK_ADJUST: _("adjust stock after a cycle count, with a reason"),
    Action.STOCK_RELEASE: _("release received material from the QC hold"),
    Action.RESERVATIONS_WRITE: _("reserve material for production orders and allocate stock"),
    Action.SHIPMENTS_WRITE: _("ship sales orders"),
    Action.BOMS_READ: _("see BOMs, their explosion and where-used"),
    Action.BOMS_WRITE: _("create, release and obsolete BOMs"),
    Action.PRODUCTION_ORDERS_READ: _("see production orders, reprint chains and open jobs"),
    Action.PRODUCTION_ORDERS_WRITE: _("create, schedule and cancel production orders"),
    Action.PRODUCTION_RUN: _("start production orders and complete runs"),
    Action.QC_WRITE: _("record QC decisions on finished output"),
    Action.SCRAP_CODES_MANAGE: _("add and deactivate scrap reason codes"),
    Action.PRODUCTION_REPORTS_READ: _("see yield and scrap reports and certificates"),
    Action.SALES_ORDERS_READ: _("see customers and sales orders"),
    Action.SALES_ORDERS_WRITE: _("create and change customers and sales orders"),
    Action.PAYMENTS_WRITE: _("record customer payments against sales orders"),
    Action.MRP_READ: _("see the MRP dashboard, the scheduling grid and the shipment forecast"),
    Action.MRP_RUN: _("run the MRP and set the priority score's weights"),
    Action.MRP_ACT: _("create jobs and suggest purchases from the MRP"),
    Action.SCHEDULE_WRITE: _("edit the planners' projections in the scheduling grid"),
    Action.ERP_IMPORT: _("import items, BOMs, customers and orders from the ERP database"),
    Action.VENDORS_READ: _("see vendors"),
    Action.VENDORS_WRITE: _("create and change vendors"),
    Action.PURCHASE_ORDERS_READ: _("see purchase orders and receipts"),
    Action.PURCHASE_ORDERS_WRITE: _("create and submit purchase orders"),
    Action.PURCHASE_SUGGEST: _("turn shortages into draft purchase orders at preferred vendors"),
    Action.RECEIPTS_WRITE: _("receive material against purchase orders"),
    Action.BOOKS_READ: _("see journal entries, accounts, financial reports and reconciliation"),
    Action.BOOKS_POST: _("post manual journal entries and reverse entries"),
    Action.BOOKS_ACCOUNTS: _(
        "add and deactivate accounts, set the accounts posting rules use and the QuickBooks mapping"
    ),
    Action.BOOKS_PERIODS: _("close and reopen accounting periods"),
    Action.BOOKS_WEBHOOKS: _("manage the QuickBooks webhook feed and replay deliveries"),
    Action.DOWNTIME_READ: _("see facilities, lines, shifts, downtime reasons and downtime entries"),
    Action.DOWNTIME_RECORD: _("record downtime on the floor and classify machine stops"),
    Action.DOWNTIME_DAYS_LOCK: _("lock a production day's downtime"),
    Action.DOWNTIME_LOCKED_EDIT: _("change downtime of a locked day, with a reason"),
    Action.DOWNTIME_REASONS_MANAGE: _("add, change and deactivate downtime reasons"),
    Action.PLANT_MANAGE: _("add, change and deactivate facilities, lines and shifts"),
    Action.CAPACITY_MANAGE: _("set line capacities"),
    Action.DOWNTIME_REPORTS_READ: _("see OEE and downtime reports"),
    Action.USERS_MANAGE: _("create users, change their roles, deactivate them, see login history"),
    Action.AUDIT_READ: _("see and export the audit log of every change"),
    Action.SETTINGS_MANAGE: _("change plant settings (directory group mapping, session timeout)"),
    Action.OPS_READ: _("see the ops dashboard: health, traffic, event flow, dead letters"),
    Action.DEAD_LETTERS_REPLAY: _("replay dead-lettered events"),
}


def allowed(roles: Iterable[str], action: Action) -> bool:
    held = set(roles)
    return Role.ADMIN in held or bool(held & MATRIX[action])


def render_markdown() -> str:
    """The matrix as the page docs/permissions.md."""
    roles = [role for role in Role if role is not Role.ADMIN]
    header = "| action | what it allows | " + " | ".join(roles) + " |"
    rule = "|---|---|" + "---|" * len(roles)
    rows = [
        f"| `{action}` | {DESCRIPTIONS[action].render('en')} | "
        + " | ".join("✓" if role in MATRIX[action] else "" for role in roles)
        + " |"
        for action in Action
    ]
    intro = (
        "# Permissions\n\n"
        "Who may do what, by role. Admin may do everything. Every service enforces this on its\n"
        "own endpoints; the gateway hides what a role may not do. Generated from\n"
        "`shared/auth/permissions.py` (the one place to change it); a test keeps this page\n"
        "identical to it.\n\n"
    )
    return intro + "\n".join([header, rule, *rows]) + "\n"
