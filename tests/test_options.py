"""One declaration per option: every field declares its help, and the wizard, `--help` and the
parser all read the same declarations (defaults, types, checks and messages agree)."""

from __future__ import annotations

import dataclasses

import pytest

from core.cli import SUBCOMMANDS, main
from core.config import parse_record_args
from core.config.declared import device_settings, settings
from core.config.tree import RecordConfig
from hardware import registry
from hardware.errors import ConfigError
from tui.options import NOT_FLAGS, OPTIONS, STEPS, WizardAnswers, check_page, options_of

MINIMAL = [
    "--robot.type=so101_follower",
    "--robot.port=sim",
    "--teleop.type=keyboard",
    "--dataset.repo_id=me/stack",
    "--dataset.single_task=Stack the cubes",
]
COMMAND_FLAGS = ("core.commands.calibrate", "core.commands.find_port", "core.commands.push")


def _every_setting():
    yield from settings(RecordConfig)
    yield from settings(WizardAnswers)
    for kind in ("robot", "teleop", "camera"):
        for type_ in registry.known_types(kind):
            yield from device_settings(kind, type_, f"{kind}[{type_}]")


def test_every_declared_setting_has_one_line_of_help():
    seen = list(_every_setting())
    assert len(seen) > 80
    for setting in seen:
        text = setting.option.help
        assert text.strip() and "\n" not in text, setting.flag


def test_a_field_declared_without_option_is_refused_by_name():
    @dataclasses.dataclass
    class Undeclared:
        fps: int = 30

    with pytest.raises(ConfigError, match="Undeclared.fps is declared without option"):
        settings(Undeclared)


def _value(config, flag: str):
    for part in flag.split("."):
        config = getattr(config, part if hasattr(config, part) else part + "_")
    return config


def test_the_wizard_starts_with_the_clis_defaults():
    config = parse_record_args(MINIMAL)
    checked = 0
    for option in OPTIONS:
        setting = option.setting
        if option.name in NOT_FLAGS or setting.device_kind:  # the wizard's own fields
            continue
        if setting.default is None:  # no default: the field starts empty
            assert option.default == "", option.name
            continue
        assert option.default == setting.default == _value(config, option.name), option.name
        checked += 1
    assert checked >= 9
    wizard = {o.name: o.default for o in OPTIONS}
    assert wizard["dataset.reset_time_s"] == 60 and config.dataset.reset_time_s == 60
    assert wizard["dataset.num_episodes"] == 50 and wizard["dataset.push_to_hub"] is True
    assert wizard["teleop.type"] == "none" and wizard["robot.type"] == "so101_follower"


def _wizard_values(**changes):
    values = {o.name: o.default for o in OPTIONS}
    values.update(
        {
            "robot.port": "sim",
            "teleop.type": "keyboard",
            "dataset.repo_id": "me/stack",
            "dataset.single_task": "Stack the cubes",
        }
    )
    values.update({k.replace("__", "."): v for k, v in changes.items()})
    return values


def _cli_error(flag: str, text: str) -> str | None:
    try:
        parse_record_args([*MINIMAL, f"--{flag}={text}"])
    except ConfigError as error:
        return str(error)
    return None


def _wizard_error(flag: str, text: str) -> str | None:
    step = next(o.step for o in OPTIONS if o.name == flag)
    try:
        check_page(step, _wizard_values(**{flag.replace(".", "__"): text}))
    except ConfigError as error:
        return str(error)
    return None


@pytest.mark.parametrize(
    "flag, text",
    [
        ("dataset.reset_time_s", "0"),
        ("dataset.reset_time_s", "-1"),
        ("dataset.episode_time_s", "0"),
        ("dataset.fps", "thirty"),
        ("dataset.fps", "0"),
        ("dataset.num_episodes", "0"),
        ("dataset.num_episodes", "2.5"),
        ("dataset.repo_id", "me/pick place"),
        ("robot.type", "so999_follower"),
        ("robot.id", "left"),
        ("teleop.port", "sim"),
        ("play_sounds", "maybe"),
    ],
)
def test_the_wizard_checks_a_field_as_the_cli_does(flag, text):
    if flag == "teleop.port":  # a leader arm's port: only with a leader arm as teleop
        cli = _cli_error(flag, text)
        assert cli is not None and "keyboard has no such setting" in cli
        return
    assert _wizard_error(flag, text) == _cli_error(flag, text)


def test_reset_time_zero_is_accepted_and_negative_refused_with_the_flag_named():
    assert _wizard_error("dataset.reset_time_s", "0") is None
    assert _wizard_error("dataset.reset_time_s", "-1").startswith(
        "--dataset.reset_time_s: got -1.0; expected zero or more seconds"
    )


def test_every_page_shows_declared_settings_only():
    declared = {s.flag for s in settings(RecordConfig)} | {s.flag for s in settings(WizardAnswers)}
    for step in STEPS:
        for option in options_of(step):
            base = option.name.split(".")[0]
            assert option.name in declared or base in ("robot", "teleop"), option.name
            assert option.help == option.setting.option.help


# ---- --help and --version


def _run(capsys, *argv) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_lerecord_help_lists_the_commands_and_every_record_flag(capsys):
    status, out, _ = _run(capsys, "--help")
    assert status == 0
    for name in SUBCOMMANDS:
        assert f"\n  {name} " in out
    for setting in settings(RecordConfig):
        flag = setting.flag if not setting.device_kind else setting.flag + ".type"
        assert f"--{flag}=" in out, flag
    assert all(len(line) <= 100 for line in out.splitlines())


def test_record_help_for_one_group_shows_its_flags_with_type_default_unit_and_help(capsys):
    status, out, _ = _run(capsys, "record", "--help", "dataset")
    assert status == 0
    assert "\ndataset:\n" in out and "\nrobot:" not in out and "--play_sounds" not in out
    words = " ".join(out.split())
    assert (
        "--dataset.fps=INT frames per second of the control loop and recording (default: 30 Hz)"
        in words
    )
    assert "--dataset.repo_id=TEXT" in out and "required, e.g. username/pick_place" in out
    assert _run(capsys, "--help", "dataset")[1] == out  # `lerecord --help dataset` alike


def test_record_help_shows_the_settings_of_the_device_types_given(capsys):
    status, out, _ = _run(
        capsys, "--robot.type=so101_follower", "--teleop.type", "keyboard", "--help", "robot"
    )
    assert status == 0
    assert "--robot.type=so101_follower" in out
    assert "--robot.port=TEXT" in out and "required, e.g. /dev/ttyACM0" in out
    assert "--robot.disable_torque_on_disconnect=BOOL" in out
    assert "\nteleop:" not in out and "--teleop.mode" not in out
    status, out, _ = _run(capsys, "--teleop.type=keyboard", "--help", "teleop")
    assert "--teleop.mode=auto|arm|base" in out and "(default: auto)" in out
    status, out, _ = _run(capsys, "--help", "robot")
    assert "one of: so100_follower, so101_follower" in out
    assert "--robot.port" not in out and "give --robot.type=… with --help" in out


def test_help_for_an_unknown_group_or_type_is_one_line_and_status_2(capsys):
    status, out, err = _run(capsys, "--help", "datasets")
    assert status == 2 and out == ""
    assert err.strip().count("\n") == 0 and "no such group; groups: robot" in err
    status, _, err = _run(capsys, "--robot.type=so999", "--help")
    assert status == 2 and "unknown type 'so999'" in err


@pytest.mark.parametrize("command", [c for c in SUBCOMMANDS if c != "record"])
def test_every_command_has_help(capsys, command):
    status, out, err = _run(capsys, command, "--help")
    assert status == 0 and err == ""
    assert out.startswith(f"usage: lerecord {command}")
    assert all(len(line) <= 100 for line in out.splitlines())


def test_command_help_comes_from_the_flag_declarations(capsys):
    _, out, _ = _run(capsys, "calibrate", "--robot.type=so101_follower", "--help")
    assert "--robot.port=TEXT" in out and "--robot.id=TEXT" in out
    _, out, _ = _run(capsys, "push", "--help")
    assert "--private=BOOL" in out and "(default: none)" in out
    _, out, _ = _run(capsys, "find-port", "--help")
    assert "--port=TEXT" in out


def test_version(capsys):
    from importlib import metadata

    status, out, _ = _run(capsys, "--version")
    assert status == 0 and out == f"lerecord {metadata.version('lerecord')}\n"
