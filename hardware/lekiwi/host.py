"""The LeKiwi robot on its Raspberry Pi, and the host loop serving it to clients over ZMQ.

`LeKiwi` (type `lekiwi`) is the SO arm follower (motors 1–6) plus the three omniwheel motors
(ids 7, 8, 9, velocity mode) plus the robot's cameras. Its features are lerobot's: the arm's
`<motor>.pos` prefixed `arm_`, and the base's body velocities `x.vel`, `y.vel` (m/s) and
`theta.vel` (deg/s) — measured from the wheels in observations, commanded in actions.

`LeKiwiHost` runs lerobot's host loop (see `protocol.py`): each turn it applies the newest
command, stops the base when no command came for `watchdog_timeout_ms`, reads an observation
and pushes it, at most `max_loop_freq_hz` times a second.

    python -m hardware.lekiwi.host --port /dev/ttyACM0 --id my_kiwi
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

import numpy as np
import zmq

from hardware.base import Camera, CameraConfig, Features, Robot, RobotConfig
from hardware.errors import ConfigError, DeviceError
from hardware.feetech.calibration import CalibrationFile, MotorCalibration, calibration_path
from hardware.feetech.tables import RESOLUTION
from hardware.lekiwi import protocol
from hardware.lekiwi.feetech_wheels import FeetechWheels
from hardware.lekiwi.wheels import (
    WHEEL_IDS,
    WHEELS,
    Wheels,
    body_to_wheel_raw,
    wheel_raw_to_body,
)
from hardware.option import option
from hardware.registry import config_class, make_camera, make_robot

if TYPE_CHECKING:
    from hardware.so_arm.follower import SoFollower

log = logging.getLogger(__name__)

SIM_PORT = "sim"
ARM_MOTORS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
BASE_FEATURES = ("x.vel", "y.vel", "theta.vel")
STATE_FEATURES = tuple(f"arm_{m}.pos" for m in ARM_MOTORS) + BASE_FEATURES


@dataclass(kw_only=True)
class LeKiwiConfig(RobotConfig):
    type: ClassVar[str] = "lekiwi"
    port: str = option(
        "/dev/ttyACM0", help="serial port of the arm's and wheels' servo bus ('sim': emulated)"
    )
    arm_type: str = option(
        "so100_follower", help="the arm on the base", choices=("so100_follower", "so101_follower")
    )
    use_degrees: bool = option(True, help="joint positions in degrees (else -100..100)")
    max_relative_target: float | dict[str, float] | None = option(
        None, help="cap on |goal - present| per step: one number, or one per motor"
    )
    disable_torque_on_disconnect: bool = option(True, help="release the motors when done")
    num_read_retries: int = option(2, help="retries of a failed bus read before a fault")
    cameras: dict[str, CameraConfig] = option(
        default_factory=dict, help="the base's cameras by name"
    )


def calibration_file(config: LeKiwiConfig) -> CalibrationFile:
    """lerobot's LeKiwi file, `robots/lekiwi/<id>.json` (or `<calibration_dir>/<id>.json`): the
    arm's motors as `arm_<motor>`, then the wheels, which lerobot calibrates to a full turn."""
    if config.calibration_dir is not None:
        path = Path(config.calibration_dir).expanduser() / f"{config.id}.json"
    else:
        path = calibration_path("robots", LeKiwi.name, str(config.id))
    wheels = tuple(
        (name, MotorCalibration(servo_id, 0, 0, 0, RESOLUTION["sts3215"] - 1))
        for name, servo_id in zip(WHEELS, WHEEL_IDS, strict=True)
    )
    return CalibrationFile(path, prefix="arm_", others=wheels)


class LeKiwi(Robot):
    name: ClassVar[str] = "lekiwi"
    config: LeKiwiConfig

    def __init__(self, config: LeKiwiConfig):
        super().__init__(config)
        # the arm's SO follower: its link and bus carry the wheels too
        self.arm = cast("SoFollower", make_robot(self._arm_config()))
        self.arm.link.keep_calibration_in(calibration_file(config))
        if config.port == SIM_PORT:
            # the arm's emulator serves the whole LeKiwi bus: arm 1..6 and wheels 7..9
            self.arm.link.device_type = "lekiwi"
        self.wheels: Wheels | None = None  # on the arm's bus, opened once the arm has connected
        self.cameras: dict[str, Camera] = {
            name: make_camera(cfg, name) for name, cfg in config.cameras.items()
        }
        self._last_arm_pose: dict[str, float] = {}
        self._connected = False

    def _arm_config(self) -> RobotConfig:
        c = self.config
        return config_class("robot", c.arm_type)(
            port=c.port,
            id=c.id,
            use_degrees=c.use_degrees,
            num_read_retries=c.num_read_retries,
            calibration_dir=c.calibration_dir,
            max_relative_target=_unprefixed(c.max_relative_target),
            disable_torque_on_disconnect=c.disable_torque_on_disconnect,
        )

    # ---- features ------------------------------------------------------------------------------

    @property
    def observation_features(self) -> Features:
        cams = {name: (cfg.height, cfg.width, 3) for name, cfg in self.config.cameras.items()}
        return {**dict.fromkeys(STATE_FEATURES, float), **cams}

    @property
    def action_features(self) -> Features:
        return dict.fromkeys(STATE_FEATURES, float)

    @property
    def diagnostic_features(self) -> Features:
        return {f"arm_{k}": v for k, v in self.arm.diagnostic_features.items()}

    # ---- life cycle ----------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        return self._connected

    def connect(self, calibrate: bool = True) -> None:
        self.arm.connect(calibrate)
        try:
            if self.wheels is None:
                self.wheels = FeetechWheels(self.arm.bus)
            self.wheels.connect()
            for camera in self.cameras.values():
                camera.follow_pose(self._arm_pose)
                camera.connect()
        except BaseException:
            self._connected = True
            self.disconnect()
            raise
        self._connected = True

    def calibration_steps(self):
        """The arm's step-by-step calibration (`lerecord calibrate --robot.type=lekiwi`); the
        wheels turn freely and need none."""
        return self.arm.calibration_steps()

    def joint_ranges(self) -> dict[str, tuple[float, float]]:
        return {f"arm_{m}": r for m, r in self.arm.joint_ranges().items()}

    def take_recoveries(self) -> list[str]:
        return self.arm.take_recoveries()

    def _arm_pose(self) -> dict[str, float]:
        return self._last_arm_pose

    def disconnect(self) -> None:
        if not self._connected:
            return
        try:
            if self.wheels is not None:
                self.wheels.disconnect()
        finally:
            for camera in self.cameras.values():
                camera.disconnect()
            self.arm.disconnect()
            self._connected = False

    # ---- motion --------------------------------------------------------------------------------

    def get_observation(self) -> dict[str, Any]:
        arm = self.arm.get_observation()
        self._last_arm_pose = {k: v for k, v in arm.items() if k.endswith(".pos")}
        obs: dict[str, Any] = {
            f"arm_{k}": v for k, v in arm.items() if not isinstance(v, np.ndarray)
        }
        obs.update(wheel_raw_to_body(self.wheels.speeds()))
        for name, camera in self.cameras.items():
            frame = camera.read_latest()
            if frame is not None:
                obs[name] = frame.image
        return obs

    def send_action(self, action: dict[str, float]) -> dict[str, float]:
        arm_goals = {k.removeprefix("arm_"): v for k, v in action.items() if k.startswith("arm_")}
        sent = (
            {f"arm_{k}": v for k, v in self.arm.send_action(arm_goals).items()} if arm_goals else {}
        )
        raw = body_to_wheel_raw(*(float(action.get(k, 0.0)) for k in BASE_FEATURES))
        self.wheels.set_speeds(raw)
        sent.update(wheel_raw_to_body(raw))  # after the wheel speed limit
        return sent

    def stop_base(self) -> None:
        self.wheels.stop()

    def hold(self) -> None:
        self.wheels.stop()
        self.arm.hold()

    def emergency_stop(self) -> None:
        self.wheels.stop()
        self.arm.emergency_stop()


def _unprefixed(target: float | dict[str, float] | None) -> float | dict[str, float] | None:
    """lerobot's LeKiwi names the arm's motors `arm_<motor>`; the SO follower `<motor>`."""
    if isinstance(target, dict):
        return {k.removeprefix("arm_"): v for k, v in target.items()}
    return target


# ---- the host loop -----------------------------------------------------------------------------


@dataclass(kw_only=True)
class LeKiwiHostConfig:
    bind_ip: str = option("0.0.0.0", help="address the host listens on (the emulator: 127.0.0.1)")
    port_zmq_cmd: int = option(5555, help="ZMQ port for commands")
    port_zmq_observations: int = option(5556, help="ZMQ port for observations")
    connection_time_s: float | None = option(
        None, help="serve this long (lerobot: 30), none: until stopped", unit="s"
    )
    watchdog_timeout_ms: int = option(
        500, help="stop the base when no command came for this long", unit="ms"
    )
    max_loop_freq_hz: int = option(30, help="rate of the host loop", unit="Hz")


class LeKiwiHost:
    """Serves a connected LeKiwi to ZMQ clients until `stop` is set (or connection_time_s)."""

    def __init__(self, robot: LeKiwi, config: LeKiwiHostConfig | None = None):
        self.robot = robot
        self.config = config or LeKiwiHostConfig()
        c = self.config
        self._context = zmq.Context()
        self.commands = self._context.socket(zmq.PULL)
        self.commands.setsockopt(zmq.CONFLATE, 1)
        self.observations = self._context.socket(zmq.PUSH)
        self.observations.setsockopt(zmq.SNDHWM, 2)
        self.observations.setsockopt(zmq.LINGER, 0)
        self.commands.setsockopt(zmq.LINGER, 0)
        for sock, port in (
            (self.commands, c.port_zmq_cmd),
            (self.observations, c.port_zmq_observations),
        ):
            try:
                sock.bind(f"tcp://{c.bind_ip}:{port}")
            except zmq.ZMQError as error:
                self.close()
                raise DeviceError(
                    f"lekiwi host: cannot listen on {c.bind_ip}:{port} ({error}); "
                    "is another host running? choose other ports"
                ) from error
        self.commands_received = 0
        self.observations_sent = 0
        self.base_stopped_by_watchdog = True  # the robot connects with the base stopped
        self.observation_failing = False

    def serve(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        period = 1.0 / self.config.max_loop_freq_hz
        started = last_command = time.monotonic()
        deadline = started
        while not stop.is_set():
            if self.config.connection_time_s is not None:
                if time.monotonic() - started >= self.config.connection_time_s:
                    log.info("lekiwi host: connection time reached")
                    return
            if self._apply_newest_command():
                last_command = time.monotonic()
                self.base_stopped_by_watchdog = False
            elif not self.base_stopped_by_watchdog and (
                time.monotonic() - last_command > self.config.watchdog_timeout_ms / 1000
            ):
                log.warning(
                    "lekiwi host: no command for %d ms, stopping the base",
                    self.config.watchdog_timeout_ms,
                )
                self._stop_base()
                self.base_stopped_by_watchdog = True
            self._push_observation()
            deadline += period
            stop.wait(max(0.0, deadline - time.monotonic()))
            if time.monotonic() - deadline > period:
                deadline = time.monotonic()  # fell behind: restart the beat, do not burst

    def _apply_newest_command(self) -> bool:
        try:
            message = self.commands.recv(zmq.NOBLOCK)
        except zmq.Again:
            return False
        try:
            action = protocol.decode_command(message)
        except ValueError as error:
            log.error("lekiwi host: bad command ignored: %s", error)
            return False
        if self.observation_failing:  # blind: the arm may move, the base may not
            action = {k: 0.0 if k in BASE_FEATURES else v for k, v in action.items()}
        try:
            self.robot.send_action(action)
        except (ValueError, DeviceError) as error:
            log.error("lekiwi host: command not applied: %s", error)
            self._stop_base()
            return False
        self.commands_received += 1
        return True

    def _stop_base(self) -> None:
        try:
            self.robot.stop_base()
        except DeviceError as error:
            log.error("lekiwi host: could not stop the base: %s", error)

    def _push_observation(self) -> None:
        try:
            obs = self.robot.get_observation()
        except DeviceError as error:
            # nothing is sent: the client sees a silent host; the base must not drive blind
            if not self.observation_failing:
                log.error("lekiwi host: cannot observe the robot (%s); base stopped", error)
                self.observation_failing = True
                self._stop_base()
            return
        if self.observation_failing:
            log.warning("lekiwi host: observing the robot again")
            self.observation_failing = False
        images = {k: v for k, v in obs.items() if isinstance(v, np.ndarray) and v.ndim == 3}
        state = {k: v for k, v in obs.items() if k not in images}
        try:
            self.observations.send_multipart(
                protocol.encode_observation(state, images), flags=zmq.NOBLOCK
            )
            self.observations_sent += 1
        except zmq.Again:
            pass  # no client, or it is behind: drop this one

    def close(self) -> None:
        self.commands.close()
        self.observations.close()
        self._context.term()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hardware.lekiwi.host", description=__doc__)
    parser.add_argument("--port", default="/dev/ttyACM0", help="Feetech bus of arm and wheels")
    parser.add_argument("--id", default=None, help="calibration id of the arm")
    parser.add_argument("--cameras", default="{}", help='JSON: {"front": {"type": "opencv", …}}')
    parser.add_argument("--bind-ip", default="0.0.0.0")
    parser.add_argument("--port-zmq-cmd", type=int, default=5555)
    parser.add_argument("--port-zmq-observations", type=int, default=5556)
    parser.add_argument("--connection-time-s", type=float, default=None)
    parser.add_argument("--watchdog-timeout-ms", type=int, default=500)
    parser.add_argument("--max-loop-freq-hz", type=int, default=30)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    robot = LeKiwi(LeKiwiConfig(port=args.port, id=args.id, cameras=camera_configs(args.cameras)))
    host_config = LeKiwiHostConfig(
        bind_ip=args.bind_ip,
        port_zmq_cmd=args.port_zmq_cmd,
        port_zmq_observations=args.port_zmq_observations,
        connection_time_s=args.connection_time_s,
        watchdog_timeout_ms=args.watchdog_timeout_ms,
        max_loop_freq_hz=args.max_loop_freq_hz,
    )
    return run_host(robot, host_config)


def camera_configs(text: str) -> dict[str, CameraConfig]:
    """`{"front": {"type": "opencv", "index_or_path": 0, …}}` -> camera configs."""
    try:
        specs = json.loads(text)
        return {
            name: config_class("camera", spec["type"])(
                **{k: v for k, v in spec.items() if k != "type"}
            )
            for name, spec in specs.items()
        }
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(
            f"--cameras: {error}; give JSON like "
            '{"front": {"type": "opencv", "index_or_path": 0}}'
        ) from error


def run_host(
    robot: LeKiwi,
    host_config: LeKiwiHostConfig,
    stop: threading.Event | None = None,
    on_ready: Callable[[LeKiwiHost], None] | None = None,
) -> int:
    """Connect the robot, serve it until `stop` (or Ctrl-C), leave it safe and closed."""
    robot.connect()
    try:
        host = LeKiwiHost(robot, host_config)
        try:
            log.info(
                "lekiwi host: serving on %s:%d/%d",
                host_config.bind_ip,
                host_config.port_zmq_cmd,
                host_config.port_zmq_observations,
            )
            if on_ready is not None:
                on_ready(host)
            host.serve(stop)
        finally:
            host.close()
    except KeyboardInterrupt:
        pass
    finally:
        robot.disconnect()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
