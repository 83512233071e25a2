"""The one format liftlab writes its models in, and the only one it loads (DESIGN.md §7).

A liftlab model is an MLflow model directory with the ``sklearn`` flavor saved by skops. Loading
never trusts the artifact about itself: the ``MLmodel`` file's ``serialization_format`` and
``skops_trusted_types`` are attacker-controlled once someone can write to the artifact store or
register a version, and MLflow's own loader honours both (a model switched to ``pickle`` runs
its payload the moment it is loaded). So :func:`load_model_dir`

1. refuses any directory that is not what liftlab writes: other flavors, a ``code`` folder put
   on ``sys.path``, a ``python_function`` loader other than ``mlflow.sklearn``, a format other
   than skops (``pickle``/``cloudpickle`` are refused before a byte is unpickled), a model file
   outside the directory;
2. lists the skops file's untrusted types with :func:`skops.io.get_untrusted_types` (reads the
   schema, constructs nothing) and refuses any type not in :data:`TRUSTED_TYPES`;
3. only then calls ``skops.io.load(path, trusted=TRUSTED_TYPES)``.

:data:`TRUSTED_TYPES` is written here, never read from an artifact. It names exactly the types
outside skops' own safe defaults (scikit-learn estimators, numpy, scipy) that the models liftlab
trains contain: the regressors of :data:`strategies.regressors.REGRESSORS` behind the feature
pipeline of :mod:`strategies.features`, and the uplift learners of
:mod:`strategies.uplift.learners` with any registered base, effect or propensity model. A test
(``tests/liftlab/mlops/test_model_files.py``) trains every one of them, saves it the way
:func:`liftlab.mlops.tracking.log_best_model` does and loads it back with this list, and checks
the list has no entry no model needs. A new estimator or transformer class therefore fails that
test (and fails at logging time, :func:`checked_trusted_types`) until it is added here on
purpose. Nothing is trusted by module prefix: ``builtins.eval`` or ``os.system`` in a file is
refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from strategies.errors import LiftlabError

__all__ = [
    "MMM_CODE_FILE",
    "check_json_code_model_dir",
    "MMM_CODE_LOADER",
    "SERIALIZATION_FORMAT",
    "TRUSTED_TYPES",
    "UntrustedModelError",
    "check_mmm_model_dir",
    "check_model_dir",
    "is_mmm_model_dir",
    "checked_trusted_types",
    "load_model_dir",
]

SERIALIZATION_FORMAT = "skops"

TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        # fitted tree structures (gradient boosting, random forest, AdaBoost; histogram boosting)
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        # the feature pipeline (strategies.features): ratio features and FunctionTransformer funcs
        "strategies.features.RatioTransformer",
        "strategies.features._as_text",
        "strategies.features._log1p_names",
        "strategies.features._safe_log1p",
        "strategies.features._to_float",
        # the uplift learners (strategies.uplift.learners)
        "strategies.uplift.learners.SLearner",
        "strategies.uplift.learners.TLearner",
        "strategies.uplift.learners.XLearner",
        "strategies.uplift.learners._ConstantProbability",
    }
)
"""Types liftlab trusts in its skops files beyond skops' defaults, by exact name."""

_FLAVORS = {"python_function", "sklearn"}


class UntrustedModelError(LiftlabError):
    """A model artifact is not one liftlab wrote: wrong format, code attached, or types outside
    :data:`TRUSTED_TYPES`. Nothing from it was deserialised."""


def checked_trusted_types(untrusted: Iterable[str], *, what: str = "the model") -> list[str]:
    """``untrusted`` (skops' untrusted type names of a dump) sorted, after checking every one is
    in :data:`TRUSTED_TYPES`; raises :class:`UntrustedModelError` naming the others."""
    found = sorted(set(untrusted))
    unknown = [t for t in found if t not in TRUSTED_TYPES]
    if unknown:
        raise UntrustedModelError(
            f"{what} contains type(s) liftlab does not trust: {', '.join(unknown)}. liftlab "
            "loads only the types its own models use (liftlab.mlops.model_files.TRUSTED_TYPES); "
            "a new estimator or transformer must be added there deliberately"
        )
    return found


def _model_spec(model_dir: Path, uri: str) -> dict[str, Any]:
    import yaml

    spec_file = model_dir / "MLmodel"
    if not spec_file.is_file():
        raise UntrustedModelError(f"model {uri} has no MLmodel file; it is not an MLflow model")
    try:
        spec = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UntrustedModelError(f"model {uri}: its MLmodel file is not valid YAML") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("flavors"), dict):
        raise UntrustedModelError(f"model {uri}: its MLmodel file lists no flavors")
    return spec


def check_model_dir(model_dir: str | Path, uri: str) -> tuple[Path, list[str]]:
    """Check a local MLflow model directory is a liftlab sklearn model in the skops format whose
    types are all trusted, without deserialising anything. Returns the skops file and its
    untrusted (liftlab-trusted) type names. ``uri`` is only used in error messages."""
    import skops.io

    root = Path(model_dir).resolve()
    flavors = _model_spec(root, uri)["flavors"]
    extra = sorted(set(flavors) - _FLAVORS)
    if "sklearn" not in flavors or extra:
        raise UntrustedModelError(
            f"model {uri} has flavors {sorted(flavors)}; liftlab loads only the sklearn flavor "
            "it writes"
        )
    sklearn_conf = flavors["sklearn"] or {}
    pyfunc_conf = flavors.get("python_function") or {}
    if sklearn_conf.get("code") or pyfunc_conf.get("code"):
        raise UntrustedModelError(
            f"model {uri} ships a code folder to put on sys.path; liftlab models carry no code"
        )
    loader = pyfunc_conf.get("loader_module", "mlflow.sklearn")
    if loader != "mlflow.sklearn":
        raise UntrustedModelError(
            f"model {uri} names the loader module {loader!r}; liftlab models use mlflow.sklearn"
        )
    fmt = sklearn_conf.get("serialization_format", "pickle")
    if fmt != SERIALIZATION_FORMAT:
        raise UntrustedModelError(
            f"model {uri} is saved in the {fmt!r} format; liftlab writes and loads only "
            f"{SERIALIZATION_FORMAT!r} models (a {fmt} file can run code when loaded), so it "
            "was not loaded"
        )
    name = str(sklearn_conf.get("pickled_model") or "")
    path = (root / name).resolve()
    if not name or path.parent != root or not path.is_file():
        raise UntrustedModelError(
            f"model {uri}: its model file {name!r} is not a file inside the model directory"
        )
    if pyfunc_conf.get("model_path", name) != name:
        raise UntrustedModelError(
            f"model {uri}: python_function and sklearn flavors point at different files"
        )
    try:
        untrusted = skops.io.get_untrusted_types(file=path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is refused the same way
        raise UntrustedModelError(
            f"model {uri}: {name} is not a readable skops file ({type(exc).__name__}: {exc})"
        ) from exc
    return path, checked_trusted_types(untrusted, what=f"model {uri}")


def load_model_dir(model_dir: str | Path, uri: str) -> Any:
    """The model of a local MLflow model directory, loaded with skops and liftlab's
    :data:`TRUSTED_TYPES` after :func:`check_model_dir` accepted it."""
    import skops.io

    path, _ = check_model_dir(model_dir, uri)
    return skops.io.load(path, trusted=sorted(TRUSTED_TYPES))


MMM_CODE_LOADER = "mlflow.pyfunc.loaders.code_model"
MMM_CODE_FILE = Path(__file__).with_name("mmm_pyfunc.py")


def is_mmm_model_dir(model_dir: str | Path) -> bool:
    """Does the directory *claim* to be a marketing-mix model (pyfunc from code)? Only a claim:
    :func:`check_mmm_model_dir` decides whether it is one liftlab will serve."""
    try:
        flavors = _model_spec(Path(model_dir).resolve(), str(model_dir))["flavors"]
    except UntrustedModelError:
        return False
    pyfunc = flavors.get("python_function") or {}
    return "sklearn" not in flavors and pyfunc.get("loader_module") == MMM_CODE_LOADER


def check_mmm_model_dir(model_dir: str | Path, uri: str) -> Path:
    """Check a marketing-mix model directory before anything serves it (see
    :func:`check_json_code_model_dir`); its ``model.json`` has format ``liftlab.mmm/1``."""
    return check_json_code_model_dir(
        model_dir,
        uri,
        code_file=MMM_CODE_FILE,
        accepts=lambda payload: payload.get("format") == "liftlab.mmm/1",
        what="marketing-mix model",
    )


def check_json_code_model_dir(
    model_dir: str | Path,
    uri: str,
    *,
    code_file: Path,
    accepts: Callable[[dict[str, Any]], bool],
    what: str,
) -> Path:
    """Check a pyfunc-from-code model directory before anything loads or serves it: only the
    ``python_function`` flavor, MLflow's code-model loader, no code folder, the code file
    **byte-identical to liftlab's own** ``code_file`` (so serving runs liftlab's code, not the
    artifact's), and one artifact, ``model.json``, that parses as JSON ``accepts`` takes.
    Returns the ``model.json`` path."""
    import json

    root = Path(model_dir).resolve()
    flavors = _model_spec(root, uri)["flavors"]
    if set(flavors) != {"python_function"}:
        raise UntrustedModelError(
            f"model {uri} has flavors {sorted(flavors)}; a liftlab {what} has only python_function"
        )
    conf = flavors["python_function"] or {}
    if conf.get("loader_module") != MMM_CODE_LOADER or conf.get("code"):
        raise UntrustedModelError(
            f"model {uri} is not a liftlab {what} (loader "
            f"{conf.get('loader_module')!r}, code folder {conf.get('code')!r})"
        )
    code = root / Path(str(conf.get("model_code_path") or "")).name
    if code.name != code_file.name or not code.is_file():
        raise UntrustedModelError(f"model {uri}: its code file is not {code_file.name}")
    if code.read_bytes() != code_file.read_bytes():
        raise UntrustedModelError(
            f"model {uri}: its {code.name} differs from liftlab's own (written by another "
            "liftlab version, or changed); refit the model with this version to serve it"
        )
    artifacts = conf.get("artifacts") or {}
    if set(artifacts) != {"model"}:
        raise UntrustedModelError(f"model {uri}: artifacts {sorted(artifacts)}, expected 'model'")
    payload_path = (root / str(artifacts["model"].get("path", ""))).resolve()
    if root not in payload_path.parents or payload_path.name != "model.json":
        raise UntrustedModelError(f"model {uri}: model.json is not inside the model directory")
    try:
        payload = json.loads(payload_path.read_text())
    except (OSError, ValueError) as exc:
        raise UntrustedModelError(f"model {uri}: model.json is not readable JSON ({exc})") from exc
    if not isinstance(payload, dict) or not accepts(payload):
        raise UntrustedModelError(f"model {uri}: model.json is not a liftlab {what}")
    return payload_path
