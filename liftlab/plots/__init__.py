"""Figures of every report, one module per job; ``style`` holds the shared look."""
