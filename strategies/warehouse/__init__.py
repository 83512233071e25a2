"""Warehouse-native versions of liftlab's data work: SQL run *in* the engine holding the data.

Each module here writes its SQL once, in DuckDB's dialect, and runs it through a
:class:`strategies.engines.base.SqlEngine` (which transpiles it for PostgreSQL or Spark), so raw
rows never leave the engine; only audits, check counts and small statistics tables come back
(DESIGN.md §5). The pandas implementations in ``strategies/`` stay the reference: every module
here is tested to give the same answer on the same data.

This package file imports nothing on purpose: each module is imported by its own name
(``strategies.warehouse.cleaning_sql``, ``strategies.warehouse.checks_sql``, …), so importing
one does not pull in the others' dependencies.
"""
