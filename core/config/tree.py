"""The session's configuration tree: what `lerecord record` was asked to do.

Field names and defaults are lerobot's `RecordConfig` / `DatasetRecordConfig` (0.5, the last
version that recorded with a policy), so a `lerobot record` command line maps onto it unchanged.
Values are checked here, with the flag's name in the message, so a config built in code (the
wizard) is held to the same rules as one parsed from flags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hardware.base import RobotConfig, TeleoperatorConfig
from hardware.errors import ConfigError
from hardware.option import option

VCODECS = ("libsvtav1", "h264", "hevc")
_DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?|xpu(:\d+)?)$")
_REPO_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(kw_only=True)
class PolicyConfig:
    path: str  # a Hugging Face Hub repo id or a local checkpoint folder
    device: str = "cpu"
    use_amp: bool = False
    async_: bool = True  # `--policy.async`: compute the next chunk ahead of need

    def __post_init__(self) -> None:
        if not self.path:
            raise ConfigError("--policy.path: empty; give a Hub repo id or a checkpoint folder")
        if not _DEVICE.match(self.device):
            raise ConfigError(
                f"--policy.device: {self.device!r} is not a torch device; "
                "use cpu, cuda, cuda:N or mps"
            )


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
    outcome_prompt: bool = option(
        False, help="ask success or failure after every episode; the next one waits for it"
    )
    outcome_features: bool = option(
        True,
        help="store outcomes per frame as next.success, next.reward, next.done (new datasets)",
    )

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
