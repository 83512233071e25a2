"""The experimentation statistics engine (DESIGN.md §2).

Entry points: :func:`strategies.stats.run.run_ab_analysis` runs an A/B analysis on unit rows;
:func:`strategies.stats.power.plan` plans one (sample size, MDE or power). The tables they
return have their columns in :mod:`strategies.stats.schema`.

The chain behind ``run_ab_analysis``: sufficient statistics (``aggregate``: pandas or DuckDB,
one pass, CUPED covariate sums included) → vectorised estimates and standard errors
(``estimate``; CUPED adjustment in ``cuped``) → inference (``frequentist``: z / Welch /
delta-method tests, delta or Fieller relative CIs) → post-processing (``corrections`` with an
explicit scope, ``decisions`` and guardrails, ``srm`` per experiment and per segment,
``heterogeneity`` across segments). ``analysis.analyse`` runs that chain on a
sufficient-statistics frame. Optional inference layers (``layers/``: ``bayesian``,
``sequential``, ``nonparametric``) add columns to the results; each builds on the mathematics
of the same-named module here (``bayesian``, ``sequential``, ``nonparametric``).
"""
