"""`--help` text, written from the settings' declarations (name, type, default, help, choices,
unit), grouped like the flags: `--dataset.*` under "dataset", a device's own settings under its
flag, shown for the type given (`--robot.type=so101_follower --help`) or as a list of types.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import Any

from core.config.declared import Setting, device_settings, settings
from hardware import registry
from hardware.errors import ConfigError

WIDTH = 100
FLAG_COLUMN = 36


def describe(setting: Setting) -> str:
    """One setting as `--help` shows it: flag and type, then help, default and unit."""
    left = f"  --{setting.flag}={setting.metavar}"
    if setting.required:
        example = setting.option.example
        note = "required" + (f", e.g. {example}" if example else "")
    else:
        note = f"default: {_shown(setting.default)}"
    unit = setting.option.unit
    if unit:
        note += f"; in {unit}" if setting.required or setting.default is None else f" {unit}"
    text = setting.option.help
    if setting.choices and "|" not in setting.metavar and not setting.device_kind:
        text += f"; one of: {', '.join(setting.choices)}"
    return _line(left, text, f"({note})")


def _wrap(text: str, indent: str, first: str = "") -> list[str]:
    wrapped = textwrap.wrap(
        text, WIDTH, initial_indent=first, subsequent_indent=indent, break_on_hyphens=False
    )
    return wrapped or [text]


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)) and not value:
        return "{}" if isinstance(value, dict) else "[]"
    if isinstance(value, str):
        return repr(value) if value == "" or " " in value else value
    return str(value)


def groups(cls: type, given: dict[str, str], top: str = "flags") -> dict[str, list[str]]:
    """Group name -> the lines describing its settings; `given` holds the device types named on
    the command line (`{"robot": "so101_follower"}`); `top` names the group of untabled flags."""
    out: dict[str, list[str]] = {}
    for setting in settings(cls):
        kind = setting.device_kind
        if kind is None:
            out.setdefault(setting.group or top, []).append(describe(setting))
            continue
        lines = out.setdefault(setting.flag, [])
        type_ = given.get(setting.flag)
        known = setting.choices or registry.known_types(kind)
        types = ", ".join(known)
        if type_ is None:
            lines.append(
                _line(f"  --{setting.flag}.type=TYPE", f"{setting.option.help}; one of: {types}")
            )
            lines.append(
                f"  (give --{setting.flag}.type=… with --help for the settings of that type)"
            )
            continue
        if type_ not in known:
            raise ConfigError(
                f"--{setting.flag}.type: unknown type {type_!r}; known types: {types}"
            )
        lines.append(_line(f"  --{setting.flag}.type={type_}", setting.option.help))
        lines += [describe(inner) for inner in device_settings(kind, type_, setting.flag)]
    return out


def _line(left: str, right: str, note: str = "") -> str:
    """`left` in the flag column, `right` wrapped beside it, `note` kept whole at the end."""
    pad = " " * FLAG_COLUMN
    if len(left) >= FLAG_COLUMN:
        lines = [left, *_wrap(right, pad, pad)]
    else:
        lines = _wrap(left.ljust(FLAG_COLUMN) + right, pad)
    if note:
        if len(lines[-1]) + 1 + len(note) <= WIDTH:
            lines[-1] += " " + note
        else:
            lines.append(pad + note)
    return "\n".join(lines)


def command_help(
    usage: str,
    summary: str,
    cls: type | None,
    given: dict[str, str] | None = None,
    only: Iterable[str] = (),
    epilog: str = "",
    top: str = "flags",
) -> str:
    """The whole `--help` page of a command whose flags are the settings of `cls`; `only`
    names the groups to show (`--help dataset`)."""
    parts = [f"usage: {usage}", "", summary]
    if cls is not None:
        table = groups(cls, given or {}, top)
        wanted = list(only)
        if wanted:
            unknown = [w for w in wanted if not any(_in_group(g, w) for g in table)]
            if unknown:
                raise ConfigError(f"--help {unknown[0]}: no such group; groups: {', '.join(table)}")
            table = {g: lines for g, lines in table.items() if any(_in_group(g, w) for w in wanted)}
        for name, lines in table.items():
            parts += ["", f"{name}:", *lines]
    for paragraph in filter(None, epilog.split("\n\n")):
        parts += ["", *_wrap(" ".join(paragraph.split()), "")]
    return "\n".join(parts)


def _in_group(group: str, wanted: str) -> bool:
    return group == wanted or group.startswith(wanted + ".")


def help_request(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """From `… --robot.type=so101_follower --help dataset`: the device types named
    (`{"robot": "so101_follower"}`) and the groups asked for (`["dataset"]`)."""
    given: dict[str, str] = {}
    wanted: list[str] = []
    after_help = False
    i = 0
    while i < len(argv):
        token = argv[i]
        name, eq, value = token.removeprefix("--").partition("=")
        if token in ("--help", "-h", "help"):
            after_help = True
        elif token.startswith("--") and name.endswith(".type"):
            if not eq and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                value = argv[i + 1]
                i += 1
            given[name.removesuffix(".type")] = value
        elif after_help and not token.startswith("-"):
            wanted.append(token)
        i += 1
    return given, wanted
