"""The session's configuration tree: what `lerecord record` was asked to do.

Field names and defaults are lerobot's `RecordConfig` / `DatasetRecordConfig` (0.5, the last
version that recorded with a policy), so a `lerobot record` command line maps onto it unchanged.
Values are checked here, with the flag's name in the message, so a config built in code (the
wizard) is held to the same rules as one parsed from flags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.policy.schedule import AGGREGATES
from hardware.base import RobotConfig, TeleoperatorConfig
from hardware.errors import ConfigError
from hardware.option import option

VCODECS = ("libsvtav1", "h264", "hevc")
_DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?|xpu(:\d+)?)$")
_REPO_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SERVER = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$")


@dataclass(kw_only=True)
class PolicyConfig:
    path: str  # a Hugging Face Hub repo id or a local checkpoint folder
    device: str = "cpu"
    use_amp: bool = False
    async_: bool = True  # `--policy.async`: compute the next chunk ahead of need
    server: str | None = option(
        None,
        help="run the policy on lerobot's policy server at HOST:PORT "
        "(python -m lerobot.async_inference.policy_server)",
        group="policy server",
    )
    type: str | None = option(
        None,
        help="the policy's type (act, diffusion, smolvla, pi0, …) when --policy.path is not a "
        "checkpoint folder on this computer",
        group="policy server",
    )
    actions_per_chunk: int | None = option(
        None,
        help="actions the server sends per chunk (default: the checkpoint's chunk_size)",
        group="policy server",
    )
    chunk_size_threshold: float = option(
        0.5,
        help="ask for the next chunk when no more than this fraction of a chunk is left",
        group="policy server",
    )
    aggregate: str = option(
        "weighted_average",
        help="how a step two chunks cover gets its action (lerobot's aggregate functions)",
        choices=tuple(AGGREGATES),
        group="policy server",
    )

    def __post_init__(self) -> None:
        if not self.path:
            raise ConfigError("--policy.path: empty; give a Hub repo id or a checkpoint folder")
        if self.server is not None:
            self._check_server()
        if not _DEVICE.match(self.device):
            raise ConfigError(
                f"--policy.device: {self.device!r} is not a torch device; "
                "use cpu, cuda, cuda:N or mps"
            )

    def _check_server(self) -> None:
        found = _SERVER.match(self.server or "")
        if not found or not 0 < int(found.group(2)) < 65536:
            raise ConfigError(
                f"--policy.server: {self.server!r} is not HOST:PORT; give the policy server's "
                "address, e.g. --policy.server=192.168.1.20:8080"
            )
        if not self.async_:
            raise ConfigError(
                "--policy.async=false: a policy server's chunks come over the network, and the "
                "control loop never waits on it; leave --policy.async=true with --policy.server"
            )
        if self.type is not None and not _REPO_PART.match(self.type):
            raise ConfigError(f"--policy.type: got {self.type!r}; expected a type like act")
        if self.actions_per_chunk is not None:
            _check(self.actions_per_chunk >= 1, "--policy.actions_per_chunk",
                   self.actions_per_chunk, "1 or more")  # fmt: skip
        _check(0 <= self.chunk_size_threshold <= 1, "--policy.chunk_size_threshold",
               self.chunk_size_threshold, "a fraction from 0 to 1")  # fmt: skip
        _check(self.aggregate in AGGREGATES, "--policy.aggregate", self.aggregate,
               " or ".join(AGGREGATES))  # fmt: skip


@dataclass(kw_only=True)
class DatasetConfig:
    repo_id: str  # "<user>/<name>"
    single_task: str
    root: str | None = None  # default ~/.cache/huggingface/lerobot/<repo_id>
    fps: int = 30
    episode_time_s: float = 60
    reset_time_s: float = 60
    num_episodes: int = 50
    video: bool = True
    push_to_hub: bool = True
    private: bool = False
    tags: list[str] | None = None
    num_image_writer_processes: int = 0
    num_image_writer_threads_per_camera: int = 4
    video_encoding_batch_size: int = 1
    vcodec: str = "libsvtav1"

    def __post_init__(self) -> None:
        parts = self.repo_id.split("/")
        if len(parts) > 2 or not all(_REPO_PART.match(p) for p in parts):
            raise ConfigError(
                f"--dataset.repo_id: {self.repo_id!r} is not a repo id; use <user>/<name> "
                "with letters, digits, '.', '_' or '-'"
            )
        if not self.single_task.strip():
            raise ConfigError("--dataset.single_task: empty; describe the task in a sentence")
        _check(self.fps > 0, "--dataset.fps", self.fps, "a positive number of frames per second")
        _check(
            self.episode_time_s > 0,
            "--dataset.episode_time_s",
            self.episode_time_s,
            "a positive number of seconds",
        )
        _check(
            self.reset_time_s >= 0,
            "--dataset.reset_time_s",
            self.reset_time_s,
            "zero or more seconds",
        )
        _check(self.num_episodes >= 1, "--dataset.num_episodes", self.num_episodes, "1 or more")
        for name in ("num_image_writer_processes", "num_image_writer_threads_per_camera"):
            value = getattr(self, name)
            _check(value >= 0, f"--dataset.{name}", value, "0 or more")
        _check(
            self.video_encoding_batch_size >= 1,
            "--dataset.video_encoding_batch_size",
            self.video_encoding_batch_size,
            "1 or more",
        )
        _check(self.vcodec in VCODECS, "--dataset.vcodec", self.vcodec, " or ".join(VCODECS))

    @property
    def name(self) -> str:
        """The part of `repo_id` after the `/` (names the inference-log folder)."""
        return self.repo_id.rsplit("/", 1)[-1]


Teleop = TeleoperatorConfig | list[TeleoperatorConfig] | None


@dataclass(kw_only=True)
class RecordConfig:
    robot: RobotConfig
    teleop: Teleop = None
    policy: PolicyConfig | None = None
    dataset: DatasetConfig
    display_data: bool = False
    log: bool = False
    play_sounds: bool = True
    resume: bool = False
    headless: bool = False
    keys: dict[str, str] = field(default_factory=dict)  # console binding id -> key
    theme: str | None = None  # console theme name; None: the app's default

    def __post_init__(self) -> None:
        if self.teleop is None and self.policy is None:
            raise ConfigError(
                "nothing to drive the robot: give --teleop.type=… (a leader arm, keyboard) "
                "or --policy.path=… (a trained policy), or both"
            )
        if isinstance(self.teleop, list) and not self.teleop:
            raise ConfigError("--teleop: empty list; give at least one teleoperator")


def _check(ok: bool, flag: str, value: object, accepted: str) -> None:
    if not ok:
        raise ConfigError(f"{flag}: got {value!r}; expected {accepted}")
