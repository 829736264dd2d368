"""README.md's "Calling it" blocks work as written, for each kind of user: the stripe-python and
paycore.client programs run as scripts and the ghz lines run with ghz, against real servers,
with a real merchant's key, id and card in place of the placeholders (the curl lines are
tests/edge/test_readme_examples.py's)."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from paycore.webhooks.models import SigningKeys
from paycore.webhooks.signing import new_secret, signature_headers

from tests.clients.conftest import EdgeMerchant
from tests.deploy.test_ghz import GHZ, needs_ghz
from tests.helpers import free_port
from tests.payment.shop import PayIn, Shop
from tests.payment.shop import good_card as good_card_number

README = Path(__file__).resolve().parents[2] / "README.md"
GRPC_ADDRESS = "127.0.0.1:50051"
EDGE_URL = "http://127.0.0.1:8080"
GHZ_CALLS = 40


def section(title: str) -> str:
    text = README.read_text().split("\n## Calling it\n", 1)[1].split("\n## ", 1)[0]
    return text.split(f"\n### {title}", 1)[1].split("\n### ", 1)[0]


def python_blocks(title: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", section(title), flags=re.DOTALL)


def ghz_commands() -> list[str]:
    (block,) = re.findall(r"```sh\n(.*?)```", section("Load testers"), flags=re.DOTALL)
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines() if line.startswith("ghz ")]


async def run_script(code: str) -> str:
    assert "..." not in code.replace("# ", ""), f"a placeholder is left: {code}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_the_stripe_sdk_example(edge_merchant: EdgeMerchant) -> None:
    (code,) = [block for block in python_blocks("Merchants") if "import stripe" in block]
    concrete = code.replace("sk_test_...", edge_merchant.secret_key).replace(
        EDGE_URL, edge_merchant.url
    )
    assert await run_script(concrete) == "succeeded 2000\ncard_declined generic_decline\n"


async def test_the_paycore_client_example(payin: PayIn, shop: Shop) -> None:
    (code,) = python_blocks("Internal services")
    concrete = (
        code.replace(GRPC_ADDRESS, payin.target)
        .replace("sk_test_...", shop.merchant.secret_key)
        .replace("acct_...", shop.id)
    )
    name, seller = (await run_script(concrete)).split()
    assert (name, seller[:5]) == (shop.merchant.name, "acct_")


def test_the_load_section_names_each_benchmarked_call() -> None:
    calls = [
        shlex.split(command)[shlex.split(command).index("--call") + 1] for command in ghz_commands()
    ]
    assert calls == [
        "grpc.health.v1.Health.Check",
        "paycore.v1.AccountService.GetMerchant",
        "paycore.v1.PaymentService.CreatePaymentIntent",
    ]


@needs_ghz
async def test_the_ghz_lines(payin: PayIn, shop: Shop) -> None:
    assert GHZ is not None
    card = await shop.card(good_card_number())
    for command in ghz_commands():
        concrete = (
            command.replace(GRPC_ADDRESS, payin.target)
            .replace("sk_test_...", shop.merchant.secret_key)
            .replace("acct_...", shop.id)
            .replace("pm_...", card)
        )
        argv = shlex.split(concrete)
        duration = argv.index("-z")
        argv[duration : duration + 2] = ["-n", str(GHZ_CALLS)]  # a bounded run, not 10 s
        process = await asyncio.create_subprocess_exec(
            str(GHZ),
            *argv[1:],
            "--format",
            "json",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0, (command, err.decode())
        report = json.loads(out)
        assert report["statusCodeDistribution"] == {"OK": GHZ_CALLS}, (command, report)


pytestmark = pytest.mark.timeout(300)


async def test_the_webhook_receiver_example() -> None:
    """The receiver runs as written (its secret and port filled in): a delivery signed as the
    worker signs it is taken (200, its id and type printed); a tampered body is refused (400)."""
    (code,) = python_blocks("Receivers")
    secret = new_secret()
    port = free_port()
    concrete = code.replace("whsec_...", secret.reveal()).replace("port=4242", f"port={port}")
    assert "..." not in concrete.replace("# ", "")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        concrete,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        body = json.dumps({"id": "evt_1", "object": "event", "type": "customer.created"}).encode()
        headers = signature_headers(SigningKeys(secret), "evt_1", int(time.time()), body)
        url = f"http://127.0.0.1:{port}/hooks"
        async with aiohttp.ClientSession() as http:
            for _ in range(100):  # until it listens
                try:
                    async with http.post(url, data=body, headers=headers) as answer:
                        taken = answer.status
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the receiver never listened")
            async with http.post(url, data=body + b" ", headers=headers) as answer:
                refused = answer.status
        assert (taken, refused) == (200, 400)
        assert process.stdout is not None
        printed: list[str] = []
        while not printed or not printed[-1].startswith("evt_"):  # after aiohttp's banner
            line = await asyncio.wait_for(process.stdout.readline(), 10)
            printed.append(line.decode().strip())
        assert printed[-1].split() == ["evt_1", "customer.created"]
    finally:
        process.terminate()
        await process.wait()
