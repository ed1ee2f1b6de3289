"""The policy as a session uses it: robot observations in, robot actions out, one step a call.

`SessionPolicy.load` does every check before a motor connects (checkpoint, device, features
against the robot) and warms the model up so the first episode's timing is representative.
"""

from __future__ import annotations

import logging
from typing import Any

from core.policy.features import FeatureMapping, match_features
from core.policy.loading import LEROBOT, SERVER, backend, load_policy
from core.policy.policy import Policy
from core.policy.runner import PolicyRunner
from core.step import PolicyStep
from hardware.errors import ConfigError

log = logging.getLogger(__name__)


class SessionPolicy:
    def __init__(self, policy: Policy, mapping: FeatureMapping, runner: PolicyRunner):
        self.policy = policy
        self.mapping = mapping
        self.runner = runner
        self._step = 0

    @classmethod
    def load(
        cls, config: Any, devices: Any, fps: float, task: str = "", threads: int | None = None
    ) -> SessionPolicy:
        """`config`: lerecord's PolicyConfig; `devices.robot` gives the observation and action
        features; `task` goes to policies that read it; `threads`: the policy's share of the
        thread budget. Raises ConfigError on any mismatch, on a policy server that cannot be
        reached or refuses, before any motor moves."""
        robot = devices.robot
        kind = backend(config)
        policy: Policy
        if kind == SERVER:
            from core.policy.remote.policy import connect_remote

            policy, mapping = connect_remote(config, robot, task)
        else:
            if kind == LEROBOT:
                from core.policy.lerobot_classes import load_lerobot_policy

                policy = load_lerobot_policy(config.path, config.device, task)
            else:
                options = config.checkpoint_options()
                renames = options.pop("renames", {})
                policy = load_policy(
                    config.path,
                    device=config.device,
                    use_amp=config.use_amp,
                    backend=config.backend,
                    threads=threads,
                    **options,
                )
                policy.rename_map.update(renames)  # `--rename_map`: robot key -> policy's name
            mapping = match_features(policy, robot.observation_features, robot.action_features)
        runner = PolicyRunner(
            policy, fps, async_mode=config.async_, state_names=mapping.state_names
        )
        try:
            log.info("policy forward %.0f ms after warm-up (%s)", runner.warmup(), policy.where)
        except Exception as error:  # a lost server, a refused reply, a server failing on it
            runner.close()
            if isinstance(error, ConfigError):
                raise
            why = f"the policy did not run on this robot's observation: {error}"
            raise ConfigError(why) from None
        return cls(policy, mapping, runner)

    def describe(self) -> str:
        """Where the policy runs, for the session's first line."""
        threads = self.policy.threads
        shown = f", {threads} thread{'s' if threads != 1 else ''}" if threads else ""
        return f"{self.policy.where}{shown}"

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
