"""signlens: recognise static American Sign Language hand signs."""

__version__ = "0.1.0"
