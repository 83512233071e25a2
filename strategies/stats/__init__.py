"""The experimentation statistics engine (DESIGN.md §2).

sufficient statistics (``aggregate``: pandas or DuckDB, one pass, CUPED covariate sums
included) → vectorised estimates and standard errors (``estimate``; CUPED adjustment in
``cuped``) → inference (``frequentist``: z / Welch / delta-method tests, delta or Fieller
relative CIs) → post-processing (``corrections`` with an explicit scope, ``decisions`` and
guardrails, ``srm`` per experiment and per segment, ``heterogeneity`` across segments).
``analysis.analyse`` runs the chain on a sufficient-statistics frame.
"""
