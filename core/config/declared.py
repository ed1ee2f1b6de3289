"""The declared settings of a config tree, walked: one `Setting` per flag.

Everything that shows or asks for options (`--help`, the wizard, the parser's "is required"
hints) reads them from here, so a field declared with `hardware.option.option()` appears
everywhere with the same name, type, default and help.
"""

from __future__ import annotations

import dataclasses
import types
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal, Union, get_args, get_origin

from core.config.build import Choice, field_hints, init_fields
from hardware import registry
from hardware.base import CameraConfig, DeviceConfig, RobotConfig, TeleoperatorConfig
from hardware.errors import ConfigError
from hardware.option import Option, declared

DEVICE_KINDS: dict[type, registry.Kind] = {
    RobotConfig: "robot",
    TeleoperatorConfig: "teleop",
    CameraConfig: "camera",
}
MAX_CHOICES_SHOWN = 30  # longer lists of choices go in the help text
_KIND_NAMES = {bool: "BOOL", int: "INT", float: "FLOAT", str: "TEXT"}


@dataclass(frozen=True)
class Setting:
    """One flag: `--dataset.fps`, its field, type hint and declaration."""

    flag: str
    field: dataclasses.Field
    hint: Any
    option: Option

    @property
    def required(self) -> bool:
        f = self.field
        return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING

    @property
    def default(self) -> Any:
        """The default value (None for a required setting: see `required`)."""
        if self.field.default_factory is not dataclasses.MISSING:
            return self.field.default_factory()
        return None if self.required else self.field.default

    @property
    def scalar(self) -> type | None:
        """bool, int, float or str when the setting holds one (or None), else None."""
        members = [m for m in _members(self.hint) if m is not type(None)]
        if str in members and len(members) > 1 and not any(_is_path(m) for m in members):
            return str  # a number or a name (`preset`): text
        for kind in (bool, int, float):
            if kind in members:
                return kind
        if any(m is str or _is_path(m) or get_origin(m) is Literal for m in members):
            return str
        return None

    @property
    def device_kind(self) -> registry.Kind | None:
        """ "robot", "teleop" or "camera" for a setting that holds a device chosen by type."""
        for member in _members(self.hint):
            inner = get_args(member)[0] if get_origin(member) is list else member
            if inner in DEVICE_KINDS:
                return DEVICE_KINDS[inner]
        return None

    @property
    def choices(self) -> list[str] | None:
        return self.option.choice_list()

    @property
    def group(self) -> str:
        """Where `--help` lists it: its declared group, else its table ("dataset")."""
        if self.option.group:
            return self.option.group
        return self.flag.rsplit(".", 1)[0] if "." in self.flag else ""

    @property
    def metavar(self) -> str:
        if self.choices and len("|".join(self.choices)) <= MAX_CHOICES_SHOWN:
            return "|".join(self.choices)
        if self.device_kind:
            return "TYPE"
        kind = self.scalar
        if kind is not None:
            return _KIND_NAMES[kind]
        if any(get_origin(m) in (list, tuple) for m in _members(self.hint)):
            return "JSON-LIST"
        return "JSON"


def settings(cls: type, prefix: str = "") -> list[Setting]:
    """The settings of config dataclass `cls`, nested plain config tables flattened
    (`dataset.rgb_encoder.crf`); a device is one setting (its own come from `device_settings`)."""
    hints = field_hints(cls)
    out: list[Setting] = []
    for key, f in init_fields(cls).items():
        option = declared(f)
        if option is None:
            raise ConfigError(f"{cls.__name__}.{f.name} is declared without option(help=…)")
        flag = f"{prefix}.{key}" if prefix else key
        table = _table(hints[f.name])
        if table is not None and issubclass(table, Choice) and not table.type:
            out += _choice_settings(table, flag, f, option)
        elif table is not None:
            out += settings(table, flag)
        else:
            out.append(Setting(flag, f, hints[f.name], option))
    return out


def _choice_settings(base: type[Choice], flag: str, f, option: Option) -> list[Setting]:
    """`--strategy.type=base|sentry|…`, then each type's own settings under `strategy.<type>`."""
    variants = base.variants()
    out = [
        Setting(
            f"{flag}.type",
            f,
            str,
            dataclasses.replace(option, choices=list(variants), group=option.group or flag),
        )
    ]
    for type_, variant in variants.items():
        for inner in settings(variant, flag):
            shown = dataclasses.replace(inner.option, group=f"{flag}.type={type_}")
            out.append(dataclasses.replace(inner, option=shown))
    return out


def device_settings(kind: registry.Kind, type_: str, prefix: str) -> list[Setting]:
    """The settings a device of this type takes, as `--<prefix>.<name>` flags."""
    return settings(registry.config_class(kind, type_), prefix)


def find(cls: type, flag: str, types_: dict[str, str] | None = None) -> Setting:
    """The setting of `cls` named `flag`; a device's own settings need its type in `types_`
    (`{"robot": "so101_follower"}`)."""
    for setting in settings(cls):
        if setting.flag == flag:
            return setting
        if setting.device_kind and flag.startswith(setting.flag + "."):
            type_ = (types_ or {}).get(setting.flag)
            if type_:
                for inner in device_settings(setting.device_kind, type_, setting.flag):
                    if inner.flag == flag:
                        return inner
    raise ConfigError(f"unknown flag --{flag}")


def _members(hint: Any) -> tuple:
    if get_origin(hint) is Union or get_origin(hint) is types.UnionType:
        return get_args(hint)
    return (hint,)


def _is_path(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, PurePath)


def _table(hint: Any) -> type | None:
    """A plain config dataclass (not a device) that the hint holds, or None."""
    for member in _members(hint):
        if (
            isinstance(member, type)
            and dataclasses.is_dataclass(member)
            and not issubclass(member, DeviceConfig)
        ):
            return member
    return None
