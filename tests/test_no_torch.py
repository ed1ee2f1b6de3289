"""The robot computer: an ONNX export records a session in an environment with no torch at all.

The environment is built once by `make notorch` (cached outside the clone, like the lerobot
interop env) and named by LERECORD_NOTORCH_PYTHON; `make test` passes it. Without it the test
fails under CI and skips elsewhere, saying how to get it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from policy_fixture import ACT, require_fixture
from session_support import sim_args

ROOT = Path(__file__).resolve().parents[1]
NOTORCH_PYTHON = os.environ.get("LERECORD_NOTORCH_PYTHON", "")


def notorch_python() -> str:
    if NOTORCH_PYTHON and os.access(NOTORCH_PYTHON, os.X_OK):
        return NOTORCH_PYTHON
    why = (
        f"torch-free environment not found (LERECORD_NOTORCH_PYTHON={NOTORCH_PYTHON!r}); "
        "run the tests with `make test`, which builds it (`make notorch`)"
    )
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


@pytest.mark.slow
def test_an_onnx_export_records_a_session_without_torch(tmp_path):
    python = notorch_python()
    require_fixture()
    from core.policy.export import export_checkpoint

    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HOME=str(tmp_path / "hf"),
               HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")  # fmt: skip
    no_torch = subprocess.run([python, "-c", "import torch"], capture_output=True, env=env)
    assert no_torch.returncode != 0 and b"No module named 'torch'" in no_torch.stderr
    export = export_checkpoint(ACT, tmp_path / "act_onnx")
    args = [a for a in sim_args(tmp_path / "data", episodes=2, seconds=1.0) if "teleop" not in a]
    done = subprocess.run(
        [python, "-m", "core.cli", "record", "--headless", *args,
         f"--policy.path={export}", "--policy.backend=onnx"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(ONNX Runtime CPUExecutionProvider), 1 thread" in done.stdout
    assert "threads:" in done.stdout
    table = pq.read_table(next((tmp_path / "data" / "data").rglob("*.parquet")))
    episodes = table.column("episode_index").to_pylist()
    assert sorted(set(episodes)) == [0, 1]
    assert all(episodes.count(e) >= 25 for e in (0, 1))  # 1 s at 30 fps, each
    actions = table.column("action").to_pylist()
    assert len({tuple(a) for a in actions}) > 10  # the policy moved the arm, frame after frame
