"""Headless console output: the step block of FORMATS.md, rate-limited, and a line per event."""

from __future__ import annotations

import io
from pathlib import Path

from core import messages as m
from core.console import ConsolePrinter, format_event, format_step
from core.step import ControlStep, OutputStats, PolicyStep

NAMES = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
STATE = [10.54, -77.77, 90.34, -15.65, 39.49, 0.88]
OUTPUT = [12.63, -73.23, 84.02, -17.12, 38.28, 0.62]


def documented_step(**changes) -> ControlStep:
    obs = {f"{n}.pos": v for n, v in zip(NAMES, STATE, strict=True)}
    obs.update({f"{n}.temperature": 35.0 for n in NAMES})  # diagnostics are not positions
    fields = dict(
        step=1284, t=59.2149, wall_time=0.0, episode_index=2, frame_index=500, phase="recording",
        period_s=0.0334, lateness_s=0.0, observation=obs,
        action={f"{n}.pos": v for n, v in zip(NAMES, OUTPUT, strict=True)}, source="policy",
        policy=PolicyStep(inference_ms=0.04, forward_ms=None, queue_size=40, inputs={},
                          output=OutputStats(0, 1, -1, 1), chunk_forward_ms=14.31),
        task="Put the plastic part in the cup",
    )  # fmt: skip
    fields.update(changes)
    return ControlStep(**fields)


DOCUMENTED_BLOCK = """\
📊 INFERENCE STEP 1284 @ 59.21s
============================================================
🔧 SERVO POSITIONS:
   shoulder_pan.pos :    10.54
   shoulder_lift.pos:   -77.77
   elbow_flex.pos   :    90.34
   wrist_flex.pos   :   -15.65
   wrist_roll.pos   :    39.49
   gripper.pos      :     0.88
🎯 POLICY OUTPUT:
   shoulder_pan.pos :    12.63
   shoulder_lift.pos:   -73.23
   elbow_flex.pos   :    84.02
   wrist_flex.pos   :   -17.12
   wrist_roll.pos   :    38.28
   gripper.pos      :     0.62
⏱️  TIMING: Inference took 14.3ms
📋 TASK: Put the plastic part in the cup
============================================================"""


def test_step_block_is_the_documented_one_with_aligned_names():
    assert format_step(documented_step()) == DOCUMENTED_BLOCK


def test_block_lines_match_formats_md_where_it_shows_them():
    formats = Path(__file__).resolve().parents[1] / "docs/FORMATS.md"
    spec = formats.read_text().split("## Console step block")[1].split("```")[1].splitlines()
    block = format_step(documented_step()).splitlines()
    for line in spec:
        if line.strip() and line.strip() != "…" and "shoulder_pan.pos" not in line:
            assert line in block, line
    # the spec's value column: right-aligned in 8 characters after ": "
    assert block[3].endswith(":    10.54") and block[4].endswith(":   -77.77")


def test_teleop_and_hold_steps():
    teleop = format_step(documented_step(policy=None, source="teleop", task=""))
    assert "🎮 TELEOP ACTION:" in teleop and "🎯" not in teleop
    assert "⏱️  TIMING: Loop period 33.4ms" in teleop and "📋" not in teleop
    hold = format_step(documented_step(policy=None, source="hold", action=None))
    assert "ACTION" not in hold and "POLICY" not in hold
    assert hold.splitlines()[-1] == "=" * 60


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_blocks_are_rate_limited():
    out, clock = io.StringIO(), FakeClock()
    printer = ConsolePrinter(out, max_blocks_per_s=2, clock=clock)
    printed = []
    for i in range(90):  # 3 s at 30 Hz
        clock.now = 100.0 + i / 30
        printed.append(printer.step(documented_step(step=i)))
    assert sum(printed) == 6
    assert out.getvalue().count("📊 INFERENCE STEP") == 6
    assert "📊 INFERENCE STEP 0 @" in out.getvalue() and "📊 INFERENCE STEP 15 @" in out.getvalue()


def test_one_line_per_event():
    events = [
        (m.SessionStarted(at=0, robot="so101_follower", dataset_root="/data/u/pick",
                          repo_id="u/pick", num_episodes=10, devices=("so101_leader", "front"),
                          log_dir="inference_logs/pick/20250728_143052"),
         "▶ Session started: so101_follower with so101_leader, front → u/pick (10 episodes) in "
         "/data/u/pick; inference logs in inference_logs/pick/20250728_143052"),
        (m.EpisodeStarted(at=1, episode_index=3, task="Pick the cube"),
         "● Recording episode 3: Pick the cube"),
        (m.PhaseChanged(at=2, phase="reset", episode_index=3),
         "↻ Reset the environment (episode 3 next)"),
        (m.EpisodeSaved(at=3, episode_index=3, frames=900, save_s=0.123),
         "✔ Episode 3 saved: 900 frames (saved in 0.12s)"),
        (m.EpisodeDiscarded(at=4, episode_index=4, frames=450, reason="rerecord"),
         "✖ Episode 4 discarded (to record it again): 450 frames"),
        (m.DeviceFault(at=5, device="follower", message="servo 3 silent", recovered=True),
         "⚠ follower: servo 3 silent (recovered)"),
        (m.WarningRaised(at=6, message="shoulder_pan is at 62 °C"), "⚠ shoulder_pan is at 62 °C"),
        (m.UploadFinished(at=7, url="https://huggingface.co/datasets/u/pick"),
         "⇪ Uploaded: https://huggingface.co/datasets/u/pick"),
        (m.UploadFailed(at=7, message="401; retry with: lerecord push u/pick"),
         "✖ Upload failed: 401; retry with: lerecord push u/pick"),
        (m.SessionEnded(at=8, reason="stopped", episodes_saved=4, dataset_root="/data/u/pick"),
         "■ Session ended (stopped); 4 episodes saved in /data/u/pick"),
        (m.SessionEnded(at=8, reason="error", episodes_saved=0, dataset_root="/d", error="boom"),
         "■ Session ended (error: boom); 0 episodes saved in /d"),
        (m.SessionEnded(at=8, reason="completed", episodes_saved=1, dataset_root="/d"),
         "■ Session ended (completed); 1 episode saved in /d"),
    ]  # fmt: skip
    for event, line in events:
        assert format_event(event) == line
        assert "\n" not in line
    assert format_event(m.PhaseChanged(at=0, phase="recording", episode_index=1)) is None

    out = io.StringIO()
    printer = ConsolePrinter(out, wall_clock=lambda: 0.0)
    for event, _ in events:
        printer.event(event)
    printer.event(m.PhaseChanged(at=0, phase="done", episode_index=1))
    lines = out.getvalue().splitlines()
    assert len(lines) == len(events)
    assert all(line.startswith("[") and line[9:11] == "] " for line in lines)


def test_closed_stream_silences_the_printer():
    out = io.StringIO()
    printer = ConsolePrinter(out)
    out.close()
    assert printer.step(documented_step()) is False
    assert printer.event(m.WarningRaised(at=0, message="x")) is False


def test_step_blocks_off_prints_events_only():
    out = io.StringIO()
    printer = ConsolePrinter(out, steps=False)
    assert printer.step(documented_step()) is False
    printer.event(m.WarningRaised(at=0, message="x"))
    assert out.getvalue().endswith("⚠ x\n") and "📊" not in out.getvalue()


def test_resume_after_pause_gets_its_line():
    out = io.StringIO()
    printer = ConsolePrinter(out, wall_clock=lambda: 0.0)
    for phase in ("recording", "paused", "recording", "recording"):
        printer.event(m.PhaseChanged(at=0, phase=phase, episode_index=2))
    lines = [line[11:] for line in out.getvalue().splitlines()]
    assert lines == ["⏸ Paused: the arm holds its pose", "▶ Resumed (recording, episode 2)"]
