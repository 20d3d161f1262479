"""CMiC collection pages: the envelope's items, read with exact amounts, or a plain refusal."""

import json
from decimal import Decimal

from erpsync.connectors.base import ConnectorError


def envelope_items(body: bytes, name: str, offset: int) -> tuple[list, bool]:
    """The items and hasMore of a page, read with the standard library (amounts as exact Decimals)."""
    try:
        page = json.loads(body, parse_float=Decimal)
    except ValueError:
        shown = body[:60].decode("utf-8", errors="replace")
        raise ConnectorError(f"CMiC answered {name} at offset {offset} with something that is not JSON "
                             f"({shown!r}…); nothing was changed.", permanent=False) from None
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
