"""Connector kinds by name; a connection's `kind` picks its Source class."""

from django.utils.module_loading import import_string

SOURCES = {
    "cmic_files": "erpsync.connectors.files.source.CmicExportSource",
}

LABELS = {
    "cmic_files": "CMiC export files",
}

ERP_NAMES = {"cmic_files": "CMiC"}


def source_class(kind: str):
    try:
        return import_string(SOURCES[kind])
    except KeyError:
        raise ValueError(f"Unknown connector kind {kind!r}; known kinds: {', '.join(SOURCES)}") from None
