"""Every `lerobot-record` 0.6.1 setting, for the devices lerecord supports, is a lerecord flag
with the same default: lerobot's config classes are read in the interop environment (the real
lerobot 0.6.1, see tests/interop.py) and each flag is given to lerecord's parser at lerobot's
default value, which must come back unchanged. lerecord's own extras (`--policy.*`, `--log`,
`--headless` …) are not lerobot's and are not checked here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from interop import run_lerobot

from core.config import parse_record_args
from core.config.declared import device_settings, settings
from core.config.tree import RecordConfig

COMPAT = Path(__file__).parent / "lerobot_compat"
REQUIRED = "<required>"
# Deliberate differences, each with its reason. Everything else must match.
DIFFERENT_DEFAULT = {
    "dataset.repo_id": "lerobot's '' is refused when recording starts; lerecord requires it",
    "dataset.single_task": "lerobot's '' is refused when recording starts; lerecord requires it",
    "robot[lekiwi].cameras": "lerobot assumes /dev/video0 and /dev/video2; lerecord records the "
    "cameras given (the emulated LeKiwi has none)",
    "robot[lekiwi_client].cameras": "as robot[lekiwi].cameras",
    "robot[lekiwi_client].remote_ip": "lerobot requires it; lerecord defaults to 127.0.0.1, where "
    "`lerecord emulate lekiwi` serves",
}
NOT_ACCEPTED: dict[str, str] = {}  # flags lerecord refuses (prefix: reason): none today
SAMPLES = {  # values for settings lerobot requires
    "port": "sim",
    "index_or_path": 0,
    "serial_number_or_name": "0123456789",
    "remote_ip": "127.0.0.1",
}
BASE = {
    "robot.type": "so101_follower",
    "robot.port": "sim",
    "teleop.type": "keyboard",
    "dataset.repo_id": "me/flags",
    "dataset.single_task": "Check the flags",
}


@pytest.fixture(scope="module")
def lerobot_fields() -> dict[str, Any]:
    out = run_lerobot([str(COMPAT / "record_fields.py")], timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    fields = json.loads(out.stdout)
    assert len(fields) > 110 and "dataset.rgb_encoder.vcodec" in fields
    return fields


def _flag_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _plain(value: Any) -> Any:
    """A parsed value as lerobot's JSON shows it."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _value(config: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        config = config[part] if isinstance(config, dict) else getattr(config, part)
    return config


def _split(flag: str) -> tuple[str, str, str]:
    """ "robot[so101_follower].port" -> ("robot", "so101_follower", "port"); "dataset.fps" ->
    ("", "", "dataset.fps")."""
    if "[" not in flag:
        return "", "", flag
    kind, rest = flag.split("[", 1)
    type_, name = rest.split("].", 1)
    return kind, type_, name


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        flag: default
        for flag, default in fields.items()
        if flag not in DIFFERENT_DEFAULT and not any(flag.startswith(p) for p in NOT_ACCEPTED)
    }


def test_every_session_and_dataset_flag_has_lerobots_default(lerobot_fields):
    ours = {s.flag: s for s in settings(RecordConfig)}
    missing = []
    for flag, default in _checked(lerobot_fields).items():
        if _split(flag)[0]:
            continue
        setting = ours.get(flag)
        if setting is None:
            missing.append(flag)
            continue
        assert default != REQUIRED
        assert _plain(setting.default) == default, flag
    assert missing == []


def test_every_device_flag_has_lerobots_default(lerobot_fields):
    missing = []
    for flag, default in _checked(lerobot_fields).items():
        kind, type_, name = _split(flag)
        if not kind:
            continue
        ours = {s.flag: s for s in device_settings(kind, type_, kind)}
        setting = ours.get(f"{kind}.{name}")
        if setting is None:
            missing.append(flag)
            continue
        if default == REQUIRED:
            assert setting.required, f"{flag}: lerobot requires it, lerecord has a default"
        else:
            assert not setting.required and _plain(setting.default) == default, flag
    assert missing == []


def _argv(values: dict[str, Any]) -> list[str]:
    return [f"--{flag}={_flag_value(value)}" for flag, value in {**BASE, **values}.items()]


def test_lerobots_defaults_given_as_flags_are_read_back_unchanged(lerobot_fields):
    given = {
        flag: value
        for flag, value in _checked(lerobot_fields).items()
        if not _split(flag)[0] and value != REQUIRED
    }
    config = parse_record_args(_argv(given))
    for flag, value in given.items():
        assert _plain(_value(config, flag)) == value, flag


@pytest.mark.parametrize("kind", ["robot", "teleop", "camera"])
def test_each_device_takes_lerobots_settings_at_their_defaults(lerobot_fields, kind):
    types: dict[str, dict[str, Any]] = {}
    for flag, value in _checked(lerobot_fields).items():
        k, type_, name = _split(flag)
        if k == kind:
            types.setdefault(type_, {})[name] = SAMPLES[name] if value == REQUIRED else value
    assert types
    for type_, values in types.items():
        if kind == "camera":
            camera = {"type": type_, **values}
            flags = {"robot.cameras": {"top": camera}}
        else:
            flags = {f"{kind}.type": type_, **{f"{kind}.{n}": v for n, v in values.items()}}
        if flags.get("robot.type") in ("lekiwi", "lekiwi_client"):
            flags.pop("robot.port", None)
        config = parse_record_args(
            [a for a in _argv(flags) if not (type_.startswith("lekiwi") and "robot.port=" in a)]
        )
        device = config.robot.cameras["top"] if kind == "camera" else _value(config, kind)
        assert device.type == type_ or (kind == "camera" and type_ == "intelrealsense")
        for name, value in values.items():
            assert _plain(getattr(device, name)) == value, f"{kind}[{type_}].{name}"


def test_the_list_of_differences_is_still_true(lerobot_fields):
    """An exception that stopped being one (lerobot changed, or lerecord caught up) is removed."""
    for flag in DIFFERENT_DEFAULT:
        assert flag in lerobot_fields, flag
    for prefix in NOT_ACCEPTED:
        flags = [f for f in lerobot_fields if f.startswith(prefix)]
        assert flags and not any(f in {s.flag for s in settings(RecordConfig)} for f in flags)
    assert "dataset.depth_encoder.vcodec" in {s.flag for s in settings(RecordConfig)}
