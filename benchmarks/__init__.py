"""Benchmarks: scripts, never timed tests (see BENCHMARKS.md)."""
