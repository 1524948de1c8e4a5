"""BOMs on PostgreSQL, where production runs in a deployment: the released structure read in
one recursive query (NUMERIC read natively, scrap percent turned into a fraction by the
database), the one-released-version rule kept by the partial unique index, and a release made
through another process's connection seen by the next explosion.

The bracket kit of tests/unit/test_production_boms.py: 2 brackets and a box per kit; the
bracket's BOM makes 4 brackets from 1 kg of PLA (5 % scrap) and 16 inserts. For 10 kits: PLA
20 / 4 x 1.05 = 5.25 kg, inserts 80, boxes 10.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from services import registry
from services.production.bom import service
from services.production.bom.models import BomVersion
from services.production.bom.schemas import BomCreate
from services.production.items.service import remember_item
from shared.bus.inprocess import InProcessBus
from shared.events.catalogue import ItemUpserted
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.web.problems import Conflict
from tests.support.servers import PostgresDatabases

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
SECRET = "bom-pg-test-secret-" + "x" * 40
ITEMS = {"KIT": "ea", "BRKT": "ea", "PLA": "kg", "INSERT": "ea", "BOX": "ea"}


def runtime_on(url: str, tmp_path: Path) -> ServiceRuntime:
    return ServiceRuntime(
        registry.definition("production"),
        Settings(var_dir=tmp_path),
        InProcessBus(),
        db_url=url,
        token_secret=SECRET,
    )


@pytest.fixture
def plant(postgres: PostgresDatabases, tmp_path: Path) -> Iterator[tuple[ServiceRuntime, str]]:
    url = postgres.create("production")
    runtime = runtime_on(url, tmp_path)
    runtime.migrate()
    with runtime.uow() as uow:
        for sku, uom in ITEMS.items():
            item_type = "finished" if sku == "KIT" else "raw"
            remember_item(
                uow,
                ItemUpserted(sku=sku, name=sku, uom=uom, item_type=item_type, make_or_buy="make"),
                1,
            )
        uow.commit()
    yield runtime, url
    service.forget_released_boms()
    runtime.db.engine.dispose()


def release(runtime: ServiceRuntime, sku: str, lines: list[dict[str, str]], **more: str) -> int:
    with runtime.uow() as uow:
        draft = service.create_draft(
            uow, BomCreate.model_validate({"sku": sku, "lines": lines, **more}), "pat"
        )
        service.release(uow, sku, draft.version, "pat")
        uow.commit()
    return draft.version


def release_the_kit(runtime: ServiceRuntime) -> None:
    release(
        runtime,
        "BRKT",
        [
            {"component_sku": "PLA", "qty_per": "1", "scrap_pct": "5"},
            {"component_sku": "INSERT", "qty_per": "16"},
        ],
        output_qty="4",
    )
    release(
        runtime,
        "KIT",
        [{"component_sku": "BRKT", "qty_per": "2"}, {"component_sku": "BOX", "qty_per": "1"}],
    )


def test_the_explosion_on_postgresql_matches_the_hand_worked_figures(
    plant: tuple[ServiceRuntime, str],
) -> None:
    runtime, _url = plant
    release_the_kit(runtime)

    with runtime.uow() as uow:
        needs = service.requirements_for(uow, "KIT", Decimal(10))
        answer = service.explosion(uow, "KIT", Decimal(10))
        used_by = service.where_used(uow, "PLA").parents
    service.forget_released_boms()
    with runtime.uow() as uow:
        read_again = service.requirements_for(uow, "KIT", Decimal(10))

    expected = (1, [("BOX", Decimal(10)), ("INSERT", Decimal(80)), ("PLA", Decimal("5.25"))])
    assert needs == read_again == expected
    assert [(r.level, r.sku, r.qty, r.scrap_pct) for r in answer.tree or []] == [
        (1, "BRKT", Decimal(20), Decimal(0)),
        (2, "PLA", Decimal("5.25"), Decimal(5)),
        (2, "INSERT", Decimal(80), Decimal(0)),
        (1, "BOX", Decimal(10), Decimal(0)),
    ]
    assert [(p.sku, p.level) for p in used_by] == [
        ("BRKT", 1),
        ("KIT", 2),
    ]


def test_postgresql_keeps_one_released_version_per_product(
    plant: tuple[ServiceRuntime, str],
) -> None:
    runtime, _url = plant
    release_the_kit(runtime)
    with runtime.uow() as uow:
        draft = service.create_draft(
            uow,
            BomCreate.model_validate(
                {"sku": "KIT", "lines": [{"component_sku": "BOX", "qty_per": "1"}]}
            ),
            "pat",
        )
        uow.commit()

    with pytest.raises(IntegrityError), runtime.uow() as uow:
        uow.session.execute(
            update(BomVersion)
            .where(BomVersion.product_sku == "KIT", BomVersion.version == draft.version)
            .values(status="released")
        )
        uow.session.flush()


def test_a_cycle_through_released_boms_is_refused_on_postgresql(
    plant: tuple[ServiceRuntime, str],
) -> None:
    runtime, _url = plant
    release_the_kit(runtime)

    with pytest.raises(Conflict) as refused, runtime.uow() as uow:
        service.create_draft(
            uow,
            BomCreate.model_validate(
                {"sku": "INSERT", "lines": [{"component_sku": "KIT", "qty_per": "1"}]}
            ),
            "pat",
        )

    assert refused.value.code == "bom_cycle"
    assert "INSERT → KIT → BRKT → INSERT" in str(refused.value)


def test_a_release_through_another_process_is_seen_by_the_next_explosion(
    plant: tuple[ServiceRuntime, str], tmp_path: Path
) -> None:
    runtime, url = plant
    release_the_kit(runtime)
    with runtime.uow() as uow:
        assert dict(service.requirements_for(uow, "KIT", Decimal(10))[1])["PLA"] == Decimal("5.25")
    other = runtime_on(url, tmp_path)  # another replica: its own engine, its own pool
    try:
        release(
            other,
            "BRKT",
            [{"component_sku": "PLA", "qty_per": "2", "scrap_pct": "5"}],
            output_qty="4",
        )
    finally:
        other.db.engine.dispose()

    with runtime.uow() as uow:
        assert service.requirements_for(uow, "KIT", Decimal(10)) == (
            1,
            [("BOX", Decimal(10)), ("PLA", Decimal("10.5"))],
        )


def test_two_releases_that_would_close_a_loop_cannot_both_pass(
    plant: tuple[ServiceRuntime, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bracket's draft lists the insert and the insert's draft lists the bracket: each is
    fine alone. Released at the same moment, each checking before the other commits would let
    both through, and every explosion would loop. Releases take turns on the BOM revision row,
    so the second checks after the first has committed, and is refused."""
    runtime, _url = plant
    with runtime.uow() as uow:
        for sku, component in (("BRKT", "INSERT"), ("INSERT", "BRKT")):
            service.create_draft(
                uow,
                BomCreate.model_validate(
                    {"sku": sku, "lines": [{"component_sku": component, "qty_per": "1"}]}
                ),
                "pat",
            )
        uow.commit()
    checked = service._refuse_cycle

    def slow_check(uow: object, bom: BomVersion) -> None:
        checked(uow, bom)  # type: ignore[arg-type]
        time.sleep(0.5)  # both would be past their check before either commits

    monkeypatch.setattr(service, "_refuse_cycle", slow_check)
    outcomes: dict[str, str] = {}

    def release_draft(sku: str) -> None:
        try:
            with runtime.uow() as uow:
                service.release(uow, sku, 1, "pat")
                uow.commit()
            outcomes[sku] = "released"
        except Conflict as refused:
            outcomes[sku] = refused.code or "conflict"

    threads = [threading.Thread(target=release_draft, args=(sku,)) for sku in ("BRKT", "INSERT")]
    threads[0].start()
    time.sleep(0.1)
    threads[1].start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["bom_cycle", "released"], outcomes
