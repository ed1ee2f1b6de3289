"""Bad input, generated: every malformed command line, profile, dataset folder, journal,
checkpoint config and calibration file is refused up front.

For each generated case, run in-process through the CLI's entry (`core.cli.main`): exit status
2, one line on stderr naming the problem (the flag, the file) and what to do, no traceback,
nothing written anywhere (HOME, the Hugging Face folders, the calibration folder and the dataset
root all point into one sandbox whose tree is compared before and after), and no byte sent to the
robot's servo bus (an emulator whose received packets are counted). A sample also runs as real
subprocesses. Seeded (`LERECORD_PROPERTY_SEED`, default below); a failure prints its seed.
About 1,050 cases per run, in about a minute.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dataset_support import record_episode, so_features
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from policy_fixture import ACT
from session_support import ROOT

from core import cli
from core.dataset import DatasetRecorder
from core.signals import STOP_SIGNALS
from hardware.sim.arms import make_servos
from hardware.sim.bus_emulator import BusEmulator

SEED = int(os.environ.get("LERECORD_PROPERTY_SEED", "20261201"))
CAMERAS = {"front": (48, 64, 3)}
CAMERA_FLAG = '--robot.cameras={"front": {"type": "sim", "width": 64, "height": 48, "fps": 30}}'
SETTINGS = settings(
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def examples(n: int):
    return settings(SETTINGS, max_examples=n)


class Sandbox:
    """HOME, the HF folders and the calibration folder, and a place for each case's inputs."""

    def __init__(self, top: Path, emulator: BusEmulator):
        self.top = top
        self.emulator = emulator
        self.home = top / "home"
        self.cases = top / "cases"
        self.home.mkdir(parents=True, exist_ok=True)
        self.cases.mkdir(exist_ok=True)
        self.dataset = top / "dataset"  # a real recorded dataset, copied for resume cases

    def env(self) -> dict[str, str]:
        return {
            "HOME": str(self.home),
            "HF_HOME": str(self.home / "hf"),
            "HF_LEROBOT_HOME": str(self.home / "hf/lerobot"),
            "HF_LEROBOT_CALIBRATION": str(self.home / "calibration"),
            "XDG_CACHE_HOME": str(self.home / "cache"),
        }

    def base(self, root: Path | None = None) -> list[str]:
        return [
            "--headless",
            "--robot.type=so101_follower",
            f"--robot.port={self.emulator.port}",
            "--robot.id=arm",
            CAMERA_FLAG,
            "--teleop.type=so101_leader",
            "--teleop.port=sim",
            "--teleop.id=leader",
            "--dataset.repo_id=local/prop",
            f"--dataset.root={root or self.cases / 'ds'}",
            "--dataset.single_task=Pick up the cube",
            "--dataset.num_episodes=1",
            "--dataset.episode_time_s=1",
            "--dataset.reset_time_s=0",
            "--dataset.vcodec=h264",
            "--dataset.push_to_hub=false",
            "--play_sounds=false",
        ]

    def tree(self) -> dict[str, tuple]:
        out = {}
        for path in sorted(self.top.rglob("*")):
            stat = path.lstat()
            out[str(path.relative_to(self.top))] = (stat.st_mode, stat.st_size, stat.st_mtime_ns)
        return out

    def fresh_case(self) -> Path:
        shutil.rmtree(self.cases, ignore_errors=True)
        self.cases.mkdir()
        return self.cases


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with BusEmulator(make_servos("so101_follower")) as emulator:
        box = Sandbox(tmp_path_factory.mktemp("refusals"), emulator)
        recorder = DatasetRecorder.create(
            box.dataset, "local/prop", 30, "so_follower", so_features(CAMERAS), queue_size=500
        )
        record_episode(recorder, 0, 5, "Pick up the cube", CAMERAS)
        assert recorder.save_episode().wait(30).error is None
        recorder.close()
        yield box


@pytest.fixture
def refuse(sandbox, monkeypatch):
    """refuse(argv, must_name): run the CLI in-process and assert a clean refusal."""
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)

    def run(argv: list[str], must_name: str, env: dict[str, str] | None = None) -> None:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        before, sent = sandbox.tree(), len(sandbox.emulator.received)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()) as out:
            try:
                status = cli.main(list(argv))
            finally:
                STOP_SIGNALS.restore()
        text = err.getvalue()
        where = f"seed {SEED}; argv {argv!r}; stderr {text!r}; stdout {out.getvalue()[:300]!r}"
        assert status == 2, where
        assert text.count("\n") == 1 and text.startswith("lerecord: error: "), where
        assert "Traceback" not in text, where
        assert must_name.lower() in text.lower(), where
        assert sandbox.tree() == before, f"something was written; {where}"
        assert len(sandbox.emulator.received) == sent, f"bytes went to the servo bus; {where}"
        for key in env or {}:
            monkeypatch.delenv(key)

    return run


def _replace(argv: list[str], flag: str, value: str) -> list[str]:
    out = [a for a in argv if not a.startswith(f"--{flag}=")]
    return [*out, f"--{flag}={value}"]


# ---- command lines and profiles ----------------------------------------------------------------


def _whole(low: int, high: int | None):
    """Whole-number flags: below `low`, above `high`, or not whole."""
    out = st.integers(max_value=low - 1).map(str)
    if high is not None:
        out |= st.integers(min_value=high + 1).map(str)
    return out | st.floats(low + 0.1, (high or 10**6) - 0.1).filter(lambda v: v != int(v)).map(repr)


def _seconds(bad_zero: bool):
    """Second counts: negative (or zero), beyond a day, or not finite."""
    below = st.floats(max_value=0.0, exclude_max=not bad_zero, allow_nan=False)
    return (below | st.floats(min_value=86400.0, exclude_min=True)).map(repr) | st.sampled_from(
        ["inf", "-inf", "nan", "1e308"]
    )


BAD_NUMBERS = {
    "dataset.fps": _whole(1, 240),
    "dataset.episode_time_s": _seconds(bad_zero=True),
    "dataset.reset_time_s": _seconds(bad_zero=False),
    "dataset.num_episodes": _whole(1, None),
    "robot.position_p_coefficient": _whole(0, 254),
    "robot.position_i_coefficient": _whole(0, 254),
    "robot.position_d_coefficient": _whole(0, 254),
    "robot.num_read_retries": _whole(0, 20),
}


@st.composite
def bad_numbers(draw) -> tuple[str, str]:
    flag = draw(st.sampled_from(sorted(BAD_NUMBERS)))
    words = st.text("abcxyz!?,;", min_size=1, max_size=6)
    return flag, draw(BAD_NUMBERS[flag] | words)


@given(case=bad_numbers())
@examples(300)
@seed(SEED)
def test_out_of_range_numbers_on_the_command_line(refuse, sandbox, case):
    flag, value = case
    sandbox.fresh_case()
    refuse(_replace(sandbox.base(), flag, value), f"--{flag}")


@given(case=bad_numbers())
@examples(150)
@seed(SEED + 1)
def test_out_of_range_numbers_in_a_profile(refuse, sandbox, case):
    flag, value = case
    cases = sandbox.fresh_case()
    section, key = flag.split(".")
    try:
        literal = json.dumps(float(value)) if value.lower() not in ("inf", "-inf", "nan") else value
    except ValueError:
        literal = json.dumps(value)
    profile = cases / "session.toml"
    profile.write_text(f"[{section}]\n{key} = {literal}\n")
    argv = [a for a in sandbox.base() if not a.startswith(f"--{flag}=")]
    refuse([*argv, "--config", str(profile)], f"{flag.split('.')[-1]}")


ID_BAD = st.one_of(
    st.just(""),
    st.just(".."),
    st.builds(lambda a, b: f"{a}/{b}", st.text("ab_1", max_size=4), st.text("cd-2", max_size=4)),
    st.builds(lambda a: f"{a}\\x", st.text("ab", max_size=3)),
)


@given(device=st.sampled_from(["robot", "teleop"]), value=ID_BAD)
@examples(60)
@seed(SEED + 2)
def test_device_ids_that_cannot_name_a_calibration_file(refuse, sandbox, device, value):
    sandbox.fresh_case()
    refuse(_replace(sandbox.base(), f"{device}.id", value), f"--{device}.id")


CAMERA_BAD = st.one_of(
    st.integers(1, 3).map(
        lambda n: (
            '{"front": {"type": "sim", "width": 64, "height": 48}, '
            + ", ".join(['"front": {"type": "sim"}'] * n)
            + "}"
        )
    ),
    st.integers(-1000, 0).map(lambda w: json.dumps({"front": {"type": "sim", "width": w}})),
    st.integers(1, 5000).map(
        lambda w: json.dumps({"front": {"type": "opencv", "index_or_path": 0, "width": w}})
    ),
    st.text("abcdefgh", min_size=1, max_size=8).map(
        lambda t: json.dumps({"front": {"type": "cam_" + t}})
    ),
    st.integers(40, 3000).map(lambda n: '{"front": ' * n + "{}" + "}" * n),
)


@given(value=CAMERA_BAD)
@examples(80)
@seed(SEED + 3)
def test_malformed_camera_tables(refuse, sandbox, value):
    sandbox.fresh_case()
    refuse(_replace(sandbox.base(), "robot.cameras", value), "camera")


@given(depth=st.integers(33, 5000), brackets=st.sampled_from(["[]", "{}"]))
@examples(40)
@seed(SEED + 4)
def test_values_nested_too_deeply(refuse, sandbox, depth, brackets):
    sandbox.fresh_case()
    if brackets == "[]":
        value = "[" * depth + "]" * depth
    else:
        value = '{"a": ' * depth + "1" + "}" * depth
    refuse(_replace(sandbox.base(), "dataset.tags", value), "--dataset.tags")


@given(name=st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12))
@examples(40)
@seed(SEED + 5)
def test_unknown_themes_even_headless(refuse, sandbox, name):
    from themes import theme_files

    if name in theme_files():
        return
    sandbox.fresh_case()
    refuse([*sandbox.base(), f"--theme={name}"], "--theme")


@given(text=st.text(min_size=0, max_size=10), at=st.integers(0, 10))
@examples(40)
@seed(SEED + 6)
def test_a_task_that_is_not_utf8(refuse, sandbox, text, at):
    """A terminal in another encoding hands Python bytes it keeps as lone surrogates."""
    sandbox.fresh_case()
    task = text[:at] + "\udcff" + text[at:]
    refuse(_replace(sandbox.base(), "dataset.single_task", task), "--dataset.single_task")


@given(
    name=st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10),
    group=st.sampled_from(["robot", "dataset", "teleop", ""]),
)
@examples(40)
@seed(SEED + 7)
def test_unknown_flags(refuse, sandbox, name, group):
    sandbox.fresh_case()
    flag = f"{group}.zz_{name}" if group else f"zz_{name}"
    refuse([*sandbox.base(), f"--{flag}=1"], flag)


# ---- dataset folders, journals -----------------------------------------------------------------


@given(kind=st.sampled_from(["file", "under_file", "system"]), name=st.text("abc", max_size=4))
@examples(30)
@seed(SEED + 8)
def test_dataset_roots_that_cannot_hold_a_dataset(refuse, sandbox, kind, name):
    cases = sandbox.fresh_case()
    plain = cases / "plain.txt"
    plain.write_text("not a folder")
    root = {
        "file": plain,
        "under_file": plain / f"ds{name}",
        "system": Path("/proc") / f"lerecord{name}",
    }[kind]
    refuse(_replace(sandbox.base(), "dataset.root", str(root)), "--dataset.root")


DAMAGE = st.sampled_from(
    [
        ("meta/info.json", b"{not json"),
        ("meta/info.json", b"[]"),
        ("meta/info.json", b'{"codebase_version": "v3.0"}'),
        ("meta/tasks.parquet", b"PAR1 torn"),
        ("meta/stats.json", b'{"action": {"mean": "x"}}'),
        ("meta/stats.json", b"{"),
        ("EPISODES", b"PAR1 torn"),
        ("meta/info.json", b"[" * 3000 + b"]" * 3000),
    ]
)


@given(damage=DAMAGE, cut=st.integers(0, 64))
@examples(60)
@seed(SEED + 9)
def test_damaged_datasets_are_refused_on_resume(refuse, sandbox, damage, cut):
    cases = sandbox.fresh_case()
    root = cases / "ds"
    shutil.copytree(sandbox.dataset, root)
    name, data = damage
    target = (
        next((root / "meta/episodes").rglob("*.parquet")) if name == "EPISODES" else root / name
    )
    target.write_bytes(data[: max(1, len(data) - cut)] if cut % 2 else data)
    refuse([*sandbox.base(root), "--resume=true"], str(root))


@given(
    escape=st.sampled_from(["../", "../../", "meta/../../", "/"]),
    name=st.text("abcxyz", min_size=1, max_size=6),
    delete=st.booleans(),
)
@examples(60)
@seed(SEED + 10)
def test_journals_naming_paths_outside_the_dataset(refuse, sandbox, escape, name, delete):
    cases = sandbox.fresh_case()
    root = cases / "ds"
    shutil.copytree(sandbox.dataset, root)
    (cases / "victim.txt").write_text("keep")
    staged = root / ".lerecord/staging/x"
    staged.parent.mkdir(parents=True)
    staged.write_text("attacker")
    outside = f"{escape}{name}" if escape != "/" else str(cases / "victim.txt")
    entry = [outside, None] if delete else [".lerecord/staging/x", outside]
    (root / ".lerecord/commit.json").write_text(json.dumps([entry]))
    refuse([*sandbox.base(root), "--resume=true"], "crash journal")


# ---- checkpoint configs, calibration files ----------------------------------------------------

CONFIG_BAD = st.one_of(
    st.tuples(st.just("n_heads"), st.integers(-3, 0)),
    st.tuples(st.just("dim_model"), st.integers(1, 511).filter(lambda d: d % 4)),
    st.tuples(
        st.sampled_from(["chunk_size", "n_action_steps", "dim_feedforward", "n_encoder_layers"]),
        st.one_of(st.text(max_size=4), st.lists(st.integers(), max_size=2), st.integers(-5, 0)),
    ),
    st.tuples(st.just("use_vae"), st.sampled_from(["yes", 1, [True]])),
    st.tuples(st.just("dropout"), st.sampled_from([-0.5, 1.0, 7, "x"])),
)


@given(change=CONFIG_BAD)
@examples(60)
@seed(SEED + 11)
def test_damaged_checkpoint_configs(refuse, sandbox, change):
    cases = sandbox.fresh_case()
    folder = cases / "policy"
    folder.mkdir()
    for source in ACT.iterdir():
        (folder / source.name).symlink_to(source)
    (folder / "config.json").unlink()
    config = json.loads((ACT / "config.json").read_text())
    key, value = change
    config[key] = value
    (folder / "config.json").write_text(json.dumps(config))
    refuse([*sandbox.base(), f"--policy.path={folder}"], "config.json")


MOTORS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]


@given(
    still=st.sampled_from(MOTORS),
    position=st.integers(0, 4095),
    garbage=st.sampled_from([None, "{", "[]", '{"gripper": 3}']),
)
@examples(60)
@seed(SEED + 12)
def test_calibration_files_that_cannot_be_used(refuse, sandbox, still, position, garbage):
    cases = sandbox.fresh_case()
    calibration = cases / "calibration"
    path = calibration / "robots/so_follower/arm.json"
    path.parent.mkdir(parents=True)
    if garbage is None:
        table = {
            m: {
                "id": i + 1,
                "drive_mode": 0,
                "homing_offset": 0,
                "range_min": 100,
                "range_max": 4000,
            }
            for i, m in enumerate(MOTORS)
        }
        table[still] |= {"range_min": position, "range_max": position}
        path.write_text(json.dumps(table))
    else:
        path.write_text(garbage)
    refuse(sandbox.base(), "calibration", env={"HF_LEROBOT_CALIBRATION": str(calibration)})


def test_a_calibration_folder_that_is_a_file(refuse, sandbox):
    cases = sandbox.fresh_case()
    (cases / "calibration").write_text("a file")
    refuse(
        sandbox.base(),
        "HF_LEROBOT_CALIBRATION",
        env={"HF_LEROBOT_CALIBRATION": str(cases / "calibration")},
    )


def test_a_lekiwi_base_with_only_a_leader_arm(refuse, sandbox):
    sandbox.fresh_case()
    argv = [a for a in sandbox.base() if not a.startswith(("--robot.", "--robot.cameras"))]
    refuse([*argv, "--robot.type=lekiwi_client"], "x.vel")


# ---- real subprocesses, a sample --------------------------------------------------------------

SAMPLE = [
    ["--dataset.fps=1000000"],
    ["--dataset.episode_time_s=inf"],
    ["--robot.num_read_retries=-1"],
    ["--robot.id=a/b"],
    ["--theme=solarized"],
    ["--dataset.tags=" + "[" * 5000 + "]" * 5000],
]


@pytest.mark.parametrize("change", SAMPLE, ids=lambda c: c[0][:28])
def test_a_sample_refused_by_the_real_command(sandbox, change):
    cases = sandbox.fresh_case()
    flag = change[0].split("=")[0]
    argv = [a for a in sandbox.base() if not a.startswith(flag + "=")] + change
    before, sent = sandbox.tree(), len(sandbox.emulator.received)
    env = dict(os.environ, PYTHONPATH=str(ROOT), **sandbox.env())
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", *argv],
        cwd=cases,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and flag in proc.stderr, proc.stderr
    assert sandbox.tree() == before and len(sandbox.emulator.received) == sent
