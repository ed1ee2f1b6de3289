"""`lerecord replay --robot.type=… --robot.port=… --dataset.repo_id=… --dataset.episode=N`:
send a recorded episode's actions to the arm, with lerobot-replay 0.6.1's flags.

The arm first moves slowly to the episode's first pose, then follows the actions at the
dataset's rate. Space, Esc or q (when stdin is a terminal), Ctrl-C, SIGTERM or SIGHUP stop it
at once with torque cut.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from dataclasses import dataclass

from core.commands.score import dataset_root
from core.config.help import command_help, help_request
from core.config.parse import parse_flags
from core.dataset.episodes import episode_arrays, list_episodes
from hardware.base import RobotConfig
from hardware.errors import ConfigError
from hardware.option import option
from hardware.registry import known_types, make_robot

log = logging.getLogger(__name__)
SUMMARY = "replay a recorded episode's actions on the arm (lerobot-replay's flags)"
USAGE = (
    "lerecord replay --robot.type=TYPE --robot.port=PORT --dataset.repo_id=ID --dataset.episode=N"
)
STOP_KEYS = ("space", "escape", "q")


@dataclass(kw_only=True)
class ReplayDataset:
    repo_id: str = option(help="the dataset's name, <user>/<name>", example="username/pick_place")
    episode: int = option(help="the episode to replay")
    root: str | None = option(
        None, help="folder of the dataset; default ~/.cache/huggingface/lerobot/<repo_id>"
    )
    fps: int = option(30, help="accepted as lerobot's; the dataset's own rate is used", unit="Hz")


@dataclass(kw_only=True)
class ReplayFlags:
    robot: RobotConfig = option(help="the arm to move", choices=lambda: known_types("robot"))
    dataset: ReplayDataset = option(help="the episode to replay")
    play_sounds: bool = option(True, help="accepted as lerobot's (lerecord replays silently)")


def help(argv: list[str]) -> str:
    given, wanted = help_request(argv)
    return command_help(USAGE, SUMMARY, ReplayFlags, given, wanted, __doc__.split("\n\n")[1])


def main(argv: list[str]) -> int:
    from core.replay import replay

    flags = parse_flags(ReplayFlags, argv, profiles=False)
    ds = flags.dataset
    root = dataset_root(ds.repo_id, ds.root)
    total = len(list_episodes(root))
    if not 0 <= ds.episode < total:
        raise ConfigError(
            f"--dataset.episode: {ds.episode} is not in the dataset (it has episodes 0 to "
            f"{total - 1})"
        )
    arrays = episode_arrays(root, ds.episode)
    robot = make_robot(flags.robot)
    missing = sorted(set(arrays.action_names) ^ set(robot.action_features))
    if missing:
        raise ConfigError(
            f"--robot.type={flags.robot.type}: its actions differ from the dataset's "
            f"({', '.join(missing)}); replay on the robot that recorded it"
        )
    stop = threading.Event()
    previous = _on_signals(stop)
    keys = _stop_keys(stop)
    robot.connect()
    result = "stopped"
    try:
        sys.stdout.write(
            f"replaying episode {ds.episode} of {ds.repo_id}: {len(arrays.actions)} frames at "
            f"{arrays.fps} fps (space, Esc or q stops)\n"
        )
        sys.stdout.flush()
        result = replay(robot, arrays.action_names, arrays.actions, arrays.fps, stop)
    finally:
        if result == "stopped":
            robot.emergency_stop()
        robot.disconnect()
        if keys is not None:
            keys.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    sys.stdout.write(f"replay {result}\n")
    return 0 if result == "completed" else 130


def _on_signals(stop: threading.Event) -> dict:
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    return previous


def _stop_keys(stop: threading.Event):
    if not sys.stdin.isatty():
        return None
    from core.terminal_keys import TerminalKeys

    keys = TerminalKeys(sys.stdin.fileno(), lambda key: key in STOP_KEYS and stop.set())
    keys.start()
    return keys
