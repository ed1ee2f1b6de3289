"""Every option the session wizard asks for, declared once: name, type, default, help, choices.

The wizard derives its pages and fields from this table, turns the answers into the same flags
the CLI takes (`--robot.type=…`) so that the CLI's own parser validates them, and writes the
profile with `core.config.save_profile`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hardware.errors import ConfigError
from hardware.registry import config_class, known_types


@dataclass(frozen=True)
class Option:
    name: str  # the flag without dashes: "robot.type", "dataset.num_episodes"
    kind: type  # str, int, float, bool
    default: Any
    help: str
    step: str
    choices: Callable[[], list[str]] | None = None
    required: bool = False

    @property
    def field_id(self) -> str:
        return "opt-" + self.name.replace(".", "-").replace("_", "-")


def _robots() -> list[str]:
    return known_types("robot")


def _teleops() -> list[str]:
    return ["none", *known_types("teleop")]


def _themes() -> list[str]:
    from tui.themes import theme_files

    return list(theme_files())


STEPS = ("robot", "cameras", "teleop", "policy", "dataset", "options")
OPTIONS = (
    Option("robot.type", str, "so101_follower", "the follower arm", "robot", _robots),
    Option(
        "robot.port",
        str,
        "sim",
        "serial port of its servo bus ('sim': the emulator)",
        "robot",
        required=True,
    ),
    Option(
        "robot.id",
        str,
        "my_follower",
        "its name; selects its calibration file",
        "robot",
        required=True,
    ),
    Option(
        "cameras",
        str,
        "front=sim",
        "name=source[@WxH], comma-separated: 'sim', a /dev/video path or an index; empty: none",
        "cameras",
    ),
    Option("camera_size", str, "640x480", "each camera's frame size, WxH (unless @WxH)", "cameras"),
    Option("camera_fps", int, 30, "each camera's frame rate (frames/s)", "cameras"),
    Option(
        "teleop.type",
        str,
        "so101_leader",
        "how you drive the arm ('none' with a policy)",
        "teleop",
        _teleops,
    ),
    Option("teleop.port", str, "sim", "serial port of the leader arm", "teleop"),
    Option("teleop.id", str, "my_leader", "its name; selects its calibration file", "teleop"),
    Option(
        "policy.path", str, "", "checkpoint folder or Hub repo id; empty to teleoperate", "policy"
    ),
    Option(
        "dataset.repo_id",
        str,
        "local/my_dataset",
        "<user>/<name> of the dataset",
        "dataset",
        required=True,
    ),
    Option("dataset.single_task", str, "", "what the arm does, in words", "dataset", required=True),
    Option(
        "dataset.root",
        str,
        "",
        "folder of the dataset (empty: ~/.cache/huggingface/lerobot/<repo_id>)",
        "dataset",
    ),
    Option("dataset.num_episodes", int, 10, "episodes to record", "dataset"),
    Option("dataset.episode_time_s", float, 60.0, "length of an episode (s)", "dataset"),
    Option(
        "dataset.reset_time_s",
        float,
        30.0,
        "time to reset the scene between episodes (s)",
        "dataset",
    ),
    Option("dataset.fps", int, 30, "control and recording rate (frames/s)", "dataset"),
    Option("dataset.video", bool, True, "encode camera frames as video", "options"),
    Option("dataset.push_to_hub", bool, False, "upload to the Hub at the end", "options"),
    Option("play_sounds", bool, True, "spoken announcements", "options"),
    Option("log", bool, False, "per-step inference logs (CSV)", "options"),
    Option("display_data", bool, False, "also stream to a Rerun viewer", "options"),
    Option("theme", str, "dark", "console colours", "options", _themes),
    Option(
        "profile",
        str,
        "lerecord_session.toml",
        "where to save this profile",
        "options",
        required=True,
    ),
)
NOT_FLAGS = {"profile", "cameras", "camera_size", "camera_fps"}
_SIZE = re.compile(r"^(\d+)x(\d+)$")


def options_of(step: str) -> list[Option]:
    return [o for o in OPTIONS if o.step == step]


def convert(option: Option, text: str) -> Any:
    """The typed value of a field, or ConfigError naming the field and what it takes."""
    text = text.strip()
    if option.required and not text:
        raise ConfigError(f"--{option.name}: required; give {option.help}")
    if option.kind is bool:
        return text.lower() in ("1", "true", "yes", "on") if isinstance(text, str) else bool(text)
    if option.kind in (int, float) and text:
        try:
            value = option.kind(text)
        except ValueError:
            raise ConfigError(f"--{option.name}: {text!r} is not a number") from None
        if value <= 0:
            raise ConfigError(f"--{option.name}: must be positive, got {text}")
        return value
    if option.choices is not None and text not in option.choices():
        raise ConfigError(f"--{option.name}: {text!r} is not one of {', '.join(option.choices())}")
    return text


def parse_size(text: str, where: str) -> tuple[int, int]:
    """'640x480' -> (640, 480), or a ConfigError naming `where`."""
    match = _SIZE.match(text.strip())
    if match is None or 0 in (int(match[1]), int(match[2])):
        raise ConfigError(f"--{where}: {text!r} is not a size; write WIDTHxHEIGHT, e.g. 640x480")
    return int(match[1]), int(match[2])


def parse_cameras(text: str, size: str = "640x480", fps: int = 30) -> dict[str, dict[str, Any]]:
    """'front=sim@64x48, wrist=/dev/video2' -> {'front': {'type': 'sim', 'width': 64, …},
    'wrist': {'type': 'opencv', …}}; cameras without their own @WxH take `size`."""
    cameras: dict[str, dict[str, Any]] = {}
    width, height = parse_size(size, "camera_size")
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, source = item.partition("=")
        name, source = name.strip(), source.strip()
        if not name.isidentifier() or not source:
            raise ConfigError(f"--cameras: {item!r} should be name=source, e.g. front=sim")
        source, _, own = source.partition("@")
        w, h = parse_size(own, "cameras") if own else (width, height)
        if source == "sim":
            cameras[name] = {"type": "sim", "width": w, "height": h, "fps": fps}
        else:
            where: Any = int(source) if source.isdigit() else source
            cameras[name] = {"type": "opencv", "index_or_path": where, "width": w, "height": h,
                             "fps": fps}  # fmt: skip
    return cameras


def device_settings(kind: str, type_: str) -> set[str]:
    """The settings a device type takes (`port`, `id` …), from its config dataclass."""
    try:
        return {f.name for f in dataclasses.fields(config_class(kind, type_))}
    except ConfigError:
        return set()


def to_argv(values: dict[str, Any]) -> list[str]:
    """The CLI flags for the wizard's answers (what `lerecord record` would be given)."""
    argv = []
    for option in OPTIONS:
        value = values.get(option.name, option.default)
        if option.name in NOT_FLAGS or value in ("", None):
            continue
        kind, _, setting = option.name.partition(".")
        if kind in ("robot", "teleop") and setting != "type":
            type_ = values.get(f"{kind}.type", "none")
            if setting not in device_settings(kind, type_):
                continue
        if option.name.startswith("teleop.") and values.get("teleop.type") == "none":
            continue
        argv.append(f"--{option.name}={str(value).lower() if option.kind is bool else value}")
    cameras = parse_cameras(
        values.get("cameras", ""),
        str(values.get("camera_size", "640x480")),
        int(values.get("camera_fps", 30)),
    )
    if cameras:
        inner = ", ".join(
            f"{n}: {{{', '.join(f'{k}: {v}' for k, v in c.items())}}}" for n, c in cameras.items()
        )
        argv.append(f"--robot.cameras={{{inner}}}")
    return argv
