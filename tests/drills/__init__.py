"""Fault drills and shared checks for the proof-under-load work (issue 9)."""
