"""The thread budget: what each consumer gets on 1, 2 and 8 allowed cores, and overrides."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.dataset.video_encoder import VideoSettings
from core.threads import plan_threads, usable_cores


@pytest.mark.parametrize(
    ("cores", "cameras", "policy", "encoder"),
    [
        (1, 2, 1, 1),  # one core: one thread each, more only adds switching
        (2, 2, 1, 1),  # the control loop keeps a core
        (2, 1, 1, 1),
        (8, 2, 7, 3),
        (8, 1, 7, 4),  # encoders capped at 4 (SVT-AV1 gains little past it at 640x480)
        (8, 0, 7, 4),
        (64, 2, 8, 4),  # the policy is capped at 8 intra-op threads
    ],
)
def test_budget_for_the_allowed_cores(cores, cameras, policy, encoder):
    budget = plan_threads(cores, cameras)
    assert (budget.cores, budget.policy, budget.encoder) == (cores, policy, encoder)


def test_the_user_overrides_the_policy_and_the_encoders():
    budget = plan_threads(8, 2, policy_threads=2, encoder_threads=1)
    assert (budget.policy, budget.encoder) == (2, 1)
    assert plan_threads(1, 2, encoder_threads=3).encoder == 3  # asked for: given
    assert plan_threads(1, 2, encoder_cap=4).encoder == 1  # lerobot's default 4 is a cap
    assert plan_threads(8, 1, encoder_cap=2).encoder == 2
    assert plan_threads(2, 2).describe() == (
        "2 cores, policy 1 thread, encoder 1 thread x 2 cameras"
    )
    assert plan_threads(1, 0).describe() == "1 core, policy 1 thread"
    assert plan_threads(1, 1, with_policy=False).describe() == "1 core, encoder 1 thread x 1 camera"


def test_one_core_records_h264_ultrafast_in_place_of_an_untuned_heavy_codec():
    asked = VideoSettings()  # lerobot's default: libsvtav1 preset 12
    budget = plan_threads(1, 2, video=asked)
    assert budget.video is not None
    assert (budget.video.vcodec, budget.video.resolved_preset) == ("h264", "ultrafast")
    assert (budget.video.crf, budget.video.g, budget.video.pix_fmt) == (30, 2, "yuv420p")
    assert budget.describe().endswith(
        "video h264 preset ultrafast (not libsvtav1 preset 12: one core)"
    )
    assert plan_threads(1, 1, video=VideoSettings(vcodec="hevc")).video.vcodec == "h264"
    assert plan_threads(2, 2, video=asked).video is None  # two cores afford it
    assert plan_threads(1, 0, video=asked).video is None  # no camera
    assert plan_threads(1, 2, video=None).video is None  # the user said keep it
    tuned = VideoSettings(preset=8), VideoSettings(extra_options={"tune": "0"})
    assert all(plan_threads(1, 2, video=v).video is None for v in tuned)  # a choice, kept
    assert plan_threads(1, 2, video=VideoSettings(vcodec="h264")).video is None


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this OS")
def test_usable_cores_follow_the_affinity_taskset_sets():
    assert usable_cores() == len(os.sched_getaffinity(0))
    one = sorted(os.sched_getaffinity(0))[:1]
    code = (
        f"import os; os.sched_setaffinity(0, {set(one)!r}); "
        "from core.threads import usable_cores; print(usable_cores())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this OS")
def test_a_session_pinned_to_one_core_says_what_it_chose(tmp_path):
    from session_support import ROOT, sim_args

    first = min(os.sched_getaffinity(0))
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    args = [a for a in sim_args(tmp_path / "ds", episodes=1, seconds=0.5) if "vcodec" not in a]
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "record", "--headless", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
        stdin=subprocess.DEVNULL, preexec_fn=lambda: os.sched_setaffinity(0, {first}),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    started = next(line for line in done.stdout.splitlines() if "Session started" in line)
    threads, control = started.split("; control thread ")  # the scheduling comes last
    assert control.startswith(("real-time", "normal priority"))
    assert threads.endswith(  # teleop only: no policy figure
        "; threads: 1 core, encoder 1 thread x 1 camera, "
        "video h264 preset ultrafast (not libsvtav1 preset 12: one core)"
    )
    info = json.loads((tmp_path / "ds" / "meta" / "info.json").read_text())
    video = info["features"]["observation.images.front"]["info"]
    assert (video["video.codec"], video["video.preset"]) == ("h264", "ultrafast")
