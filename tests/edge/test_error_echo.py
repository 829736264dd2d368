"""An error answer names the parameter it is about, but never echoes more of the caller's input
than a reader needs: a 500 kB unknown parameter name came back twice (message and param), a
1 MB answer to a 0.5 MB request, over JSON and form bodies alike."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant

LONG = "k" * 500_000
ANSWER_BYTES_MAX = 2_000


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"' + LONG + '": 1}', "application/json"),
        (LONG + "=1", "application/x-www-form-urlencoded"),
    ],
    ids=["json-key", "form-key"],
)
async def test_a_huge_parameter_name_is_not_echoed_back(
    http: ClientSession, settings_admin_token: str, body: str, content_type: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    async with http.post(
        "/v1/customers",
        data=body.encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
    ) as response:
        answer = await response.read()
        error = (await response.json())["error"]
    assert response.status == 400, answer[:300]
    assert len(answer) <= ANSWER_BYTES_MAX, len(answer)
    assert error["code"] == "parameter_unknown", error
    assert error["param"].startswith("kkkk") and error["param"].endswith("..."), error
    # A short name is shown whole, as before.
    short = await call(http, "POST", "/v1/customers", key=key, form="nickname=x")
    assert (short.status, short.error["param"]) == (400, "nickname"), short.body
