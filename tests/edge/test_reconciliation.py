"""ReconciliationService over the REST edge (operator routes): a run recorded and read back,
discrepancies listed with filters, a resolution refused for what does not exist or lacks its
action."""

from __future__ import annotations

from aiohttp import ClientSession
from paycore.app import Platform
from paycore.ids import Prefix, new_id
from paycore.reconciliation.models import RunStatus

from tests.edge.helpers import call
from tests.reconciliation.day import unique_past_day


async def test_runs_and_discrepancies_over_http(
    http: ClientSession, settings_admin_token: str, platform: Platform
) -> None:
    admin = settings_admin_token
    day = unique_past_day().isoformat()  # the server's clock is the real one
    recorded = await call(
        http, "POST", "/v1/reconciliation/runs", key=admin, json_body={"date": day}
    )
    assert recorded.status == 200, recorded.body
    run = recorded.body
    assert (run["date"], run["status"], run["source"]) == (day, "running", "psp_settlement")
    # The session's platform has no PSP behind its URL: executing the run fails it, named.
    executed = await platform.reconciliation.runs.execute(
        await platform.reconciliation.get_run(run["id"])
    )
    assert executed.status is RunStatus.FAILED and executed.failure_message
    read = await call(http, "GET", f"/v1/reconciliation/runs/{run['id']}", key=admin)
    assert read.status == 200, read.body
    assert read.body["status"] == "failed" and read.body["failure_message"]

    listed = await call(
        http, "GET", f"/v1/reconciliation/discrepancies?date={day}&kind=timing", key=admin
    )
    assert listed.status == 200, listed.body
    assert listed.body["data"] == [] and listed.body["has_more"] is False
    refused = await call(http, "GET", "/v1/reconciliation/discrepancies?kind=late", key=admin)
    assert refused.status == 400, refused.body

    unknown = new_id(Prefix.DISCREPANCY, 0)
    missing = await call(
        http,
        "POST",
        f"/v1/reconciliation/discrepancies/{unknown}/resolve",
        key=admin,
        json_body={"action": "write_off", "resolution": "checked"},
    )
    assert missing.status == 404, missing.body
    no_action = await call(
        http,
        "POST",
        f"/v1/reconciliation/discrepancies/{unknown}/resolve",
        key=admin,
        json_body={"resolution": "checked"},
    )
    assert no_action.status == 400 and no_action.body["error"]["param"] == "action"
    bad_date = await call(
        http, "POST", "/v1/reconciliation/runs", key=admin, json_body={"date": "12/01/2026"}
    )
    assert bad_date.status == 400 and bad_date.body["error"]["param"] == "date"
    future = await call(
        http, "POST", "/v1/reconciliation/runs", key=admin, json_body={"date": "2099-01-01"}
    )
    assert future.status == 400 and future.body["error"]["param"] == "date", future.body


async def test_a_resolution_s_action_lists_only_the_actions_it_takes(
    http: ClientSession, settings_admin_token: str
) -> None:
    """`auto` is reconciliation's own action, refused in a resolution: the values an action
    refused is told to take are those a resolution takes, not `auto` among them."""
    path = f"/v1/reconciliation/discrepancies/{new_id(Prefix.DISCREPANCY, 0)}/resolve"
    found = []
    for action in ("auto", "bogus", 42):
        body = {"action": action, "resolution": "checked"}
        answer = await call(http, "POST", path, key=settings_admin_token, json_body=body)
        found.append((answer.status, answer.error["param"], answer.error["message"]))

    takes = "adjust, write_off, refund_at_psp, ignore"
    assert found == [
        (400, "action", f"action: must be one of {takes} (not auto)"),
        (400, "action", f"action: must be one of {takes}"),
        (400, "action", f"action: must be one of {takes}"),
    ]
