"""The session configuration: the tree (`RecordConfig`), its command line and TOML profiles.

Parsing is our own small walker over the dataclass fields rather than draccus (lerobot's parser,
installed here), for three reasons measured on draccus 0.11.6:
- an unknown flag ends in argparse's multi-line usage text and `SystemExit(2)`, with no
  suggestion of the flag meant; lerecord must raise one `ConfigError` line naming the flag;
- draccus picks a device config by `type` only among `draccus.ChoiceRegistry` subclasses that are
  registered at import time, so every device module (and its vendor SDK) would be imported up
  front and `hardware/` would depend on draccus; lerecord's registry is one lazy table;
- the TOML profile, the flags' JSON values and the command line must merge into one tree before
  anything is checked (a `--robot.type` on the command line replaces the profile's robot).
The walker (`core.config.build`) is about 250 lines over `dataclasses` and `typing`, with `json`
(and YAML flow style, which draccus accepts and lerobot's docs use for `--robot.cameras`) and
`tomllib` (tomli before 3.11) for the values.
"""

from core.config.parse import load_profile, parse_record_args
from core.config.profile import profile_to_toml, save_profile
from core.config.tree import DatasetConfig, PolicyConfig, RecordConfig

__all__ = [
    "DatasetConfig",
    "PolicyConfig",
    "RecordConfig",
    "load_profile",
    "parse_record_args",
    "profile_to_toml",
    "save_profile",
]
