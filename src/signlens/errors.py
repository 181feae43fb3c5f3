"""The one exception type for bad user input.

The CLI prints a `SignlensError` as a single line and exits with code 2; anything else is a bug
and keeps its traceback.
"""


class SignlensError(Exception):
    """Bad input from the user: a missing path, a malformed file, an unusable checkpoint."""
