"""lerobot's own policy classes in lerecord's process: a Diffusion checkpoint made by lerobot
(random weights, offline) drives a session on the emulated arm, lerecord run from this clone in
the interop Python (lerobot needs Python >= 3.12; `make interop` adds lerecord's packages there).
"""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pandas as pd
from dataset_support import read_data
from interop import lerobot_python, run_lerobot
from session_support import ROOT, sim_args

COMPAT = ROOT / "tests" / "lerobot_compat"


def test_a_diffusion_checkpoint_runs_through_lerobots_classes_under_lerecords_runner(tmp_path):
    checkpoint = tmp_path / "diffusion"
    made = run_lerobot([str(COMPAT / "make_policy.py"), "diffusion", str(checkpoint)])
    assert made.returncode == 0, made.stderr[-2000:]
    assert json.loads((checkpoint / "config.json").read_text())["type"] == "diffusion"
    root = tmp_path / "ds"
    args = [a for a in sim_args(root, episodes=1, seconds=3.0) if "--teleop" not in a]
    args.append("--dataset.fps=10")  # 8-action chunks: room for a forward on a loaded machine
    run = subprocess.run(
        [lerobot_python(), "-m", "core.cli", *args, f"--policy.path={checkpoint}",
         "--headless=true", "--log=true"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1"),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    loaded = run_lerobot([str(COMPAT / "load_dataset.py"), str(root), "local/session_test"])
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert json.loads(loaded.stdout.strip().splitlines()[-1])["frames"] == 30

    (folder,) = list((tmp_path / "inference_logs" / "session_test").iterdir())
    log = pd.read_csv(folder / "so101_follower_policy_inference.csv")
    assert len(log) == 30 and log["chunks_received"].max() >= 3  # 8-action chunks, async
    assert (log["origin"] == "queue").sum() >= 15
    # what was recorded is what the policy gave (the log's action.* columns), frame by frame
    recorded = np.stack(read_data(root)["action"].to_numpy())
    logged = log[[c for c in log.columns if c.startswith("action.")]].to_numpy()
    played = (log["origin"] == "queue").to_numpy()
    np.testing.assert_allclose(recorded[played], logged[played], rtol=1e-6, atol=1e-4)
    assert np.isfinite(recorded).all() and recorded.std() > 0
