"""Feetech STS3215 servos: control table (`tables`), bus (`bus.FeetechBus`), lerobot's
calibration files and normalisation (`calibration`), step-by-step calibration (`procedure`)."""
