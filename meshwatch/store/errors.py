"""Database failures surface as `StoreError`, so callers never import SQLAlchemy."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from meshwatch.errors import StoreError

P = ParamSpec("P")
R = TypeVar("R")


def store_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Re-raise SQLAlchemy/driver errors of `func` as StoreError (with the cause chained)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            raise StoreError(f"{func.__qualname__} failed: {cause}".strip()) from exc

    return wrapper
