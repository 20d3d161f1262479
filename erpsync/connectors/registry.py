"""Connector kinds by name; a connection's `kind` picks its Source class."""

from django.utils.module_loading import import_string

SOURCES = {
    "cmic": "erpsync.connectors.cmic.source.CmicRestSource",
    "cmic_files": "erpsync.connectors.files.source.CmicExportSource",
}

LABELS = {
    "cmic": "CMiC (REST API)",
    "cmic_files": "CMiC export files",
}

ERP_NAMES = {"cmic": "CMiC", "cmic_files": "CMiC"}

# Settings that are secrets: encrypted at rest, never shown again.
SECRET_SETTINGS = {"cmic": ("password", "client_secret"), "cmic_files": ()}


def source_class(kind: str):
    try:
        return import_string(SOURCES[kind])
    except KeyError:
        raise ValueError(f"Unknown connector kind {kind!r}; known kinds: {', '.join(SOURCES)}") from None
