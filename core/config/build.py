"""Turn a tree of raw values (strings from flags, typed values from TOML or JSON) into dataclasses.

Walks the dataclass fields and their type hints; every error is a one-line `ConfigError` naming
the flag (`--robot.cameras.top.width`), what was given and what is accepted. A field typed as a
device base config (`RobotConfig`, `TeleoperatorConfig`, `CameraConfig`) is built as the class the
hardware registry gives for its `type`.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import json
import types
from pathlib import PurePath
from typing import Any, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

from hardware import registry
from hardware.base import CameraConfig, DeviceConfig, RobotConfig, TeleoperatorConfig
from hardware.errors import ConfigError
from hardware.option import declared

_KINDS: dict[type, registry.Kind] = {
    RobotConfig: "robot",
    TeleoperatorConfig: "teleop",
    CameraConfig: "camera",
}
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


@dataclasses.dataclass(kw_only=True)
class Choice:
    """A config table chosen by its `type` among the subclasses of a base (`--strategy.type=`),
    as the hardware registry chooses a device config; `flag` names the table in messages."""

    type: ClassVar[str] = ""
    flag: ClassVar[str] = ""

    def __str__(self) -> str:
        return self.type  # how `--help` shows a default choice

    @classmethod
    def variants(cls) -> dict[str, type]:
        out: dict[str, type] = {}
        for sub in cls.__subclasses__():
            if sub.type:
                out[sub.type] = sub
            out.update(sub.variants())
        return out


class Mismatch(ConfigError):
    """The value has the wrong shape for this type (a union tries its next member)."""


def flag_name(f: dataclasses.Field) -> str:
    """`async_` is `--policy.async`: a trailing underscore dodges a Python keyword."""
    return f.name.rstrip("_")


def init_fields(cls: type) -> dict[str, dataclasses.Field]:
    return {flag_name(f): f for f in dataclasses.fields(cls) if f.init}


def build(cls: type, raw: dict[str, Any], path: str) -> Any:
    """Build dataclass `cls` from the dict `raw`; `path` is its dotted flag prefix ("" at top)."""
    hints = field_hints(cls)
    fields = init_fields(cls)
    device = issubclass(cls, DeviceConfig)
    typed = device or issubclass(cls, Choice)
    kwargs = {}
    for key, value in raw.items():
        if typed and key == "type":
            continue
        if key not in fields:
            raise ConfigError(unknown_flag(_join(path, key), value, cls, path))
        f = fields[key]
        kwargs[f.name] = _inner(value, hints[f.name], _join(path, key))
        _check_choice(f, kwargs[f.name], _join(path, key))
    for key, f in fields.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and f.name not in kwargs:
            if dataclasses.is_dataclass(hints[f.name]):  # name the missing setting inside it
                kwargs[f.name] = convert({}, hints[f.name], _join(path, key))
                continue
            flag = _join(path, key)
            option = declared(f)
            example = option.example if option else None
            if example and " " in example:
                example = f'"{example}"'
            hint = f" (e.g. --{flag}={example})" if example and "[" not in flag else ""
            owner = f" for {cls.type}" if device and cls.type else ""
            raise ConfigError(f"--{flag} is required{owner}{hint}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:  # ConfigError is a ValueError
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        if message.startswith("--") or not path:
            raise ConfigError(message) from None
        named, colon, rest = message.partition(": ")
        if colon and named in fields:  # "vcodec: got …" from the class: --path.vcodec
            raise ConfigError(f"--{path}.{named}: {rest}") from None
        raise ConfigError(f"--{path}: {message}") from None


def _check_choice(f: dataclasses.Field, value: Any, flag: str) -> None:
    """A plain value must be one of the field's declared choices (when it declares some)."""
    option = declared(f)
    if option is None or option.choices is None or not isinstance(value, (str, int)):
        return
    choices = option.choice_list() or []
    if str(value) not in choices:
        raise ConfigError(_bad(flag, value, "one of " + ", ".join(choices)))


def field_hints(cls: type) -> dict[str, Any]:
    """The fields' types; a hint that cannot be resolved takes the value as given."""
    try:
        return get_type_hints(cls)
    except Exception:  # a name only imported under TYPE_CHECKING
        return {f.name: Any for f in dataclasses.fields(cls)}


def convert(value: Any, hint: Any, flag: str) -> Any:
    """Convert one raw value to `hint`; `flag` is its dotted name for messages."""
    origin = get_origin(hint)
    if hint is Any:
        return value
    if origin is Union or origin is types.UnionType:
        return _union(value, get_args(hint), flag)
    if origin is Literal:
        for choice in get_args(hint):
            if value == choice or (isinstance(value, str) and str(choice) == value):
                return choice
        raise Mismatch(_bad(flag, value, " or ".join(map(str, get_args(hint)))))
    if hint is bool:
        return _bool(value, flag)
    if hint is int:
        return _int(value, flag)
    if hint is float:
        return _float(value, flag)
    if hint is str:
        if isinstance(value, str):
            return value
        raise Mismatch(_bad(flag, value, "text"))
    if isinstance(hint, type) and issubclass(hint, PurePath):
        if isinstance(value, (str, PurePath)):
            return hint(value)
        raise Mismatch(_bad(flag, value, "a path"))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        for member in hint:
            if value in (member.value, member.name) or str(member.value) == str(value):
                return member
        raise Mismatch(_bad(flag, value, " or ".join(str(m.value) for m in hint)))
    if origin in (list, tuple):
        items = _json(value, list, flag, 'a JSON list like \'["a", "b"]\'')
        args = get_args(hint)
        item = args[0] if args else Any
        out = [_inner(v, item, f"{flag}[{i}]") for i, v in enumerate(items)]
        return out if origin is list else tuple(out)
    if origin is dict:
        table = _json(value, dict, flag, "a JSON object like '{\"name\": …}'")
        item = get_args(hint)[1] if get_args(hint) else Any
        return {str(k): _inner(v, item, _join(flag, str(k))) for k, v in table.items()}
    if dataclasses.is_dataclass(hint):
        table = _json(value, dict, flag, "a JSON object like '{\"type\": …}'")
        return build(_device_class(hint, table, flag), table, flag)
    return value


def _inner(value: Any, hint: Any, flag: str) -> Any:
    """Convert a part of a value whose outer shape matched: its errors are final."""
    try:
        return convert(value, hint, flag)
    except Mismatch as error:
        raise ConfigError(str(error)) from None


def _device_class(hint: type, table: dict, flag: str) -> type:
    if isinstance(hint, type) and issubclass(hint, Choice) and not hint.type:
        return _choice(hint, table, flag)
    kind = _KINDS.get(hint)
    if kind is None:
        return hint
    type_ = table.get("type")
    known = ", ".join(registry.known_types(kind))
    if not type_:
        raise ConfigError(f"--{flag}.type is required; known types: {known}")
    if not isinstance(type_, str) or type_ not in registry.known_types(kind):
        raise ConfigError(f"--{flag}.type: unknown type {type_!r}; known types: {known}")
    try:
        return registry.config_class(kind, type_)
    except ImportError as error:
        raise ConfigError(f"--{flag}.type: {type_} is not available here ({error})") from None


def _choice(base: type[Choice], table: dict, flag: str) -> type:
    variants = base.variants()
    type_ = table.get("type")
    known = ", ".join(variants)
    if not type_:
        raise ConfigError(f"--{flag}.type is required; known types: {known}")
    if type_ not in variants:
        raise ConfigError(f"--{flag}.type: unknown type {type_!r}; known types: {known}")
    return variants[type_]


def _union(value: Any, members: tuple, flag: str) -> Any:
    if type(None) in members and (value is None or value in ("none", "null", "None")):
        return None
    members = tuple(m for m in members if m is not type(None))
    # A string from the command line tries the typed readings first, plain text last.
    ordered = sorted(members, key=lambda m: m is str) if isinstance(value, str) else members
    for member in ordered:
        try:
            return convert(value, member, flag)
        except Mismatch:
            continue
    raise ConfigError(_bad(flag, value, " or ".join(_describe(m) for m in members)))


def _bool(value: Any, flag: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:  # a bare `--headless`
        return True
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise Mismatch(_bad(flag, value, "true or false"))


def _int(value: Any, flag: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise Mismatch(_bad(flag, value, "a whole number"))


def _float(value: Any, flag: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise Mismatch(_bad(flag, value, "a number"))


def _json(value: Any, kind: type, flag: str, accepted: str) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        value = parse_structured(value, flag, f"; expected {accepted}")
    if value is None and kind is dict:
        raise ConfigError(f"--{flag}: needs a value; expected {accepted}")
    if not isinstance(value, kind):
        raise Mismatch(_bad(flag, value, accepted))
    return value


def parse_structured(text: str, flag: str, hint: str = "") -> Any:
    """A flag's JSON value, or the YAML flow style draccus also takes in lerobot's docs
    (`--robot.cameras="{ front: {type: opencv, index_or_path: 0}}"`)."""
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates(flag))
    except RecursionError:
        raise ConfigError(f"--{flag}: nested too deeply; at most {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as error:
        import yaml

        try:
            value = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError):
            raise ConfigError(
                f"--{flag}: invalid JSON ({error.msg} at column {error.colno}){hint}"
            ) from None
    check_depth(value, flag)
    return value


MAX_DEPTH = 32  # no configuration value is nested deeper; deeper is garbage, not a session


def check_depth(value: Any, flag: str) -> None:
    """ConfigError for a value nested more than MAX_DEPTH levels (no RecursionError later)."""
    level = [value]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for node in level
            if isinstance(node, (dict, list))
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return
    raise ConfigError(f"--{flag}: nested too deeply; at most {MAX_DEPTH} levels")


def _no_duplicates(flag: str):
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                raise ConfigError(f"--{flag}: {key!r} is given twice; give each key once")
            seen[key] = value
        return seen

    return pairs


def _bad(flag: str, value: Any, accepted: str) -> str:
    given = "nothing" if value is None else repr(value)
    if len(given) > 60:
        given = given[:57] + "…"
    return f"--{flag}: got {given}; expected {accepted}"


def _describe(hint: Any) -> str:
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
    if hint in names:
        return names[hint]
    origin = get_origin(hint)
    if origin in (list, tuple):
        return "a JSON list"
    if origin is dict or dataclasses.is_dataclass(hint):
        return "a JSON object"
    return getattr(hint, "__name__", str(hint))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def unknown_flag(flag: str, value: Any, cls: type, path: str) -> str:
    """'unknown flag --datset.fps; did you mean --dataset.fps?' (closest valid flag)."""
    given = flag
    while isinstance(value, dict) and len(value) == 1:  # --datset.fps arrives as {"fps": …}
        key, value = next(iter(value.items()))
        given = f"{given}.{key}"
    candidates = [_join(path, name) for name in known_flags(cls)]
    if not path:
        candidates += [name for name in known_flags(cls, deep=True)]
    close = difflib.get_close_matches(given, candidates, n=1, cutoff=0.6)
    close = close or difflib.get_close_matches(given.rsplit(".", 1)[-1], candidates, n=1)
    where = f"{cls.type} has no such setting" if getattr(cls, "type", "") else "no such flag"
    suggestion = f"; did you mean --{close[0]}?" if close else ""
    if not close:
        shown = ", ".join(f"--{c}" for c in sorted(set(candidates))[:12])
        suggestion = f"; valid here: {shown}"
    return f"unknown flag --{given} ({where}){suggestion}"


def known_flags(cls: type, deep: bool = False, prefix: str = "") -> list[str]:
    """Dotted flag names of `cls` (with `deep`, of its nested config tables too)."""
    hints = field_hints(cls)
    names = [_join(prefix, "type")] if issubclass(cls, (DeviceConfig, Choice)) else []
    for key, f in init_fields(cls).items():
        names.append(_join(prefix, key))
        if deep:
            for member in get_args(hints[f.name]) or (hints[f.name],):
                if dataclasses.is_dataclass(member) and isinstance(member, type):
                    names += known_flags(member, deep=True, prefix=_join(prefix, key))
    return names
