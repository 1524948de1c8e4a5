"""Sales in the frame: customers, sales orders with their lines, and the payments customers make
against them (docs/mrp.md, "Sales orders and payments").

One route module per part (customers.py, orders.py), joined here into the feature's router.
Everything comes from the mrp service as the signed-in user (and, for the production orders
making a line, from production), and every change goes to mrp, so the service checks the
permission and the input; a refused form is drawn again with each message beside its field,
and nothing is saved. Buttons a role may not use are not drawn.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.ui.frame import Feature, NavLink
from services.gateway.ui.sales import customers, orders
from shared.auth.permissions import Action
from shared.i18n import _

router = APIRouter()
for part in (customers, orders):
    router.include_router(part.router)


feature = Feature(
    name="sales",
    router=router,
    order=14,
    nav=(
        NavLink(_("Sales orders"), "/sales-orders", Action.SALES_ORDERS_READ),
        NavLink(_("Customers"), "/customers", Action.SALES_ORDERS_READ),
    ),
)
