"""ERP settings and connection tests (ERP admins)."""

from django.db import transaction
from django.utils import timezone

from erpsync.companies.models import Membership
from erpsync.companies.permissions import ADMIN_REQUIREMENT, can_administer_erp
from erpsync.connectors.base import ConnectorError
from erpsync.erp.models import ErpConnection, ErpSettings
from erpsync.erp.services.audit import audit_event_record
from erpsync.errors import PermissionRefused
from erpsync.projects.models import BaseType, CostType, ProjectTemplate


def _check(company, user) -> None:
    if not can_administer_erp(Membership.objects.filter(user=user, company=company).first()):
        raise PermissionRefused(ADMIN_REQUIREMENT)


def erp_settings_update(*, company, user, default_template: ProjectTemplate | None, base_type_mapping: dict[str, str]) -> ErpSettings:
    _check(company, user)
    if default_template is not None and default_template.company_id != company.pk:
        raise PermissionRefused("That project template belongs to another company.")
    mapping = {code: base for code, base in base_type_mapping.items() if base in BaseType.values}
    with transaction.atomic():
        settings, _ = ErpSettings.objects.select_for_update().get_or_create(company=company)
        before = {"default_template": settings.default_template.name if settings.default_template else None, "base_type_mapping": settings.base_type_mapping}
        settings.default_template = default_template
        settings.base_type_mapping = mapping
        settings.full_clean()
        settings.save()
        # Cost types already in the registry follow the mapping too.
        for code, base in mapping.items():
            CostType.objects.filter(company=company, code=code).exclude(base_type=base).update(base_type=base)
        after = {"default_template": default_template.name if default_template else None, "base_type_mapping": mapping}
        if before != after:
            audit_event_record(company=company, actor=user, action="erp_settings.changed", obj=settings, before=before, after=after)
    return settings


def erp_connection_test(*, connection: ErpConnection, user) -> ErpConnection:
    """Ask the ERP what works and what does not; store the answer for the Settings page."""
    _check(connection.company, user)
    try:
        results = connection.source().check()
        report = [{"subject": r.subject, "ok": r.ok, "message": r.message} for r in results]
    except ConnectorError as exc:
        report = [{"subject": "connection", "ok": False, "message": exc.message}]
    connection.last_test_at = timezone.now()
    connection.last_test_ok = all(r["ok"] for r in report)
    connection.last_test_report = report
    connection.save(update_fields=["last_test_at", "last_test_ok", "last_test_report"])
    audit_event_record(company=connection.company, actor=user, action="erp_connection.tested", obj=connection,
                       after={"ok": connection.last_test_ok})
    return connection


def erp_connection_save(*, company, user, kind: str, name: str, settings: dict, secrets: dict,
                        connection: ErpConnection | None = None) -> ErpConnection:
    """Create or change a connection. Secrets are merged (a missing one is kept) and never audited."""
    _check(company, user)
    with transaction.atomic():
        if connection is None:
            connection = ErpConnection(company=company, kind=kind)
            before = None
        else:
            if connection.company_id != company.pk:
                raise PermissionRefused("That connection belongs to another company.")
            before = {"name": connection.name, "settings": connection.settings}
        stored = connection.get_secrets()
        connection.name = name
        connection.settings = settings
        connection.set_secrets({**stored, **secrets})
        connection.full_clean(exclude=["secrets_encrypted"])
        connection.save()
        after = {"name": name, "settings": settings, "secrets_changed": sorted(k for k in secrets if secrets[k] != stored.get(k))}
        audit_event_record(company=company, actor=user, action="erp_connection.created" if before is None else "erp_connection.changed",
                           obj=connection, before=before, after=after)
    return connection
