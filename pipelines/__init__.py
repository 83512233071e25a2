"""liftlab's ZenML pipelines (wiring only). Importing this package silences the library
warnings that are false alarms for liftlab (:mod:`liftlab.mlops.quiet`), for ``liftlab run`` and
``zenml pipeline run`` alike."""

from liftlab.mlops.quiet import install as _quiet_false_alarms

_quiet_false_alarms()
