"""`paycore` says in one line why a process cannot start, and exits 2: no traceback."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path


def test_a_second_dev_on_the_same_data_folder_is_one_line(tmp_path: Path) -> None:
    # What `make run` meets when another `make run` holds the folder: the embedded servers'
    # lock, held here as `paycore dev` holds it.
    with (tmp_path / "embedded.lock").open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write("4242\n")
        lock.flush()
        env = {key: value for key, value in os.environ.items() if not key.startswith("PAYCORE_")}
        done = subprocess.run(
            [sys.executable, "-m", "paycore.cli", "dev"],
            env={**env, "PAYCORE_DATA_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"paycore: {tmp_path} is in use by pid 4242 (another `paycore dev`?)\n"
    ), done.stderr
