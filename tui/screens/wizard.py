"""The session wizard: robot, cameras, teleop, policy, dataset and options, one page each.

Fields come from `tui.options.OPTIONS` (views of the settings' declarations). While the cameras
page is shown, the first camera named in its field plays live below it (`tui.live_camera`). Each
page is checked when leaving it by the CLI's own parser on the equivalent flags, then for what
can be known without starting the session: the ports exist, the camera sources exist, the
policy's folder holds a checkpoint (whose camera names and sizes then fill the cameras page).
The last page parses the whole session, shows any message under the field it names, then saves
the TOML profile and hands back the parsed config. Esc asks before throwing the answers away.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import Button, ContentSwitcher, Footer, Input, Label, Select, Static, Switch

from hardware.errors import ConfigError
from tui.components.camera_preview import CameraImage
from tui.detect import Detected, detect
from tui.live_camera import LiveCamera
from tui.options import (
    OPTIONS,
    STEPS,
    Option,
    cameras_of,
    check_page,
    options_of,
    to_argv,
)
from tui.screens.calibration import CalibrationScreen
from tui.screens.confirm import LeaveWizardScreen

log = logging.getLogger(__name__)
CAMERA_FIELDS = ("cameras", "camera_size", "camera_fps")  # what the live preview opens by
LIVE_REFRESH_HZ = 10  # how often the live camera preview is redrawn


def build_config(values: dict[str, Any], path: Path) -> Any:
    """Validate the answers with the CLI's parser, save the profile, return the session config."""
    from core.config import parse_record_args, save_profile

    config = parse_record_args(to_argv(values))
    path.parent.mkdir(parents=True, exist_ok=True)
    save_profile(config, path)
    return config


def check_port(option: str, port: str, detected: Detected | None) -> None:
    """A serial port the session can open: 'sim', a port where detection found servos, or a
    device that exists (detection may not have run, or missed it)."""
    found = dict(detected.ports) if detected is not None else {}
    if not port or port == "sim" or found.get(port, "").startswith("servo ids"):
        return
    if port in found:
        raise ConfigError(f"--{option}: {port}: {found[port]}; check the arm's power and cable")
    if not Path(port).exists():
        raise ConfigError(f"--{option}: {port} does not exist; plug the arm in, or use sim")


def check_camera_sources(cameras: dict[str, dict[str, Any]]) -> None:
    for name, camera in cameras.items():
        where = camera.get("index_or_path")
        if isinstance(where, str) and not Path(where).exists():
            raise ConfigError(
                f"--cameras: {name}={where}: no such camera; use sim, an index or a /dev/video path"
            )


def policy_cameras(path: str) -> dict[str, tuple[int, int]]:
    """The cameras a checkpoint folder's policy sees, {name: (width, height)}; a ConfigError
    when `path` is a folder without a checkpoint. A Hub repo id is checked when it loads."""
    from core.policy.config import read_json

    folder = Path(path).expanduser()
    if not folder.exists():
        if re.fullmatch(r"[\w.-]+/[\w.-]+", path) and not path.startswith((".", "/", "~")):
            return {}  # a Hub repo id: downloaded and checked when the session starts
        raise ConfigError(f"--policy.path: {path} does not exist; give a checkpoint folder")
    if not (folder / "model.safetensors").is_file():
        raise ConfigError(f"--policy.path: {path} has no model.safetensors; not a checkpoint")
    features = read_json(folder / "config.json").get("input_features") or {}
    cameras = {}
    for key, feature in features.items():
        shape = feature.get("shape") if isinstance(feature, dict) else None
        if feature.get("type") == "VISUAL" and isinstance(shape, list) and len(shape) == 3:
            cameras[key.removeprefix("observation.images.")] = (int(shape[2]), int(shape[1]))
    return cameras


def _field_id(name: str) -> str:
    return next(o for o in OPTIONS if o.name == name).field_id


def _say(where: Static, message: str) -> None:
    where.update(message)
    where.display = bool(message)


class WizardScreen(Screen[Any]):
    BINDINGS = [
        Binding("ctrl+n,pagedown", "next", "Next page", id="wizard-next"),
        Binding("ctrl+b,pageup", "back", "Back", id="wizard-back"),
        Binding("escape", "cancel", "Cancel", id="wizard-cancel"),
        Binding("ctrl+k", "calibrate", "Calibrate arm", id="wizard-calibrate"),
    ]
    DEFAULT_CSS = """
    WizardScreen #title { height: 1; background: $primary; color: $background;
                          text-style: bold; padding: 0 1; }
    WizardScreen VerticalScroll { padding: 0 1; }
    WizardScreen ContentSwitcher { height: 1fr; }
    WizardScreen .field { height: auto; margin-bottom: 1; }
    WizardScreen Switch { border: none; height: 1; padding: 0; }
    WizardScreen .field Label { width: 100%; }
    WizardScreen .help { color: $text-muted; }
    WizardScreen .error { color: $servo-fault; height: auto; display: none; }
    WizardScreen .detected { color: $text-muted; height: auto; }
    WizardScreen #camera-picture { width: 48; height: 18; }
    WizardScreen #buttons { height: 1; align-horizontal: right; padding: 0 1; }
    WizardScreen Button { height: 1; width: auto; min-width: 8; border: none; margin-left: 1; }
    WizardScreen Input, WizardScreen Select { width: 100%; }
    """

    def __init__(
        self,
        initial: dict[str, Any] | None = None,
        detector: Callable[[], Detected] = detect,
    ):
        super().__init__()
        self.initial = initial or {}
        self.detector = detector
        self.detected: Detected | None = None
        self.page = 0
        self.result_path: Path | None = None
        self.answers: dict[str, Any] = {}  # what was typed, once the profile is saved
        self.live: LiveCamera | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="title")
        with ContentSwitcher(initial=f"step-{STEPS[0]}"):
            for step in STEPS:
                with VerticalScroll(id=f"step-{step}"):
                    for option in options_of(step):
                        yield from self._field(option)
                    if step == "robot":
                        yield Static("Looking for servo buses…", classes="detected", id="ports")
                    if step == "cameras":
                        yield Static("Looking for cameras…", classes="detected", id="cameras-found")
                        yield Static("", classes="detected", id="camera-live")
                        yield CameraImage(id="camera-picture")
                    yield Static("", classes="error", id=f"error-{step}")
        with Horizontal(id="buttons"):
            yield Button("Back", id="back", compact=True)
            yield Button("Next", id="next", variant="primary", compact=True)
        yield Footer()

    def _field(self, option: Option) -> ComposeResult:
        value = self.initial.get(option.name, option.default)
        with Vertical(classes="field"):
            yield Label(f"[bold]{option.name}[/]  [dim]{option.help}[/]")
            if option.kind is bool:
                yield Switch(value=bool(value), id=option.field_id)
            elif (choices := option.choices()) is not None:
                yield Select(
                    [(c, c) for c in choices],
                    value=value if value in choices else choices[0],
                    allow_blank=False,
                    id=option.field_id,
                    compact=True,
                )
            else:
                yield Input(str(value), id=option.field_id, compact=True)
            yield Static("", classes="error", id=f"{option.field_id}-error")

    def on_mount(self) -> None:
        self._show_page()
        self.run_worker(self._detect, thread=True, exit_on_error=False)
        self.set_interval(1 / LIVE_REFRESH_HZ, self._show_live)

    def on_unmount(self) -> None:
        if self.live is not None:
            self.live.stop()

    def _detect(self) -> None:
        """In a worker thread: devices are opened and probed, which takes a while."""
        detected = self.detector()
        self.app.call_from_thread(self.show_detected, detected)

    def show_detected(self, detected: Detected) -> None:
        self.detected = detected
        ports = [f"  {path}  {what}" for path, what in detected.ports]
        self.query_one("#ports", Static).update(
            "Serial ports:\n" + "\n".join(ports) + "\n'sim' starts the emulator."
            if ports
            else "No serial port found; 'sim' starts the emulator."
        )
        cameras = [f"  {source:<14} {label}" for source, label in detected.cameras]
        self.query_one("#cameras-found", Static).update(
            "Cameras found (use the first column as the source):\n"
            + ("\n".join(cameras) if cameras else "  none")
            + "\n  sim            draws the simulated arm (picture below)"
        )
        paths = [path for path, _ in detected.ports]  # servo buses first
        suggestions = SuggestFromList(["sim", *paths])
        for name in ("robot.port", "teleop.port"):
            option = next(o for o in OPTIONS if o.name == name)
            port = self.query_one(f"#{option.field_id}", Input)
            port.suggester = suggestions
            if not port.value:  # a port has no default: offer the first found, or the emulator
                port.value = paths[0] if paths else "sim"
        self._show_picture()

    def _camera_sources(self) -> list[str]:
        option = next(o for o in OPTIONS if o.name == "cameras")
        text = self.query_one(f"#{option.field_id}", Input).value
        return [s for part in text.split(",") if (s := part.partition("=")[2].strip())]

    def _show_picture(self) -> None:
        """The still picture detection took of the first camera named in the cameras field."""
        if self.detected is None:
            return
        for source in self._camera_sources():
            if source in self.detected.pictures:
                self.query_one("#camera-picture", CameraImage).show(self.detected.pictures[source])
                return

    def on_input_changed(self, event: Input.Changed) -> None:
        for error in self.query(f"#{event.input.id}-error"):
            _say(error, "")  # the message was about the old value
        camera_fields = {o.field_id for o in OPTIONS if o.name in CAMERA_FIELDS}
        if event.input.id in camera_fields:
            self._show_picture()
            if STEPS[self.page] == "cameras":
                self._start_live()

    # ---- the live preview

    def _start_live(self) -> None:
        """Play the first camera named in the cameras field at the size and rate asked (if it
        is not already playing so)."""
        sources = self._camera_sources()
        try:
            camera = next(iter(cameras_of(self.values()).values()), None)
        except ConfigError:  # the field's own check says what is wrong
            camera = None
        if camera is None or not sources:
            self._stop_live()
            return
        source = sources[0]
        if self.live is not None and (self.live.source, self.live.camera) == (source, camera):
            return
        self._stop_live()
        self.live = LiveCamera(source, camera).start()
        _say(self.query_one("#camera-live", Static), f"Live: {source} (opening…)")

    def _stop_live(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
        _say(self.query_one("#camera-live", Static), "")

    def _show_live(self) -> None:
        live = self.live
        if live is None:
            return
        if live.error:
            _say(self.query_one("#camera-live", Static), f"Live: {live.source}: {live.error}")
        elif live.thumb is not None:
            _say(self.query_one("#camera-live", Static), f"Live: {live.source}")
            self.query_one("#camera-picture", CameraImage).show(live.thumb)

    def _show_page(self) -> None:
        step = STEPS[self.page]
        self.query_one(ContentSwitcher).current = f"step-{step}"
        self.query_one("#title", Static).update(
            f"Session wizard — step {self.page + 1}/{len(STEPS)}: {step}"
        )
        self.query_one("#next", Button).label = "Save & start" if step == STEPS[-1] else "Next"
        if step == "cameras":
            self._start_live()
        else:
            self._stop_live()
        first = self.query(f"#step-{step} Input, #step-{step} Select, #step-{step} Switch")
        if first:
            first.first().focus()

    # ---- values and checks

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for option in OPTIONS:
            widget = self.query_one(f"#{option.field_id}")
            raw = widget.value
            out[option.name] = raw if option.kind is bool else str(raw)
        return out

    def _check_page(self, step: str) -> bool:
        """The CLI's checks of what this page sets (`tui.options.check_page`), then what can be
        known about the devices it names before the session starts."""
        for option in options_of(step):
            _say(self.query_one(f"#{option.field_id}-error", Static), "")
        _say(self.query_one(f"#error-{step}", Static), "")
        values = self.values()
        try:
            check_page(step, values)
            self._check_devices(step, values)
        except ConfigError as problem:
            self._show_cli_error(str(problem))
            return False
        return True

    def _check_devices(self, step: str, values: dict[str, Any]) -> None:
        """What can be known about the devices a page names before the session starts."""
        if step in ("robot", "teleop"):
            for flag in to_argv(values):  # the port only when the device type takes one
                if flag.startswith(f"--{step}.port="):
                    port = flag.partition("=")[2].strip()
                    check_port(f"{step}.port", port, self.detected)
        elif step == "cameras":
            check_camera_sources(cameras_of(values))
        elif step == "policy" and str(values["policy.path"]).strip():
            self._fill_cameras(policy_cameras(str(values["policy.path"]).strip()), values)

    def _fill_cameras(self, wanted: dict[str, tuple[int, int]], values: dict[str, Any]) -> None:
        """The policy's cameras on the cameras page: its names, at its sizes (sources kept
        for the names already there, 'sim' for the others)."""
        if not wanted:
            return
        field = self.query_one(f"#{_field_id('cameras')}", Input)
        sources = {}
        for item in filter(None, (p.strip() for p in str(values["cameras"]).split(","))):
            name, _, source = item.partition("=")
            sources[name.strip()] = source.partition("@")[0].strip()
        text = ", ".join(
            f"{name}={sources.get(name, 'sim')}@{w}x{h}" for name, (w, h) in wanted.items()
        )
        if text != field.value:
            field.value = text
            self.app.notify(f"cameras set from the policy: {text}", timeout=5)

    def _show_cli_error(self, message: str) -> None:
        """Put the parser's message under the field it names (on its page), or on this page."""
        named = [
            (m.start(), o)
            for o in OPTIONS
            if (m := re.search(rf"--{re.escape(o.name)}\b", message))
        ]
        if named:
            option = min(named, key=lambda hit: hit[0])[1]
            self.page = STEPS.index(option.step)
            self._show_page()
            _say(self.query_one(f"#{option.field_id}-error", Static), message)
            return
        _say(self.query_one(f"#error-{STEPS[self.page]}", Static), message)

    # ---- navigation

    def action_next(self) -> None:
        step = STEPS[self.page]
        if not self._check_page(step):
            return
        if self.page < len(STEPS) - 1:
            self.page += 1
            self._show_page()
            return
        values = self.values()
        path = Path(str(values["profile"]).strip()).expanduser()
        try:
            config = build_config(values, path)
        except ConfigError as problem:
            self._show_cli_error(str(problem))
            return
        self.result_path = path
        self.answers = values
        self.app.notify(f"profile saved: {path}", timeout=4)
        self.dismiss(config)

    def action_back(self) -> None:
        if self.page > 0:
            self.page -= 1
            self._show_page()

    def action_calibrate(self) -> None:
        """Calibrate the arm set on this page (robot or teleop) with the values typed so far."""
        step = STEPS[self.page]
        if step not in ("robot", "teleop"):
            self.app.notify("calibration: go to the robot or teleop page", severity="warning")
            return
        values = self.values()
        self.app.push_screen(
            CalibrationScreen(
                step, values[f"{step}.type"], values[f"{step}.port"], values[f"{step}.id"]
            )
        )

    def action_cancel(self) -> None:
        """Ask first: one Esc must not throw every answer away."""

        def answered(leave: bool | None) -> None:
            if leave:
                self.dismiss(None)

        self.app.push_screen(LeaveWizardScreen(), answered)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "next":
            self.action_next()
        elif event.button.id == "back":
            self.action_back()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.focus_next()
