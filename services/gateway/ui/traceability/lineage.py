"""The two genealogy answers as the trees a person reads, indented level by level.

Inventory answers each question in one call as flat lists linked by codes (a lot may feed many
orders, so a nested answer would repeat it). The page shows them as trees: "what went into this
lot" goes lot -> the order that made it -> the component lots it consumed -> the orders that made
those ...; "where did this lot go" goes lot -> the orders it was issued to -> the lots they made
-> their shipments and the orders that used them .... A lot or an order met again further down
(a shared sub-assembly) is shown once more by name only, marked as repeated, so the tree stays
finite whatever the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_DEPTH = 12  # deeper than any BOM the plant runs; a guard, not a limit anyone meets


@dataclass
class Node:
    """One line of a tree: a lot, an order or a shipment, with what hangs under it."""

    kind: str  # lot | order | shipment
    data: Mapping[str, Any]
    children: list[Node] = field(default_factory=list)
    repeated: bool = False  # already shown above: not expanded again


def _key(row: Mapping[str, Any]) -> tuple[str, str]:
    return str(row.get("sku")), str(row.get("lot"))


def source_tree(answer: Mapping[str, Any]) -> Node:
    """The lot asked about, with the order(s) that made it and, under each, the component lots
    it consumed (their vendor and receipts), down through sub-assemblies."""
    origins = {_key(lot): lot for lot in answer.get("component_lots", [])}
    orders = {order["order_code"]: order for order in answer.get("orders", [])}
    root_lot = answer.get("lot") or {}

    def makers(lot: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        key = _key(lot)
        found = [o for o in orders.values() if any(_key(p) == key for p in o.get("produced", []))]
        code = lot.get("order_code")
        if not found and code in orders:
            found = [orders[code]]
        return found

    def lot_node(lot: Mapping[str, Any], depth: int, seen: set[str]) -> Node:
        node = Node("lot", lot)
        if depth >= MAX_DEPTH:
            return node
        for order in makers(lot):
            node.children.append(order_node(order, depth + 1, seen))
        return node

    def order_node(order: Mapping[str, Any], depth: int, seen: set[str]) -> Node:
        code = order["order_code"]
        node = Node("order", order)
        if code in seen:
            node.repeated = True
            return node
        seen = seen | {code}
        for used in order.get("consumed", []):
            origin = origins.get(_key(used), {})
            lot = {**origin, **used}
            node.children.append(lot_node(lot, depth + 1, seen))
        return node

    return lot_node(root_lot, 0, set())


def use_tree(answer: Mapping[str, Any]) -> Node:
    """The lot asked about, with the orders it was issued to and, under each, the lots they
    made: where each is now, its shipments (customer), and the orders that used it in turn."""
    orders: Sequence[Mapping[str, Any]] = answer.get("orders", [])
    made = {_key(lot): lot for lot in answer.get("finished_lots", [])}
    shipments: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for shipment in answer.get("shipments", []):
        shipments.setdefault(_key(shipment), []).append(shipment)
    root_lot = answer.get("lot") or {}

    def lot_node(lot: Mapping[str, Any], depth: int, seen: set[str]) -> Node:
        key = _key(lot)
        node = Node("lot", {**made.get(key, {}), **lot})
        node.children.extend(Node("shipment", s) for s in shipments.get(key, []))
        if depth >= MAX_DEPTH:
            return node
        for order in orders:
            used = [c for c in order.get("consumed", []) if _key(c) == key]
            if used:
                node.children.append(order_node(order, used[0], depth + 1, seen))
        return node

    def order_node(
        order: Mapping[str, Any], used: Mapping[str, Any], depth: int, seen: set[str]
    ) -> Node:
        code = order["order_code"]
        node = Node("order", {**order, "used": used})
        if code in seen:
            node.repeated = True
            return node
        seen = seen | {code}
        for produced in order.get("produced", []):
            node.children.append(lot_node(produced, depth + 1, seen))
        return node

    return lot_node(root_lot, 0, set())
