"""What headless mode prints: the step block of FORMATS.md and one line per engine event.

`format_step` and `format_event` are pure; `ConsolePrinter` writes them to a stream, the step
blocks at most a few times a second (every step at 30 Hz would flood a terminal; the CSV logs
carry every step). This is the one place, with the CLI, that writes to the terminal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from core import messages as m
from core.step import ControlStep, PolicyStep

RULE = "=" * 60
OUTCOME_KEYS = {"success": "h", "failure": "m"}  # hit / miss, headless and console defaults


def format_step(step: ControlStep) -> str:
    """The block of FORMATS.md for one step (no trailing newline)."""
    positions = [(k, v) for k, v in step.observation.items() if k.endswith(".pos")]
    action = list((step.action or {}).items())
    width = max((len(k) for k, _ in positions + action), default=0)
    lines = [f"📊 INFERENCE STEP {step.step} @ {step.t:.2f}s", RULE, "🔧 SERVO POSITIONS:"]
    lines += [_value_line(k, v, width) for k, v in positions]
    if step.action is not None:
        lines.append("🎯 POLICY OUTPUT:" if step.source == "policy" else "🎮 TELEOP ACTION:")
        lines += [_value_line(k, v, width) for k, v in action]
    if step.policy is not None:
        lines.append(f"⏱️  TIMING: Inference took {_inference_ms(step.policy):.1f}ms")
    else:
        lines.append(f"⏱️  TIMING: Loop period {step.period_s * 1000:.1f}ms")
    if step.task:
        lines.append(f"📋 TASK: {step.task}")
    lines.append(RULE)
    return "\n".join(lines)


def _inference_ms(policy: PolicyStep) -> float:
    """The model's forward time behind this step's action (the step's own wait before any chunk
    exists): what `inference_time_ms` holds in the policy log."""
    return policy.chunk_forward_ms if policy.chunk_forward_ms is not None else policy.inference_ms


def _value_line(name: str, value: float | None, width: int) -> str:
    shown = "—".rjust(8) if value is None else f"{value:8.2f}"
    return f"   {name:<{width}}: {shown}"


def format_event(event: m.Event) -> str | None:
    """One line for an engine event, or None for events that need no line of their own."""
    if isinstance(event, m.SessionStarted):
        devices = f" with {', '.join(event.devices)}" if event.devices else ""
        logs = f"; inference logs in {event.log_dir}" if event.log_dir else ""
        policy = f"; policy {event.policy}" if event.policy else ""
        threads = f"; threads: {event.threads}" if event.threads else ""
        threads += f"; control thread {event.control}" if event.control else ""
        if not event.dataset_root:  # lerecord rollout --strategy.type=base
            what = "the policy runs, nothing is recorded"
            return f"▶ Session started: {event.robot}{devices}; {what}{logs}{policy}{threads}"
        count = f"{event.num_episodes} episodes" if event.num_episodes else "until stopped"
        return (
            f"▶ Session started: {event.robot}{devices} → {event.repo_id} "
            f"({count}) in {event.dataset_root}{logs}{policy}{threads}"
        )
    if isinstance(event, m.PhaseChanged):
        return {
            "reset": f"↻ Reset the environment (episode {event.episode_index} next)",
            "paused": "⏸ Paused: the arm holds its pose",
            "running": f"▶ The policy drives (episode {event.episode_index} next)",
            "buffering": "▶ The policy drives; the last seconds are kept for a highlight",
            "handover": "↝ Hand-over: the arm moves to the human's pose",
            "correction": f"✋ The human drives: correction {event.episode_index} recording",
            "returning": "↩ Back to the start pose",
            "waiting": "⏸ The arm holds: /start runs the policy",
        }.get(event.phase)  # "recording" has its own event (EpisodeStarted)
    if isinstance(event, m.EpisodeStarted):
        return f"● Recording episode {event.episode_index}: {event.task}"
    if isinstance(event, m.EpisodeSaved):
        return (
            f"✔ Episode {event.episode_index} saved: {event.frames} frames "
            f"(saved in {event.save_s:.2f}s)"
        )
    if isinstance(event, m.EpisodeDiscarded):
        reason = {"rerecord": "to record it again", "stop": "session stopped",
                  "emergency_stop": "emergency stop"}  # fmt: skip
        why = reason.get(event.reason, event.reason)
        return f"✖ Episode {event.episode_index} discarded ({why}): {event.frames} frames"
    if isinstance(event, m.OutcomeAsked):
        return (
            f"? Episode {event.episode_index}: success or failure? "
            f"({OUTCOME_KEYS['success']} / {OUTCOME_KEYS['failure']}; the reset waits for it "
            f"up to {event.wait_s:g} s past its time)"
        )
    if isinstance(event, m.OutcomeMarked):
        return f"★ Episode {event.episode_index}: {event.outcome}. Score: {event.score.summary()}"
    if isinstance(event, m.DeviceFault):
        state = "recovered" if event.recovered else "not recovered"
        return f"⚠ {event.device}: {event.message} ({state})"
    if isinstance(event, m.WarningRaised):
        return f"⚠ {event.message}"
    if isinstance(event, m.UploadFinished):
        return f"⇪ Uploaded: {event.url}"
    if isinstance(event, m.UploadFailed):
        return f"✖ Upload failed: {event.message}"
    if isinstance(event, m.EditsPending):
        if not event.episodes and not event.tasks:
            return "✂ No edit waits for the end of the session"
        edits = [f"delete {deletions(event.episodes)}"] if event.episodes else []
        edits += [f"episode {index}'s task becomes {task!r}" for index, task in event.tasks]
        return (
            f"✂ When the session ends: {'; '.join(edits)} "
            "(u in the review takes a delete back; a session killed before its end keeps "
            "every episode as recorded)"
        )
    if isinstance(event, m.SessionEnded):
        error = f": {event.error}" if event.error else ""
        score = f"\n  Score: {event.score.summary()}" if event.score is not None else ""
        edited = "".join(f"\n  {line}" for line in edited_lines(event))
        return (
            f"■ Session ended ({event.reason}{error}); {episodes(event.episodes_saved)} "
            f"saved in {event.dataset_root}{score}{edited}"
        )
    return None


def deletions(indices: tuple[int, ...]) -> str:
    """'episode 1', 'episodes 1, 4'."""
    return ("episode " if len(indices) == 1 else "episodes ") + ", ".join(map(str, indices))


def edited_lines(ended: m.SessionEnded) -> list[str]:
    """The summaries' lines for the review's edits applied at the session's end."""
    lines = []
    if ended.deleted:
        lines.append(
            f"Deleted at the end: {deletions(ended.deleted)} (the others renumbered from 0)"
        )
    if ended.retasked:
        lines.append(f"New task at the end: {deletions(ended.retasked)} (as renumbered)")
    return lines


def episodes(count: int) -> str:
    """'1 episode', '3 episodes'."""
    return f"{count} episode" if count == 1 else f"{count} episodes"


class ConsolePrinter:
    """Writes step blocks (rate-limited; none when `steps` is False) and event lines, stamped
    with the wall-clock time, to `stream`. A closed stream (a pipe to `head`) silences it."""

    def __init__(
        self,
        stream: TextIO,
        steps: bool = True,
        max_blocks_per_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ):
        self.stream = stream
        self.steps = steps  # print step blocks (headless prints them with --log=true)
        self.min_interval_s = 1.0 / max_blocks_per_s if max_blocks_per_s > 0 else float("inf")
        self._clock = clock
        self._wall_clock = wall_clock
        self._last_block: float | None = None
        self._phase = ""
        self._closed = False

    def step(self, step: ControlStep) -> bool:
        """Print the step's block unless one was printed less than `min_interval_s` ago."""
        if not self.steps:
            return False
        now = self._clock()
        if self._last_block is not None and now - self._last_block < self.min_interval_s:
            return False
        self._last_block = now
        return self._write(format_step(step))

    def event(self, event: m.Event) -> bool:
        line = format_event(event)
        if isinstance(event, m.PhaseChanged):
            if self._phase == "paused" and event.phase != "paused":
                line = f"▶ Resumed ({event.phase}, episode {event.episode_index})"
            self._phase = event.phase
        if line is None:
            return False
        stamp = time.strftime("%H:%M:%S", time.localtime(self._wall_clock()))
        return self._write(f"[{stamp}] {line}")

    def _write(self, text: str) -> bool:
        if self._closed:
            return False
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # broken pipe, closed file
            self._closed = True
            return False
        return True
