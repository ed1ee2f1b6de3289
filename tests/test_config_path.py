"""`--config_path`: a config file lerobot 0.6.1 itself wrote (draccus, YAML or JSON, in the
interop environment) sets up a lerecord session; flags on the command line still win."""

from __future__ import annotations

from pathlib import Path

import pytest
from interop import run_lerobot

from core.config import parse_record_args
from hardware.errors import ConfigError

COMPAT = Path(__file__).parent / "lerobot_compat"


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_lerobots_saved_config_is_read_and_flags_override_it(tmp_path, suffix):
    path = tmp_path / f"record{suffix}"
    out = run_lerobot([str(COMPAT / "write_record_config.py"), str(path)], timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    config = parse_record_args(["--config_path", str(path), "--dataset.num_episodes=2"])
    assert config.robot.port == "sim" and config.robot.id == "yaml_follower"
    assert config.teleop.id == "yaml_leader" and config.play_sounds is False
    assert (config.dataset.repo_id, config.dataset.fps) == ("me/from_lerobot", 15)
    assert config.dataset.num_episodes == 2  # the flag, over the file's 3
    assert config.dataset.rgb_encoder.preset == 12 and config.dataset.private is None


def test_a_broken_config_file_is_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("robot: {type: so101_follower\n")
    with pytest.raises(ConfigError, match=r"--config_path: .*bad.yaml is not valid YAML at line"):
        parse_record_args(["--config_path", str(path)])
    with pytest.raises(ConfigError, match="one profile only"):
        parse_record_args(["--config_path", str(path), "--config", str(path)])
