"""Project templates: created, changed and deleted by company directory admins, audited."""

from django.db import transaction

from erpsync.companies.models import Membership
from erpsync.companies.permissions import can_manage_templates
from erpsync.erp.services.audit import audit_event_record
from erpsync.errors import PermissionRefused
from erpsync.projects.models import ProjectTemplate

TEMPLATE_REQUIREMENT = "Managing project templates needs Admin on the Company Directory."
FIELDS = ("name", "stage", "project_type", "office", "time_zone")


def _check(company, user) -> None:
    if not can_manage_templates(Membership.objects.filter(user=user, company=company).first()):
        raise PermissionRefused(TEMPLATE_REQUIREMENT)


def project_template_save(*, template: ProjectTemplate, team: list[tuple[int, str]], user, before: dict | None) -> ProjectTemplate:
    """Save a new or changed template with its default team (user id, project role)."""
    _check(template.company, user)
    members = set(Membership.objects.filter(company=template.company).values_list("user_id", flat=True))
    if any(user_id not in members for user_id, _ in team):
        raise PermissionRefused("A team member must belong to the company.")
    with transaction.atomic():
        template.full_clean()
        template.save()
        template.team.all().delete()
        template.team.bulk_create(template.team.model(template=template, user_id=u, role=r) for u, r in dict.fromkeys(team))
        after = {f: getattr(template, f) for f in FIELDS} | {"team": [f"{u}:{r}" for u, r in team]}
        audit_event_record(company=template.company, actor=user, action="project_template.created" if before is None else "project_template.changed",
                           obj=template, before=before, after=after)
    return template


def project_template_snapshot(template: ProjectTemplate) -> dict:
    return {f: getattr(template, f) for f in FIELDS} | {"team": [f"{m.user_id}:{m.role}" for m in template.team.all()]}


def project_template_delete(*, template: ProjectTemplate, user) -> None:
    _check(template.company, user)
    with transaction.atomic():
        audit_event_record(company=template.company, actor=user, action="project_template.deleted", obj=template,
                           before=project_template_snapshot(template))
        template.delete()  # projects keep their values; their link to the template is cleared
