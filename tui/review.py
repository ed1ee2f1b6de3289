"""`lerecord review`: the review screen on its own, for any recorded dataset."""

from __future__ import annotations

from pathlib import Path

from textual.app import App

from tui.screens.review import ReviewScreen
from tui.themes import DEFAULT_THEME, load_themes


class ReviewApp(App[int]):
    TITLE = "lerecord review"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, root: Path, repo_id: str, theme: str = DEFAULT_THEME):
        super().__init__()
        self.root = root
        self.repo_id = repo_id
        self.initial_theme = theme

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(load_themes()[0].variables)

    async def on_mount(self) -> None:
        for theme in load_themes():
            self.register_theme(theme)
        self.theme = self.initial_theme
        await self.push_screen(ReviewScreen(self.root, self.repo_id))


def run_review(root: Path, repo_id: str) -> int:
    return ReviewApp(root, repo_id).run() or 0
