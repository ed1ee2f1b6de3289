"""The outcome prompt in `lerecord rollout --strategy.type=episodic`: on by default, and never
waiting for ever. With stdin a terminal it is asked during each reset and answered with the keys
(an unanswered one times out after the reset time, the episode stays unmarked); with stdin a pipe
nothing is asked (said once on stderr) and the session runs to its end unattended."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time

from session_support import ROOT, sim_args

from core.config import parse_record_args
from core.config.rollout import parse_rollout_args
from core.dataset.outcomes import read_outcomes

ROLLOUT = [
    "--policy.path=tests/data/lerobot-0.6.1/act_policy",
    "--robot.type=so100_follower",
    "--robot.port=sim",
    "--robot.id=prompt_follower",
    "--robot.cameras={front: {type: sim, width: 64, height: 48, fps: 30}}",
    "--play_sounds=false",
    "--return_to_initial_position=false",
    "--dataset.single_task=Grab the cube",
    "--dataset.push_to_hub=false",
    "--dataset.vcodec=h264",
    "--dataset.num_episodes=2",
    "--dataset.episode_time_s=0.5",
]
PROMPT_OFF = "outcome prompt off: stdin is not a terminal"


def _rollout(root, *extra: str, stdin) -> subprocess.Popen:
    args = [*ROLLOUT, f"--dataset.root={root}", "--dataset.repo_id=user/rollout_judged", *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", "rollout", "--strategy.type=episodic", *args],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1"),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_prompt_is_on_by_default_in_episodic_rollout_only(tmp_path):
    def prompt(strategy: str, *extra: str):
        args = [*ROLLOUT, f"--strategy.type={strategy}", "--dataset.repo_id=user/rollout_x"]
        return parse_rollout_args([*args, *extra]).session_config().dataset.outcome_prompt

    assert prompt("episodic") is True
    assert prompt("episodic", "--dataset.outcome_prompt=false") is False
    assert prompt("sentry") is False
    assert prompt("sentry", "--dataset.outcome_prompt=true") is True
    record = parse_record_args(sim_args(tmp_path / "ds"))
    assert not record.dataset.outcome_prompt  # record asks only when told to
    assert record.dataset.outcome_wait == record.dataset.reset_time_s


def test_with_a_terminal_the_prompt_is_answered_by_a_key_or_times_out_after_the_reset(tmp_path):
    root = tmp_path / "ds"
    master, slave = pty.openpty()
    proc = _rollout(root, "--dataset.reset_time_s=1", stdin=slave)
    os.close(slave)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if not line or "Episode 0: success or failure?" in line:
                break
        assert "the reset waits for it up to 1 s past its time" in lines[-1], "".join(lines)
        os.write(master, b"h")  # episode 0 succeeded; episode 1 gets no answer
        started = time.monotonic()
        out, err = proc.communicate(timeout=60)
        took = time.monotonic() - started
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert PROMPT_OFF not in err
    out_lines = out.splitlines()
    assert any("Episode 0: success" in line for line in out_lines), out
    assert any("Episode 1: success or failure?" in line for line in out_lines), out
    timed_out = [line for line in out_lines if "no outcome within 1 s" in line]
    assert len(timed_out) == 1 and "episode 1" in timed_out[0], out
    # the rest of reset 0, episode 1 and its reset (1 s) and wait (1 s): bounded, not for ever
    assert 2.0 < took < 30.0
    assert read_outcomes(root) == {0: "success", 1: None}


def test_with_stdin_a_pipe_nothing_is_asked_and_the_session_runs_unattended(tmp_path):
    root = tmp_path / "ds"
    proc = _rollout(root, "--dataset.reset_time_s=0.3", stdin=subprocess.PIPE)
    out, err = proc.communicate(timeout=60)  # stdin open, never written: nobody answers
    assert proc.returncode == 0, err
    assert err.count(PROMPT_OFF) == 1, err
    assert "lerecord edit user/rollout_judged label" in err
    assert "success or failure?" not in out and "no outcome within" not in out
    assert read_outcomes(root) == {0: None, 1: None}
