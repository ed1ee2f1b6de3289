"""Bad input is refused with one line naming the flag, what was given and what is accepted,
and parsing touches nothing on disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import parse_record_args
from hardware.errors import ConfigError

GOOD = [
    "--robot.type=so100_follower",
    "--robot.port=/dev/x",
    "--dataset.repo_id=u/d",
    "--dataset.single_task=Pick",
    "--policy.path=u/p",
]


def error_of(argv: list[str]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_record_args(argv)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 300
    return message


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["--datset.fps=3"],
            "unknown flag --datset.fps (no such flag); did you mean --dataset.fps?",
        ),
        (["--repo_id=u/d"], "did you mean --dataset.repo_id?"),
        (["--play_sound=false"], "did you mean --play_sounds?"),
        (
            ["--robot.type=so100_follower", "--robot.prot=/dev/x"],
            "unknown flag --robot.prot (so100_follower has no such setting); "
            "did you mean --robot.port?",
        ),
        (
            GOOD + ['--robot.cameras={"a": {"type": "opencv", "widht": 3}}'],
            "did you mean --robot.cameras.a.width?",
        ),
        (GOOD + ["--dataset.fps=abc"], "--dataset.fps: got 'abc'; expected a whole number"),
        (GOOD + ["--dataset.fps=29.5"], "--dataset.fps: got '29.5'; expected a whole number"),
        (
            GOOD + ["--dataset.episode_time_s=long"],
            "--dataset.episode_time_s: got 'long'; expected a number",
        ),
        (GOOD + ["--log=maybe"], "--log: got 'maybe'; expected true or false"),
        (GOOD + ["--dataset.video"], None),  # bare boolean = true: not an error, see below
        (GOOD + ["--dataset.fps"], "--dataset.fps: got nothing; expected a whole number"),
        (
            GOOD + ["--dataset.tags=manipulation"],
            "--dataset.tags: got 'manipulation'; expected a JSON list",
        ),
        (GOOD + ['--dataset.tags=["a", 3]'], "--dataset.tags[1]: got 3; expected text"),
        (
            GOOD + ['--robot.cameras={"top": {"type": "opencv",}'],
            "--robot.cameras: invalid JSON (Expecting property name enclosed in double quotes",
        ),
        (
            GOOD + ['--robot.cameras={"top": {"index_or_path": 0}}'],
            "--robot.cameras.top.type is required; "
            "known types: opencv, sim, intelrealsense, realsense",
        ),
        (
            GOOD + ['--robot.cameras={"top": {"type": "webcam"}}'],
            "--robot.cameras.top.type: unknown type 'webcam'; "
            "known types: opencv, sim, intelrealsense, realsense",
        ),
        (
            GOOD + ['--robot.cameras={"top": {"type": "opencv", "index_or_path": 0, "fps": 0}}'],
            "--robot.cameras.top: camera fps: 0 is not a positive number",
        ),
        (
            GOOD + ['--robot.cameras={"top": {"type": "opencv"}}'],
            "--robot.cameras.top.index_or_path is required for opencv",
        ),
        (
            ["--robot.type=ur5"],
            "--robot.type: unknown type 'ur5'; "
            "known types: so100_follower, so101_follower, bi_so_follower, lekiwi_client",
        ),
        (GOOD + ["--teleop.type=joystick"], "--teleop.type: unknown type 'joystick'; known types:"),
        (
            GOOD + ['--teleop=[{"type": "so100_leader"}]'],
            "--teleop[0].port is required for so100_leader",
        ),
        (GOOD + ["--teleop=[{bad json"], "--teleop: invalid JSON"),
        (GOOD + ["--teleop=[]"], "--teleop: empty list; give at least one teleoperator"),
        (
            GOOD + ["--robot.max_relative_target=big"],
            "--robot.max_relative_target: got 'big'; expected a number or a JSON object",
        ),
        (
            GOOD + ["--robot.max_relative_target=-1"],
            "--robot.max_relative_target: -1.0 is not a positive number",
        ),
        ([], "--robot.type is required; known types: so100_follower"),
        (
            ["--robot.type=so100_follower"],
            "--robot.port is required for so100_follower (e.g. --robot.port=/dev/ttyACM0)",
        ),
        (
            ["--robot.type=so100_follower", "--robot.port=/dev/x"],
            "--dataset.repo_id is required (e.g. --dataset.repo_id=username/pick_place)",
        ),
        (
            ["--robot.type=so100_follower", "--robot.port=/dev/x", "--dataset.repo_id=u/d"],
            "--dataset.single_task is required",
        ),
        (
            GOOD[:-1],
            "nothing to drive the robot: give --teleop.type=… (a leader arm, keyboard) "
            "or --policy.path=… (a trained policy)",
        ),
        (GOOD[:-1] + ["--policy.device=cuda"], "--policy.path is required"),
        (
            GOOD + ["--policy.device=gpu"],
            "--policy.device: 'gpu' is not a torch device; use cpu, cuda",
        ),
        (GOOD + ["--dataset.repo_id=a/b/c"], "--dataset.repo_id: 'a/b/c' is not a repo id"),
        (GOOD + ["--dataset.fps=0"], "--dataset.fps: got 0; expected frames per second from 1"),
        (GOOD + ["--dataset.num_episodes=0"], "--dataset.num_episodes: got 0; expected 1 or more"),
        (
            GOOD + ["--dataset.reset_time_s=-1"],
            "--dataset.reset_time_s: got -1.0; expected zero or more",
        ),
        (
            GOOD + ["--dataset.vcodec=vp9"],
            "--dataset.vcodec: got 'vp9'; expected one of auto, libsvtav1, h264, hevc, libaom-av1, "
            "h264_videotoolbox, hevc_videotoolbox, h264_nvenc, hevc_nvenc, h264_vaapi, h264_qsv, "
            "av1",
        ),
        (GOOD + ["stray"], "unexpected argument 'stray'"),
        (GOOD + ["--config"], "--config: needs a path to a TOML profile"),
        (
            GOOD + ["--config=/nonexistent/session.toml"],
            "--config: cannot read /nonexistent/session.toml: No such file or directory",
        ),
        (GOOD + ["--dataset..fps=3"], "malformed flag '--dataset..fps=3'"),
    ],
)
def test_bad_input_is_one_line_naming_the_flag(argv, expected):
    if expected is None:
        assert parse_record_args(argv).dataset.video is True
        return
    message = error_of(argv)
    assert expected in message, message


def test_bad_toml_names_file_and_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('log = true\n\n[robot]\ntype = "so100_follower\n')
    message = error_of(["--config", str(path)])
    assert message.startswith(f"--config: {path} is not valid TOML: ")
    assert "line 4" in message


def test_wrong_type_in_the_profile_says_which_file(tmp_path):
    path = tmp_path / "session.toml"
    path.write_text(
        '[dataset]\nrepo_id = "u/d"\nsingle_task = "t"\nfps = "fast"\n'
        '[robot]\ntype = "so100_follower"\nport = "/dev/x"\n[policy]\npath = "u/p"\n'
    )
    assert error_of(["--config", str(path)]) == (
        f"--dataset.fps: got 'fast'; expected a whole number (in {path})"
    )
    assert error_of(["--config", str(path), "--dataset.fps=x"]) == (
        "--dataset.fps: got 'x'; expected a whole number"
    )  # the command line's own mistake
    assert parse_record_args(["--config", str(path), "--dataset.fps=12"]).dataset.fps == 12


def test_a_profile_list_of_teleops_is_not_patched_by_a_dotted_flag(tmp_path):
    path = tmp_path / "session.toml"
    path.write_text('[[teleop]]\ntype = "keyboard"\n')
    assert "set the whole list with --teleop='[…]'" in error_of(
        GOOD + ["--config", str(path), "--teleop.port=/dev/x"]
    )
    config = parse_record_args(GOOD + ["--config", str(path), "--teleop.type=so100_leader",
                                       "--teleop.port=/dev/l"])  # fmt: skip
    assert config.teleop.type == "so100_leader"  # a single teleop replaces the profile's list


def test_a_flag_list_of_teleops_is_not_patched_by_a_dotted_flag():
    message = error_of(GOOD + ['--teleop=[{"type": "keyboard"}]', "--teleop.port=/dev/x"])
    assert message.startswith("--teleop.port: an earlier flag gives a list for --teleop")


def test_binary_profile_is_refused(tmp_path):
    path = tmp_path / "session.toml"
    path.write_bytes(b"\xff\xfe\x00bad")
    assert "is not UTF-8 text" in error_of(["--config", str(path)])


def test_parsing_touches_nothing_on_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "data"
    for argv in (
        GOOD + [f"--dataset.root={root}", "--log=true"],
        GOOD + [f"--dataset.root={root}", "--dataset.fps=x"],
    ):
        try:
            parse_record_args(argv)
        except ConfigError:
            pass
    assert os.listdir(tmp_path) == []


def run_cli(args: list[str], cwd) -> subprocess.CompletedProcess:
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_the_command_line_exits_2_with_one_line_and_creates_nothing(tmp_path):
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[dataset\nrepo_id = 1\n")
    for args, expected in [
        (
            ["--datset.fps=3"],
            "unknown flag --datset.fps (no such flag); did you mean --dataset.fps?",
        ),
        (["record", "--config", str(bad_toml)], f"--config: {bad_toml} is not valid TOML: "),
    ]:
        result = run_cli(args, tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        assert result.stderr.startswith(f"lerecord: error: {expected}")
        assert result.stderr.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["bad.toml"]
