"""The session's configuration tree: what `lerecord record` was asked to do.

Field names and defaults are lerobot's `RecordConfig` / `DatasetRecordConfig` (0.5, the last
version that recorded with a policy), so a `lerobot record` command line maps onto it unchanged.
Values are checked here, with the flag's name in the message, so a config built in code (the
wizard) is held to the same rules as one parsed from flags.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.dataset.video_encoder import VCODECS, DepthSettings, VideoSettings
from core.policy.schedule import AGGREGATES
from core.priority import CHOICES as PRIORITY_CHOICES
from hardware import registry
from hardware.base import RobotConfig, TeleoperatorConfig
from hardware.errors import ConfigError
from hardware.option import option

log = logging.getLogger(__name__)
POLICY_BACKENDS = ("auto", "torch", "onnx")
DISPLAY_MODES = ("rerun", "foxglove")  # lerobot's; lerecord streams to Rerun only
MAX_FPS = 240  # above this the servo bus (a read and a write per step) and encoders fall behind
MAX_PHASE_S = 24 * 3600.0  # an episode or a reset longer than a day is a typo
_DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?|xpu(:\d+)?)$")
_REPO_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SERVER = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$")


@dataclass(kw_only=True)
class PolicyConfig:
    path: str = option(
        help="the trained policy: a Hugging Face Hub repo id or a local checkpoint folder",
        example="username/act_policy",
    )
    device: str = option("cpu", help="torch device the policy runs on: cpu, cuda, cuda:N or mps")
    use_amp: bool = option(False, help="run the policy in automatic mixed precision")
    async_: bool = option(True, help="compute the next action chunk ahead of need")
    backend: str = option(
        "auto",
        help="runtime of the policy: auto (ONNX Runtime when installed and its export of the "
        "checkpoint matches PyTorch), torch or onnx",
        choices=POLICY_BACKENDS,
    )
    threads: int = option(
        0, help="intra-op threads of the policy's runtime; 0: from the cores available"
    )
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

    def checkpoint_options(self) -> dict[str, Any]:
        """More arguments for `core.policy.load_policy` (rollout: revision, overrides, renames)."""
        return {}

    def __post_init__(self) -> None:
        _check(
            self.backend in POLICY_BACKENDS,
            "--policy.backend",
            self.backend,
            " or ".join(POLICY_BACKENDS),
        )
        _check(self.threads >= 0, "--policy.threads", self.threads, "0 (automatic) or more")
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
    repo_id: str = option(help="the dataset's name, <user>/<name>", example="username/pick_place")
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
    private: bool | None = option(
        None, help="make the dataset private on the Hub (none: the organisation's default)"
    )
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
    rgb_encoder: VideoSettings = option(
        default_factory=VideoSettings, help="encoder of the camera videos"
    )
    depth_encoder: DepthSettings = option(
        default_factory=DepthSettings, help="encoder of the depth cameras' videos (use_depth)"
    )
    vcodec: str | None = option(
        None, help="lerobot 0.5's name for --dataset.rgb_encoder.vcodec", choices=VCODECS
    )
    streaming_encoding: bool = option(
        False, help="encode while recording (lerecord always does; false prints a note)"
    )
    encoder_queue_maxsize: int = option(
        30, help="camera frames waiting for the encoder before frames are dropped", unit="frames"
    )
    encoder_threads: int | None = option(
        None, help="threads per video encoder (none: num_image_writer_threads_per_camera)"
    )
    adapt_encoder: bool = option(
        True, help="on one core, record h264 ultrafast instead of an untuned libsvtav1 or hevc"
    )
    no_stamp: bool = option(
        False, help="keep repo_id as given (else _YYYYmmdd_HHMMSS is appended to a new one)"
    )
    outcome_prompt: bool | None = option(
        None,
        help="ask success or failure after every episode (none: on in rollout's episodic)",
    )
    outcome_wait_s: float | None = option(
        None,
        help="longest wait for an asked outcome once the reset is over (none: reset_time_s)",
        unit="s",
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
        _check_utf8("--dataset.single_task", self.single_task)
        _check(
            0 < self.fps <= MAX_FPS,
            "--dataset.fps",
            self.fps,
            f"frames per second from 1 to {MAX_FPS} (what the servo bus and encoders keep up with)",
        )
        _check(
            math.isfinite(self.episode_time_s) and 0 < self.episode_time_s <= MAX_PHASE_S,
            "--dataset.episode_time_s",
            self.episode_time_s,
            f"a positive number of seconds, at most {MAX_PHASE_S:.0f} (a day)",
        )
        _check(
            math.isfinite(self.reset_time_s) and 0 <= self.reset_time_s <= MAX_PHASE_S,
            "--dataset.reset_time_s",
            self.reset_time_s,
            f"zero or more seconds, at most {MAX_PHASE_S:.0f} (a day)",
        )
        _check(self.num_episodes >= 1, "--dataset.num_episodes", self.num_episodes, "1 or more")
        if self.outcome_wait_s is not None:
            _check(
                math.isfinite(self.outcome_wait_s) and 0 <= self.outcome_wait_s <= MAX_PHASE_S,
                "--dataset.outcome_wait_s",
                self.outcome_wait_s,
                f"zero or more seconds, at most {MAX_PHASE_S:.0f} (a day), or none",
            )
        for name in ("num_image_writer_processes", "num_image_writer_threads_per_camera"):
            value = getattr(self, name)
            _check(value >= 0, f"--dataset.{name}", value, "0 or more")
        _check(
            self.video_encoding_batch_size >= 1,
            "--dataset.video_encoding_batch_size",
            self.video_encoding_batch_size,
            "1 or more",
        )
        _check(
            self.encoder_queue_maxsize >= 1,
            "--dataset.encoder_queue_maxsize",
            self.encoder_queue_maxsize,
            "1 or more",
        )
        if self.encoder_threads is not None:
            _check(
                self.encoder_threads >= 1,
                "--dataset.encoder_threads",
                self.encoder_threads,
                "1 or more, or none",
            )
        if self.vcodec is not None:  # the old name: it sets the encoder's codec
            given = self.rgb_encoder.vcodec
            if given != VideoSettings().vcodec and given != self.vcodec:
                raise ConfigError(
                    f"--dataset.vcodec={self.vcodec} disagrees with "
                    f"--dataset.rgb_encoder.vcodec={given}; give one of them"
                )
            self.rgb_encoder = self.rgb_encoder.with_codec(self.vcodec)

    @property
    def outcome_wait(self) -> float:
        """Seconds an asked outcome may hold the reset once its time is up (it never waits for
        ever: then the episode stays unmarked)."""
        return self.reset_time_s if self.outcome_wait_s is None else self.outcome_wait_s

    @property
    def name(self) -> str:
        """The part of `repo_id` after the `/` (names the inference-log folder)."""
        return self.repo_id.rsplit("/", 1)[-1]

    def stamp_repo_id(self, now: datetime) -> None:
        """Name a new dataset as lerobot 0.6 does: `_YYYYmmdd_HHMMSS` appended to `repo_id`, so
        each session records a dataset of its own (unless `no_stamp`; never on resume)."""
        if not self.no_stamp:
            self.repo_id = f"{self.repo_id}_{now:%Y%m%d_%H%M%S}"


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
    display_mode: str = option(
        "rerun",
        help="the viewer (foxglove: not in lerecord)",
        choices=DISPLAY_MODES,
        group="display",
    )
    display_ip: str | None = option(
        None, help="address of a remote Rerun viewer (none: start one here)", group="display"
    )
    display_port: int | None = option(
        None, help="gRPC port of that remote viewer (Rerun's default: 9876)", group="display"
    )
    display_compressed_images: bool = option(
        False, help="send camera pictures as JPEG (always, to a remote viewer)", group="display"
    )
    log: bool = option(False, help="write per-step inference logs (CSV) beside the dataset")
    play_sounds: bool = option(True, help="speak the session's events aloud")
    resume: bool = option(False, help="add episodes to an existing dataset")
    headless: bool = option(False, help="plain log lines instead of the console")
    keys: dict[str, str] = option(
        default_factory=dict, help='console keys remapped, \'{"binding id": "key"}\''
    )
    theme: str | None = option(None, help="console theme: a theme file's name (none: dark)")
    control_priority: str = option(
        "auto",
        help="control thread's scheduling: realtime (SCHED_FIFO) if the OS permits (auto)",
        choices=PRIORITY_CHOICES,
    )
    # Set by `lerecord rollout` (core.config.rollout): the strategy whose phase plan runs.
    rollout: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.teleop is None and self.policy is None:
            raise ConfigError(
                "nothing to drive the robot: give --teleop.type=… (a leader arm, keyboard) "
                "or --policy.path=… (a trained policy), or both"
            )
        if isinstance(self.teleop, list) and not self.teleop:
            raise ConfigError("--teleop: empty list; give at least one teleoperator")
        if self.display_mode != "rerun":
            raise ConfigError(
                f"--display_mode: {self.display_mode} is not in lerecord; use rerun (the default)"
            )
        if (self.display_ip is None) != (self.display_port is None):
            raise ConfigError(
                "--display_ip and --display_port go together: give both for a remote Rerun "
                "viewer, or neither"
            )
        if self.policy is None and not self.resume and self.dataset.name.startswith("eval_"):
            raise ConfigError(
                f"--dataset.repo_id: {self.dataset.name!r}: names starting with eval_ are for "
                "policy runs (lerobot 0.6); rename it, or give --policy.path=…"
            )
        if self.theme is not None:
            check_theme(self.theme)  # headless too: a profile is meant for both


def check_theme(name: str) -> None:
    """ConfigError for a theme the console does not ship."""
    from themes import theme_files

    if name not in theme_files():
        raise ConfigError(f"--theme: unknown theme {name!r}; known: {', '.join(theme_files())}")


def _check_utf8(flag: str, text: str) -> None:
    """Text from a command line with bytes that are not UTF-8 (kept as lone surrogates) cannot
    be written to a dataset: refused now rather than at every save."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ConfigError(
            f"{flag}: not valid UTF-8 (character {error.start + 1}); retype it in a UTF-8 "
            "terminal or profile"
        ) from None


def _check(ok: bool, flag: str, value: object, accepted: str) -> None:
    if not ok:
        raise ConfigError(f"{flag}: got {value!r}; expected {accepted}")
