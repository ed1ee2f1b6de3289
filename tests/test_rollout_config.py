"""`lerecord rollout` reads lerobot-rollout 0.6.1's command line word for word.

The examples are those of lerobot-rollout's docstring (lerobot/scripts/lerobot_rollout.py), with
the ports on `sim` and the fixture ACT checkpoint as the policy.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from session_support import ROOT

from core.config.rollout import (
    BaseStrategyConfig,
    DaggerStrategyConfig,
    HighlightStrategyConfig,
    RtcInferenceConfig,
    SentryStrategyConfig,
    SyncInferenceConfig,
    parse_rollout_args,
)
from core.strategies import sentry_episode_seconds
from hardware.errors import ConfigError

POLICY = "--policy.path=tests/data/lerobot-0.6.1/act_policy"
ARM = ["--robot.type=so100_follower", "--robot.port=sim"]


def test_base_example_takes_lerobots_defaults():
    cfg = parse_rollout_args(
        ["--strategy.type=base", POLICY, *ARM, "--task=pick up cube", "--duration=30"]
    )
    assert isinstance(cfg.strategy, BaseStrategyConfig)
    assert isinstance(cfg.inference, SyncInferenceConfig)
    assert (cfg.fps, cfg.duration, cfg.task, cfg.dataset) == (30.0, 30.0, "pick up cube", None)
    assert cfg.interpolation_multiplier == 1 and cfg.return_to_initial_position is True
    assert cfg.display_mode == "rerun" and cfg.play_sounds is True and cfg.rename_map == {}
    assert (cfg.torch_compile_backend, cfg.torch_compile_mode) == ("inductor", "default")
    assert cfg.compile_warmup_inferences == 2


def test_no_strategy_means_base():
    assert isinstance(parse_rollout_args([POLICY, *ARM]).strategy, BaseStrategyConfig)


def test_rtc_example_with_yaml_cameras():
    cfg = parse_rollout_args(
        [
            "--strategy.type=base",
            POLICY,
            "--inference.type=rtc",
            "--inference.rtc.execution_horizon=10",
            "--inference.rtc.max_guidance_weight=10.0",
            *ARM,
            "--robot.cameras={ front: {type: sim, width: 64, height: 48, fps: 30}}",
            "--task=pick up cube",
            "--duration=60",
        ]
    )
    assert isinstance(cfg.inference, RtcInferenceConfig)
    assert cfg.inference.rtc.execution_horizon == 10 and cfg.inference.queue_threshold == 30
    assert list(cfg.robot.cameras) == ["front"]


def test_sentry_example_propagates_the_task():
    cfg = parse_rollout_args(
        [
            "--strategy.type=sentry",
            "--strategy.upload_every_n_episodes=5",
            POLICY,
            *ARM,
            "--dataset.repo_id=user/rollout_sentry_data",
            '--dataset.single_task="patrol"',
            "--duration=3600",
        ]
    )
    assert isinstance(cfg.strategy, SentryStrategyConfig)
    assert cfg.strategy.upload_every_n_episodes == 5
    assert cfg.strategy.target_video_file_size_mb is None
    assert cfg.task == cfg.dataset.single_task


def test_top_level_task_fills_the_dataset_task():
    cfg = parse_rollout_args(
        ["--strategy.type=sentry", POLICY, *ARM, "--dataset.repo_id=u/rollout_x", "--task=wave"]
    )
    assert cfg.dataset.single_task == "wave"


def test_highlight_and_dagger_fields():
    cfg = parse_rollout_args(
        ["--strategy.type=highlight", "--strategy.ring_buffer_seconds=30", POLICY, *ARM,
         "--dataset.repo_id=user/rollout_highlight_data", "--dataset.single_task=pick up cube"]
    )  # fmt: skip
    assert isinstance(cfg.strategy, HighlightStrategyConfig)
    assert (cfg.strategy.ring_buffer_seconds, cfg.strategy.save_key) == (30.0, "s")
    cfg = parse_rollout_args(
        ["--strategy.type=dagger", "--strategy.record_autonomous=true",
         "--strategy.num_episodes=50", POLICY, *ARM, "--teleop.type=so101_leader",
         "--teleop.port=sim", "--dataset.repo_id=user/rollout_dagger_rtc_data",
         "--dataset.single_task=Grasp the block", "--strategy.keyboard.correction=c"]
    )  # fmt: skip
    assert isinstance(cfg.strategy, DaggerStrategyConfig)
    assert cfg.strategy.record_autonomous and cfg.strategy.num_episodes == 50
    assert cfg.strategy.keyboard.correction == "c" and cfg.strategy.pedal.upload == "KEY_C"


def test_checkpoint_overrides():
    cfg = parse_rollout_args(
        [POLICY, *ARM, "--policy.n_action_steps=1", "--policy.temporal_ensemble_coeff=0.01",
         "--policy.pretrained_revision=main", "--device=cpu"]
    )  # fmt: skip
    assert cfg.policy.overrides() == {"n_action_steps": 1, "temporal_ensemble_coeff": 0.01}
    assert cfg.policy.pretrained_revision == "main"
    assert cfg.session_config().policy.device == "cpu"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--strategy.type=patrol"], "--strategy.type: unknown type 'patrol'; known types: base"),
        (["--strategy.type=dagger", "--dataset.repo_id=u/rollout_x", "--task=t"],
         "give --teleop.type"),
        (["--strategy.type=sentry", "--dataset.repo_id=u/pick", "--task=t"],
         "use <user>/rollout_pick"),
        (["--strategy.type=sentry", "--task=t"], "records: give --dataset.repo_id"),
        (["--dataset.repo_id=u/rollout_x", "--task=t"], "base records nothing"),
        (["--inference.type=async"], "--inference.type: unknown type 'async'"),
        (["--fps=0"], "--fps: got 0.0"),
        (["--strategy.type=sentry", "--dataset.repo_id=u/rollout_x", "--task=t", "--fps=12.5"],
         "whole number of frames per second"),
        (["--interpolation_multiplier=0"], "--interpolation_multiplier: got 0"),
        (["--strategy.type=dagger", "--strategy.input_device=mouse", "--teleop.type=keyboard",
          "--dataset.repo_id=u/rollout_x", "--task=t"], "expected one of keyboard, pedal"),
    ],
)  # fmt: skip
def test_bad_command_lines_are_one_line(args, message):
    with pytest.raises(ConfigError) as error:
        parse_rollout_args([POLICY, *ARM, *args])
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_cli_refuses_with_status_2_and_writes_nothing(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "rollout", "--strategy.type=sentry", POLICY, *ARM,
         "--dataset.repo_id=u/not_rollout", f"--dataset.root={tmp_path / 'ds'}", "--task=t"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "rollout_" in done.stderr
    assert not (tmp_path / "ds").exists()


def test_sentry_episode_length_follows_the_video_size():
    # lerobot's estimate: 0.1 bit per pixel of the smallest camera
    seconds = sentry_episode_seconds([(480, 640, 3), (48, 64, 3)], 30.0, 1)
    assert seconds == pytest.approx(1024 * 1024 / (48 * 64 * 0.1 * 30 / 8))
    assert sentry_episode_seconds([], 30.0, 200) == 300.0


def test_rtc_with_act_runs_sync_and_says_so_in_one_line():
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "rollout", "--strategy.type=base", POLICY, *ARM,
         "--robot.cameras={front: {type: sim, width: 64, height: 48, fps: 30}}",
         "--inference.type=rtc", "--inference.rtc.execution_horizon=10", "--task=pick up cube",
         "--duration=0.5", "--play_sounds=false", "--return_to_initial_position=false",
         "--headless=true"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if "rtc" in line]
    assert len(notes) == 1 and "does not apply to ACT" in notes[0]
    assert "the policy runs, nothing is recorded" in done.stdout
    assert "Session ended (completed)" in done.stdout


def test_rollout_help_lists_the_device_types_and_interactive(capsys):
    from core.cli import main

    assert main(["rollout", "--help"]) == 0
    out = capsys.readouterr().out
    robot = out[out.index("--robot.type=TYPE") :].split("(give", 1)[0]
    assert "so100_follower, so101_follower" in robot and "bi_so_follower" in robot
    assert "keyboard" in out[out.index("--teleop.type=TYPE") :].split("(give", 1)[0]
    assert "--interactive=BOOL" in out and "/start, /reset, /stop" in out
