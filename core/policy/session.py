"""The policy as a session uses it: robot observations in, robot actions out, one step a call.

`SessionPolicy.load` does every check before a motor connects (checkpoint, device, features
against the robot) and warms the model up so the first episode's timing is representative.
"""

from __future__ import annotations

import logging
from typing import Any

from core.policy.features import FeatureMapping, match_features
from core.policy.loading import load_policy
from core.policy.policy import Policy
from core.policy.runner import PolicyRunner
from core.step import PolicyStep

log = logging.getLogger(__name__)


class SessionPolicy:
    def __init__(self, policy: Policy, mapping: FeatureMapping, runner: PolicyRunner):
        self.policy = policy
        self.mapping = mapping
        self.runner = runner
        self._step = 0

    @classmethod
    def load(cls, config: Any, devices: Any, fps: float) -> SessionPolicy:
        """`config`: path, device, use_amp, async_ (lerecord's PolicyConfig); `devices.robot`
        gives the observation and action features. Raises ConfigError on any mismatch."""
        policy = load_policy(
            config.path,
            device=getattr(config, "device", "cpu"),
            use_amp=config.use_amp,
            **config.checkpoint_options(),
        )
        robot = devices.robot
        mapping = match_features(policy, robot.observation_features, robot.action_features)
        runner = PolicyRunner(
            policy, fps, async_mode=getattr(config, "async_", True), state_names=mapping.state_names
        )
        log.info("policy forward %.0f ms after warm-up", runner.warmup())
        return cls(policy, mapping, runner)

    def start_episode(self, observation: dict[str, Any] | None = None) -> None:
        """Reset the policy (each episode); with the robot's observation, compute a chunk now."""
        self._step = 0
        inputs = None if observation is None else self.mapping.to_policy(observation)
        self.runner.start_episode(inputs)

    def act(self, observation: dict[str, Any]) -> tuple[dict[str, float] | None, PolicyStep]:
        """The robot action for this step (None: nothing to send yet, hold the arm)."""
        action, record = self.runner.act(self.mapping.to_policy(observation), self._step)
        self._step += 1
        return (None if action is None else self.mapping.to_robot(action)), record

    def close(self) -> None:
        self.runner.close()
