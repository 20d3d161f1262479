"""The demo company: Demo Builders, its people, templates and its CMiC export as a connection."""

import shutil

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from erpsync.companies.models import AccessLevel, Company, Membership
from erpsync.demo import generator
from erpsync.erp.exports import company_export_folder
from erpsync.erp.models import ErpConnection, ErpSettings, SyncRun, SyncRunKind, SyncRunOutcome
from erpsync.erp.services import erp_refresh
from erpsync.projects.models import BaseType, Project, ProjectStage, ProjectTemplate, TemplateTeamMember

DEMO_USERS = [
    # username, password, full name, membership
    ("admin", "demo-admin", "Avery Admin", dict(erp_level=AccessLevel.ADMIN, directory_level=AccessLevel.ADMIN, can_create_project=True, can_push_to_accounting=True)),
    ("pm", "demo-pm", "Pat Morgan (project manager)", dict(erp_level=AccessLevel.STANDARD, directory_level=AccessLevel.READ_ONLY, can_create_project=True)),
    ("accountant", "demo-accountant", "Alex Chen (accountant)", dict(erp_level=AccessLevel.STANDARD, directory_level=AccessLevel.READ_ONLY, can_push_to_accounting=True)),
    ("viewer", "demo-viewer", "Robin Reed (read-only)", dict(erp_level=AccessLevel.READ_ONLY, directory_level=AccessLevel.READ_ONLY)),
]

DEMO_FOLDER = "cmic"  # inside the demo company's export folder

TEMPLATES = [
    ("Commercial Building", ProjectStage.PRE_CONSTRUCTION, "Commercial", "Boston", [("pm", "Project Manager"), ("accountant", "Project Accountant")]),
    ("Healthcare", ProjectStage.PRE_CONSTRUCTION, "Healthcare", "Philadelphia", [("pm", "Project Manager")]),
    ("Tenant Improvement", ProjectStage.COURSE_OF_CONSTRUCTION, "Interiors", "Boston", [("pm", "Superintendent")]),
]


@transaction.atomic
def demo_company_create() -> Company:
    """Create (or complete) the demo company. Existing data is kept as it is."""
    company, _ = Company.objects.get_or_create(slug="demo-builders", defaults={"name": "Demo Builders", "project_limit": 60})
    User = get_user_model()
    users = {}
    for username, password, full_name, levels in DEMO_USERS:
        first, _, last = full_name.partition(" ")
        user, created = User.objects.get_or_create(username=username, defaults={"first_name": first, "last_name": last})
        if created:
            user.set_password(password)
            user.save()
        users[username] = user
        Membership.objects.get_or_create(user=user, company=company, defaults=levels)
    for name, stage, project_type, office, team in TEMPLATES:
        template, created = ProjectTemplate.objects.get_or_create(
            company=company, name=name, defaults=dict(stage=stage, project_type=project_type, office=office)
        )
        if created:
            for username, role in team:
                TemplateTeamMember.objects.create(template=template, user=users[username], role=role)
    ErpSettings.objects.get_or_create(
        company=company,
        defaults={
            "default_template": ProjectTemplate.objects.get(company=company, name="Commercial Building"),
            "base_type_mapping": {"1000": BaseType.LABOR, "2000": BaseType.MATERIALS, "3000": BaseType.COMMITMENT, "4000": BaseType.EQUIPMENT, "5000": BaseType.OTHER},
        },
    )
    # The bundled export, placed in the company's export folder as a real tenant's would be.
    folder = company_export_folder(company) / DEMO_FOLDER
    if not folder.exists():
        shutil.copytree(settings.DEMO_EXPORT_DIR, folder)
    connection, _ = ErpConnection.objects.get_or_create(
        company=company, name="CMiC (demo export)",
        defaults={"kind": "cmic_files", "settings": {"folder": DEMO_FOLDER, "company_codes": ["DB01"]}},
    )
    if connection.settings.get("folder") == str(settings.DEMO_EXPORT_DIR):  # set up before exports had a root
        connection.settings["folder"] = DEMO_FOLDER
        connection.save(update_fields=["settings"])
    # A project typed in by hand long ago, whose number a CMiC job now also uses.
    Project.objects.get_or_create(
        company=company, project_number=generator.JOB_COLLIDING_WITH_PROJECT,
        defaults={"name": "Warehouse bid (entered by hand)", "city": "Newark", "state": "NJ"},
    )
    return company


def demo_load() -> Company:
    company = demo_company_create()
    connection = company.erp_connections.get(name="CMiC (demo export)")
    refreshed = SyncRun.objects.filter(connection=connection, kind=SyncRunKind.REFRESH, outcome=SyncRunOutcome.SUCCEEDED).exists()
    if not refreshed:
        erp_refresh(connection=connection)
    return company
