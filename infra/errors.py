"""The one exception type the CLI turns into a single line on stderr instead of a traceback."""


class FlywheelError(RuntimeError):
    """A failure the user can act on (no broker, a bad setting, a missing file); the message says how."""


def first_line(exc: BaseException) -> str:
    """The first line of a library's error message (its type's name when it has none): what goes after the colon
    of a one-line ``FlywheelError``."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
