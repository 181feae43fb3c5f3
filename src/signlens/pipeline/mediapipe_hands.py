"""MediaPipe's hand solution (`mediapipe.python.solutions.hands`), imported without the rest of MediaPipe.

`import mediapipe.<anything>` first runs mediapipe's package `__init__`, which imports every solution
(their drawing helpers import matplotlib) and the tasks API (its audio tasks import sounddevice): most
of the time `signlens predict photo.jpg` spends importing, for modules the hand graph never uses. Here
the two package `__init__`s that do that (`mediapipe` and `mediapipe.python.solutions`) are registered
unrun, so importing the hands module runs only what it imports itself. Each completes itself, as an
ordinary import would have, the first time anyone asks it for a name it lacks (`mediapipe.__version__`,
`mediapipe.solutions.drawing_utils`, `mediapipe.tasks`), so other users of mediapipe in the same
process see the whole package.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType

HANDS = "mediapipe.python.solutions.hands"
DEFERRED = ("mediapipe", "mediapipe.python.solutions")  # packages whose __init__ imports the rest
_lock = threading.RLock()
_unrun: dict[str, ModuleType] = {}  # registered packages whose __init__ has not run yet


def hands_solution() -> ModuleType:
    """`mediapipe.python.solutions.hands`, importing no more of mediapipe than it needs."""
    with _lock:
        if HANDS not in sys.modules and not any(name in sys.modules for name in DEFERRED):
            for name in DEFERRED:
                _register_unrun(name)
    return importlib.import_module(HANDS)  # under the import system's own per-module locks


def _register_unrun(name: str) -> None:
    """The package `name` as a module whose `__init__` runs on the first name it is asked for and lacks."""
    spec = importlib.util.find_spec(name)  # imports the parent package first ("mediapipe.python": cheap)
    if spec is None or spec.loader is None:
        raise ImportError(f"No module named {name!r}")
    package = importlib.util.module_from_spec(spec)

    def missing(attribute: str):
        _run(name)
        try:
            return package.__dict__[attribute]
        except KeyError:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}") from None

    package.__getattr__ = missing  # PEP 562: asked only for names the module lacks
    _unrun[name] = package
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, package)


def _run(name: str) -> None:
    """Run the registered package's `__init__` now, the solutions' before mediapipe's, as an ordinary
    import of mediapipe would."""
    with _lock:
        for deferred in DEFERRED[::-1] if name == "mediapipe" else (name,):
            package = _unrun.pop(deferred, None)
            if package is not None:
                del package.__getattr__
                package.__spec__.loader.exec_module(package)
