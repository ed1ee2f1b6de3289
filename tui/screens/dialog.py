"""The one look of the console's dialogs: a box centred over the screen it covers."""

from __future__ import annotations


def dialog_css(screen: str, width: int, border: str, box: str = "Vertical", extra: str = "") -> str:
    """The CSS of the modal `screen`: its `box` `width` cells wide (never wider than the
    terminal), as tall as its content up to the terminal's height, with `border`; `extra` adds
    the screen's own rules."""
    return f"""
    {screen} {{ align: center middle; }}
    {screen} > {box} {{ width: {width}; max-width: 100%; height: auto; max-height: 100%;
        border: {border}; background: $surface; padding: 0 1; }}
    {extra}
    """
