"""`lerecord rollout`'s configuration tree: lerobot-rollout 0.6.1's `RolloutConfig`, word for word.

Top-level runtime fields, `--strategy.type=` (base, sentry, highlight, episodic, dagger) with each
strategy's fields, `--inference.type=` (sync, rtc), the checkpoint overrides under `--policy.*`
and an optional `--dataset.*` table (lerecord's `DatasetConfig`, the one `record` uses). The
rules lerobot checks in `RolloutConfig.__post_init__` are checked here, one line each; the session
engine then runs this tree through `session_config()` and the strategy's phase plan.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

from core.config.build import Choice
from core.config.tree import (
    DISPLAY_MODES,
    PRIORITY_CHOICES,
    DatasetConfig,
    PolicyConfig,
    RecordConfig,
    Teleop,
)
from hardware import registry
from hardware.base import RobotConfig
from hardware.errors import ConfigError
from hardware.option import option

ROLLOUT_PREFIX = "rollout_"
ROLLOUT = "rollout"
INPUT_DEVICES = ("keyboard", "pedal")
ATTENTION_SCHEDULES = ("ZEROS", "ONES", "LINEAR", "EXP")


# ---- strategies ----------------------------------------------------------------------------


@dataclass(kw_only=True)
class StrategyConfig(Choice):
    """`--strategy.type=…`: what the rollout records and when episodes start and end."""

    flag: ClassVar[str] = "strategy"
    records: ClassVar[bool] = True  # needs --dataset.repo_id
    supports_interactive: ClassVar[bool] = False  # --interactive may drive it (lerobot's rule)


@dataclass(kw_only=True)
class BaseStrategyConfig(StrategyConfig):
    type: ClassVar[str] = "base"
    records: ClassVar[bool] = False
    supports_interactive: ClassVar[bool] = True


@dataclass(kw_only=True)
class SentryStrategyConfig(StrategyConfig):
    type: ClassVar[str] = "sentry"
    supports_interactive: ClassVar[bool] = True
    upload_every_n_episodes: int = option(5, help="push the dataset after every N episodes")
    target_video_file_size_mb: int | None = option(
        None, help="cut episodes when a video reaches this size (None: lerobot's 200)", unit="MB"
    )


@dataclass(kw_only=True)
class HighlightStrategyConfig(StrategyConfig):
    type: ClassVar[str] = "highlight"
    ring_buffer_seconds: float = option(10.0, help="seconds kept before a save", unit="s")
    ring_buffer_max_memory_mb: int = option(1024, help="memory cap of the ring buffer", unit="MB")
    save_key: str = option("s", help="key that saves the buffer, then stops the highlight")
    push_key: str = option("h", help="key that pushes the dataset to the Hub")


@dataclass(kw_only=True)
class EpisodicStrategyConfig(StrategyConfig):
    type: ClassVar[str] = "episodic"
    reset_to_initial_position: bool = option(
        True, help="lerobot's; here a reset with no teleop holds the arm where it is"
    )
    smooth_leader_to_follower_handover: bool = option(
        True, help="lerobot's (actuated leaders); SO leaders here are not driven"
    )
    smooth_handover: bool = option(True, help="lerobot's; the reset phase is record's")


@dataclass(kw_only=True)
class DaggerKeyboardConfig:
    pause_resume: str = option("space", help="key that pauses and resumes the policy")
    correction: str = option("tab", help="key that starts and ends a human correction")
    upload: str = option("enter", help="key that pushes the dataset to the Hub")


@dataclass(kw_only=True)
class DaggerPedalConfig:
    device_path: str = option(
        "/dev/input/by-id/usb-PCsensor_FootSwitch-event-kbd", help="evdev device of the pedal"
    )
    pause_resume: str = option("KEY_A", help="pedal code that pauses and resumes")
    correction: str = option("KEY_B", help="pedal code that starts and ends a correction")
    upload: str = option("KEY_C", help="pedal code that pushes the dataset")


@dataclass(kw_only=True)
class DaggerStrategyConfig(StrategyConfig):
    type: ClassVar[str] = "dagger"
    num_episodes: int | None = option(
        None, help="correction episodes to collect (None: --dataset.num_episodes)"
    )
    record_autonomous: bool = option(False, help="record the policy's frames too, not only fixes")
    upload_every_n_episodes: int = option(5, help="push the dataset after every N episodes")
    target_video_file_size_mb: int | None = option(
        None, help="with record_autonomous: cut episodes at this video size", unit="MB"
    )
    smooth_handover: bool = option(True, help="no jump at the hand-over between phases")
    input_device: str = option("keyboard", help="keys or foot pedal", choices=INPUT_DEVICES)
    keyboard: DaggerKeyboardConfig = option(
        help="keyboard keys", default_factory=DaggerKeyboardConfig
    )
    pedal: DaggerPedalConfig = option(help="foot pedal codes", default_factory=DaggerPedalConfig)

    def __post_init__(self) -> None:
        if self.num_episodes is not None and self.num_episodes < 1:
            raise ConfigError(f"--strategy.num_episodes: got {self.num_episodes}; expected 1+")


# ---- inference -----------------------------------------------------------------------------


@dataclass(kw_only=True)
class InferenceConfig(Choice):
    """`--inference.type=…`: how actions are computed."""

    flag: ClassVar[str] = "inference"


@dataclass(kw_only=True)
class SyncInferenceConfig(InferenceConfig):
    type: ClassVar[str] = "sync"


@dataclass(kw_only=True)
class RtcConfig:
    """lerobot's RTCConfig (real-time chunking of flow-matching policies)."""

    enabled: bool = option(True, help="use real-time chunking")
    prefix_attention_schedule: str = option(
        "LINEAR", help="prefix attention schedule", choices=ATTENTION_SCHEDULES
    )
    max_guidance_weight: float = option(10.0, help="guidance weight cap")
    execution_horizon: int = option(10, help="actions executed per chunk")
    debug: bool = option(False, help="keep RTC debug traces")
    debug_maxlen: int = option(100, help="debug traces kept")

    def __post_init__(self) -> None:
        if self.max_guidance_weight <= 0:
            raise ConfigError("--inference.rtc.max_guidance_weight: must be positive")
        if self.debug_maxlen <= 0:
            raise ConfigError("--inference.rtc.debug_maxlen: must be positive")


@dataclass(kw_only=True)
class RtcInferenceConfig(InferenceConfig):
    type: ClassVar[str] = "rtc"
    rtc: RtcConfig = option(help="real-time chunking settings", default_factory=RtcConfig)
    queue_threshold: int = option(30, help="actions left that trigger the next chunk")


# ---- the policy and the whole tree ---------------------------------------------------------


@dataclass(kw_only=True)
class RolloutPolicyConfig(PolicyConfig):
    """`--policy.path` and the checkpoint fields lerobot-rollout lets a command line override."""

    n_action_steps: int | None = option(None, help="actions used from each chunk (checkpoint's)")
    temporal_ensemble_coeff: float | None = option(
        None, help="ACT temporal ensembling (needs n_action_steps=1)"
    )
    pretrained_revision: str | None = option(None, help="Hub revision of the checkpoint")

    # `--rename_map` (a top-level flag), given to the policy by RolloutConfig.session_config
    rename_map: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def checkpoint_options(self) -> dict[str, object]:
        return {
            "revision": self.pretrained_revision,
            "overrides": self.overrides(),
            "renames": dict(self.rename_map),
        }

    def overrides(self) -> dict[str, object]:
        """The checkpoint config fields this command line replaces."""
        values = {
            "n_action_steps": self.n_action_steps,
            "temporal_ensemble_coeff": self.temporal_ensemble_coeff,
        }
        return {k: v for k, v in values.items() if v is not None}


@dataclass(kw_only=True)
class RolloutConfig:
    robot: RobotConfig = option(
        help="the follower robot", choices=lambda: registry.known_types("robot")
    )
    teleop: Teleop = option(
        None,
        help="a leader arm or keyboard (dagger, episodic resets)",
        choices=lambda: registry.known_types("teleop"),
    )
    policy: RolloutPolicyConfig = option(help="the trained policy to run")
    strategy: StrategyConfig = option(
        help="what the rollout records, and when", default_factory=BaseStrategyConfig
    )
    inference: InferenceConfig = option(
        help="sync, or rtc (real-time chunking)", default_factory=SyncInferenceConfig
    )
    dataset: DatasetConfig | None = option(None, help="where the rollout is recorded")
    fps: float = option(30.0, help="control frequency", unit="Hz")
    duration: float = option(
        0.0, help="seconds to run (0: until stopped; interactive: each /start)", unit="s"
    )
    interactive: bool = option(
        False, help="drive the rollout from stdin: /start, /reset, /stop (base, sentry)"
    )
    interpolation_multiplier: int = option(
        1, help="control steps per policy action (interpolated in between)"
    )
    device: str | None = option(None, help="torch device (None: the policy's)")
    task: str = option("", help="the task given to the policy and written to the dataset")
    display_data: bool = option(False, help="stream the session to a viewer")
    display_mode: str = option("rerun", help="viewer", choices=DISPLAY_MODES)
    display_ip: str | None = option(None, help="address of a remote viewer")
    display_port: int | None = option(None, help="port of a remote viewer")
    display_compressed_images: bool = option(False, help="send JPEG images to the viewer")
    play_sounds: bool = option(True, help="speak the session's events")
    resume: bool = option(False, help="add episodes to an existing dataset")
    rename_map: dict[str, str] = option(
        help="rename observation keys for the policy", default_factory=dict
    )
    return_to_initial_position: bool = option(
        True, help="bring the arm back to its start pose at the end"
    )
    use_torch_compile: bool = option(False, help="torch.compile the policy")
    torch_compile_backend: str = option("inductor", help="torch.compile backend")
    torch_compile_mode: str = option("default", help="torch.compile mode")
    compile_warmup_inferences: int = option(2, help="inferences run before timing starts")
    # lerecord's own, as in `record`
    log: bool = option(False, help="write the inference logs and print a block per step")
    headless: bool = option(False, help="no full-screen console")
    keys: dict[str, str] = option(help="console binding id -> key", default_factory=dict)
    theme: str | None = option(None, help="console theme")
    control_priority: str = option(
        "auto", help="control thread's scheduling (as in record)", choices=PRIORITY_CHOICES
    )

    def __post_init__(self) -> None:
        strategy = self.strategy
        if isinstance(strategy, DaggerStrategyConfig) and self.teleop is None:
            raise ConfigError(
                "--strategy.type=dagger: a human takes over with a leader arm or keyboard; "
                "give --teleop.type=…"
            )
        if strategy.records and self.dataset is None:
            raise ConfigError(
                f"--strategy.type={strategy.type} records: give "
                f"--dataset.repo_id=<user>/{ROLLOUT_PREFIX}<name>"
            )
        if not strategy.records and self.dataset is not None:
            raise ConfigError(
                "--strategy.type=base records nothing: drop the --dataset.* flags, or use "
                "sentry, highlight, episodic or dagger to record"
            )
        if self.dataset is not None and not self.dataset.name.startswith(ROLLOUT_PREFIX):
            raise ConfigError(
                f"--dataset.repo_id: rollout dataset names start with {ROLLOUT_PREFIX!r} "
                f"(as lerobot-rollout); use <user>/{ROLLOUT_PREFIX}{self.dataset.name}"
            )
        if self.interactive and not strategy.supports_interactive:
            raise ConfigError(
                f"--interactive=true drives --strategy.type=base or sentry (got {strategy.type}); "
                "drop --interactive, or use one of those"
            )
        if self.fps <= 0:
            raise ConfigError(f"--fps: got {self.fps}; expected a positive number")
        if self.duration < 0:
            raise ConfigError(f"--duration: got {self.duration}; expected 0 (forever) or more")
        if self.interpolation_multiplier < 1:
            raise ConfigError(
                f"--interpolation_multiplier: got {self.interpolation_multiplier}; expected 1+"
            )
        if self.compile_warmup_inferences < 0:
            raise ConfigError("--compile_warmup_inferences: expected 0 or more")
        if self.dataset is not None and self.dataset.fps != self.loop_fps:
            raise ConfigError(
                f"--dataset.fps={self.dataset.fps} but the arm is driven at {self.loop_fps:g} Hz "
                "(--fps × --interpolation_multiplier); the dataset records every step it "
                "drives, so its timestamps are true: leave --dataset.fps out"
            )

    @property
    def loop_fps(self) -> float:
        """Control steps per second: the policy's rate times the interpolation multiplier."""
        return self.fps * self.interpolation_multiplier

    def session_config(self) -> RecordConfig:
        """The session engine's view of this rollout (the strategy is read from `rollout`)."""
        dataset = self.dataset or DatasetConfig(
            repo_id=f"local/{ROLLOUT_PREFIX}base",
            single_task=self.task or "run the policy",
            fps=round(self.loop_fps),
            push_to_hub=False,
        )
        if dataset.outcome_prompt is None:  # the episodic strategy evaluates: it asks
            dataset.outcome_prompt = isinstance(self.strategy, EpisodicStrategyConfig)
        policy = dataclasses.replace(self.policy, device=self.device or self.policy.device)
        policy.rename_map = dict(self.rename_map)
        config = RecordConfig(
            robot=self.robot,
            teleop=self.teleop,
            policy=policy,
            dataset=dataset,
            display_data=self.display_data,
            display_mode=self.display_mode,
            display_ip=self.display_ip,
            display_port=self.display_port,
            display_compressed_images=self.display_compressed_images,
            log=self.log,
            play_sounds=self.play_sounds,
            resume=self.resume,
            headless=self.headless,
            keys=dict(self.keys),
            theme=self.theme,
            control_priority=self.control_priority,
        )
        config.rollout = self
        return config


def resolve_task(raw: dict) -> None:
    """lerobot's task rule, on the raw tree before it is built: `--task` fills an empty
    `--dataset.single_task`, and `--dataset.single_task` an empty `--task`; the dataset's fps
    is the rate the arm is driven at (--fps × --interpolation_multiplier) when not given."""
    dataset = raw.get("dataset")
    if not isinstance(dataset, dict):
        return
    task = raw.get("task") or ""
    if not dataset.get("single_task") and task:
        dataset["single_task"] = task
    elif dataset.get("single_task") and not task:
        raw["task"] = dataset["single_task"]
    if "fps" not in dataset:
        try:
            fps = float(raw.get("fps", 30.0)) * int(raw.get("interpolation_multiplier", 1))
        except (TypeError, ValueError):
            return  # the --fps / --interpolation_multiplier checks name it
        if not fps.is_integer():
            raise ConfigError(
                f"--fps={raw.get('fps')}: a dataset records a whole number of frames per second"
            )
        dataset["fps"] = int(fps)


def parse_rollout_args(argv: list[str]) -> RolloutConfig:
    """Parse `lerecord rollout`'s arguments (lerobot-rollout's flags); one-line errors."""
    from core.config.parse import parse_flags

    return parse_flags(RolloutConfig, argv, prepare=resolve_task)
