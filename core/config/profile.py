"""Write a `RecordConfig` as a TOML session profile (what the wizard saves, `--config` reads).

Only settings that differ from their defaults are written (plus every device's `type`), so a
profile stays short and picks up improved defaults; reading it back gives an equal config.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import re
import tempfile
from pathlib import Path, PurePath
from typing import Any

from core.config.build import Choice, flag_name
from core.config.tree import RecordConfig
from hardware.base import DeviceConfig

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def profile_to_toml(config: RecordConfig) -> str:
    """The profile text for `config`; `parse_record_args(["--config", file])` gives it back."""
    lines: list[str] = []
    _table(_plain(config), [], lines)
    return "\n".join(lines).strip() + "\n"


def save_profile(config: RecordConfig, path: str | Path) -> Path:
    """Write the profile atomically (a crash never leaves half a file); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(profile_to_toml(config))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _plain(obj: Any) -> Any:
    """Dataclasses to dicts of non-default settings; paths, enums and tuples to TOML values."""
    if dataclasses.is_dataclass(obj):
        out: dict[str, Any] = {}
        if isinstance(obj, (DeviceConfig, Choice)):
            out["type"] = obj.type
        for f in dataclasses.fields(obj):
            if not f.init:
                continue
            value = getattr(obj, f.name)
            if value is None or _is_default(f, value):
                continue
            out[flag_name(f)] = _plain(value)
        return out
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    return obj


def _is_default(f: dataclasses.Field, value: Any) -> bool:
    if f.default is not dataclasses.MISSING:
        return value == f.default
    if f.default_factory is not dataclasses.MISSING:
        return value == f.default_factory()
    return False


def _is_table(value: Any) -> bool:
    return isinstance(value, dict)


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _table(table: dict[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if not _is_table(v) and not _is_table_list(v)}
    for key, value in scalars.items():
        lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in table.items():
        if _is_table(value):
            sub = path + [key]
            if any(not _is_table(v) for v in value.values()) or not value:
                lines += ["", f"[{'.'.join(map(_key, sub))}]"]
            _table(value, sub, lines)
        elif _is_table_list(value):
            for item in value:
                lines += ["", f"[[{'.'.join(map(_key, path + [key]))}]]"]
                _table(item, path + [key], lines)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to a TOML profile")
