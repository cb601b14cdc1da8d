"""The one exception type the CLI turns into a single line on stderr instead of a traceback."""


class FlywheelError(RuntimeError):
    """A failure the user can act on (no broker, a bad setting, a missing file); the message says how."""
