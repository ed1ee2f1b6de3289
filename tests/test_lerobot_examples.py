"""lerobot-record 0.6.1's own docstring examples, run with `lerecord` in place of the program
name, on emulated arms (`sim` ports) and the simulated camera, give datasets the real lerobot
0.6.1 loads. The examples are read from lerobot's module in the interop environment; what is
changed for this machine: the serial ports (`sim`), the cameras (`type: sim`), the repo id's
placeholders, and short episodes recorded here without an upload."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from dataset_support import check_loadable
from interop import example_argv, lerobot_docstring, run_lerobot
from session_support import finish, lerecord, sim_args, start_session

from core import messages as m

COMPAT = Path(__file__).parent / "lerobot_compat"
RECORD = "lerobot.scripts.lerobot_record"
HERE = [
    "--dataset.episode_time_s=1",
    "--dataset.reset_time_s=0",
    "--dataset.push_to_hub=false",
    "--play_sounds=false",
    "--headless=true",
    "--dataset.num_episodes=2",
]
LATER: dict[str, str] = {}  # robot types of examples not run yet: the reason


def _examples() -> list[list[str]]:
    examples = []
    for block in re.findall(r"```shell\n(.*?)```", lerobot_docstring(RECORD), re.S):
        argv = example_argv(block)
        assert argv[0] == "lerobot-record"
        examples.append(argv[1:])
    return examples


def _on_sim(argv: list[str], root: Path) -> list[str]:
    out = []
    for arg in argv:
        name, _, value = arg.partition("=")
        if name.endswith(".port"):
            value = "sim"
        elif name.endswith(".cameras"):
            value = re.sub(r'"?type"?: "?opencv"?, "?index_or_path"?: \d+', "type: sim", value)
        elif name == "--dataset.repo_id":
            value = "me/" + re.sub(r"[^\w-]", "", value.split("/")[-1])
        out.append(f"{name}={value}")
    return [*out, f"--dataset.root={root}", *HERE]


@pytest.fixture(scope="module")
def examples() -> list[list[str]]:
    return _examples()


def test_lerobot_records_docstring_examples_are_the_three_known(examples):
    runnable = [a for a in examples if not any(f"--robot.type={t}" in a for t in LATER)]
    assert len(examples) == 3 and len(runnable) == 3
    assert any(a.startswith("--dataset.rgb_encoder.extra_options=") for a in examples[2])
    assert "--robot.type=bi_so_follower" in examples[1]


@pytest.mark.parametrize("i", range(3))
def test_lerobot_records_docstring_example_records_with_lerecord(examples, i, tmp_path):
    argv = examples[i]
    root = tmp_path / f"example{i}"
    proc = lerecord(*_on_sim(argv, root))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:] + out[-2000:]
    info = check_loadable(root)
    assert info["total_episodes"] == 2
    cameras = sorted(k for k, f in info["features"].items() if f["dtype"] == "video")
    if "--robot.type=bi_so_follower" in argv:  # lerobot's names for both arms' cameras
        assert info["robot_type"] == "bi_so_follower"
        assert cameras == [
            f"observation.images.{c}"
            for c in ("left_top", "left_wrist", "right_front", "right_wrist")
        ]
        return
    assert info["robot_type"] == "so_follower" and cameras == ["observation.images.laptop"]
    video = info["features"]["observation.images.laptop"]["info"]
    if any(a.startswith("--dataset.rgb_encoder.") for a in argv):
        assert video["video.codec"] == "h264" and video["video.preset"] == "fast"
        assert video["video.extra_options"] == {"tune": "film", "profile:v": "high", "bf": 2}
    else:
        assert video["video.codec"] == "av1"
    loaded = run_lerobot([str(COMPAT / "load_dataset.py"), str(root), "me/example"])
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert json.loads(loaded.stdout.strip().splitlines()[-1])["episodes"] == 2


def test_a_new_dataset_is_stamped_and_no_stamp_keeps_the_name(tmp_path):
    for flag, pattern in (
        ("false", r"local/session_test_\d{8}_\d{6}"),
        ("true", "local/session_test"),
    ):
        session = start_session(
            tmp_path / flag, f"--dataset.no_stamp={flag}", episodes=1, seconds=0.3
        )
        seen: list = []
        finish(session, seen)
        (started,) = [e for e in seen if isinstance(e, m.SessionStarted)]
        assert re.fullmatch(pattern, started.repo_id), started.repo_id


def test_an_eval_name_without_a_policy_is_refused_as_lerobot_06_does():
    from core.config import parse_record_args
    from hardware.errors import ConfigError

    with pytest.raises(ConfigError, match="names starting with eval_ are for policy runs"):
        parse_record_args(sim_args(Path("/nonexistent"), "--dataset.repo_id=me/eval_pick"))
