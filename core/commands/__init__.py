"""One module per `lerecord` subcommand, each with `main(argv) -> int`."""
