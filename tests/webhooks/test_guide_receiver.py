"""docs/webhooks.md's webhook receiver (its "Webhooks" section) works as written: its
handler, served on 127.0.0.1, accepts a real delivery signed with its endpoint's secret
and refuses a forged one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web

from tests.events.support import record
from tests.payment.shop import Shop
from tests.webhooks.conftest import Hooks
from tests.webhooks.receivers import Received
from tests.webhooks.support import endpoint

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def receiver_example() -> str:
    section = GUIDE.read_text().split("\n## Webhooks\n", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    return str(code)


async def test_the_readme_receiver_accepts_a_delivery_and_refuses_a_forgery(
    hooks: Hooks, shop: Shop
) -> None:
    code = receiver_example()
    assert "web.run_app(" in code
    namespace: dict[str, Any] = {}
    exec(code.split("web.run_app(")[0], namespace)  # everything but serving forever

    async def answer(received: Received) -> web.Response:
        raise AssertionError("the guide's handler answers instead")

    receiver = await hooks.receiver(answer)
    runner = web.AppRunner(namespace["app"], access_log=None)  # the guide's application
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks"
    try:
        created = await endpoint(shop.client, url)
        namespace["SECRET"] = created.secret
        event_id = await record(hooks.platform, shop.id)
        await hooks.deliver(hooks.deliverer())
        assert namespace["seen"] == {event_id}
        async with ClientSession() as http:
            forged = await http.post(
                url, data=b'{"id": "evt_forged"}', headers={"webhook-signature": "v1,AAAA"}
            )
            assert forged.status == 400
        assert namespace["seen"] == {event_id}
    finally:
        await runner.cleanup()
    assert receiver.received == []
