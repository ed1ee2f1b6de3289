"""Two SO arms as one: lerobot-record's bimanual example (`bi_so_follower` / `bi_so_leader`) on
emulated ports and cameras, with lerobot's feature names and per-arm calibration files."""

from __future__ import annotations

import json
from pathlib import Path

from interop import run_lerobot
from session_support import finish

from core import messages as m
from core.config import parse_record_args
from core.session import Session
from hardware.feetech.calibration import calibration_root

COMPAT = Path(__file__).with_name("lerobot_compat")
MOTORS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]


def bimanual_args(root: Path) -> list[str]:
    """The docstring's command with `sim` for each port and camera, and short episodes."""
    cam = '{"type": "sim", "width": 64, "height": 48, "fps": 30}'
    return [
        "--robot.type=bi_so_follower",
        "--robot.left_arm_config.port=sim",
        "--robot.right_arm_config.port=sim",
        "--robot.id=bimanual_follower",
        f"--robot.left_arm_config.cameras={{\n    wrist: {cam},\n    top: {cam},\n  }}",
        f"--robot.right_arm_config.cameras={{\n    wrist: {cam},\n    front: {cam},\n  }}",
        "--teleop.type=bi_so_leader",
        "--teleop.left_arm_config.port=sim",
        "--teleop.right_arm_config.port=sim",
        "--teleop.id=bimanual_leader",
        "--dataset.repo_id=user/bimanual-so-handover-cube",
        f"--dataset.root={root}",
        "--dataset.num_episodes=1",
        "--dataset.single_task=Grab and handover the red cube to the other arm",
        "--dataset.episode_time_s=0.5",
        "--dataset.reset_time_s=0",
        "--dataset.push_to_hub=false",
        "--dataset.vcodec=h264",
        "--play_sounds=false",
    ]


def test_bimanual_example_records_what_lerobot_would(tmp_path):
    root = tmp_path / "bi"
    seen: list = []
    session = Session(parse_record_args(bimanual_args(root)))
    session.start()
    ended = finish(session, seen)
    assert ended.reason == "completed" and ended.episodes_saved == 1
    assert not [e for e in seen if isinstance(e, m.WarningRaised)]
    features = json.loads((root / "meta/info.json").read_text())["features"]
    names = [f"{side}_{motor}.pos" for side in ("left", "right") for motor in MOTORS]
    assert features["action"]["names"] == names
    assert features["observation.state"]["names"] == names
    cameras = [k for k in features if k.startswith("observation.images.")]
    assert cameras == [f"observation.images.{c}" for c in
                       ("left_wrist", "left_top", "right_wrist", "right_front")]  # fmt: skip
    assert json.loads((root / "meta/info.json").read_text())["robot_type"] == "bi_so_follower"
    calibration = calibration_root()
    for side in ("left", "right"):
        assert (calibration / f"robots/so_follower/bimanual_follower_{side}.json").is_file()
        assert (calibration / f"teleoperators/so_leader/bimanual_leader_{side}.json").is_file()
    repo_id = "user/bimanual-so-handover-cube"
    out = run_lerobot([str(COMPAT / "load_dataset.py"), str(root), repo_id])
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded["frames"] == 15 and loaded["shapes"]["observation.images.right_front"] == [
        3, 48, 64,
    ]  # fmt: skip


def test_top_level_cameras_keep_their_names():
    from hardware import registry

    cfg = parse_record_args(
        [*bimanual_args(Path("/nonexistent")),
         '--robot.cameras={overhead: {"type": "sim", "width": 64, "height": 48, "fps": 30}}']
    )  # fmt: skip
    robot = registry.make_robot(cfg.robot)
    cams = [k for k, v in robot.observation_features.items() if isinstance(v, tuple)]
    assert cams == ["left_wrist", "left_top", "overhead", "right_wrist", "right_front"]
    assert robot.arms["left"].config.id == "bimanual_follower_left"
