"""The reason tree's rules on plain objects: paths, depth, leaves, cycles, and which reasons an
operator may choose.

A reason is usable for a stop when it is active, every one of its ancestors is active, and it is
a leaf among the active reasons (none of its active children left to choose from). Deactivating
a node therefore takes its whole subtree off the tablet without touching the children's own
flags: reactivating the node brings the subtree back as it was.

The depth of a root reason is 0. Siblings are shown by `sort_order`, then name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

PATH_SEPARATOR = " / "
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class ReasonNode:
    code: str
    parent_code: str | None
    name: str
    active: bool
    sort_order: int


def parse_colour(value: str) -> str:
    """'#D9534F' -> '#d9534f'; ValueError for anything but '#' and six hex digits."""
    colour = value.strip()
    if not _COLOUR.match(colour):
        raise ValueError(f"not a #rrggbb colour: {value!r}")
    return colour.lower()


class ReasonTree:
    """The reasons of one or more facilities (a parent is always of its child's facility)."""

    def __init__(self, nodes: Iterable[ReasonNode]) -> None:
        self.nodes = {node.code: node for node in nodes}
        self._children: dict[str | None, list[ReasonNode]] = {}
        for node in self.nodes.values():
            parent = node.parent_code if node.parent_code in self.nodes else None
            self._children.setdefault(parent, []).append(node)
        for siblings in self._children.values():
            siblings.sort(key=_sibling_order)

    def ancestors(self, code: str) -> list[ReasonNode]:
        """The parent of `code`, its parent, ... up to the root (a broken chain stops)."""
        found: list[ReasonNode] = []
        seen = {code}
        node = self.nodes.get(code)
        while node is not None and node.parent_code is not None and node.parent_code not in seen:
            seen.add(node.parent_code)
            node = self.nodes.get(node.parent_code)
            if node is not None:
                found.append(node)
        return found

    def lineage(self, code: str) -> list[ReasonNode]:
        """The root first, down to `code` itself."""
        return [*reversed(self.ancestors(code)), self.nodes[code]]

    def path(self, code: str) -> str:
        """'Mechanical / Nozzle / Clogged'."""
        return PATH_SEPARATOR.join(node.name for node in self.lineage(code))

    def depth(self, code: str) -> int:
        return len(self.ancestors(code))

    def children(self, code: str | None) -> list[ReasonNode]:
        """The children of `code` (the roots for None), in display order."""
        return list(self._children.get(code, []))

    def is_leaf(self, code: str) -> bool:
        """No active child: nothing more specific to choose."""
        return not any(child.active for child in self.children(code))

    def enabled(self, code: str) -> bool:
        """Active, and every ancestor active."""
        return self.nodes[code].active and all(node.active for node in self.ancestors(code))

    def usable(self, code: str) -> bool:
        """What an operator may choose for a stop: an enabled leaf."""
        return self.enabled(code) and self.is_leaf(code)

    def would_cycle(self, code: str, new_parent: str | None) -> bool:
        """True when making `new_parent` the parent of `code` would put `code` under itself."""
        if new_parent is None:
            return False
        return new_parent == code or any(node.code == code for node in self.ancestors(new_parent))

    def display_key(self, code: str) -> tuple[tuple[int, str, str], ...]:
        """Sorts the reasons depth-first, each level in display order (the tree as a list)."""
        return tuple(_sibling_order(node) for node in self.lineage(code))

    def walk(self, code: str | None = None) -> Iterator[ReasonNode]:
        """The subtree under `code` (every reason for None), depth-first in display order."""
        for child in self.children(code):
            yield child
            yield from self.walk(child.code)


def _sibling_order(node: ReasonNode) -> tuple[int, str, str]:
    return (node.sort_order, node.name.casefold(), node.code)
