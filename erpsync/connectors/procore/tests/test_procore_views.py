import pytest
from django.core.management import call_command
from django.urls import reverse

from erpsync.erp.models import ProcoreConnection, PublishStatus, StagedJob
from erpsync.projects.models import Project, ProjectTemplate


def test_an_admin_connects_procore_and_the_test_reads_the_templates(signed_in, admin, company, procore):
    client = signed_in(admin)
    settings = procore.connection_settings()
    response = client.post(reverse("erp:procore_edit"), {
        "environment": "custom", "procore_company_id": settings["company_id"], "client_id": settings["client_id"],
        "client_secret": settings["client_secret"], "base_url": settings["base_url"], "login_url": settings["login_url"]})
    assert response.status_code == 302
    connection = ProcoreConnection.objects.get(company=company)
    assert settings["client_secret"] not in connection.secrets_encrypted
    client.post(reverse("erp:procore_test"))
    connection.refresh_from_db()
    assert connection.last_test_ok and [t["name"] for t in connection.templates] == ["Template 1", "Template 2", "Template 3"]
    page = client.get(reverse("erp:settings")).content.decode()
    assert "3 project templates cached" in page and settings["client_secret"] not in page


def test_a_wrong_secret_is_reported_plainly(signed_in, admin, procore_connection):
    procore_connection.set_secrets({"client_secret": "wrong"})
    procore_connection.save()
    signed_in(admin).post(reverse("erp:procore_test"))
    procore_connection.refresh_from_db()
    assert not procore_connection.last_test_ok and "Procore refused the client id and secret" in procore_connection.last_test_message


@pytest.mark.django_db(transaction=True)
def test_add_to_procore_with_a_procore_template_then_retry_a_failed_publish(signed_in, pm, admin, refreshed, company, procore,
                                                                             procore_connection):
    signed_in(admin).post(reverse("erp:procore_test"))
    ProjectTemplate.objects.create(company=company, name="Template 2", office="Hartford")
    client = signed_in(pm)
    page = client.get(reverse("erp:jobs")).content.decode()
    template_id = ProcoreConnection.objects.get().templates[1]["id"]
    assert "Add to Procore" in page and f'value="procore:{template_id}"' in page
    procore.faults.fail_next["RestV10CostCodesSyncPatch"] = 99
    job = StagedJob.objects.get()
    client.post(reverse("erp:job_add", args=[job.pk]), {"template": f"procore:{template_id}"})
    project = Project.objects.get()
    assert project.procore_template_id == template_id and project.office == "Hartford"
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    synced = client.get(reverse("erp:jobs") + "?status=synced").content.decode()
    assert "Publish failed" in synced and "Procore kept answering HTTP 503" in synced and ">Retry</button>" in synced
    procore.faults.fail_next.clear()
    client.post(reverse("erp:job_publish", args=[job.pk]))
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert StagedJob.objects.get().publish_status == PublishStatus.PUBLISHED
    assert next(iter(procore.projects.values()))["from_project_template_id"] == template_id
    assert "Published" in client.get(reverse("erp:jobs") + "?status=synced").content.decode()


def test_only_erp_admins_connect_procore(signed_in, pm, company):
    client = signed_in(pm)
    assert client.get(reverse("erp:procore_edit")).status_code == 403
    assert client.post(reverse("erp:procore_edit"), {"environment": "production", "procore_company_id": 1, "client_id": "x",
                                                     "client_secret": "y"}).status_code == 403
    assert not ProcoreConnection.objects.exists()
