"""CMiC collection pages: the envelope's items, read with exact amounts, or a plain refusal."""

import json
from decimal import Decimal

from erpsync.connectors.base import ConnectorError


def _object(pairs: list) -> dict:
    item = dict(pairs)
    if len(item) != len(pairs):
        seen = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"the attribute {twice!r} is given twice in one object")
    return item


def json_loads(text: str | bytes):
    """JSON with exact amounts (numbers with a fraction as Decimal); an object naming an attribute twice is refused.

    ValueError says what is wrong and where.
    """
    try:
        return json.loads(text, parse_float=Decimal, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ValueError("lists or objects are nested too deeply") from None
    except ValueError as exc:
        if "digits" in str(exc):  # Python's limit on the length of an integer
            raise ValueError("a number has thousands of digits") from None
        raise


def envelope_items(body: bytes, name: str, offset: int) -> tuple[list, bool]:
    """The items and hasMore of a page, read with the standard library (amounts as exact Decimals)."""
    try:
        page = json_loads(body)
    except ValueError as exc:
        shown = body[:60].decode("utf-8", errors="replace")
        raise ConnectorError(f"CMiC answered {name} at offset {offset} with something that is not JSON "
                             f"({exc}; it begins {shown!r}); nothing was changed.", permanent=False) from None
    items = page.get("items") if isinstance(page, dict) else None
    if not isinstance(items, list) or not isinstance(page.get("hasMore", False), bool):
        raise ConnectorError(f"CMiC answered {name} at offset {offset} without a list of items; nothing was changed.",
                             permanent=False)
    return items, page.get("hasMore", False)


def checked_items(items: list, name: str, offset: int):
    """(where, item) for each item of a page, refusing anything that is not an object."""
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ConnectorError(f"{name} offset {offset} item {index + 1} is not an object.")
        yield f"{name} offset {offset} item {index + 1}", item
