"""One declaration per option: a dataclass field that carries its own help.

Every config dataclass (the session tree in `core.config.tree`, each device's config here in
`hardware/`) declares its settings with `option(...)`: the default, one line of help, and where
they apply the accepted choices, a unit and a group. The flag parser, `--help`, the TOML profile
writer and the wizard all read these declarations; nothing lists the options a second time.

    fps: int = option(30, help="frames per second of the recording", unit="Hz")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

HELP = "lerecord.option"  # the key of an `Option` in a field's metadata


@dataclass(frozen=True)
class Option:
    """What a field says about itself beyond its type and default."""

    help: str
    choices: Sequence[str] | Callable[[], Sequence[str]] | None = None
    unit: str | None = None
    group: str | None = None
    example: str | None = None  # a typical value of a setting without a default

    def choice_list(self) -> list[str] | None:
        if self.choices is None:
            return None
        return list(self.choices() if callable(self.choices) else self.choices)


def option(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    choices: Sequence[str] | Callable[[], Sequence[str]] | None = None,
    unit: str | None = None,
    group: str | None = None,
    example: str | None = None,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field with its help; `default` omitted (and no factory) makes it required.

    `example` is a typical value for a setting without a default: the parser shows it when the
    setting is missing, the wizard starts its field with it."""
    meta = {HELP: Option(help=help, choices=choices, unit=unit, group=group, example=example)}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def declared(f: dataclasses.Field) -> Option | None:
    """The declaration of a field, or None for a field declared without `option()`."""
    return f.metadata.get(HELP)
