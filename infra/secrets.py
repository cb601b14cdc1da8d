"""Secrets fail closed: outside the embedded default, a missing, empty, placeholder or development secret stops
the component at start with one clear line, instead of opening a door nobody meant to open."""

from __future__ import annotations

from infra.errors import FlywheelError

PLACEHOLDER = "CHANGE-ME"


def is_placeholder(value: str) -> bool:
    """True for the templates' ``CHANGE-ME…`` values, in any case and wherever they stand in the value."""
    return PLACEHOLDER.lower() in value.lower()


def problem(value: str | None, *, development: tuple[str, ...] = (), min_bytes: int = 1) -> str | None:
    """Why ``value`` cannot be used as a production secret (a few words), or None when it can."""
    if value is None or not value.strip():
        return "is not set"
    if is_placeholder(value):
        return f"is still the {PLACEHOLDER} placeholder"
    if value in development:
        return "is the development key, which only the embedded broker accepts"
    if len(value.encode()) < min_bytes:
        return f"is shorter than {min_bytes} bytes"
    return None


def require(name: str, value: str | None, *, development: tuple[str, ...] = (), min_bytes: int = 1) -> str:
    """``value`` when it is a usable secret; else a ``FlywheelError`` naming the ``FLYWHEEL_*`` variable."""
    why = problem(value, development=development, min_bytes=min_bytes)
    if why is not None:
        raise FlywheelError(f"{name} {why}: set a real secret (refusing to start)")
    return value  # type: ignore[return-value]  # problem() returns a reason for None
