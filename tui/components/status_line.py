"""The status line: devices, dataset path, inference logs, sounds — or why the engine failed."""

from __future__ import annotations

from textual.widgets import Static

from core.messages import SessionStarted


def describe(started: SessionStarted | None, error: str | None = None) -> str:
    if error:
        return f"[bold $servo-fault]engine failed:[/] {error.replace('[', chr(92) + '[')}"
    if started is None:
        return "[dim]starting the engine…[/]"
    logs = started.log_dir or "off"
    sounds = "on" if started.sounds else "off"
    return (
        f"dataset {started.dataset_root}  [dim]│[/] logs {logs}  [dim]│[/] "
        f"{', '.join(started.devices) or started.robot}  [dim]│[/] sounds {sounds}"
    )


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $foreground; padding: 0 1;
                 text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def show(self, started: SessionStarted | None, error: str | None = None) -> None:
        self.update(describe(started, error))
