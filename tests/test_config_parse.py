"""Every flag of `lerobot record` (FORMATS.md) parses into the session config, with lerobot's
defaults; TOML profiles give the same tree and the command line overrides them."""

from __future__ import annotations

from pathlib import Path

from core.config import DatasetConfig, PolicyConfig, parse_record_args
from core.devices import teleop_configs

BASE = [
    "--robot.type=so100_follower",
    "--robot.port=/dev/tty.usbmodem58760434091",
    "--dataset.repo_id=username/dataset_name",
    "--dataset.single_task=Task description",
]


def test_basic_usage_from_the_documentation_gets_lerobot_defaults():
    config = parse_record_args(BASE + ["--policy.path=username/model_name"])
    assert config.robot.type == "so100_follower"
    assert config.robot.port == "/dev/tty.usbmodem58760434091"
    assert config.policy == PolicyConfig(path="username/model_name")
    assert config.policy.device == "cpu" and config.policy.use_amp is False
    assert config.policy.async_ is True
    assert config.teleop is None
    d = config.dataset
    assert (d.fps, d.episode_time_s, d.reset_time_s, d.num_episodes) == (30, 60, 60, 50)
    assert (d.video, d.push_to_hub, d.private, d.tags, d.root) == (True, True, None, None, None)
    assert (d.num_image_writer_processes, d.num_image_writer_threads_per_camera) == (0, 4)
    assert (d.video_encoding_batch_size, d.rgb_encoder.vcodec) == (1, "libsvtav1")
    assert d.name == "dataset_name"
    assert (config.display_data, config.log, config.play_sounds) == (False, False, True)
    assert (config.resume, config.headless, config.keys, config.theme) == (False, False, {}, None)


def test_every_flag_of_the_table_is_accepted():
    argv = [
        "--robot.type=so101_follower",
        "--robot.id=follower_arm",
        "--robot.port=/dev/ttyACM0",
        '--robot.cameras={"gripper": {"type": "opencv", "index_or_path": 0, "width": 1280,'
        ' "height": 720, "fps": 30}}',
        "--robot.max_relative_target=5.5",
        "--robot.use_degrees=false",
        "--robot.disable_torque_on_disconnect=false",
        "--teleop.type=so101_leader",
        "--teleop.port=/dev/ttyACM1",
        "--teleop.id=leader_arm",
        "--policy.path=/models/act",
        "--policy.device=cuda:0",
        "--policy.use_amp=true",
        "--policy.async=false",
        "--dataset.repo_id=username/pick_place_eval",
        "--dataset.single_task=Pick up the object and place it in the box",
        "--dataset.fps=60",
        "--dataset.episode_time_s=30.5",
        "--dataset.reset_time_s=5",
        "--dataset.num_episodes=10",
        "--dataset.root=/data/pick",
        "--dataset.video=false",
        "--dataset.push_to_hub=false",
        "--dataset.private=true",
        '--dataset.tags=["manipulation", "sim"]',
        "--dataset.num_image_writer_processes=2",
        "--dataset.num_image_writer_threads_per_camera=2",
        "--dataset.video_encoding_batch_size=5",
        "--dataset.vcodec=h264",
        "--display_data=true",
        "--log=true",
        "--play_sounds=false",
        "--resume=true",
        "--headless=true",
        "--keys.exit-early=n",
        "--theme=dark",
    ]
    c = parse_record_args(argv)
    r = c.robot
    assert (r.type, r.id, r.port, r.max_relative_target) == (
        "so101_follower",
        "follower_arm",
        "/dev/ttyACM0",
        5.5,
    )
    assert r.use_degrees is False and r.disable_torque_on_disconnect is False
    cam = r.cameras["gripper"]
    assert (cam.type, cam.index_or_path, cam.width, cam.height, cam.fps) == (
        "opencv",
        0,
        1280,
        720,
        30,
    )
    assert (c.teleop.type, c.teleop.port, c.teleop.id) == (
        "so101_leader",
        "/dev/ttyACM1",
        "leader_arm",
    )
    assert c.policy == PolicyConfig(path="/models/act", device="cuda:0", use_amp=True, async_=False)
    assert c.dataset == DatasetConfig(
        repo_id="username/pick_place_eval",
        single_task="Pick up the object and place it in the box",
        fps=60,
        episode_time_s=30.5,
        reset_time_s=5.0,
        num_episodes=10,
        root="/data/pick",
        video=False,
        push_to_hub=False,
        private=True,
        tags=["manipulation", "sim"],
        num_image_writer_processes=2,
        num_image_writer_threads_per_camera=2,
        video_encoding_batch_size=5,
        vcodec="h264",
    )
    assert isinstance(c.dataset.fps, int) and isinstance(c.dataset.reset_time_s, float)
    assert (c.display_data, c.log, c.play_sounds, c.resume, c.headless) == (
        True,
        True,
        False,
        True,
        True,
    )
    assert c.keys == {"exit-early": "n"} and c.theme == "dark"


def test_space_separated_values_and_bare_booleans():
    argv = [
        "--robot.type",
        "so100_follower",
        "--robot.port",
        "/dev/x",
        "--dataset.repo_id",
        "u/d",
        "--dataset.single_task",
        "Pick",
        "--teleop.type",
        "keyboard",
        "--headless",
        "--log",
        "--dataset.fps",
        "15",
    ]
    c = parse_record_args(argv)
    assert c.headless is True and c.log is True and c.dataset.fps == 15
    assert c.teleop.type == "keyboard"


def test_multi_line_camera_json_from_the_documentation():
    cameras = """{
      "gripper": {"type": "opencv", "index_or_path": 0, "width": 320, "height": 240, "fps": 30},
      "top":     {"type": "opencv", "index_or_path": "/dev/video4", "color_mode": "bgr"}
    }"""
    c = parse_record_args(BASE + ["--policy.path=u/p", f"--robot.cameras={cameras}"])
    assert list(c.robot.cameras) == ["gripper", "top"]
    top = c.robot.cameras["top"]
    assert top.index_or_path == Path("/dev/video4") and top.color_mode == "bgr"
    assert c.robot.cameras["gripper"].width == 320


def test_yaml_flow_cameras_as_in_lerobots_own_docs():
    cameras = "{ front: {type: opencv, index_or_path: 0, width: 1920, height: 1080, fps: 30}}"
    c = parse_record_args(BASE + ["--policy.path=u/p", f"--robot.cameras={cameras}"])
    front = c.robot.cameras["front"]
    assert (front.type, front.index_or_path, front.width, front.fps) == ("opencv", 0, 1920, 30)


def test_lekiwi_teleop_list():
    teleop = '[{"type": "so100_leader", "port": "/dev/tty.leader"}, {"type": "keyboard"}]'
    c = parse_record_args(
        [
            "--robot.type=lekiwi_client",
            "--dataset.repo_id=username/mobile_manip",
            "--dataset.single_task=Mobile manipulation task",
            f"--teleop={teleop}",
            '--robot.cameras={"head": {"type": "opencv", "index_or_path": 0},'
            ' "wrist": {"type": "opencv", "index_or_path": 1}}',
        ]
    )
    assert [t.type for t in teleop_configs(c.teleop)] == ["so100_leader", "keyboard"]
    assert c.teleop[0].port == "/dev/tty.leader"
    assert [cam.index_or_path for cam in c.robot.cameras.values()] == [0, 1]


def test_per_motor_max_relative_target():
    c = parse_record_args(
        BASE
        + ["--policy.path=u/p", '--robot.max_relative_target={"gripper": 10, "elbow_flex": 2.5}']
    )
    assert c.robot.max_relative_target == {"gripper": 10.0, "elbow_flex": 2.5}


def test_later_flag_wins_and_null_clears_optional():
    c = parse_record_args(
        BASE + ["--policy.path=u/p", "--dataset.fps=10", "--dataset.fps=20", "--dataset.root=null"]
    )
    assert c.dataset.fps == 20 and c.dataset.root is None


PROFILE = """
log = true
play_sounds = false

[robot]
type = "so101_follower"
port = "/dev/ttyACM0"
id = "follower_arm"

[robot.cameras.top]
type = "opencv"
index_or_path = 0
width = 640
height = 480
fps = 30

[teleop]
type = "so101_leader"
port = "/dev/ttyACM1"

[dataset]
repo_id = "username/pick_place"
single_task = "Pick up the cube and place it in the box"
num_episodes = 10

[keys]
exit-early = "n"
"""


def test_the_profile_of_formats_md(tmp_path):
    path = tmp_path / "session.toml"
    path.write_text(PROFILE)
    c = parse_record_args(["--config", str(path)])
    assert c.log is True and c.play_sounds is False
    assert (c.robot.type, c.robot.port, c.robot.id) == (
        "so101_follower",
        "/dev/ttyACM0",
        "follower_arm",
    )
    assert c.robot.cameras["top"].width == 640 and c.robot.cameras["top"].fps == 30
    assert (c.teleop.type, c.teleop.port) == ("so101_leader", "/dev/ttyACM1")
    assert c.dataset.num_episodes == 10 and c.dataset.fps == 30
    assert c.keys == {"exit-early": "n"}


def test_command_line_overrides_the_profile(tmp_path):
    path = tmp_path / "session.toml"
    path.write_text(PROFILE)
    c = parse_record_args(
        [
            "--dataset.num_episodes=2",
            f"--config={path}",
            "--log=false",
            "--robot.port=/dev/ttyUSB0",
            "--robot.cameras.top.width=320",
            '--dataset.tags=["x"]',
        ]
    )
    assert c.dataset.num_episodes == 2 and c.log is False and c.play_sounds is False
    assert c.robot.port == "/dev/ttyUSB0" and c.robot.id == "follower_arm"
    assert c.robot.cameras["top"].width == 320 and c.robot.cameras["top"].height == 480
    assert c.dataset.tags == ["x"]
    assert c.dataset.single_task == "Pick up the cube and place it in the box"


def test_json_cameras_on_the_command_line_replace_the_profiles(tmp_path):
    path = tmp_path / "session.toml"
    path.write_text(PROFILE)
    c = parse_record_args(
        [f"--config={path}", '--robot.cameras={"wrist": {"type": "sim", "width": 320}}']
    )
    assert list(c.robot.cameras) == ["wrist"] and c.robot.cameras["wrist"].type == "sim"


def test_another_device_type_on_the_command_line_drops_the_profiles_settings(tmp_path):
    path = tmp_path / "session.toml"
    path.write_text(PROFILE)
    c = parse_record_args([f"--config={path}", "--teleop.type=keyboard"])
    assert c.teleop.type == "keyboard"  # the leader's port does not leak into the keyboard


def test_teleop_list_in_a_profile(tmp_path):
    path = tmp_path / "kiwi.toml"
    path.write_text("""
[robot]
type = "lekiwi_client"
[[teleop]]
type = "so100_leader"
port = "/dev/tty.leader"
[[teleop]]
type = "keyboard"
[dataset]
repo_id = "u/kiwi"
single_task = "Drive"
""")
    c = parse_record_args(["--config", str(path)])
    assert [t.type for t in teleop_configs(c.teleop)] == ["so100_leader", "keyboard"]


def test_the_example_profile_in_examples_parses():
    root = Path(__file__).resolve().parents[1]
    c = parse_record_args(["--config", str(root / "examples/sim_session.toml")])
    assert c.robot.port == "sim" and c.teleop.port == "sim" and c.play_sounds is False
    assert c.robot.cameras["front"].type == "sim" and c.dataset.push_to_hub is False
