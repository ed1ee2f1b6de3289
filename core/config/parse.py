"""`lerobot record`'s command line, and TOML session profiles, into a `RecordConfig`.

Flags use lerobot's dotted syntax: `--robot.type=so100_follower` or `--robot.type so100_follower`,
booleans `true`/`false` (a bare `--headless` means true), JSON for tables and lists
(`--robot.cameras='{"top": {"type": "opencv", …}}'`, `--teleop='[{…}, {…}]'`,
`--dataset.tags='["a", "b"]'`). `--config profile.toml` reads the same tree from a file; flags on
the command line override it. Parsing reads the profile and nothing else: it creates nothing.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from core.config.build import (
    Mismatch,
    build,
    check_depth,
    convert,
    field_hints,
    init_fields,
    parse_structured,
)
from core.config.tree import RecordConfig
from hardware.errors import ConfigError

T = TypeVar("T")
PROFILE_FLAGS = ("config", "config_path")  # lerecord's TOML; lerobot's YAML/JSON (either works)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def parse_record_args(argv: list[str]) -> RecordConfig:
    """Parse `lerecord record`'s arguments; any invalid input raises a one-line `ConfigError`."""
    return parse_flags(RecordConfig, argv)


def parse_flags(
    cls: type[T],
    argv: list[str],
    profiles: bool = True,
    prepare: Callable[[dict], None] | None = None,
) -> T:
    """Parse flags (and a `--config` profile, when `profiles`) into config dataclass `cls`;
    `prepare` may adjust the raw tree before it is built (rollout's `--task` rule)."""
    profile, flags = _split(argv)
    if profile is not None and not profiles:
        raise ConfigError("unknown flag --config (no such flag)")
    tree: dict[str, Any] = load_profile(profile) if profile else {}
    given: list[str] = []
    for name, value in flags:
        if name.split(".")[-1] == "type":
            _forget_other_type(tree, name, value)
    for name, value in flags:
        _set(tree, name, value, from_file=profile is not None)
        given.append(name)
    try:
        if prepare is not None:
            prepare(tree)
        return build(cls, tree, "")
    except ConfigError as error:
        if profile is None or _from_flags(str(error), given) or "--" not in str(error):
            raise
        raise ConfigError(f"{error} (in {profile})") from None


def parse_part(argv: list[str], key: str) -> Any:
    """Only the part `key` of the session (`"dataset"`, `"robot"`, `"play_sounds"`) parsed from
    these flags, with the same checks and messages: what a form checks for one of its pages."""
    _, flags = _split(argv)
    tree: dict[str, Any] = {}
    for name, value in flags:
        _set(tree, name, value, from_file=False)
    field = init_fields(RecordConfig)[key]
    hint = field_hints(RecordConfig)[field.name]
    if key not in tree and not dataclasses.is_dataclass(hint):
        return None if field.default is dataclasses.MISSING else field.default
    try:
        return convert(tree.get(key, {}), hint, key)
    except Mismatch as error:
        raise ConfigError(str(error)) from None


def load_profile(path: str | Path) -> dict[str, Any]:
    """The raw tree of a TOML profile, or of lerobot's YAML/JSON config (`--config_path`, the
    tree draccus writes: `robot: {type: …}`), checked later by `build`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"--config: cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"--config: {path} is not UTF-8 text; expected a TOML profile") from None
    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml", ".json"):
        import yaml  # JSON is YAML too

        try:
            tree = yaml.safe_load(text)
        except RecursionError:
            raise ConfigError(f"--config_path: {path} is nested too deeply") from None
        except yaml.YAMLError as error:
            where = getattr(error, "problem_mark", None)
            at = f" at line {where.line + 1}" if where is not None else ""
            kind = suffix[1:].upper()
            raise ConfigError(f"--config_path: {path} is not valid {kind}{at}") from None
        if not isinstance(tree, dict):
            raise ConfigError(f"--config_path: {path} holds no table of settings")
        check_depth(tree, f"config_path {path}")
        return tree
    try:
        tree = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"--config: {path} is not valid TOML: {error}") from None
    except RecursionError:
        raise ConfigError(f"--config: {path} is nested too deeply to be a profile") from None
    check_depth(tree, f"config {path}")
    return tree


def _split(argv: list[str]) -> tuple[str | None, list[tuple[str, str | None]]]:
    """(the --config path, [(dotted name, raw value or None for a bare flag)])."""
    profile = None
    flags: list[tuple[str, str | None]] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if not token.startswith("--") or token == "--":
            raise ConfigError(
                f"unexpected argument {token!r}; flags look like --dataset.repo_id=user/name"
            )
        name, eq, value = token[2:].partition("=")
        if not eq:
            if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                value = argv[i + 1]
                i += 1
            else:
                value = None
        i += 1
        if not name or any(not part for part in name.split(".")):
            raise ConfigError(f"malformed flag {token!r}; flags look like --dataset.fps=30")
        if name in PROFILE_FLAGS:
            if not value:
                raise ConfigError(f"--{name}: needs a path to a TOML profile or a YAML/JSON config")
            if profile is not None:
                raise ConfigError(f"--{name}: one profile only (--config or --config_path)")
            profile = value
        else:
            flags.append((name, value))
    return profile, flags


def _set(tree: dict[str, Any], name: str, value: str | None, from_file: bool) -> None:
    """Put a flag's value at its dotted place, replacing what the profile had there."""
    *parents, leaf = name.split(".")
    node = tree
    for i, key in enumerate(parents):
        child = node.get(key)
        if isinstance(child, str) and child.strip()[:1] in ("{", "["):
            child = parse_structured(child, ".".join(parents[: i + 1]))
        if isinstance(child, list):
            where = "the profile" if from_file else "an earlier flag"
            raise ConfigError(
                f"--{name}: {where} gives a list for --{'.'.join(parents[: i + 1])}; "
                f"set the whole list with --{'.'.join(parents[: i + 1])}='[…]'"
            )
        if not isinstance(child, dict):
            child = {}
        node[key] = child
        node = child
    node[leaf] = value


def _forget_other_type(tree: dict[str, Any], name: str, value: str | None) -> None:
    """`--teleop.type=…` naming another device than the profile's (or replacing the profile's
    list of teleoperators): drop the profile's settings there."""
    *parents, _ = name.split(".")
    parent: Any = tree
    for key in parents[:-1]:
        parent = parent.get(key) if isinstance(parent, dict) else None
    if not parents or not isinstance(parent, dict):
        return
    node = parent.get(parents[-1])
    if isinstance(node, list) or (isinstance(node, dict) and node.get("type") not in (None, value)):
        parent[parents[-1]] = {}


def _from_flags(message: str, given: list[str]) -> bool:
    """Whether an error is about something the command line said (not the profile)."""
    flags = [word for word in message.split() if word.startswith("--")]
    if not flags:
        return False
    flag = flags[0].split("=")[0].rstrip(":;,").removeprefix("--")
    return any(flag == g or flag.startswith(g + ".") or flag.startswith(g + "[") for g in given)
