"""The search box of the list pages: what a user typed, or a plain word on why it cannot be searched."""

import unicodedata

LONGEST = 60


def search_query(request, params=None) -> tuple[str, str]:
    """(the text to search for, "" or why the text typed was not searched for); params: the query, if not request.GET."""
    typed = (request.GET if params is None else params).get("q", "").strip()
    if any(unicodedata.category(ch) == "Cc" for ch in typed):
        return "", "A search cannot contain control characters; showing everything instead."
    if len(typed) > LONGEST:
        return "", f"A search can be at most {LONGEST} characters; showing everything instead."
    return typed, ""
