"""liftlab's benchmark scripts and their shared :mod:`benchmarks.harness`.

A package so the scripts share one harness and tests can import them; each script is still run
as ``python benchmarks/<name>.py`` (see the Makefile targets).
"""
