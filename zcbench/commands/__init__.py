"""Subcommand modules of the `zcbench` CLI (one per area)."""
