"""The console's themes: `themes/*.tcss` data files turned into Textual `Theme` objects.

Each file sets variables (`$name: value;`). Textual's base colours (`$primary`, `$background` …)
and `$dark` become the theme's fields; every other variable (`$servo-warn`, `$recording` …)
becomes a theme variable that the widgets' CSS uses instead of raw colours. Every theme must
define the same domain variables, so switching themes never leaves a widget without a colour.
"""

from __future__ import annotations

import re

from textual.theme import Theme

from hardware.errors import ConfigError
from themes import theme_files

BASE_FIELDS = {
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
}
DOMAIN_VARIABLES = (
    "servo-ok",
    "servo-warn",
    "servo-fault",
    "servo-silent",
    "recording",
    "reset",
    "saving",
    "paused",
    "done",
    "source-policy",
    "source-teleop",
    "source-hold",
    "spark-low",
    "spark-high",
)
DEFAULT_THEME = "dark"
ORDER = ("dark", "light", "high-contrast")  # the order `t` cycles through (the README's)
_VARIABLE = re.compile(r"^\s*\$([a-z][a-z0-9-]*)\s*:\s*([^;]+);", re.MULTILINE)
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def theme_from_tcss(name: str, text: str) -> Theme:
    values = dict(_VARIABLE.findall(_COMMENT.sub("", text)))
    missing = [v for v in ("primary", *DOMAIN_VARIABLES) if v not in values]
    if missing:
        raise ConfigError(f"theme {name!r} lacks ${', $'.join(missing)}; define them in its .tcss")
    dark = values.pop("dark", "true").strip() != "false"
    base = {k: v.strip() for k, v in values.items() if k in BASE_FIELDS}
    variables = {k: v.strip() for k, v in values.items() if k not in BASE_FIELDS}
    return Theme(name=name, dark=dark, variables=variables, **base)


def load_themes() -> list[Theme]:
    """All shipped themes in the documented order (the default first; others after, by name)."""
    files = theme_files()
    names = sorted(files, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    return [theme_from_tcss(n, files[n].read_text(encoding="utf-8")) for n in names]


def check_theme_name(name: str) -> str:
    from core.config.tree import check_theme

    check_theme(name)
    return name
