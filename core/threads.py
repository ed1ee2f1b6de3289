"""The thread budget: how many threads each consumer of the robot computer's cores gets.

One place decides, from the cores this process may run on (`os.sched_getaffinity`, so `taskset`
and cgroup cpusets count; `os.cpu_count()` where there is no affinity, as on macOS):
- the policy's intra-op threads (torch's `set_num_threads`, onnxruntime's `intra_op_num_threads`),
- each camera encoder's threads (SVT-AV1 `lp`, x264 `threads`).
The control loop, the cameras and the console keep a core of their own when there are two or
more; on one core everything gets one thread, since more only adds switching, and the camera
videos are recorded in h264 ultrafast rather than an untuned libsvtav1 (about 7x less CPU per
frame, `bench/bench_encode.py`; `--dataset.adapt_encoder=false` keeps the codec asked for).
A user's choice replaces the figure (`--policy.threads`, `--dataset.encoder_threads`) or caps it
(`--dataset.num_image_writer_threads_per_camera`, lerobot's, default 4). The budget says what it
chose (`describe()`), for the log and the session's first line.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from core.dataset.video_encoder import VideoSettings

log = logging.getLogger(__name__)
MAX_POLICY_THREADS = 8  # ACT's matrix products gain little past this on a CPU
MAX_ENCODER_THREADS = 4


def usable_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):  # Linux; absent on macOS and Windows
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ThreadBudget:
    cores: int  # the cores the process may use
    policy: int  # intra-op threads of the policy's runtime
    encoder: int  # threads of each camera's encoder
    cameras: int
    with_policy: bool = True  # False: no policy in this session (its figure is not shown)
    video: VideoSettings | None = None  # the videos' encoder, when the budget changed it
    video_asked: str = ""  # what it replaced

    def describe(self) -> str:
        parts = [f"{self.cores} core{'s' if self.cores != 1 else ''}"]
        if self.with_policy:
            parts.append(f"policy {self.policy} thread{'s' if self.policy != 1 else ''}")
        if self.cameras:
            parts.append(
                f"encoder {self.encoder} thread{'s' if self.encoder != 1 else ''} "
                f"x {self.cameras} camera{'s' if self.cameras != 1 else ''}"
            )
        if self.video is not None:
            parts.append(f"video {self.video.describe()} (not {self.video_asked}: one core)")
        return ", ".join(parts)


def plan_threads(
    cores: int,
    cameras: int = 0,
    *,
    policy_threads: int | None = None,
    encoder_threads: int | None = None,
    encoder_cap: int | None = None,
    with_policy: bool = True,
    video: VideoSettings | None = None,
) -> ThreadBudget:
    """The budget for `cores` allowed cores and `cameras` encoders.

    `policy_threads` and `encoder_threads` replace the figures; `encoder_cap` caps the
    encoders' own. `video`: the encoder asked for, which the budget may replace (None: keep it).
    """
    cores = max(1, int(cores))
    spare = max(1, cores - 1)  # one core for the control loop, cameras and console
    policy = policy_threads or min(spare, MAX_POLICY_THREADS)
    encoder = max(1, min(MAX_ENCODER_THREADS, spare // max(1, cameras)))
    if encoder_cap:
        encoder = max(1, min(encoder, int(encoder_cap)))
    encoder = encoder_threads or encoder
    chosen = video.on_one_core() if video is not None and cameras and cores < 2 else video
    if chosen == video:
        return ThreadBudget(cores, int(policy), encoder, cameras, with_policy)
    asked = video.describe() if video is not None else ""
    return ThreadBudget(cores, int(policy), encoder, cameras, with_policy, chosen, asked)


def default_policy_threads() -> int:
    """The policy's share when nobody gave one (a policy loaded outside a session)."""
    return plan_threads(usable_cores()).policy


def session_budget(
    cameras: int,
    policy_threads: int | None = None,
    encoder_threads: int | None = None,
    encoder_cap: int | None = None,
    with_policy: bool = True,
    video: VideoSettings | None = None,
) -> ThreadBudget:
    """The budget for this process, logged."""
    budget = plan_threads(
        usable_cores(),
        cameras,
        policy_threads=policy_threads,
        encoder_threads=encoder_threads,
        encoder_cap=encoder_cap,
        with_policy=with_policy,
        video=video,
    )
    log.info("thread budget: %s", budget.describe())
    return budget
