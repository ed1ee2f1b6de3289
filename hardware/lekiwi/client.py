"""LeKiwi as seen from the laptop (type `lekiwi_client`): the robot over the network.

Speaks lerobot's protocol (`protocol.py`) to a LeKiwi host — the real one on the robot's Pi,
lerobot's `lekiwi_host`, or `lerecord emulate lekiwi` here. Features are lerobot's:
`arm_<motor>.pos` ×6, `x.vel`, `y.vel`, `theta.vel`, plus one image per camera in `cameras`
(the host's camera names; their width/height give the image shape, and a camera given without
them takes the shape of the first frame the host sends, at connect).

Teleoperation as lerobot: a leader arm's `<motor>.pos` drive `arm_<motor>.pos` and the keyboard
drives the base with w/s/a/d/z/x and e/f speed levels (see `hardware.teleop.composite` and
`hardware.teleop.keyboard`).

When the host stops answering (no observation for `host_timeout_s`), the client sends a safe
stop — zero base velocity, the arm held at its last known pose — and `get_observation` raises
a `DeviceError` until observations come back. The host's own watchdog stops the base as well
when commands stop arriving.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import zmq

from hardware.base import Features, Robot, RobotConfig
from hardware.errors import DeviceError
from hardware.lekiwi import protocol
from hardware.lekiwi.host import ARM_MOTORS, BASE_FEATURES, STATE_FEATURES
from hardware.option import option

log = logging.getLogger(__name__)

STOP_DELIVERY_S = 0.3
TELEOP_KEYS = {  # lerobot's LeKiwiClientConfig.teleop_keys (command -> key)
    "forward": "w",
    "backward": "s",
    "left": "a",
    "right": "d",
    "rotate_left": "z",
    "rotate_right": "x",
    "speed_up": "r",
    "speed_down": "f",
    "quit": "q",
}
DIAGNOSTICS = ("load", "temperature", "voltage", "current")


@dataclass(kw_only=True)
class LeKiwiClientConfig(RobotConfig):
    type: ClassVar[str] = "lekiwi_client"
    remote_ip: str = option("127.0.0.1", help="address of the LeKiwi host (the robot's computer)")
    port_zmq_cmd: int = option(5555, help="host's ZMQ port for commands")
    port_zmq_observations: int = option(5556, help="host's ZMQ port for observations")
    polling_timeout_ms: int = option(15, help="wait for an observation per step", unit="ms")
    connect_timeout_s: float = option(5.0, help="wait for the host at connect", unit="s")
    host_timeout_s: float = option(
        1.0, help="silence after which the host counts as lost", unit="s"
    )
    teleop_keys: dict[str, str] = option(
        default_factory=lambda: dict(TELEOP_KEYS),
        help="base command -> key for a keyboard teleop (lerobot's map: lerecord's own, e faster)",
    )

    def keyboard_keys(self) -> dict[str, str] | None:
        """The keyboard's key map for the base (key -> command) when `teleop_keys` was changed;
        None for lerobot's map, where lerecord keeps its own (`r` stays the session's re-record
        key, `e` is faster). lerobot's "quit" is left to the console's keys."""
        if self.teleop_keys == TELEOP_KEYS:
            return None
        return {key: command for command, key in self.teleop_keys.items() if command != "quit"}


class LeKiwiClient(Robot):
    name: ClassVar[str] = "lekiwi_client"
    config: LeKiwiClientConfig

    def __init__(self, config: LeKiwiClientConfig):
        super().__init__(config)
        self._context: zmq.Context | None = None
        self._commands: zmq.Socket | None = None
        self._observations: zmq.Socket | None = None
        self._state: dict[str, float] = dict.fromkeys(STATE_FEATURES, 0.0)
        self._frames: dict[str, np.ndarray] = {}
        self._shapes = {name: (cfg.height, cfg.width, 3) for name, cfg in config.cameras.items()}
        self._lock = threading.Lock()
        self._received = 0  # observations taken in since connect
        self._new = threading.Condition(self._lock)
        self._last_received = 0.0
        self._silent = False
        self._receiver: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def _where(self) -> str:
        c = self.config
        return f"LeKiwi host at {c.remote_ip} (ports {c.port_zmq_cmd}/{c.port_zmq_observations})"

    # ---- features ------------------------------------------------------------------------------

    @property
    def observation_features(self) -> Features:
        if not self.is_connected and any(None in shape for shape in self._shapes.values()):
            self._ask_host_for_camera_shapes()
        return {**dict.fromkeys(STATE_FEATURES, float), **self._shapes}

    def _ask_host_for_camera_shapes(self) -> None:
        """Cameras given without width/height (as in the docs' LeKiwi example) take the size of
        the host's frames: read one observation on a short-lived socket."""
        c = self.config
        context = zmq.Context()
        probe = context.socket(zmq.PULL)
        probe.setsockopt(zmq.LINGER, 0)
        try:
            probe.connect(f"tcp://{c.remote_ip}:{c.port_zmq_observations}")
            if probe.poll(int(c.connect_timeout_s * 1000), zmq.POLLIN):
                _, images = protocol.decode_observation(probe.recv_multipart())
                for name, shape in self._shapes.items():
                    if None in shape and name in images:
                        self._shapes[name] = images[name].shape
        finally:
            probe.close()
            context.term()
        unknown = [name for name, shape in self._shapes.items() if None in shape]
        if unknown:
            raise DeviceError(
                f"lekiwi_client: camera(s) {', '.join(unknown)} have no width/height and the "
                f"{self._where} did not send them; start the host, or give width and height "
                "in --robot.cameras"
            )

    @property
    def action_features(self) -> Features:
        return dict.fromkeys(STATE_FEATURES, float)

    @property
    def diagnostic_features(self) -> Features:
        """The arm's servo readings the host sends along (for the console, never datasets)."""
        return {f"arm_{m}.{d}": float for m in ARM_MOTORS for d in DIAGNOSTICS}

    # ---- life cycle ----------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        return self._observations is not None

    def connect(self, calibrate: bool = True) -> None:
        if self.is_connected:
            return
        c = self.config
        self._context = zmq.Context()
        self._commands = self._context.socket(zmq.PUSH)
        self._commands.setsockopt(zmq.CONFLATE, 1)
        self._commands.setsockopt(zmq.LINGER, 200)
        self._commands.connect(f"tcp://{c.remote_ip}:{c.port_zmq_cmd}")
        self._observations = self._context.socket(zmq.PULL)
        self._observations.setsockopt(zmq.RCVHWM, 2)
        self._observations.setsockopt(zmq.LINGER, 0)
        self._observations.connect(f"tcp://{c.remote_ip}:{c.port_zmq_observations}")
        self._stop.clear()
        self._receiver = threading.Thread(
            target=self._receive_loop, name="lekiwi-observations", daemon=True
        )
        self._receiver.start()
        if not self._wait_for_observations(1, c.connect_timeout_s):
            self._close()
            raise DeviceError(
                f"lekiwi_client: no observation from the {self._where} within "
                f"{c.connect_timeout_s:g} s; start the host on the robot "
                "(python -m hardware.lekiwi.host) or here (lerecord emulate lekiwi), "
                "and check --robot.remote_ip"
            )
        for name, shape in self._shapes.items():
            if None in shape and name in self._frames:
                self._shapes[name] = self._frames[name].shape
        missing = [n for n, s in self._shapes.items() if None in s]
        if missing:
            self._close()
            raise DeviceError(
                f"lekiwi_client: the host sends no camera {', '.join(missing)} "
                f"(it sends: {', '.join(self._frames) or 'none'}); fix --robot.cameras"
            )

    def disconnect(self) -> None:
        if not self.is_connected:
            return
        self._send_safe_stop()
        # The host drops a command still queued when its sender goes away (CONFLATE): let it
        # run two loop turns (two observations) before closing, so the stop is applied.
        self._wait_for_observations(2, STOP_DELIVERY_S)
        self._close()

    def _close(self) -> None:
        self._stop.set()
        if self._receiver is not None:
            self._receiver.join(timeout=2)
            self._receiver = None
        for sock in (self._commands, self._observations):
            if sock is not None:
                sock.close()
        if self._context is not None:
            self._context.term()
        self._context = self._commands = self._observations = None

    # ---- observations --------------------------------------------------------------------------

    def _receive_loop(self) -> None:
        """The receiver thread: owns the observation socket, keeps the newest observation."""
        sock = self._observations
        assert sock is not None
        while not self._stop.is_set():
            if not sock.poll(self.config.polling_timeout_ms, zmq.POLLIN):
                continue
            newest = None
            while True:
                try:
                    newest = sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
            try:
                state, images = protocol.decode_observation(newest)
            except (ValueError, KeyError) as error:
                log.error("lekiwi_client: bad observation ignored: %s", error)
                continue
            with self._new:
                self._state.update(state)  # the state, and the arm's servo diagnostics
                self._frames.update(images)
                self._last_received = time.monotonic()
                self._received += 1
                self._new.notify_all()

    @property
    def observations_received(self) -> int:
        """Observations taken in since connecting (the host's rate as seen here)."""
        with self._lock:
            return self._received

    def _wait_for_observations(self, count: int, timeout_s: float) -> bool:
        """Wait until `count` more observations came in; False on timeout."""
        with self._new:
            target = self._received + count
            return self._new.wait_for(lambda: self._received >= target, timeout_s)

    def get_observation(self) -> dict[str, Any]:
        if not self.is_connected:
            raise DeviceError("lekiwi_client: not connected; call connect() first")
        with self._lock:
            state, frames = dict(self._state), dict(self._frames)
            silent_s = time.monotonic() - self._last_received
        if silent_s > self.config.host_timeout_s:
            if not self._silent:
                self._silent = True
                self._send_safe_stop()
            raise DeviceError(
                f"lekiwi_client: the {self._where} stopped answering "
                f"({silent_s:.1f} s without an observation); base stopped, arm held. "
                "Is the host still running and the network up?"
            )
        if self._silent:
            self._silent = False
            log.warning("lekiwi_client: the host answers again")
        obs: dict[str, Any] = state
        for name, shape in self._shapes.items():
            frame = frames.get(name)
            if frame is None or frame.shape != shape:
                frame = np.zeros(shape, dtype=np.uint8)
            obs[name] = frame
        return obs

    # ---- commands ------------------------------------------------------------------------------

    def _send(self, action: dict[str, float]) -> None:
        assert self._commands is not None
        self._commands.send(protocol.encode_command(action), zmq.NOBLOCK)

    def send_action(self, action: dict[str, float]) -> dict[str, float]:
        if not self.is_connected:
            raise DeviceError("lekiwi_client: not connected; call connect() first")
        if self._silent:
            return self._send_safe_stop()
        held = self._held_pose()
        sent = {k: float(action.get(k, held[k])) for k in STATE_FEATURES}
        self._send(sent)
        return sent

    def _held_pose(self) -> dict[str, float]:
        """The base stopped, the arm where it was last seen."""
        with self._lock:
            return {k: 0.0 if k in BASE_FEATURES else self._state[k] for k in STATE_FEATURES}

    def _send_safe_stop(self) -> dict[str, float]:
        stop = self._held_pose()
        try:
            self._send(stop)
        except zmq.ZMQError as error:
            log.error("lekiwi_client: could not send the stop command: %s", error)
        return stop

    def hold(self) -> None:
        if self.is_connected:
            self._send_safe_stop()

    def emergency_stop(self) -> None:
        """The protocol has no torque-off command: stop the base and hold the arm."""
        log.warning(
            "lekiwi_client: emergency stop sends a stop (the host cannot cut torque remotely)"
        )
        self.hold()
