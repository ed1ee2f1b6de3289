"""The SO-100 / SO-101 follower arm, as lerobot's `SOFollower` (robot_type "so_follower").

One control step costs one sync read (registers 56..70 of the six servos: position for the
dataset plus load, temperature, voltage and current for the console) and one sync write of the
goals; with `max_relative_target` set, one more sync read of positions, as lerobot does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hardware.base import Features, Robot, RobotConfig, camera_features
from hardware.errors import ConfigError, DeviceError
from hardware.feetech.bus import FeetechBus
from hardware.option import option
from hardware.so_arm.arm import MOTOR_IDS, ArmLink

log = logging.getLogger(__name__)

DIAGNOSTICS = ("load", "temperature", "voltage", "current")
PHASE_BIT = 0x10


@dataclass(kw_only=True)
class So100FollowerConfig(RobotConfig):
    """lerobot's SOFollowerConfig fields and defaults (0.6.1)."""

    type: ClassVar[str] = "so100_follower"
    port: str = option(
        help="serial port of the arm's servo bus ('sim': an emulated arm)", example="/dev/ttyACM0"
    )
    disable_torque_on_disconnect: bool = option(True, help="release the motors when done")
    max_relative_target: float | dict[str, float] | None = option(
        None,
        help="cap on |goal - present| per step: one number, or one per motor '{\"gripper\": 5}'",
    )
    use_degrees: bool = option(True, help="joint positions in degrees (else -100..100)")
    position_p_coefficient: int = option(16, help="servo position loop P gain")
    position_i_coefficient: int = option(0, help="servo position loop I gain")
    position_d_coefficient: int = option(32, help="servo position loop D gain")
    num_read_retries: int = option(2, help="retries of a failed bus read before a fault")

    def __post_init__(self) -> None:
        target = self.max_relative_target
        if isinstance(target, dict):
            unknown = sorted(set(target) - set(MOTOR_IDS))
            if unknown:
                raise ConfigError(
                    f"--robot.max_relative_target: unknown motor(s) {unknown}; "
                    f"motors are {', '.join(MOTOR_IDS)}"
                )
            values = list(target.values())
        else:
            values = [] if target is None else [target]
        if any(not isinstance(v, (int, float)) or v <= 0 for v in values):
            raise ConfigError(
                f"--robot.max_relative_target: {target!r} is not a positive number (or a dict of "
                "positive numbers per motor)"
            )
        if not self.port:
            raise ConfigError("--robot.port: missing; give the arm's serial port, or `sim`")
        for name in ("position_p_coefficient", "position_i_coefficient", "position_d_coefficient"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 254:
                raise ConfigError(
                    f"--robot.{name}: got {value!r}; expected a whole number from 0 to 254 "
                    "(one register byte of the STS3215; lerobot uses P 16, I 0, D 32)"
                )
        retries = self.num_read_retries
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 20:
            raise ConfigError(
                f"--robot.num_read_retries: got {retries!r}; expected a whole number from 0 to 20"
            )


@dataclass(kw_only=True)
class So101FollowerConfig(So100FollowerConfig):
    type: ClassVar[str] = "so101_follower"


class SoFollower(Robot):
    """Connect, then `get_observation()` / `send_action()` each step; `disconnect()` at the end.

    Public: `cameras` (name → Camera), `bus` (the FeetechBus once connected), `link` (port,
    emulator and calibration file), `calibration_steps()` for `lerecord calibrate`.
    """

    name: ClassVar[str] = "so_follower"
    config: So100FollowerConfig

    def __init__(self, config: So100FollowerConfig):
        super().__init__(config)
        from hardware.registry import make_camera

        self.link = ArmLink.for_so_arm(config, kind="robots", name=self.name)
        self.cameras = {name: make_camera(cam, name) for name, cam in config.cameras.items()}
        self._positions: dict[str, float] = {}

    # ---- features ------------------------------------------------------------------------

    @property
    def motors(self) -> list[str]:
        return list(self.link.motors)

    @property
    def observation_features(self) -> Features:
        cams = camera_features(self.cameras)
        return {**self.action_features, **cams}

    @property
    def action_features(self) -> Features:
        return {f"{m}.pos": float for m in self.motors}

    @property
    def diagnostic_features(self) -> Features:
        return {f"{m}.{d}": float for m in self.motors for d in DIAGNOSTICS}

    # ---- connection ----------------------------------------------------------------------

    @property
    def bus(self) -> FeetechBus | None:
        return self.link.bus

    @property
    def is_connected(self) -> bool:
        return (
            self.bus is not None
            and self.bus.is_connected
            and all(cam.is_connected for cam in self.cameras.values())
        )

    def check_files(self) -> None:
        self.link.check_calibration()

    def connect(self, calibrate: bool = True) -> None:
        """Open the bus (or its emulator), check the calibration, start the cameras, configure
        the servos (lerobot's settings) and enable torque."""
        self.link.open(calibrate)
        try:
            if self.bus.calibration:
                self._positions = {
                    f"{m}.pos": v for m, v in self.bus.sync_read("Present_Position").items()
                }
            for cam in self.cameras.values():
                cam.connect()
                cam.follow_pose(lambda: self._positions)
            self.configure()
        except BaseException:
            self.disconnect()
            raise
        log.info("%s connected on %s", self.config.type, self.bus.port)

    def configure(self) -> None:
        """lerobot's configure(): set with torque off, then torque on."""
        bus = self.bus
        bus.disable_torque()
        for motor in self.motors:
            bus.write("Return_Delay_Time", motor, 0)
            bus.write("Maximum_Acceleration", motor, 254)
            bus.write("Acceleration", motor, 254)
            phase = int(bus.read("Phase", motor))
            if phase & PHASE_BIT:
                bus.write("Phase", motor, phase & ~PHASE_BIT)
            bus.write("Operating_Mode", motor, 0)
            bus.write("P_Coefficient", motor, self.config.position_p_coefficient)
            bus.write("I_Coefficient", motor, self.config.position_i_coefficient)
            bus.write("D_Coefficient", motor, self.config.position_d_coefficient)
            if motor == "gripper":
                bus.write("Max_Torque_Limit", motor, 500)
                bus.write("Protection_Current", motor, 250)
                bus.write("Overload_Torque", motor, 25)
        if bus.calibration:
            bus.enable_torque()

    def calibration_steps(self):
        """The step-by-step calibration (see hardware.feetech.procedure.ArmCalibration)."""
        return self.link.calibration_steps()

    def disconnect(self) -> None:
        """Torque off if configured (5 retries), cameras closed, emulator stopped; never raises
        for a device already gone."""
        for cam in self.cameras.values():
            try:
                cam.disconnect()
            except DeviceError as error:
                log.warning("camera: %s", error)
        keep = not self.config.disable_torque_on_disconnect
        bus_was_open = self.bus is not None and self.bus.is_connected
        self.link.close(disable_torque=not keep)
        if keep and bus_was_open:
            self.torque_left_on = (
                f"{self.config.type}: torque stays on (--robot.disable_torque_on_disconnect="
                "false): support the arm before switching its power off"
            )
        else:
            self.torque_left_on = None if self.bus is None else self.bus.torque_left_on

    # ---- the control step ----------------------------------------------------------------

    def get_observation(self) -> dict[str, Any]:
        """`<m>.pos` (normalised), `<m>.load` (%), `.temperature` (°C), `.voltage` (V),
        `.current` (mA), and each camera's latest image."""
        states = self._bus().read_state()
        obs: dict[str, Any] = {
            f"{m}.pos": self.bus.normalize(m, s.position) for m, s in states.items()
        }
        self._positions = dict(obs)
        for m, s in states.items():
            obs[f"{m}.load"] = s.load
            obs[f"{m}.temperature"] = s.temperature
            obs[f"{m}.voltage"] = s.voltage
            obs[f"{m}.current"] = s.current
        for name, cam in self.cameras.items():
            frame = cam.read_latest()
            obs[name] = frame.image if frame is not None else np.zeros(cam.shape, np.uint8)
            if cam.depth_shape is not None:
                depth = cam.read_latest_depth()
                obs[f"{name}_depth"] = (
                    depth.image if depth is not None else np.zeros(cam.depth_shape, np.uint16)
                )
        return obs

    def send_action(self, action: dict[str, float]) -> dict[str, float]:
        """Write `<m>.pos` goals in one sync write; returns what was sent (after
        max_relative_target clamping against a fresh read of the present positions)."""
        goals = {k.removesuffix(".pos"): float(v) for k, v in action.items() if k.endswith(".pos")}
        unknown = set(goals) - set(self.motors)
        if unknown:
            raise ValueError(f"send_action: unknown motor(s) {sorted(unknown)}")
        bus = self._bus()
        if self.config.max_relative_target is not None:
            present = bus.sync_read("Present_Position", list(goals))
            goals = clamp_relative(goals, present, self.config.max_relative_target)
        bus.sync_write("Goal_Position", goals)
        return {f"{m}.pos": v for m, v in goals.items()}

    def hold(self) -> None:
        """Stop where the arm is: goal = present position."""
        bus = self._bus()
        bus.sync_write(
            "Goal_Position", bus.sync_read("Present_Position", normalize=False), normalize=False
        )

    def emergency_stop(self) -> None:
        """Cut torque now: one broadcast write reaches every servo at once, then each servo is
        told again and confirmed (errors logged, never raised)."""
        bus = self.bus
        if bus is None or not bus.is_connected:
            return
        try:
            bus.broadcast_write("Torque_Enable", 0)
        except DeviceError as error:
            log.error("emergency stop broadcast failed: %s", error)
        try:
            bus.disable_torque(num_retry=2)
        except DeviceError as error:
            log.error("emergency stop: %s", error)

    def joint_ranges(self) -> dict[str, tuple[float, float]]:
        bus = self._bus()
        return {m: bus.position_range(m) for m in self.motors}

    def take_recoveries(self) -> list[str]:
        return [] if self.bus is None else self.bus.take_recoveries()

    def _bus(self) -> FeetechBus:
        if self.bus is None or not self.bus.is_connected:
            raise DeviceError(f"{self.config.type} is not connected: call connect() first")
        return self.bus


def clamp_relative(
    goals: dict[str, float], present: dict[str, float], max_relative: float | dict[str, float]
) -> dict[str, float]:
    """lerobot's ensure_safe_goal_position: goal = present + clip(goal - present, ±max)."""
    safe = {}
    for motor, goal in goals.items():
        cap = max_relative.get(motor) if isinstance(max_relative, dict) else max_relative
        if cap is None:
            safe[motor] = goal
            continue
        safe[motor] = present[motor] + max(-cap, min(cap, goal - present[motor]))
        if abs(safe[motor] - goal) > 1e-4:
            log.debug("%s goal %.2f clamped to %.2f", motor, goal, safe[motor])
    return safe
