"""Database failures surface as `StoreError`, so callers never import SQLAlchemy."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DataError, SQLAlchemyError

from meshwatch.errors import StoreDataError, StoreError

P = ParamSpec("P")
R = TypeVar("R")


def store_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Re-raise SQLAlchemy/driver errors of `func` as StoreError (with the cause chained)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DataError as exc:
            raise StoreDataError(f"{func.__qualname__} refused the data: {exc.orig}") from exc
        except UnicodeError as exc:  # sqlite3 encodes text itself: a lone surrogate fails here
            raise StoreDataError(f"{func.__qualname__} refused the data: {exc}") from exc
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            raise StoreError(f"{func.__qualname__} failed: {cause}".strip()) from exc

    return wrapper
