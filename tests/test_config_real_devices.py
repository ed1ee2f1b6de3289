"""The parser against the hardware helpers' real device configs (skipped until merged)."""

from __future__ import annotations

import json

from core.config import parse_record_args


def test_the_real_device_configs():
    cameras = json.dumps(
        {
            "front": {"type": "opencv", "index_or_path": 0, "width": 640, "height": 480, "fps": 30},
            "sim": {"type": "sim", "width": 320, "height": 240, "fps": 30},
        }
    )
    c = parse_record_args(
        [
            "--robot.type=so101_follower",
            "--robot.port=/dev/ttyACM0",
            "--robot.id=f",
            f"--robot.cameras={cameras}",
            "--robot.max_relative_target=10",
            "--teleop.type=so101_leader",
            "--teleop.port=/dev/ttyACM1",
            "--dataset.repo_id=u/d",
            "--dataset.single_task=Pick",
        ]
    )
    assert c.robot.type == "so101_follower" and c.robot.cameras["front"].width == 640
    assert c.robot.cameras["sim"].type == "sim" and c.teleop.port == "/dev/ttyACM1"
