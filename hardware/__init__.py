"""Device layer: interfaces, drivers, registry and emulators. Imports nothing of lerecord's."""
