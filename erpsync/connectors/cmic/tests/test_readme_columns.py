"""The README's table of export columns is the declared schema, so that what users read is what erpsync checks."""

import re

from django.conf import settings

from erpsync.connectors.cmic.mapping import RESOURCES
from erpsync.connectors.cmic.schema import NEEDS_VALUE


def test_the_readme_lists_each_resources_required_and_optional_columns():
    readme = (settings.BASE_DIR / "README.md").read_text()
    rows = {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(r"^\| `(\w+)` \([^)]*\) \| (.*?) \| (.*?) \|$", readme, re.M)}
    for resource in RESOURCES.values():
        required_cell, optional_cell = rows[resource.name]
        required = {a.name: a for a in resource.fields.values() if a.absent is None}
        listed = dict(re.findall(r"`(\w+)`(\\\*)?", required_cell))
        assert set(listed) == set(required), resource.name
        for name, attribute in required.items():
            assert (listed[name] == "\\*") == (attribute.type in NEEDS_VALUE), f"{resource.name}: {name}"
        optional = {a.name for a in resource.fields.values() if a.absent is not None}
        assert set(re.findall(r"`(\w+)`", optional_cell)) == optional, resource.name
