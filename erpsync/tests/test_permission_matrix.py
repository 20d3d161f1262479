"""One table of who may do what, walked against every URL erpsync serves.

Every URL pattern must appear in MATRIX: a new URL cannot be added without deciding who may
use it. Each is tried by every role of the standard cast, by an admin of another company (who
must not reach this company's objects: 404), without a session (sent to sign in), and, for
POSTs, without a CSRF token (403, nothing done).
"""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from erpsync.erp.models import ErpConnection, ProcoreConnection, StagedJob
from erpsync.erp.services import erp_job_archive, erp_job_import, erp_refresh
from erpsync.projects.models import Project, ProjectTemplate

ROLES = ("admin", "pm", "accountant", "viewer", "outsider")

# Who may, by the rules of ERP Integrations and the Company Directory (README, "Who may do what").
MEMBERS = {"admin", "pm", "accountant", "viewer", "outsider"}
ERP_VIEW = {"admin", "pm", "accountant", "viewer"}
ERP_MANAGE = {"admin", "pm", "accountant"}  # archive and restore
ERP_IMPORT = {"admin", "pm"}  # Standard+ on ERP and Create New Project (or Directory admin)
ERP_PUSH = {"admin", "accountant"}  # Standard+ on ERP and Can Push to Accounting
ERP_ADMIN = {"admin"}
DIRECTORY_ADMIN = {"admin"}
EVERYONE = "everyone"  # no sign-in needed

# URL name → (method, who may, the object it acts on: one of this company's, or None)
# The outsider is an admin of another company: on URLs without an object they act on their own
# company, so the same sets apply; on this company's objects they get 404.
MATRIX = {
    "home": ("GET", MEMBERS | {"outsider"}, None),
    "login": ("GET", EVERYONE, None),
    "logout": ("POST", EVERYONE, None),
    "healthz": ("GET", EVERYONE, None),
    "favicon": ("GET", EVERYONE, None),
    "company_switch": ("POST", MEMBERS, None),
    "erp:home": ("GET", MEMBERS, None),  # a redirect to the jobs list, which then checks
    "erp:jobs": ("GET", ERP_VIEW | {"outsider"}, None),
    "erp:job_detail": ("GET", ERP_VIEW, "ready_job"),
    "erp:job_by_code": ("GET", ERP_VIEW | {"outsider"}, "job_code"),  # the outsider's company has no such job: its history
    "erp:job_add": ("POST", ERP_IMPORT, "ready_job"),
    "erp:job_archive": ("POST", ERP_MANAGE, "ready_job"),
    "erp:job_restore": ("POST", ERP_MANAGE, "archived_job"),
    "erp:job_publish": ("POST", ERP_IMPORT, "synced_job"),
    "erp:job_link": ("GET", ERP_ADMIN, "ready_job"),
    "erp:job_link_confirm": ("POST", ERP_ADMIN, "job_and_hand_project"),
    "erp:job_unlink": ("POST", ERP_MANAGE, "synced_job"),
    "erp:cost_codes": ("POST", ERP_PUSH, "project"),
    "erp:refresh": ("POST", ERP_PUSH | {"outsider"}, None),
    "erp:refresh_progress": ("GET", ERP_VIEW | {"outsider"}, None),
    "erp:job_costs": ("GET", ERP_VIEW | {"outsider"}, None),
    "erp:job_costs_csv": ("GET", ERP_VIEW, "project"),
    "erp:job_costs_sync": ("POST", ERP_PUSH, "project"),
    "erp:history": ("GET", ERP_VIEW | {"outsider"}, None),
    "erp:settings": ("GET", ERP_ADMIN | {"outsider"}, None),
    "erp:procore_edit": ("GET", ERP_ADMIN | {"outsider"}, None),
    "erp:procore_test": ("POST", ERP_ADMIN, "procore"),  # the company's Procore connection (the outsider's has none)
    "erp:connection_new": ("GET", ERP_ADMIN | {"outsider"}, None),
    "erp:connection_edit": ("GET", ERP_ADMIN, "connection"),
    "erp:connection_test": ("POST", ERP_ADMIN, "connection"),
    "projects:list": ("GET", MEMBERS, None),
    "projects:detail": ("GET", MEMBERS - {"outsider"}, "project"),
    "projects:templates": ("GET", DIRECTORY_ADMIN | {"outsider"}, None),
    "projects:template_new": ("GET", DIRECTORY_ADMIN | {"outsider"}, None),
    "projects:template_edit": ("GET", DIRECTORY_ADMIN, "template"),
    "projects:template_delete": ("POST", DIRECTORY_ADMIN, "template"),
}


def url_names(resolver=None, namespace="") -> list[str]:
    """Every named URL pattern erpsync serves (Django's own admin site aside: it is tested below)."""
    names = []
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            names += url_names(pattern, f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace)
        elif isinstance(pattern, URLPattern):
            assert pattern.name, f"the URL pattern {pattern.pattern} has no name, so it cannot be in the matrix"
            names.append(namespace + pattern.name)
    return names


def test_every_url_has_a_decision():
    assert sorted(url_names()) == sorted(MATRIX), "add the new URL to MATRIX, with who may use it"


@pytest.fixture
def objects(company, connection, export, admin):
    """One of each thing a URL acts on, all of company `acme`."""
    export.standard_job("24002", "To archive").standard_job("24003", "To add").write()
    erp_refresh(connection=connection)
    synced = StagedJob.objects.get(job_code="24001")
    project = erp_job_import(job=synced, template=None, user=admin)
    archived = erp_job_archive(job=StagedJob.objects.get(job_code="24002"), user=admin)
    return {
        "ready_job": StagedJob.objects.get(job_code="24003").pk,
        "archived_job": archived.pk,
        "synced_job": synced.pk,
        "project": project.pk,
        "connection": ErpConnection.objects.get(company=company).pk,
        "template": ProjectTemplate.objects.create(company=company, name="Commercial").pk,
        "job_code": "24003",
        "job_and_hand_project": [StagedJob.objects.get(job_code="24003").pk,
                                 Project.objects.create(company=company, project_number="H-1", name="Typed in by hand").pk],
        "procore": ProcoreConnection.objects.create(company=company, base_url="http://127.0.0.1:9", login_url="http://127.0.0.1:9",
                                                    procore_company_id=1, client_id="x").pk,
    }


IN_URL = {"ready_job", "archived_job", "synced_job", "project", "connection", "template", "job_code", "job_and_hand_project"}  # the others are the company's own


def url_of(name: str, objects: dict) -> str:
    needs = MATRIX[name][2]
    args = objects[needs] if needs in IN_URL else []
    return reverse(name, args=args if isinstance(args, list) else [args])


def data_for(name: str, user) -> dict:
    if name == "company_switch":
        return {"company": str(user.memberships.get().company_id)}  # the user's own company
    return {"erp:job_add": {"template": ""}, "erp:job_unlink": {"then": "ready"}, "erp:job_link_confirm": {"procore_project": "new"}}.get(name, {})


class Rollback(Exception):
    pass


def attempt(client: Client, user, name: str, objects: dict) -> dict:
    """Send the request in a savepoint that is rolled back, so that each role meets the same state; the status."""
    method = MATRIX[name][0]
    url = url_of(name, objects)
    result = {}
    try:
        with transaction.atomic():
            response = client.post(url, data_for(name, user)) if method == "POST" else client.get(url)
            result["status"], result["to"] = response.status_code, response.get("Location", "")
            raise Rollback
    except Rollback:
        pass
    return result


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_role_may_do_what_the_matrix_says_and_nothing_else(name, objects, admin, pm, accountant, viewer, outsider,
                                                                 monkeypatch):
    monkeypatch.setattr("erpsync.connectors.http.wait_for_real", lambda seconds: None)  # no waiting between retries
    method, allowed, needs = MATRIX[name]
    users = {"admin": admin, "pm": pm, "accountant": accountant, "viewer": viewer, "outsider": outsider}
    outcomes = {}
    for role in ROLES:
        client = Client()
        client.force_login(users[role])
        result = attempt(client, users[role], name, objects)
        status, to = result["status"], result["to"]
        if allowed == EVERYONE or role in allowed:
            outcomes[role] = "allowed" if status < 400 and not to.startswith("/login/?next=") else f"refused {status}"
        elif role == "outsider" and needs:
            outcomes[role] = "allowed" if status == 404 else f"reached another company's object: {status}"
        else:
            outcomes[role] = "allowed" if status == 403 else f"not refused: {status} {to}"
    assert outcomes == {role: "allowed" for role in ROLES}


@pytest.mark.parametrize("name", sorted(n for n, (_, allowed, _) in MATRIX.items() if allowed != EVERYONE))
def test_without_a_session_every_url_asks_for_sign_in(client, name, objects):
    url = url_of(name, objects)
    response = client.post(url) if MATRIX[name][0] == "POST" else client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("name", sorted(n for n, (method, allowed, _) in MATRIX.items() if method == "POST" and allowed != EVERYONE))
def test_a_post_without_the_csrf_token_is_refused(name, objects, admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    response = client.post(url_of(name, objects), data_for(name, admin))
    assert response.status_code == 403


def test_the_admin_site_is_for_staff_only(objects, admin, pm, viewer):
    for user in (admin, pm, viewer):  # erpsync's roles are not Django staff
        client = Client()
        client.force_login(user)
        response = client.get(reverse("admin:index"))
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
