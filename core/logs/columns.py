"""The inference logs' columns (FORMATS.md) and how one `ControlStep` becomes their rows.

Pure functions: the writer thread calls them, the control thread never does. Values are written
in physical units as the robot reports them (positions calibrated, load %, °C, V, mA); a value
the step did not have is an empty cell, which pandas reads as NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from core.step import ControlStep

DIAGNOSTICS = ("pos", "load", "temperature", "voltage", "current")


@dataclass(frozen=True)
class LogLayout:
    """What a session logs: the motors, the policy's state inputs and its action outputs."""

    motors: tuple[str, ...]
    state_names: tuple[str, ...]
    action_names: tuple[str, ...]

    @cached_property
    def _diagnostic_keys(self) -> tuple[str, ...]:
        return tuple(f"{m}.{d}" for m in self.motors for d in DIAGNOSTICS)

    @cached_property
    def _position_keys(self) -> tuple[str, ...]:
        return tuple(f"{m}.pos" for m in self.motors)

    def robot_state_columns(self) -> list[str]:
        return [
            "timestamp", "wall_time", "step", "episode_index", "frame_index", "phase",
            "robot_connected", "control_loop_hz", "loop_period_ms",
            *(f"{m}.{d}" for m in self.motors for d in DIAGNOSTICS),
        ]  # fmt: skip

    def policy_columns(self) -> list[str]:
        return [
            "timestamp", "step", "episode_index", "frame_index",
            "inference_time_ms", "forward_time_ms", "step_wait_ms", "queue_size",
            *(f"obs.{n}" for n in self.state_names),
            *(f"action.{n}" for n in self.action_names),
            "output_mean", "output_std", "output_min", "output_max", "task",
            "origin", "chunk_step", "chunks_received", "dropped_actions", "held_steps",
            "policy_reachable",
        ]  # fmt: skip

    def trajectory_columns(self) -> list[str]:
        return [
            "timestamp", "step", "episode_index", "frame_index", "source",
            *(f"{m}.{k}" for m in self.motors for k in ("current", "target", "error")),
            "event", "task",
        ]  # fmt: skip

    def robot_state_row(self, s: ControlStep) -> list[Any]:
        obs = s.observation
        hz = 1.0 / s.period_s if s.period_s > 0 else None
        return [
            _time(s.t), _iso(s.wall_time), s.step, s.episode_index, s.frame_index, s.phase,
            "true" if s.robot_connected else "false", _num(hz), _num(s.period_s * 1000.0),
            *[_num(obs.get(k)) for k in self._diagnostic_keys],
        ]  # fmt: skip

    def policy_row(self, s: ControlStep) -> list[Any]:
        p = s.policy
        assert p is not None
        action = s.action or {}
        return [
            _time(s.t), s.step, s.episode_index, s.frame_index,
            _num(p.chunk_forward_ms), _num(p.forward_ms), _num(p.inference_ms), p.queue_size,
            *[_num(p.inputs.get(n)) for n in self.state_names],
            *[_num(action.get(n)) for n in self.action_names],
            _num(p.output.mean), _num(p.output.std), _num(p.output.min), _num(p.output.max),
            s.task, p.origin, "" if p.chunk_step is None else p.chunk_step, p.chunks, p.dropped,
            p.starvations, "false" if p.link_error else "true",
        ]  # fmt: skip

    def trajectory_row(self, s: ControlStep) -> list[Any]:
        cells: list[Any] = [_time(s.t), s.step, s.episode_index, s.frame_index, s.source]
        observation, action = s.observation, s.action or {}
        for key in self._position_keys:
            current = observation.get(key)
            target = action.get(key)
            error = target - current if target is not None and current is not None else None
            cells += (_num(current), _num(target), _num(error))
        return cells + [s.event, s.task]


def _num(value: float | int | None) -> str:
    if value is None:
        return ""
    return format(float(value), ".8g")  # 8 significant digits: a dataset's float32, and more


def _time(t: float) -> str:
    return f"{t:.6f}"


def _iso(wall_time: float) -> str:
    return datetime.fromtimestamp(wall_time).astimezone().isoformat(timespec="milliseconds")
