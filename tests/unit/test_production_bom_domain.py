"""BOM rules: explosion to raw requirements with scrap factors at every level, where-used, the
refusal of a BOM that contains itself at any depth, and the version lifecycle."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.production.bom.domain import (
    Bom,
    BomLine,
    BomStatus,
    check_lines,
    check_transition,
    explode,
    find_cycle,
    refuse_cycle,
    where_used,
)
from shared.web.problems import Conflict, InvalidInput


def bom(product: str, *lines: tuple[str, str, str]) -> Bom:
    return Bom(
        product,
        1,
        BomStatus.RELEASED,
        tuple(BomLine(sku, Decimal(qty), "ea", Decimal(scrap)) for sku, qty, scrap in lines),
    )


# A bracket kit: 2 brackets (each 0.25 kg PLA, 5 % scrap, and 4 inserts) and 1 box.
BOMS = {
    "KIT": bom("KIT", ("BRKT", "2", "0"), ("BOX", "1", "0")),
    "BRKT": bom("BRKT", ("PLA", "0.25", "0.05"), ("INSERT", "4", "0")),
}


def test_explosion_flattens_every_level_with_its_scrap_factor() -> None:
    needs = explode("KIT", Decimal("10"), BOMS)

    assert needs == {
        "PLA": Decimal("5.2500"),  # 10 kits x 2 brackets x 0.25 kg x 1.05
        "INSERT": Decimal("80.0000"),
        "BOX": Decimal("10.0000"),
    }


def test_a_requirement_is_rounded_up_never_down() -> None:
    boms = {"P": bom("P", ("R", "0.33333", "0"))}

    assert explode("P", Decimal("1"), boms) == {"R": Decimal("0.3334")}


def test_a_component_used_at_two_levels_is_added_up() -> None:
    boms = {**BOMS, "KIT": bom("KIT", ("BRKT", "2", "0"), ("INSERT", "2", "0"))}

    assert explode("KIT", Decimal("1"), boms)["INSERT"] == Decimal("10.0000")  # 2 x 4 + 2


def test_a_bom_that_contains_itself_at_any_depth_is_refused() -> None:
    released = {**BOMS, "INSERT": bom("INSERT", ("BRASS", "1", "0"))}
    looping = bom("BRASS", ("KIT", "1", "0"))

    assert find_cycle("KIT", BOMS) is None
    assert find_cycle("BRASS", {**released, "BRASS": looping}) == [
        "BRASS",
        "KIT",
        "BRKT",
        "INSERT",
        "BRASS",
    ]
    with pytest.raises(Conflict) as refused:
        refuse_cycle(looping, released)
    assert refused.value.code == "bom_cycle"
    assert "BRASS → KIT → BRKT → INSERT → BRASS" in str(refused.value)
    with pytest.raises(Conflict):
        explode("KIT", Decimal("1"), {**released, "BRASS": looping})


def test_where_used_finds_every_product_above_a_component() -> None:
    assert where_used("PLA", BOMS) == {"BRKT": 1, "KIT": 2}
    assert where_used("BOX", BOMS) == {"KIT": 1}
    assert where_used("KIT", BOMS) == {}


def test_a_bom_line_is_checked_before_it_is_saved() -> None:
    good = BomLine("PLA", Decimal("0.25"), "kg", Decimal("0.05"))
    check_lines("BRKT", [good])

    for lines, field in [
        ([BomLine("BRKT", Decimal(1), "ea")], "lines.0.component_sku"),
        ([good, good], "lines.1.component_sku"),
        ([BomLine("PLA", Decimal(0), "kg")], "lines.0.qty_per"),
        ([BomLine("PLA", Decimal(1), "kg", Decimal(1))], "lines.0.scrap_factor"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            check_lines("BRKT", lines)
        assert refused.value.field == field


def test_a_version_moves_draft_released_obsolete_and_never_back() -> None:
    check_transition(BomStatus.DRAFT, BomStatus.RELEASED)
    check_transition(BomStatus.RELEASED, BomStatus.OBSOLETE)
    for current, wanted in [
        (BomStatus.RELEASED, BomStatus.DRAFT),
        (BomStatus.OBSOLETE, BomStatus.RELEASED),
        (BomStatus.DRAFT, BomStatus.DRAFT),
    ]:
        with pytest.raises(Conflict):
            check_transition(current, wanted)


def test_exploding_without_a_released_bom_or_a_positive_quantity_is_refused() -> None:
    with pytest.raises(InvalidInput) as no_bom:
        explode("BOX", Decimal(1), BOMS)
    with pytest.raises(InvalidInput) as no_qty:
        explode("KIT", Decimal(0), BOMS)

    assert no_bom.value.code == "no_bom"
    assert no_qty.value.field == "qty"


@given(
    qty=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10_000), places=4),
    split=st.integers(min_value=1, max_value=9),
)
def test_exploding_in_two_parts_needs_no_less_than_at_once(qty: Decimal, split: int) -> None:
    first = (qty * split / 10).quantize(Decimal("0.0001"))
    if first <= 0 or first >= qty:
        return
    whole = explode("KIT", qty, BOMS)
    parts = [explode("KIT", first, BOMS), explode("KIT", qty - first, BOMS)]

    for sku, needed in whole.items():
        together = sum(part[sku] for part in parts)
        assert needed <= together <= needed + Decimal("0.0002")  # at most one rounding each
