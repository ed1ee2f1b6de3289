"""The STS3215 control table, as lerobot 0.6.1 and the Feetech manual describe it.

Addresses and sizes in bytes; multi-byte values are little endian (protocol 0). Some registers
hold sign-magnitude numbers: `raw = (negative << bit) | magnitude`.
"""

from __future__ import annotations

MODEL_NUMBERS = {"sts3215": 777}
RESOLUTION = {"sts3215": 4096}
DEFAULT_BAUDRATE = 1_000_000
BROADCAST_ID = 0xFE
MAX_ID = 0xFC

# name: (address, size)
CONTROL_TABLE: dict[str, tuple[int, int]] = {
    # EEPROM (written only with Lock = 0)
    "Firmware_Major_Version": (0, 1),  # read-only
    "Firmware_Minor_Version": (1, 1),  # read-only
    "Model_Number": (3, 2),  # read-only
    "ID": (5, 1),
    "Baud_Rate": (6, 1),
    "Return_Delay_Time": (7, 1),
    "Response_Status_Level": (8, 1),
    "Min_Position_Limit": (9, 2),
    "Max_Position_Limit": (11, 2),
    "Max_Temperature_Limit": (13, 1),
    "Max_Voltage_Limit": (14, 1),
    "Min_Voltage_Limit": (15, 1),
    "Max_Torque_Limit": (16, 2),
    "Phase": (18, 1),
    "Unloading_Condition": (19, 1),
    "LED_Alarm_Condition": (20, 1),
    "P_Coefficient": (21, 1),
    "D_Coefficient": (22, 1),
    "I_Coefficient": (23, 1),
    "Minimum_Startup_Force": (24, 2),
    "CW_Dead_Zone": (26, 1),
    "CCW_Dead_Zone": (27, 1),
    "Protection_Current": (28, 2),
    "Angular_Resolution": (30, 1),
    "Homing_Offset": (31, 2),
    "Operating_Mode": (33, 1),
    "Protective_Torque": (34, 1),
    "Protection_Time": (35, 1),
    "Overload_Torque": (36, 1),
    "Velocity_closed_loop_P_proportional_coefficient": (37, 1),
    "Over_Current_Protection_Time": (38, 1),
    "Velocity_closed_loop_I_integral_coefficient": (39, 1),
    # SRAM
    "Torque_Enable": (40, 1),
    "Acceleration": (41, 1),
    "Goal_Position": (42, 2),
    "Goal_Time": (44, 2),
    "Goal_Velocity": (46, 2),
    "Torque_Limit": (48, 2),
    "Lock": (55, 1),
    "Present_Position": (56, 2),  # read-only from here on
    "Present_Velocity": (58, 2),
    "Present_Load": (60, 2),
    "Present_Voltage": (62, 1),
    "Present_Temperature": (63, 1),
    "Status": (65, 1),
    "Moving": (66, 1),
    "Present_Current": (69, 2),
    # factory
    "Moving_Velocity_Threshold": (80, 1),
    "DTs": (81, 1),
    "Velocity_Unit_factor": (82, 1),
    "Hts": (83, 1),
    "Maximum_Velocity_Limit": (84, 1),
    "Maximum_Acceleration": (85, 1),
    "Acceleration_Multiplier": (86, 1),
}

EEPROM_END = 40  # addresses below this are EEPROM, guarded by Lock
READ_ONLY = {0, 1, 2, 3, 4} | set(range(56, 80))

# Sign bit of the sign-magnitude registers (lerobot 0.6.1).
SIGN_BITS = {
    "Homing_Offset": 11,
    "Goal_Position": 15,
    "Present_Position": 15,
    "Goal_Velocity": 15,
    "Present_Velocity": 15,
    "Present_Load": 10,
}

# Value of the Baud_Rate register for each bus speed.
BAUDRATE_TABLE = {
    1_000_000: 0,
    500_000: 1,
    250_000: 2,
    128_000: 3,
    115_200: 4,
    57_600: 5,
    38_400: 6,
    19_200: 7,
}

# Operating_Mode values.
POSITION_MODE, VELOCITY_MODE, PWM_MODE, STEP_MODE = 0, 1, 2, 3

# Bits of the status packet's error byte (and of the Status register).
ERROR_BITS = {
    0x01: "input voltage out of range",
    0x02: "angle sensor error",
    0x04: "overheating",
    0x08: "over current",
    0x20: "overloaded",
}

# The contiguous block a follower observation reads in one sync read.
STATE_BLOCK = (56, 15)  # Present_Position .. Present_Current

# Physical units of the diagnostics registers (vendor convention).
LOAD_PERCENT_PER_UNIT = 0.1
VOLT_PER_UNIT = 0.1
MILLIAMP_PER_UNIT = 6.5


def encode_sign_magnitude(value: int, sign_bit: int) -> int:
    """`-5` with bit 11 → `0x805`. Raises ValueError if the magnitude does not fit."""
    magnitude = abs(value)
    if magnitude >= 1 << sign_bit:
        raise ValueError(f"{value} does not fit a sign-magnitude number with sign bit {sign_bit}")
    return ((1 << sign_bit) | magnitude) if value < 0 else magnitude


def decode_sign_magnitude(raw: int, sign_bit: int) -> int:
    magnitude = raw & ((1 << sign_bit) - 1)
    return -magnitude if raw & (1 << sign_bit) else magnitude


def describe_error(error: int) -> str:
    """`0x24` → `overheating, overloaded`."""
    names = [name for bit, name in ERROR_BITS.items() if error & bit]
    return ", ".join(names) or f"error 0x{error:02x}"
