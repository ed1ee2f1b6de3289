"""lerobot-rollout 0.6.1's own docstring examples for the SO-100 arm, run with `lerecord rollout`
in place of the program name, on the emulated arms and the simulated camera: each runs, and each
recording one gives a dataset the real lerobot 0.6.1 loads (dagger's with its `intervention`
column). The examples are read from lerobot's module in the interop environment; what is changed
for this machine: the ports (`sim`), the policy (the fixture ACT checkpoint, with the camera it
was trained on), the repo ids' user, short runs (`--duration`, episode counts) without upload.
The examples for koch_follower and bi_openarm_follower are not run: lerecord drives SO arms
and LeKiwi only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from dataset_support import check_loadable
from interop import example_argv, lerobot_docstring, run_lerobot
from session_support import lerecord

COMPAT = Path(__file__).parent / "lerobot_compat"
POLICY = "tests/data/lerobot-0.6.1/act_policy"
CAMERA = "{front: {type: sim, width: 64, height: 48, fps: 30}}"  # the fixture policy's camera
SHORT = {"--duration": "1.5", "--dataset.num_episodes": "2", "--strategy.num_episodes": "2"}
HERE = ["--play_sounds=false", "--headless=true", "--return_to_initial_position=false"]


def _examples() -> list[list[str]]:
    doc = lerobot_docstring("lerobot.scripts.lerobot_rollout")
    blocks = re.findall(r"lerobot-rollout \\\n(.*?)(?:\n\s*\n|\Z)", doc, re.S)
    return [example_argv(block) for block in blocks]


def _on_sim(argv: list[str], root: Path) -> list[str]:
    out = []
    for arg in argv:
        name, _, value = arg.partition("=")
        if name.endswith(".port"):
            value = "sim"
        elif name == "--policy.path":
            value = POLICY
        elif name == "--robot.cameras":
            continue
        elif name == "--dataset.repo_id":
            value = "me/" + value.split("/")[-1]
        out.append(f"{name}={SHORT.get(name, value)}")
    given = {a.partition("=")[0] for a in out}
    out += [f"--robot.cameras={CAMERA}", *HERE]
    if "--duration" not in given:
        out.append(f"--duration={SHORT['--duration']}")
    if "--dataset.repo_id" in given:
        out += [f"--dataset.root={root}", "--dataset.push_to_hub=false", "--dataset.vcodec=h264"]
        out += ["--dataset.episode_time_s=0.5", "--dataset.reset_time_s=0"]
    return out


@pytest.fixture(scope="module")
def examples() -> list[list[str]]:
    return [a for a in _examples() if "--robot.type=so100_follower" in a]


def test_lerobot_rollouts_docstring_examples_are_the_five_known(examples):
    strategies = [next(a for a in argv if a.startswith("--strategy.type=")) for argv in examples]
    assert [s.split("=")[1] for s in strategies] == [
        "base",
        "sentry",
        "dagger",
        "episodic",
        "sentry",
    ]


# the two sentry examples run in order: the second resumes the first's dataset
@pytest.mark.parametrize("group", [(0,), (1, 4), (2,), (3,)])
def test_lerobot_rollouts_docstring_examples_run_with_lerecord(examples, group, tmp_path):
    sentry_root = tmp_path / "sentry"
    for i in group:
        argv = examples[i]
        resume = "--resume=true" in argv
        root = sentry_root if "--strategy.type=sentry" in argv else tmp_path / f"example{i}"
        proc = lerecord("rollout", *_on_sim(argv, root))
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:] + out[-2000:]
        if "--dataset.repo_id" not in " ".join(argv):
            assert "nothing is recorded" in out  # base
            continue
        info = check_loadable(root)
        dagger = "--strategy.type=dagger" in argv  # no take-over here: one policy episode
        assert info["total_episodes"] >= (1 if dagger else 4 if resume else 2)
        if dagger:  # record_autonomous: the policy's frames, flag false
            assert info["features"]["intervention"]["dtype"] == "bool"
            name = "me/rollout_dagger_rtc_data"
            values = run_lerobot(
                [str(COMPAT / "episode_values.py"), str(root), name, "intervention"]
            )
            assert values.returncode == 0, values.stderr[-3000:]
            episodes = json.loads(values.stdout.strip().splitlines()[-1])["episodes"]
            assert episodes and all(e and not any(e) for e in episodes)
        else:
            assert "intervention" not in info["features"]
