"""signlens: recognise static American Sign Language hand signs.

    import signlens

    with signlens.Recognizer() as recognizer:  # the bundled model, reading photos
        print(recognizer.recognize("photo.jpg").label)

The public names below load on first use, so `import signlens` itself stays cheap (no torch, no
MediaPipe) for the modules that only want the version.
"""

from importlib import import_module

__version__ = "0.1.0"

# Public name -> the module that defines it (signlens.pipeline: the recogniser and its answer).
_LAZY = {
    "SignlensError": "signlens.errors",
    "Recognizer": "signlens.pipeline.recognizer",
    "RecognizerOptions": "signlens.pipeline.options",
    "RunningMode": "signlens.pipeline.options",
    "Recognition": "signlens.pipeline.recognition",
}

__all__ = ["Recognition", "Recognizer", "RecognizerOptions", "RunningMode", "SignlensError", "__version__"]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'signlens' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
