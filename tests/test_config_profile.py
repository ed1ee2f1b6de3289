"""The wizard's saved profiles read back as the same session config."""

from __future__ import annotations

import sys

import pytest

from core.config import parse_record_args, profile_to_toml, save_profile

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def roundtrip(config, tmp_path):
    path = save_profile(config, tmp_path / "profiles" / "session.toml")
    return parse_record_args(["--config", str(path)])


def test_full_session_round_trips(tmp_path):
    config = parse_record_args(
        [
            "--robot.type=so101_follower",
            "--robot.port=/dev/ttyACM0",
            '--robot.id=follower "A"',
            '--robot.cameras={"top": {"type": "opencv", "index_or_path": "/dev/video2",'
            ' "width": 640, "height": 480, "fps": 30, "color_mode": "bgr"},'
            ' "wrist cam": {"type": "sim"}}',
            '--robot.max_relative_target={"gripper": 10.5}',
            "--teleop.type=so101_leader",
            "--teleop.port=/dev/ttyACM1",
            "--policy.path=user/act",
            "--policy.async=false",
            "--policy.use_amp=true",
            "--dataset.repo_id=user/pick",
            "--dataset.single_task=Pick the cube\nthen place it ✓",
            "--dataset.episode_time_s=12.5",
            '--dataset.tags=["a", "b"]',
            "--dataset.root=/tmp/x",
            "--log=true",
            "--play_sounds=false",
            "--keys.exit-early=n",
            "--keys.stop=ctrl+q",
            "--theme=high-contrast",
        ]
    )
    text = profile_to_toml(config)
    assert roundtrip(config, tmp_path) == config
    assert tomllib.loads(text)["policy"] == {"path": "user/act", "use_amp": True, "async": False}
    assert "fps = 30" not in text.split("[dataset]")[1]  # defaults are left out


def test_teleop_list_round_trips(tmp_path):
    config = parse_record_args(
        [
            "--robot.type=lekiwi_client",
            "--dataset.repo_id=u/kiwi",
            "--dataset.single_task=Drive",
            '--teleop=[{"type": "so100_leader", "port": "/dev/l"}, {"type": "keyboard",'
            ' "keys": {"w": "forward"}}]',
        ]
    )
    assert "[[teleop]]" in profile_to_toml(config)
    assert roundtrip(config, tmp_path) == config


def test_profile_shape_is_the_one_of_formats_md():
    config = parse_record_args(
        [
            "--robot.type=so101_follower",
            "--robot.port=/dev/ttyACM0",
            "--robot.id=follower_arm",
            '--robot.cameras={"top": {"type": "opencv", "index_or_path": 0, "width": 640,'
            ' "height": 480, "fps": 30}}',
            "--teleop.type=so101_leader",
            "--teleop.port=/dev/ttyACM1",
            "--log=true",
            "--play_sounds=false",
            "--dataset.repo_id=username/pick_place",
            "--dataset.single_task=Pick up the cube and place it in the box",
            "--dataset.num_episodes=10",
        ]
    )
    assert (
        profile_to_toml(config)
        == """\
log = true
play_sounds = false

[robot]
type = "so101_follower"
id = "follower_arm"
port = "/dev/ttyACM0"

[robot.cameras.top]
type = "opencv"
fps = 30
width = 640
height = 480
index_or_path = 0

[teleop]
type = "so101_leader"
port = "/dev/ttyACM1"

[dataset]
repo_id = "username/pick_place"
single_task = "Pick up the cube and place it in the box"
num_episodes = 10
"""
    )


def test_save_replaces_atomically_and_leaves_no_scratch(tmp_path):
    config = parse_record_args(
        [
            "--robot.type=so100_follower",
            "--robot.port=/dev/x",
            "--dataset.repo_id=u/d",
            "--dataset.single_task=t",
            "--policy.path=u/p",
        ]
    )
    path = tmp_path / "s.toml"
    path.write_text("old")
    save_profile(config, path)
    assert [p.name for p in tmp_path.iterdir()] == ["s.toml"]
    assert parse_record_args(["--config", str(path)]) == config


def test_unwritable_value_is_refused():
    config = parse_record_args(
        [
            "--robot.type=so100_follower",
            "--robot.port=/dev/x",
            "--dataset.repo_id=u/d",
            "--dataset.single_task=t",
            "--policy.path=u/p",
        ]
    )
    config.robot.port = object()
    with pytest.raises(TypeError):
        profile_to_toml(config)
