"""Calibrating an arm from the console: lerobot's procedure, one key per step.

Enter uses the existing calibration file (or `c` calibrates again); then Enter with the arm in
the middle of its range; then every joint through its whole range while a live table shows
min / position / max; Enter writes the offsets and limits to the servos and the file. Driven
through `ArmCalibration` (hardware.feetech.procedure); connecting runs in a worker thread.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from core.calibration import open_for_calibration, range_table
from hardware.errors import ConfigError, DeviceError
from hardware.registry import config_class
from tui.screens.dialog import dialog_css

SAMPLE_HZ = 20

PROMPTS = {
    "connecting": "Connecting to the arm…",
    "existing": "A calibration file exists: [bold]Enter[/] writes it to the servos, "
    "[bold]c[/] calibrates again.",
    "middle": "Move the arm to the [bold]middle of its range[/], then press [bold]Enter[/].",
    "ranges": "Move every joint (except wrist_roll) through its [bold]whole range[/]; "
    "[bold]Enter[/] when done.",
    "done": "Calibration written. [bold]Enter[/] or Esc to go back.",
    "failed": "The arm could not be calibrated. Esc to go back.",
}


class CalibrationScreen(ModalScreen["str | None"]):
    """Dismissed with the calibration file's path once written, None otherwise."""

    BINDINGS = [
        Binding("enter", "next", "Next step", id="calibration-next"),
        Binding("c", "recalibrate", "Calibrate again", id="calibration-again"),
        Binding("escape", "leave", "Back", id="calibration-back"),
    ]
    DEFAULT_CSS = dialog_css(
        "CalibrationScreen",
        70,
        "round $primary",
        extra="""
    CalibrationScreen #title { text-style: bold; color: $primary; }
    CalibrationScreen #prompt { margin: 1 0; }
    CalibrationScreen #error { color: $servo-fault; }""",
    )

    def __init__(self, kind: str, type_: str, port: str, id_: str):
        super().__init__()
        self.kind, self.type_, self.port, self.id_ = kind, type_, port, id_
        self.state = "connecting"
        self.device: Any = None
        self.steps: Any = None
        self._sampler = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Calibrating {self.type_} '{self.id_}' on {self.port}", id="title")
            yield Static(PROMPTS["connecting"], id="prompt")
            yield Static("", id="ranges")
            yield Static("", id="error")

    def on_mount(self) -> None:
        self.run_worker(self._connect, thread=True, exit_on_error=False)

    def _connect(self) -> None:
        try:
            config = config_class(self.kind, self.type_)(port=self.port, id=self.id_ or None)
            device, steps = open_for_calibration(config)
        except (ConfigError, DeviceError) as error:
            self.app.call_from_thread(self._failed, str(error))
            return
        self.app.call_from_thread(self._connected, device, steps)

    def _connected(self, device: Any, steps: Any) -> None:
        self.device, self.steps = device, steps
        if steps.existing is not None:
            self._go("existing")
        else:
            self._start()

    def _start(self) -> None:
        self.steps.start()
        self._go("middle")

    def _go(self, state: str) -> None:
        self.state = state
        self.query_one("#prompt", Static).update(PROMPTS[state])
        if state == "done":
            self.query_one("#error", Static).update("")

    def _failed(self, message: str) -> None:
        self._go("failed")
        self.query_one("#error", Static).update(message)

    def action_next(self) -> None:
        try:
            if self.state == "existing":
                self.steps.use_existing()
                self._finish()
            elif self.state == "middle":
                self.steps.set_middle()
                self._go("ranges")
                self._sample()
                self._sampler = self.set_interval(1 / SAMPLE_HZ, self._sample)
            elif self.state == "ranges":
                self.steps.finish()  # raises if a joint did not move: stay and say why
                self._sampler.stop()
                self._finish()
            elif self.state == "done":
                self.action_leave()
        except DeviceError as error:
            self.query_one("#error", Static).update(str(error))

    def _finish(self) -> None:
        self._go("done")
        self.query_one("#ranges", Static).update(f"Saved to {self.steps.path}")

    def _sample(self) -> None:
        try:
            self.query_one("#ranges", Static).update("\n".join(range_table(self.steps.sample())))
        except DeviceError as error:
            self.query_one("#error", Static).update(str(error))

    def action_recalibrate(self) -> None:
        if self.state == "existing":
            self._start()

    def action_leave(self) -> None:
        if self._sampler is not None:
            self._sampler.stop()
        path = str(self.steps.path) if self.state == "done" else None
        if self.device is not None:
            self.device.disconnect()
            self.device = None
        self.dismiss(path)
