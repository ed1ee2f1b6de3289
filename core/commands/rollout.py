"""`lerecord rollout …`: lerobot-rollout's command line, run by the same session engine as
`record` (console or headless), with the strategy's phase plan deciding what is recorded."""

from __future__ import annotations

import logging
import sys

from hardware.errors import ConfigError

log = logging.getLogger(__name__)

SUMMARY = "run a policy on the robot with one of lerobot-rollout's strategies (and record)"
USAGE = """lerecord rollout --strategy.type=episodic|base|sentry|highlight|dagger --policy.path=… …
       lerecord rollout --help [GROUP …]   (a group: strategy, inference, policy, dataset …)"""


def help(argv: list[str]) -> str:
    from core.config.help import command_help, help_request
    from core.config.rollout import RolloutConfig

    given, wanted = help_request(argv)
    return command_help(USAGE, SUMMARY, RolloutConfig, given, wanted, top="rollout")


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
    if config.headless or not interactive or rollout.interactive:
        from core.headless import run_headless

        return run_headless(config)
    from tui.app import run_console

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
