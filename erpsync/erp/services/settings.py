"""ERP settings and connection tests (ERP admins)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from erpsync.companies.models import Membership
from erpsync.companies.permissions import ADMIN_REQUIREMENT, can_administer_erp
from erpsync.connectors.base import ConnectorError
from erpsync.erp.exports import export_folder
from erpsync.erp.models import ErpConnection, ErpSettings, ProcoreConnection
from erpsync.erp.services.audit import audit_event_record
from erpsync.errors import PermissionRefused
from erpsync.projects.models import BaseType, CostType, ProjectTemplate


def _check(company, user) -> None:
    if not can_administer_erp(Membership.objects.filter(user=user, company=company).first()):
        raise PermissionRefused(ADMIN_REQUIREMENT)


def erp_settings_update(*, company, user, default_template: ProjectTemplate | None, base_type_mapping: dict[str, str],
                        auto_add_cost_codes: bool | None = None) -> ErpSettings:
    _check(company, user)
    if default_template is not None and default_template.company_id != company.pk:
        raise PermissionRefused("That project template belongs to another company.")
    mapping = {code: base for code, base in base_type_mapping.items() if base in BaseType.values}
    with transaction.atomic():
        settings, _ = ErpSettings.objects.select_for_update().get_or_create(company=company)
        before = {"default_template": settings.default_template.name if settings.default_template else None,
                  "base_type_mapping": settings.base_type_mapping, "auto_add_cost_codes": settings.auto_add_cost_codes}
        settings.default_template = default_template
        settings.base_type_mapping = mapping
        if auto_add_cost_codes is not None:
            settings.auto_add_cost_codes = auto_add_cost_codes
        settings.full_clean()
        settings.save()
        # Cost types already in the registry follow the mapping too.
        for code, base in mapping.items():
            CostType.objects.filter(company=company, code=code).exclude(base_type=base).update(base_type=base)
        after = {"default_template": default_template.name if default_template else None, "base_type_mapping": mapping,
                 "auto_add_cost_codes": settings.auto_add_cost_codes}
        if before != after:
            audit_event_record(company=company, actor=user, action="erp_settings.changed", obj=settings, before=before, after=after)
    return settings


def erp_connection_test(*, connection: ErpConnection, user) -> ErpConnection:
    """Ask the ERP what works and what does not; store the answer for the Settings page."""
    _check(connection.company, user)
    try:
        results = connection.source().check()
        report = [{"subject": r.subject, "ok": r.ok, "warning": r.warning, "message": r.message} for r in results]
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
    if kind == "cmic_files":
        try:
            export_folder(company, settings.get("folder", ""))
        except ConnectorError as exc:
            raise ValidationError(exc.message) from None
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


def procore_connection_save(*, company, user, environment: str, base_url: str, login_url: str, procore_company_id: int,
                            client_id: str, client_secret: str = "") -> ProcoreConnection:
    """Create or change the company's Procore connection; an empty secret keeps the stored one."""
    _check(company, user)
    with transaction.atomic():
        connection = ProcoreConnection.objects.select_for_update().filter(company=company).first()
        before = None if connection is None else {"environment": connection.environment, "procore_company_id": connection.procore_company_id,
                                                  "client_id": connection.client_id, "base_url": connection.base_url}
        connection = connection or ProcoreConnection(company=company)
        connection.environment, connection.base_url, connection.login_url = environment, base_url, login_url
        connection.procore_company_id, connection.client_id = procore_company_id, client_id
        if client_secret:
            connection.set_secrets({"client_secret": client_secret})
        connection.full_clean(exclude=["secrets_encrypted"])
        connection.save()
        audit_event_record(company=company, actor=user, action="procore_connection.saved", obj=connection, before=before,
                           after={"environment": environment, "procore_company_id": procore_company_id, "client_id": client_id,
                                  "base_url": base_url, "secret_changed": bool(client_secret)})
    return connection


def procore_connection_test(*, connection: ProcoreConnection, user) -> ProcoreConnection:
    """Read the company's project templates: proves the credentials and fills the template picker."""
    _check(connection.company, user)
    try:
        client = connection.client()
        templates = [{"id": t["id"], "name": t["name"]} for t in client.project_templates()]
    except ConnectorError as exc:
        connection.last_test_ok, connection.last_test_message = False, exc.message
    else:
        connection.templates, connection.templates_fetched_at = templates, timezone.now()
        connection.last_test_ok = True
        connection.last_test_message = f"Connected; {len(templates)} project template{'s' if len(templates) != 1 else ''} read."
    connection.last_test_at = timezone.now()
    connection.save()
    audit_event_record(company=connection.company, actor=user, action="procore_connection.tested", obj=connection,
                       after={"ok": connection.last_test_ok})
    return connection
