"""One control step as the engine saw it: handed to the inference logs and the console block
(and, its policy part, to the console's telemetry).

Built by the control thread once per period (recording and reset phases alike) and passed by
reference to background consumers; nothing here is mutated after construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class OutputStats:
    """Summary of one predicted chunk (unnormalised, every element): the inference logs'
    output_mean/std/min/max and the console's policy panel."""

    mean: float
    std: float
    min: float
    max: float

    @classmethod
    def of(cls, chunk: np.ndarray) -> OutputStats:
        return cls(float(chunk.mean()), float(chunk.std()), float(chunk.min()), float(chunk.max()))


@dataclass(frozen=True)
class PolicyStep:
    """What the policy runner did for this step."""

    inference_ms: float  # time the control step spent obtaining the action
    forward_ms: float | None  # forward time of a chunk computed (sync) or arrived (async) this step
    queue_size: int  # actions left in the queue after this step
    inputs: dict[str, float]  # state inputs by name (e.g. "shoulder_pan.pos")
    output: OutputStats  # over the raw output tensor (the chunk this action came from)
    # where the action came from: "forward" (chunk computed in this step, sync), "queue" (a chunk
    # computed earlier), "hold" (queue ran dry: last action repeated), "wait" (no chunk yet)
    origin: str = "queue"
    chunk_step: int | None = None  # step whose observation the chunk was computed from
    dropped: int = 0  # stale actions discarded when a chunk arrived in this step
    starvations: int = 0  # steps so far in this episode that found the queue dry
    chunks: int = 0  # chunks received so far in this episode
    link_error: str | None = None  # why the policy cannot be reached now (its server is lost)
    where: str = "this computer"  # where the policy runs ("policy server HOST:PORT (device)")
    # forward time of the chunk this step's action came from (None before the first chunk): the
    # model's inference time behind the action, on every step, not only where it was computed
    chunk_forward_ms: float | None = None


@dataclass(frozen=True)
class ControlStep:
    step: int  # counter over the session
    t: float  # seconds since the session started (monotonic)
    wall_time: float  # time.time() at the start of the step
    episode_index: int
    frame_index: int  # frame within the episode (recording), step within the reset phase
    phase: str  # "recording" | "reset"
    period_s: float  # time since the previous step started
    lateness_s: float  # how late the step started after its deadline
    observation: dict[str, float]  # "<m>.pos" and diagnostics ("<m>.load" …); no images
    action: dict[str, float] | None  # what was sent to the robot (None when holding)
    source: str  # "policy" | "teleop" | "hold"
    robot_connected: bool = True
    policy: PolicyStep | None = None
    event: str = ""  # "" | "episode_start" | "episode_end" | "rerecord" | "stop"
    task: str = ""
    sections_ms: dict[str, float] = field(default_factory=dict)  # observe, action, send, record
