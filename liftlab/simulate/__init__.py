"""Simulators that write demo data with known truth, one module per kind of data."""
