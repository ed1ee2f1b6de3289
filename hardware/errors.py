"""Errors a user can act on: each names the device and the fix in one line."""


class DeviceError(Exception):
    """A device is missing, busy, misconfigured or stopped answering."""


class ConfigError(ValueError):
    """A device configuration value is invalid (the message names the field and the fix)."""


class CameraLost(DeviceError):
    """A camera that was giving frames stopped (unplugged, hung, taken by another program)."""
