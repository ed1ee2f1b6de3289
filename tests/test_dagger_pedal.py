"""Dagger's foot pedal (`--strategy.input_device=pedal`), read as lerobot 0.6.1 reads it (evdev
key-down events named `KEY_A` …). There is no input device here (no /dev/input, no uinput), so
the pedal is a FIFO fed the kernel's `struct input_event` records: the same bytes an evdev
device gives, through the same open/select/read path."""

from __future__ import annotations

import os
import time

import pytest
from session_support import finish, wait_for
from test_rollout_strategies import COMMON, dataset_args, lerobot_values, phase

from core import messages as m
from core.config.rollout import parse_rollout_args
from core.session import Session
from hardware.errors import ConfigError
from hardware.teleop.pedal import EVENT, KEY_CODES, PedalDecoder

EV_SYN, EV_KEY, EV_MSC = 0, 1, 4


def event(type_: int, code: int, value: int) -> bytes:
    return EVENT.pack(1700000000, 123456, type_, code, value)


def press(name: str) -> bytes:
    """What a pedal sends for one press and release (scan code, key, sync, each)."""
    code = KEY_CODES[name]
    return b"".join([
        event(EV_MSC, 4, 0x70004), event(EV_KEY, code, 1), event(EV_SYN, 0, 0),
        event(EV_MSC, 4, 0x70004), event(EV_KEY, code, 0), event(EV_SYN, 0, 0),
    ])  # fmt: skip


def test_only_key_down_events_are_presses_even_split_across_reads():
    data = press("KEY_B") + event(EV_KEY, KEY_CODES["KEY_A"], 2) + press("KEY_C")
    decoder = PedalDecoder()
    names = []
    for i in range(0, len(data), 7):  # records cut at odd places, as reads may
        names += decoder.feed(data[i : i + 7])
    assert names == ["KEY_B", "KEY_C"]  # the repeat (value 2) and releases are not presses
    assert KEY_CODES["KEY_A"] == 30 and KEY_CODES["KEY_B"] == 48 and KEY_CODES["KEY_C"] == 46


def test_the_pedal_takes_over_and_gives_back_and_the_correction_is_recorded(tmp_path):
    pedal = tmp_path / "pedal"
    os.mkfifo(pedal)
    root = tmp_path / "dagger"
    args = [
        *COMMON, "--strategy.type=dagger", "--strategy.num_episodes=1",
        "--strategy.input_device=pedal", f"--strategy.pedal.device_path={pedal}",
        "--teleop.type=keyboard", *dataset_args(root, "pedal"), "--duration=60",
    ]  # fmt: skip
    session = Session(parse_rollout_args(args).session_config())
    session.start()  # the pedal is open for reading: a writer does not block
    seen: list = []
    with open(pedal, "wb", buffering=0) as device:
        phase(session, seen, "running")
        device.write(press("KEY_B"))  # correction: the human takes over
        phase(session, seen, "handover")
        phase(session, seen, "correction")
        time.sleep(0.3)
        device.write(press("KEY_B"))  # and gives back: the correction is an episode
        saved = wait_for(session, m.EpisodeSaved, seen)
    ended = finish(session, seen)
    assert ended.episodes_saved == 1 and saved.frames >= 2
    data = lerobot_values(root, "pedal", "intervention")
    assert data["episodes"][0] and all(data["episodes"][0])


def test_a_pedal_that_cannot_be_read_is_refused_before_any_motor(tmp_path):
    missing = tmp_path / "no-pedal"
    args = [
        *COMMON, "--strategy.type=dagger", "--strategy.input_device=pedal",
        f"--strategy.pedal.device_path={missing}", "--teleop.type=keyboard",
        *dataset_args(tmp_path / "ds", "nopedal"),
    ]  # fmt: skip
    session = Session(parse_rollout_args(args).session_config())
    with pytest.raises(ConfigError) as error:
        session.start()
    message = str(error.value)
    assert "--strategy.pedal.device_path" in message and str(missing) in message
    assert "\n" not in message and session.parts is None
    assert not (tmp_path / "ds").exists()
