"""`lerecord rollout …`: lerobot-rollout's command line, run by the same session engine as
`record` (console or headless), with the strategy's phase plan deciding what is recorded."""

from __future__ import annotations

import logging
import sys

from core.signals import STOP_SIGNALS
from hardware.errors import ConfigError

log = logging.getLogger(__name__)

SUMMARY = "run a trained policy on the arm with lerobot-rollout's strategies (base, sentry, …)"
USAGE = """lerecord rollout --strategy.type=base|sentry|highlight|episodic|dagger --policy.path=…
           --robot.type=… [--dataset.repo_id=<user>/rollout_<name> …] [--duration=S …]
       lerecord rollout --help [GROUP …]   (a group: strategy, inference, policy, dataset …)"""
EPILOG = """Strategies: base runs the policy and records nothing; sentry records continuously in
episodes (push every N); highlight keeps the last seconds and saves them on its save key (s),
pushes on its push key (h); episodic records episodes with resets as `record` does; dagger hands
the arm to a human (leader arm or keyboard) on its correction key (tab) and records the
correction with intervention=true. Rollout dataset names start with rollout_."""


def help(argv: list[str]) -> str:
    from core.config.help import command_help, help_request
    from core.config.rollout import RolloutConfig

    given, wanted = help_request(argv)
    return command_help(USAGE, SUMMARY, RolloutConfig, given, wanted, EPILOG, top="rollout")


def main(argv: list[str]) -> int:
    if not argv:
        raise ConfigError(
            "no rollout given: pass --policy.path=… --robot.type=… (and --strategy.type=…), "
            "as lerobot-rollout"
        )
    from core.config.rollout import parse_rollout_args

    rollout = parse_rollout_args(argv)
    for note in rollout_notes(rollout):
        log.warning("%s", note)
    config = rollout.session_config()
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if config.headless or not interactive:
        from core.headless import run_headless

        return run_headless(config)
    from tui.app import run_console

    STOP_SIGNALS.restore()  # the console's engine child handles the signals itself
    return run_console(config)


def rollout_notes(rollout) -> list[str]:
    """One line for each flag lerobot honours that changes nothing for an ACT checkpoint here."""
    from core.config.rollout import RtcInferenceConfig

    notes = []
    if isinstance(rollout.inference, RtcInferenceConfig):
        notes.append(
            "--inference.type=rtc: real-time chunking is for flow-matching policies (pi0, "
            "pi0.5, smolvla); it does not apply to ACT, which runs with sync inference"
        )
    if rollout.use_torch_compile:
        notes.append("--use_torch_compile: not used; the policy runs eagerly")
    return notes
