"""Emulators: the STS3215 bus on a pseudo-terminal (`bus_emulator`, `servo`), the simulated SO
arms (`arms`, `leader_motion`), and the process a `port = "sim"` device starts (`serve`,
`process`)."""
