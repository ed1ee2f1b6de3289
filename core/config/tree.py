"""The session's configuration tree: what `lerecord record` was asked to do.

Field names and defaults are lerobot's `RecordConfig` / `DatasetRecordConfig` (0.5, the last
version that recorded with a policy), so a `lerobot record` command line maps onto it unchanged.
Values are checked here, with the flag's name in the message, so a config built in code (the
wizard) is held to the same rules as one parsed from flags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hardware import registry
from hardware.base import RobotConfig, TeleoperatorConfig
from hardware.errors import ConfigError
from hardware.option import option

VCODECS = ("libsvtav1", "h264", "hevc")
_DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?|xpu(:\d+)?)$")
_REPO_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(kw_only=True)
class PolicyConfig:
    path: str = option(
        help="the trained policy: a Hugging Face Hub repo id or a local checkpoint folder",
        example="username/act_policy",
    )
    device: str = option("cpu", help="torch device the policy runs on: cpu, cuda, cuda:N or mps")
    use_amp: bool = option(False, help="run the policy in automatic mixed precision")
    async_: bool = option(True, help="compute the next action chunk ahead of need")

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
    repo_id: str = option(
        help="the dataset's name, <user>/<name>", example="username/pick_place"
    )
    single_task: str = option(
        help="what the robot does in every episode, in a sentence", example="Pick up the cube"
    )
    root: str | None = option(
        None, help="folder of the dataset; default ~/.cache/huggingface/lerobot/<repo_id>"
    )
    fps: int = option(30, help="frames per second of the control loop and recording", unit="Hz")
    episode_time_s: float = option(60, help="length of each episode", unit="s")
    reset_time_s: float = option(
        60, help="time to reset the scene after each episode (0: none)", unit="s"
    )
    num_episodes: int = option(50, help="number of episodes to record")
    video: bool = option(True, help="encode camera frames as MP4 video (else PNG images)")
    push_to_hub: bool = option(True, help="upload the dataset to the Hugging Face Hub at the end")
    private: bool = option(False, help="make the dataset private on the Hub")
    tags: list[str] | None = option(None, help='tags of the dataset on the Hub, \'["a", "b"]\'')
    num_image_writer_processes: int = option(
        0, help="image-writer subprocesses (lerobot's; lerecord encodes in threads)"
    )
    num_image_writer_threads_per_camera: int = option(
        4, help="image-writer threads per camera (lerobot's; lerecord encodes in threads)"
    )
    video_encoding_batch_size: int = option(
        1, help="episodes recorded before their videos are encoded"
    )
    vcodec: str = option("libsvtav1", help="video codec of the camera MP4s", choices=VCODECS)

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


def _robots() -> list[str]:
    return registry.known_types("robot")


def _teleops() -> list[str]:
    return registry.known_types("teleop")


@dataclass(kw_only=True)
class RecordConfig:
    robot: RobotConfig = option(
        help="the robot that records",
        choices=_robots,
        example="so101_follower",
    )
    teleop: Teleop = option(
        None,
        help="what drives the robot: --teleop.type (a leader arm, keyboard, gamepad) or a list",
        choices=_teleops,
        example="so101_leader",
    )
    policy: PolicyConfig | None = option(
        None, help="a trained policy that drives the robot instead of (or with) a teleoperator"
    )
    dataset: DatasetConfig = option(help="the dataset recorded")
    display_data: bool = option(
        False, help="stream cameras and joints to a Rerun viewer", group="display"
    )
    log: bool = option(False, help="write per-step inference logs (CSV) beside the dataset")
    play_sounds: bool = option(True, help="speak the session's events aloud")
    resume: bool = option(False, help="add episodes to an existing dataset")
    headless: bool = option(False, help="plain log lines instead of the console")
    keys: dict[str, str] = option(
        default_factory=dict, help='console keys remapped, \'{"binding id": "key"}\''
    )
    theme: str | None = option(None, help="console theme: a theme file's name (none: dark)")

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
