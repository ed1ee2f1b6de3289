"""The simulated arms: which servos each emulated device has, and their factory state.

Every simulated SO arm leaves the "factory" calibrated: its EEPROM holds a homing offset and
position limits exactly as `lerecord calibrate` (or lerobot) would have written them, the same
limits for leaders and followers. Servos are mounted at different encoder angles on each arm (as
on real arms), so the offsets differ, but one pose gives the same normalised values on both:
the follower mirrors the leader.

Types: so100_follower, so101_follower, so100_leader, so101_leader (six servos, ids 1..6), and
lekiwi (the follower arm plus three wheel servos, ids 7..9, in velocity mode).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from hardware.sim.leader_motion import REST, pick_and_place
from hardware.sim.servo import SimServo

MIDDLE = 2047  # half-turn homing puts the middle pose here


@dataclass(frozen=True)
class SimJoint:
    name: str
    id: int
    range_min: int
    range_max: int
    gravity_load: float  # % of torque needed to hold the joint


SO_JOINTS = (
    SimJoint("shoulder_pan", 1, 847, 3247, 1.0),
    SimJoint("shoulder_lift", 2, 897, 3197, 18.0),
    SimJoint("elbow_flex", 3, 947, 3147, 9.0),
    SimJoint("wrist_flex", 4, 897, 3197, 3.0),
    SimJoint("wrist_roll", 5, 0, 4095, 0.5),
    SimJoint("gripper", 6, 2010, 3460, 1.0),
)
# Encoder angle of each servo at the arm's middle pose.
MOUNTS = {
    "follower": (2102, 1985, 2230, 1870, 2015, 1990),
    "leader": (1950, 2110, 1900, 2200, 2080, 2060),
}
WHEEL_IDS = (7, 8, 9)
ARM_TYPES = ("so100_follower", "so101_follower", "so100_leader", "so101_leader", "lekiwi")


def present_for(joint: SimJoint, value: float) -> float:
    """Present_Position (factory calibration) for a pose value in degrees, or % for the gripper."""
    if joint.name == "gripper":
        return joint.range_min + value / 100 * (joint.range_max - joint.range_min)
    return (joint.range_min + joint.range_max) / 2 + value * 4095 / 360


def make_servos(arm_type: str, clock: Callable[[], float] = time.monotonic) -> list[SimServo]:
    """The servos of a simulated `arm_type`, at rest, factory-calibrated."""
    if arm_type not in ARM_TYPES:
        raise ValueError(f"unknown simulated arm {arm_type!r}; known: {', '.join(ARM_TYPES)}")
    leader = arm_type.endswith("_leader")
    mounts = MOUNTS["leader" if leader else "follower"]
    servos = []
    for joint, mount in zip(SO_JOINTS, mounts, strict=True):
        offset = mount - MIDDLE
        servo = SimServo(
            joint.id,
            round(present_for(joint, REST[joint.name]) + offset),
            homing_offset=offset,
            range_min=joint.range_min,
            range_max=joint.range_max,
            gravity_load=0.0 if leader else joint.gravity_load,
            supply_volts=7.4 if leader else 12.0,
        )
        servos.append(servo)
    if leader:
        set_hands(servos, arm_type, True, clock)
    if arm_type == "lekiwi":
        for wheel_id in WHEEL_IDS:
            wheel = SimServo(wheel_id, 2048.0, range_min=0, range_max=4095, gravity_load=0.0)
            wheel.set("Operating_Mode", 1)
            servos.append(wheel)
    return servos


def set_hands(
    servos: list[SimServo], arm_type: str, on: bool, clock: Callable[[], float] = time.monotonic
) -> None:
    """A person takes the arm and moves it (pick and place) whenever its torque is off; or lets
    go. Leaders are always in someone's hand; a simulated follower only while it is calibrated."""
    mounts = MOUNTS["leader" if arm_type.endswith("_leader") else "follower"]
    start = clock()
    by_id = {s.id: s for s in servos}
    for joint, mount in zip(SO_JOINTS, mounts, strict=True):
        if joint.id in by_id:
            by_id[joint.id].hand = _hand(joint, mount - MIDDLE, start) if on else None


def _hand(joint: SimJoint, offset: int, start: float) -> Callable[[float], float]:
    """A human hand moving this leader joint through the pick-and-place motion."""

    def actual_at(t: float) -> float:
        return present_for(joint, pick_and_place(t - start)[joint.name]) + offset

    return actual_at
