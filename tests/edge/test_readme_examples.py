"""README.md's curl examples ("Calling it") work as written: each runs with the real curl
binary against an edge on a free port, with a real merchant's key and id in place of the
placeholders, and answers 2xx with a JSON body."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import ClientSession
from paycore.edge import start_edge

from tests.edge.helpers import new_merchant
from tests.helpers import free_port

README = Path(__file__).resolve().parents[2] / "README.md"
README_ADDRESS = "127.0.0.1:8080"
STATUS_MARK = "\nHTTP_STATUS:"


def curl_commands(readme: str) -> list[str]:
    """The curl commands of the "Calling it" section's sh blocks, continuations joined."""
    section = readme.split("\n## Calling it\n", 1)[1].split("\n## ", 1)[0]
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL):
        joined = re.sub(r"\\\n\s*", " ", block)
        commands += [line.strip() for line in joined.splitlines() if line.startswith("curl ")]
    return commands


def test_the_section_has_the_examples() -> None:
    commands = curl_commands(README.read_text())
    assert len(commands) >= 3
    assert any("/v1/balance" in command for command in commands)


@pytest_asyncio.fixture
async def readme_edge(target: str) -> AsyncIterator[str]:
    address = f"127.0.0.1:{free_port()}"
    edge = await start_edge(target, address, operator_routes=True)
    yield f"127.0.0.1:{edge.port}"
    await edge.close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl binary")
async def test_readme_curl_examples_work_as_written(
    readme_edge: str, http: ClientSession, settings_admin_token: str
) -> None:
    merchant = await new_merchant(http, settings_admin_token)
    commands = curl_commands(README.read_text())
    assert commands
    for command in commands:
        assert README_ADDRESS in command and command.startswith("curl -s "), command
        concrete = (
            command.replace(README_ADDRESS, readme_edge)
            .replace("sk_test_...", merchant["secret_key"])
            .replace("acct_...", merchant["id"])
        )
        assert "..." not in concrete, f"a placeholder the test does not know: {command}"
        argv = [*shlex.split(concrete), "--write-out", STATUS_MARK + "%{http_code}"]
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, (command, err.decode())
        body, _, status = out.decode().rpartition(STATUS_MARK)
        assert 200 <= int(status) < 300, (command, status, body)
        parsed: Any = json.loads(body)
        assert isinstance(parsed, dict), (command, body)
