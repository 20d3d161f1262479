"""Where a company's export files may be read: its own folder under the server's export root.

A files connection names a folder inside `ERPSYNC_EXPORT_ROOT/<company slug>/` (relative to it,
or as an absolute path inside it). Anything else (a path elsewhere, `..`, a symbolic link that
leads out) is refused with one message, whether or not the path exists, so that a company's
admin learns nothing about the server's other folders.
"""

from pathlib import Path

from django.conf import settings

from erpsync.connectors.base import ConnectorError


def company_export_folder(company) -> Path:
    return Path(settings.EXPORT_ROOT) / company.slug


def export_folder(company, folder: str) -> Path:
    """The real folder a connection's `folder` setting names; ConnectorError when it lies outside the company's."""
    base = company_export_folder(company).resolve()
    text = (folder or "").strip()
    if "\x00" not in text:
        target = (base / text).resolve()  # an absolute folder replaces base; `..` and symbolic links are followed
        if target.is_relative_to(base):
            return target
    raise ConnectorError(
        f"The export folder must be inside this company's folder for export files ({company.slug}/ in the server's "
        "export root): name a folder there."
    )
