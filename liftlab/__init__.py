"""liftlab: experimentation and marketing analytics as ZenML pipelines tracked in MLflow.

Where each concern lives (one hop per question; every job uses the same names — ``ab_testing``,
``training``, ``inference``, ``campaign_uplift``, ``uplift``):

- ``pipelines/<job>.py`` wiring only; ``steps/<stage>/<job>.py`` thin ZenML steps, by stage
  (etl, analysis, training, promotion, inference, reporting).
- ``strategies/`` the domain, no ZenML or MLflow: ``stats/`` (A/B engine: ``run.py``), ``uplift/``,
  model training (``features``, ``regressors``, ``splits``, ``evaluation``, ``training``),
  ``campaign_uplift``, ``cleaning``, ``validation``, ``promotion``.
- ``liftlab.config.<job>`` the typed run config (``base``: what all share; ``registry``: config
  file → pipeline); ``liftlab.simulate`` demo data with known truth.
- ``liftlab.reports.<job>`` HTML reports (``format``: shared formatters; ``templates/``);
  ``liftlab.plots.<job>`` their charts (``style``: colours, titles, SVG/PNG export).
- ``liftlab.mlops`` ZenML stack, MLflow tracking and registry, materializers, publishing files;
  ``liftlab.ops`` runner, schedules, retraining; ``liftlab.cli`` the ``liftlab`` command.
"""

__version__ = "0.1.0"
