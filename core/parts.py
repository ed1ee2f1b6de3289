"""What an opened session is made of, and the two adapters the control loop sees it through.

`core.setup.open_session` builds a `SessionParts`; the `Session` keeps it and hands the control
loop a `DeviceActions` (its action source) and a `RecorderFrames` (its frame sink).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core import messages as m
from core.devices import Devices
from core.plan import Phase
from core.step import PolicyStep
from core.threads import ThreadBudget


@dataclass
class SessionParts:
    devices: Devices
    recorder: Any  # core.dataset.DatasetRecorder; None when a rollout records nothing (base)
    policy: Any = None  # core.policy.session.SessionPolicy
    inference_log: Any = None  # core.logs.InferenceLog
    voice: Any = None  # core.voice.Voice
    threads: ThreadBudget | None = None  # the cores' share each consumer got

    @property
    def first_episode(self) -> int:
        """The index this session's first episode gets (after a resumed dataset's episodes)."""
        return 0 if self.recorder is None else self.recorder.meta.total_episodes


class DeviceActions:
    """The policy during phases it drives (when there is one), else the teleoperator, else
    nothing (the arm holds)."""

    def __init__(self, devices: Devices, policy: Any = None):
        self.devices = devices
        self.policy = policy

    def start_episode(self, observation: dict | None) -> None:
        if self.policy is not None:
            self.policy.start_episode(observation)

    def choose(
        self, phase: Phase, observation: dict
    ) -> tuple[dict[str, float] | None, str, PolicyStep | None]:
        if phase.policy_drives and self.policy is not None:
            action, policy_step = self.policy.act(observation)
            return action, "policy", policy_step
        if self.devices.teleop is not None:
            return self.devices.teleop_action(observation), "teleop", None
        return None, "hold", None

    def key(self, key: m.TeleopKey) -> None:
        self.devices.teleop_key(key)


class RecorderFrames:
    """Observations and actions (dicts by feature name) into the recorder's arrays; a saved
    episode also flushes the inference log, so both are on disk together. An outcome marked
    during a reset applies to the episode saved last."""

    def __init__(self, parts: SessionParts, task: str):
        self.recorder = parts.recorder
        self.inference_log = parts.inference_log
        self.task = task
        self.state_names = parts.devices.state_names
        self.action_names = parts.devices.action_names
        self.camera_names = parts.devices.camera_names
        self._last_saved: int | None = None  # the episode a mark during the reset applies to
        self.awaiting_outcome = False  # the episode saved last has no outcome yet

    def phase_started(self, phase: Phase) -> None:
        """Record's frames go to the dataset whatever the phase (rollouts: RolloutFrames)."""

    def start_episode(self) -> None:
        self.recorder.start_episode()

    def arrays(self, observation: dict, action: dict[str, float]):
        """(state, action, images) of one step, as the recorder takes them."""
        state = _vector(observation, self.state_names)
        act = _vector(action, self.action_names)
        return state, act, {cam: observation[cam] for cam in self.camera_names}

    def add(self, observation: dict, action: dict[str, float]) -> None:
        state, act, images = self.arrays(observation, action)
        self.recorder.add_frame(state, act, images, self.task)

    def between_steps(self) -> None:
        if self.recorder is not None:  # a rollout may record nothing
            self.recorder.between_steps()

    def save_episode(self, outcome: str | None = None) -> None:
        handle = self.recorder.save_episode(outcome)
        self._last_saved, self.awaiting_outcome = handle.expected_index, outcome is None
        if self.inference_log is not None:
            self.inference_log.flush()

    def mark_outcome(self, outcome: str) -> int | None:
        """Mark the episode saved last; its index, or None when there is none to mark."""
        if self._last_saved is None:
            return None
        self.recorder.mark_outcome(self._last_saved, outcome)
        self.awaiting_outcome = False
        return self._last_saved

    def discard_episode(self) -> None:
        self.recorder.discard_episode()

    def remove_last_episode(self) -> bool:
        removed = self.recorder.remove_last_episode()
        if removed:
            self._last_saved, self.awaiting_outcome = None, False
        return removed

    @property
    def episodes_saved(self) -> int:
        return self.recorder.episodes_saved

    @property
    def dropped_frames(self) -> int:
        return self.recorder.dropped_frames

    @property
    def encoder_backlog(self) -> int:
        return self.recorder.encoder_backlog


def _vector(values: dict, names: list[str]) -> np.ndarray:
    return np.fromiter((values[k] for k in names), np.float32, len(names))
