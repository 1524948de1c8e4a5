"""The routing map (shared/events/routing.py) is the one truth about who consumes what.

- It names every service, and each service's HANDLERS handle exactly the types it lists.
- A runtime whose handlers differ from its entry refuses to start, naming the map.
- A service process's RabbitMQ bus declares all of the map when it starts.
- The embedded mode subscribes every service before any relay publishes, so an event committed
  before the portal started reaches a consumer that starts after its producer.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from services import registry
from services.embedded import EmbeddedPortal
from services.inventory import service as inventory_service
from services.inventory.bootstrap import definition as inventory_definition
from services.inventory.schemas import ItemCreate
from services.purchasing.models import KnownItem
from services.standalone import make_bus
from shared.bus.inprocess import InProcessBus
from shared.bus.rabbitmq import RabbitMQBus
from shared.events.routing import CONSUMERS, RoutingMismatch, check_handlers
from shared.runtime import ServiceRuntime
from shared.settings import SERVICES, Settings


def test_the_map_names_every_service() -> None:
    assert set(CONSUMERS) == set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_handles_exactly_what_the_map_routes_to_it(service: str) -> None:
    handlers = importlib.import_module(f"services.{service}.handlers").HANDLERS
    assert set(handlers) == set(CONSUMERS[service])
    assert set(registry.definition(service).handlers) == set(CONSUMERS[service])


def test_a_runtime_whose_handlers_differ_from_the_map_refuses_to_start(tmp_path: Path) -> None:
    base = inventory_definition()
    extra = dataclasses.replace(
        base, handlers={**base.handlers, "ItemUpserted": base.handlers["MaterialReceived"]}
    )
    settings = Settings(var_dir=tmp_path)

    with pytest.raises(RoutingMismatch, match=r"ItemUpserted.*shared/events/routing\.py"):
        ServiceRuntime(extra, settings, InProcessBus(), token_secret="x" * 40)
    with pytest.raises(RoutingMismatch, match="no handler for MaterialReceived"):
        ServiceRuntime(
            dataclasses.replace(base, handlers={}), settings, InProcessBus(), token_secret="x"
        )


def test_check_handlers_accepts_a_service_the_map_does_not_name_only_without_handlers() -> None:
    check_handlers("newcomer", [])
    with pytest.raises(RoutingMismatch, match="not routed to it"):
        check_handlers("newcomer", ["ItemUpserted"])


def test_a_service_process_declares_the_whole_map() -> None:
    bus = make_bus(Settings(amqp_url="amqp://guest:guest@127.0.0.1:5672/", bus_prefix="x."))
    assert isinstance(bus, RabbitMQBus)
    assert bus.topology == {service: types for service, types in CONSUMERS.items()}


async def test_embedded_mode_delivers_an_event_committed_before_the_portal_started(
    tmp_path: Path,
) -> None:
    portal = EmbeddedPortal(Settings(var_dir=tmp_path, demo_data=False))
    portal.prepare()
    inventory, purchasing = portal.runtimes["inventory"], portal.runtimes["purchasing"]
    with inventory.uow() as uow:  # its ItemUpserted waits in inventory's outbox
        inventory_service.create_item(uow, ItemCreate(sku="EARLY-1", name="Early", uom="ea"))
        uow.commit()

    started: list[str] = []
    subscribe = portal.bus.subscribe

    async def recording_subscribe(service: str, *args: Any, **kwargs: Any) -> None:
        started.append(f"subscribe {service}")
        await subscribe(service, *args, **kwargs)

    portal.bus.subscribe = recording_subscribe  # type: ignore[method-assign]
    for name, runtime in portal.runtimes.items():
        run = runtime.relay.run

        def recording_run(name: str = name, run: Any = run) -> Any:
            started.append(f"relay {name}")
            return run()

        runtime.relay.run = recording_run  # type: ignore[method-assign]

    async with portal.running():
        await portal.wait_idle()
        with purchasing.db.reader() as session:
            assert session.scalars(select(KnownItem.sku)).all() == ["EARLY-1"]

    relays = [i for i, what in enumerate(started) if what.startswith("relay")]
    subscribes = [i for i, what in enumerate(started) if what.startswith("subscribe")]
    assert len(relays) == len(portal.runtimes)
    assert len(subscribes) == len([s for s in CONSUMERS.values() if s])
    assert max(subscribes) < min(relays)
