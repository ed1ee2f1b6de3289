"""Write a lerobot-record 0.6.1 config file as draccus saves it (YAML or JSON by the suffix of
argv[1]): an SO-101 follower and leader on `sim`, one dataset. Run in the interop environment."""

import json
import sys
from pathlib import Path

import draccus
from lerobot.configs.dataset import DatasetRecordConfig
from lerobot.robots.so_follower.config_so_follower import SO101FollowerConfig
from lerobot.scripts.lerobot_record import RecordConfig
from lerobot.teleoperators.so_leader.config_so_leader import SO101LeaderConfig

path = Path(sys.argv[1])
config = RecordConfig(
    robot=SO101FollowerConfig(port="sim", id="yaml_follower"),
    teleop=SO101LeaderConfig(port="sim", id="yaml_leader"),
    dataset=DatasetRecordConfig(
        repo_id="me/from_lerobot", single_task="Stack the cubes", num_episodes=3, fps=15
    ),
    play_sounds=False,
)
if path.suffix == ".json":
    path.write_text(json.dumps(draccus.encode(config), indent=2))
else:
    with path.open("w") as out:
        draccus.dump(config, out)
