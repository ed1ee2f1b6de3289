"""What the session engine and its clients (headless runner, console app) say to each other.

Everything here is a small frozen dataclass made of plain values, so it pickles across the pipe
to the console app's process. Commands are imperative, events past tense; `Telemetry` is the
latest state, published by the control thread after each step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.score import Score
from core.step import PolicyStep

# ---- commands (client -> engine) ---------------------------------------------------------------


@dataclass(frozen=True)
class ExitEarly:
    """End the current phase now (recording: save the episode; reset: start the next one)."""


@dataclass(frozen=True)
class Rerecord:
    """Discard the episode in progress (or the one just recorded, during its reset) and redo it."""


@dataclass(frozen=True)
class Stop:
    """Finish the session: saved episodes stay; the episode being recorded is saved too when
    `save_current`, else discarded."""

    save_current: bool = False


@dataclass(frozen=True)
class EmergencyStop:
    """Cut motor torque at once, discard the episode in progress, end the session."""


@dataclass(frozen=True)
class Pause:
    """Hold the arm where it is; the phase clock stops and no frames are recorded."""


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class TeleopKey:
    """A key pressed in the console, for the keyboard teleoperator (`pressed` False on release)."""

    key: str
    pressed: bool = True


@dataclass(frozen=True)
class StrategyKey:
    """A rollout strategy's key: "save" / "push" (highlight), "correction" / "pause" /
    "upload" (dagger)."""

    action: str


@dataclass(frozen=True)
class MarkOutcome:
    """Judge an episode: while recording, end it with this outcome; during the reset after it,
    mark (or change) the outcome of the episode just saved. With `episode_index` (the review
    screen opened in a session): relabel that saved episode, whatever the phase."""

    outcome: str  # "success" | "failure"
    episode_index: int | None = None


@dataclass(frozen=True)
class MarkDeletion:
    """The review screen opened in a session: mark a saved episode to delete when the session
    ends (`delete=False` takes the mark back). Nothing is rewritten while the session records;
    a session killed before its end keeps every saved episode."""

    episode_index: int
    delete: bool = True


@dataclass(frozen=True)
class EditTask:
    """The review screen opened in a session: give a saved episode another task when the
    session ends (with the deletions, through the same journaled edit)."""

    episode_index: int
    task: str


Command = (
    ExitEarly
    | Rerecord
    | Stop
    | EmergencyStop
    | Pause
    | Resume
    | TeleopKey
    | StrategyKey
    | MarkOutcome
    | MarkDeletion
    | EditTask
)

# ---- events (engine -> clients) ----------------------------------------------------------------


@dataclass(frozen=True)
class SessionStarted:
    at: float
    robot: str
    dataset_root: str
    repo_id: str
    num_episodes: int
    devices: tuple[str, ...] = ()
    log_dir: str | None = None
    sounds: bool = False
    threads: str = ""  # the thread budget chosen ("2 cores, policy 1 thread, …")
    policy: str = ""  # the policy and its runtime ("ACT on ONNX Runtime (CPU), 1 thread")
    control: str = ""  # the control thread's scheduling ("real-time (SCHED_FIFO 40)")


@dataclass(frozen=True)
class PhaseChanged:
    at: float
    phase: str  # "recording" | "reset" | "paused"
    episode_index: int


@dataclass(frozen=True)
class EpisodeStarted:
    at: float
    episode_index: int
    task: str


@dataclass(frozen=True)
class EpisodeSaved:
    at: float
    episode_index: int
    frames: int
    save_s: float


@dataclass(frozen=True)
class EpisodeDiscarded:
    at: float
    episode_index: int
    frames: int
    reason: str  # "rerecord" | "stop" | "emergency_stop"


@dataclass(frozen=True)
class OutcomeAsked:
    """`--dataset.outcome_prompt=true`: the next episode waits for the outcome of this one, at
    most `wait_s` once the reset's time is up."""

    at: float
    episode_index: int
    wait_s: float = 0.0


@dataclass(frozen=True)
class OutcomeMarked:
    """An episode's outcome is on disk; `score` counts this session's episodes."""

    at: float
    episode_index: int
    outcome: str
    score: Score


@dataclass(frozen=True)
class DeviceFault:
    at: float
    device: str
    message: str
    recovered: bool


@dataclass(frozen=True)
class WarningRaised:
    at: float
    message: str


@dataclass(frozen=True)
class UploadFinished:
    at: float
    url: str


@dataclass(frozen=True)
class UploadFailed:
    at: float
    message: str


@dataclass(frozen=True)
class SessionEnded:
    at: float
    reason: str  # "completed" | "stopped" | "emergency_stop" | "signal" | "error"
    episodes_saved: int
    dataset_root: str
    error: str | None = None
    score: Score | None = None  # the session's episodes, when any was marked
    torque: str = "unknown"  # the follower's motors once the session closed: "off" | "on" | …
    deleted: tuple[int, ...] = ()  # the episodes marked in the review, deleted at the end
    retasked: tuple[int, ...] = ()  # the episodes given another task at the end (new indices)


@dataclass(frozen=True)
class EditsPending:
    """The review's edits waiting for the end of the session, after a `MarkDeletion` or an
    `EditTask`: the episodes to delete, and the new task of others."""

    at: float
    episodes: tuple[int, ...]  # to delete
    tasks: tuple[tuple[int, str], ...] = ()  # (episode, its new task)


Event = (
    SessionStarted
    | PhaseChanged
    | EpisodeStarted
    | EpisodeSaved
    | EpisodeDiscarded
    | OutcomeAsked
    | OutcomeMarked
    | DeviceFault
    | WarningRaised
    | UploadFinished
    | UploadFailed
    | SessionEnded
    | EditsPending
)

# ---- telemetry (latest state) ------------------------------------------------------------------


@dataclass(frozen=True)
class ServoRow:
    name: str
    position: float | None  # calibrated units (degrees, or -100..100; gripper 0..100)
    goal: float | None  # last action sent
    load: float | None  # % of max torque, signed
    temperature: float | None  # °C
    voltage: float | None  # V
    current: float | None  # mA
    status: str = "ok"  # "ok" | "warn" | "fault" | "silent"
    limits: tuple[float, float] | None = None  # the calibration's range, in position's units


@dataclass(frozen=True)
class Timing:
    """Recent history (oldest first) for the sparklines, and counters over the session."""

    period_ms: tuple[float, ...] = ()
    lateness_ms: tuple[float, ...] = ()
    inference_ms: tuple[float, ...] = ()
    camera_age_ms: tuple[float, ...] = ()
    sections_ms: tuple[tuple[str, float], ...] = ()  # last step: observe, action, send, record
    achieved_hz: float = 0.0
    missed_deadlines: int = 0
    dropped_frames: int = 0
    priority: str = ""  # the control thread's scheduling, short ("RT 40", "normal")


@dataclass(frozen=True)
class CameraThumb:
    name: str
    width: int
    height: int
    rgb: bytes  # height*width*3, downscaled from the camera frame
    age_ms: float


@dataclass(frozen=True)
class Telemetry:
    # "connecting" | "recording" | "reset" | "paused" | "saving" (the session's last episodes are
    # being written) | "ended" | "e-stopped" (the last two once the session is over)
    phase: str = "connecting"
    episode_index: int = 0
    num_episodes: int = 0
    episodes_saved: int = 0
    frame_index: int = 0
    step: int = 0
    phase_elapsed_s: float = 0.0
    phase_duration_s: float = 0.0
    servos: tuple[ServoRow, ...] = ()
    action: tuple[tuple[str, float], ...] = ()
    action_source: str = "hold"  # "policy" | "teleop" | "hold"
    policy: PolicyStep | None = None  # the policy's part of the latest step
    task: str = ""
    timing: Timing = field(default_factory=Timing)
    cameras: tuple[CameraThumb, ...] = ()
    encoder_backlog: int = 0
    paused: bool = False
    warnings: tuple[str, ...] = ()
    score: Score = field(default_factory=Score)  # this session's saved episodes
    awaiting_outcome: bool = False  # the reset waits for the outcome of the episode just saved
    torque: str = "unknown"  # the follower's motors: "on" | "off" | "unknown"
