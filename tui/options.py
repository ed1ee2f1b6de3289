"""The session wizard's pages: which declared settings each page asks for, nothing more.

Every field's type, default, help and choices come from the settings' declarations
(`core.config.declared`); the answers become the flags the CLI takes (`--robot.type=…`), and the
CLI's own parser checks each page and then the whole session. A few fields are the wizard's own,
declared below with `option()`: the cameras shorthand (with their size and rate) and where the
profile is saved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.config.declared import Setting, device_settings, settings
from core.config.parse import parse_part
from core.config.tree import RecordConfig
from hardware import option as declare
from hardware.errors import ConfigError


@dataclass(kw_only=True)
class WizardAnswers:
    """What the wizard asks beyond the session's own settings."""

    cameras: str = declare.option(
        "front=sim",
        help="name=source[@WxH], comma-separated: 'sim', a /dev/video path or an index; "
        "empty for none",
    )
    camera_size: str = declare.option("640x480", help="each camera's frame size, WxH (or @WxH)")
    camera_fps: int = declare.option(30, help="each camera's frame rate", unit="frames/s")
    profile: str = declare.option("lerecord_session.toml", help="where to save this profile")


PAGES: dict[str, tuple[str, ...]] = {
    "robot": ("robot.type", "robot.port", "robot.id"),
    "cameras": ("cameras", "camera_size", "camera_fps"),
    "teleop": ("teleop.type", "teleop.port", "teleop.id"),
    "policy": ("policy.path",),
    "dataset": (
        "dataset.repo_id",
        "dataset.single_task",
        "dataset.root",
        "dataset.num_episodes",
        "dataset.episode_time_s",
        "dataset.reset_time_s",
        "dataset.fps",
    ),
    "options": (
        "dataset.video",
        "dataset.push_to_hub",
        "play_sounds",
        "log",
        "display_data",
        "theme",
        "profile",
    ),
}
STEPS = tuple(PAGES)
NOT_FLAGS = {"profile", "cameras", "camera_size", "camera_fps"}
NO_TELEOP = "none"
_SIZE = re.compile(r"^(\d+)x(\d+)$")


@dataclass(frozen=True)
class Option:
    """One wizard field: a view of a declared setting."""

    name: str  # the flag without dashes: "robot.type", "dataset.num_episodes"
    step: str
    setting: Setting

    @property
    def kind(self) -> type:
        return self.setting.scalar or str

    @property
    def help(self) -> str:
        return self.setting.option.help

    @property
    def required(self) -> bool:
        return self.setting.required

    @property
    def default(self) -> Any:
        """What the field starts with: the declared default (a device type: the declared
        example; no teleoperator: "none"), else nothing."""
        if self.name == "teleop.type" and self.setting.default is None:
            return NO_TELEOP
        if self.setting.device_kind:
            return self.setting.option.example
        return "" if self.setting.default is None else self.setting.default

    def choices(self) -> list[str] | None:
        if self.name == "theme":
            from tui.themes import load_themes

            return [theme.name for theme in load_themes()]
        listed = self.setting.choices
        if listed is not None and self.name == "teleop.type":
            return [NO_TELEOP, *listed]
        return listed

    @property
    def field_id(self) -> str:
        return "opt-" + self.name.replace(".", "-").replace("_", "-")


def _setting(name: str) -> Setting:
    """The declaration behind a wizard field; a device's settings are those of its example
    type (the SO arm a new user has)."""
    group, _, rest = name.partition(".")
    if name in NOT_FLAGS:
        return next(s for s in settings(WizardAnswers) if s.flag == name)
    top = {s.flag: s for s in settings(RecordConfig)}
    if name in top:
        return top[name]
    device = top[group]
    if rest == "type":
        return device
    found = device_settings(device.device_kind, device.option.example, group)
    return next(s for s in found if s.flag == name)


OPTIONS = tuple(
    Option(name, step, _setting(name)) for step, names in PAGES.items() for name in names
)


def options_of(step: str) -> list[Option]:
    return [o for o in OPTIONS if o.step == step]


def check_page(step: str, values: dict[str, Any]) -> None:
    """Raise the CLI's ConfigError for what this page says wrong (the parts of the session its
    fields belong to are parsed from the answers, as `lerecord record` would)."""
    if step == "cameras":
        cameras_of(values)
    if step == "options" and not str(values.get("profile", "")).strip():
        raise ConfigError("--profile: empty; give the file to save this profile in")
    argv = to_argv(values)
    parts = {o.name.split(".")[0] for o in options_of(step) if o.name not in NOT_FLAGS}
    if step == "cameras":
        parts.add("robot")
    for part in sorted(parts):
        if part == "teleop" and values.get("teleop.type") == NO_TELEOP:
            continue
        if part == "policy" and not str(values.get("policy.path", "")).strip():
            continue
        parse_part(argv, part)


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
        shape = {"width": w, "height": h, "fps": fps}
        if source == "sim":
            cameras[name] = {"type": "sim", **shape}
        else:
            where: Any = int(source) if source.isdigit() else source
            cameras[name] = {"type": "opencv", "index_or_path": where, **shape}
    return cameras


def cameras_of(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The cameras the answers name, at the size and rate they give."""
    fps = str(values.get("camera_fps", 30)).strip()
    if not fps.isdigit() or int(fps) <= 0:
        raise ConfigError(f"--camera_fps: {fps!r} is not a frame rate; give e.g. 30")
    return parse_cameras(
        str(values.get("cameras", "")), str(values.get("camera_size", "640x480")), int(fps)
    )


def _takes(kind: str, type_: str, name: str) -> bool:
    """Whether a device of this type has the setting `name` ("robot.port")."""
    device = _setting(kind)
    if type_ not in (device.choices or []):
        return False
    return any(s.flag == name for s in device_settings(device.device_kind, type_, kind))


def to_argv(values: dict[str, Any]) -> list[str]:
    """The CLI flags for the wizard's answers (what `lerecord record` would be given)."""
    argv = []
    for option in OPTIONS:
        value = values.get(option.name, option.default)
        if option.name in NOT_FLAGS or value in ("", None):
            continue
        kind, _, setting = option.name.partition(".")
        if option.name.startswith("teleop.") and values.get("teleop.type") == NO_TELEOP:
            continue
        if kind in ("robot", "teleop") and setting != "type":
            if not _takes(kind, str(values.get(f"{kind}.type", "")), option.name):
                continue
        argv.append(f"--{option.name}={str(value).lower() if option.kind is bool else value}")
    cameras = cameras_of(values)
    if cameras:
        inner = ", ".join(
            f"{n}: {{{', '.join(f'{k}: {v}' for k, v in c.items())}}}" for n, c in cameras.items()
        )
        argv.append(f"--robot.cameras={{{inner}}}")
    return argv
