"""Harken's benchmarks: durable consent writes through a real server, and ledger verification speed.

Run with `make bench` or `uv run python -m bench --help`; results land in bench/results/latest.json,
and docs/benchmarks.md records what was measured on the project's machine.
"""
