"""Session engine, control loop, dataset, policy, logs, voice, config and CLI.

Never imports Textual (the console app lives in `tui/`)."""
