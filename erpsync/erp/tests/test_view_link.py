"""The Link, Unlink and Refresh cost codes pages, as a signed-in user uses them."""

import pytest
from django.urls import reverse

from erpsync.erp.models import AuditEvent, ErpSettings, StagedJob
from erpsync.erp.services import erp_job_import, erp_refresh
from erpsync.projects.models import CostCode, Project


@pytest.fixture
def job(refreshed):
    return StagedJob.objects.get(job_code="24001")


@pytest.fixture
def by_hand(company):
    return Project.objects.create(company=company, project_number="24001", name="Harbor office (bid)")


def test_the_job_page_names_the_project_using_its_number_and_offers_to_link(job, by_hand, connection, signed_in, admin):
    erp_refresh(connection=connection)  # the next refresh finds the number taken
    page = signed_in(admin).get(reverse("erp:job_detail", args=[job.pk])).content.decode()
    assert "already used by project" in page and "24001 Harbor office (bid)" in page
    assert reverse("erp:job_link_confirm", args=[job.pk, by_hand.pk]) in page
    assert reverse("erp:job_link", args=[job.pk]) in page


def test_a_standard_user_sees_why_link_is_not_theirs(job, by_hand, signed_in, pm):
    page = signed_in(pm).get(reverse("erp:job_detail", args=[job.pk])).content.decode()
    assert "Linking a job to an existing project needs Admin on ERP Integrations." in page
    assert signed_in(pm).get(reverse("erp:job_link", args=[job.pk])).status_code == 403


def test_the_link_page_suggests_and_searches(job, by_hand, company, signed_in, admin):
    Project.objects.create(company=company, project_number="H-9", name="Depot annex")
    client = signed_in(admin)
    page = client.get(reverse("erp:job_link", args=[job.pk])).content.decode()
    assert "Project number 24001 is the job code" in page and "Depot annex" not in page
    found = client.get(reverse("erp:job_link", args=[job.pk]), {"q": "depot"}).content.decode()
    assert "1 project not linked to a job matches" in found and "Depot annex" in found
    refused = client.get(reverse("erp:job_link", args=[job.pk]), {"q": "x" * 5000}).content.decode()
    assert "A search can be at most 60 characters" in refused


def test_confirming_the_preview_links_the_job(job, by_hand, signed_in, admin):
    client = signed_in(admin)
    url = reverse("erp:job_link_confirm", args=[job.pk, by_hand.pk])
    preview = client.get(url).content.decode()
    assert "To add: 3 cost codes\n      and 3 cost type assignments, with 3 cost types the company does not have yet" in preview and "Link job 24001 to project 24001" in preview
    response = client.post(url, follow=True)
    assert "Job 24001 is linked to project" in response.content.decode()
    assert StagedJob.objects.get(pk=job.pk).project_id == by_hand.pk
    assert CostCode.objects.filter(project=by_hand).count() == 3


def test_a_job_with_problems_shows_them_and_cannot_be_confirmed(connection, export, by_hand, signed_in, admin):
    export.phase("24001", "03-500", "Formwork", "03").write()
    erp_refresh(connection=connection)
    job = StagedJob.objects.get(job_code="24001")
    client = signed_in(admin)
    url = reverse("erp:job_link_confirm", args=[job.pk, by_hand.pk])
    assert "03-500" in client.get(url).content.decode()
    client.post(url)
    assert StagedJob.objects.get(pk=job.pk).status == "ready" and not CostCode.objects.filter(project=by_hand).exists()


def test_unlink_asks_where_the_job_goes_then_unlinks(job, pm, signed_in):
    project = erp_job_import(job=job, template=None, user=pm)
    client = signed_in(pm)
    url = reverse("erp:job_unlink", args=[job.pk])
    assert "Back to Ready to Import" in client.get(url).content.decode()
    refused = client.post(url, {"then": "somewhere"}).content.decode()
    assert "Select a valid choice" in refused and StagedJob.objects.get(pk=job.pk).status == "synced"
    done = client.post(url, {"then": "archived"}, follow=True).content.decode()
    assert "is unlinked from project 24001 Harbor Office Building" in done
    assert "The job is Archived; its number is still project 24001&#x27;s, so it can be linked again but not added; restore it first" in done
    assert Project.objects.filter(pk=project.pk).exists() and AuditEvent.objects.filter(action="erp_job.unlinked").exists()


def test_refresh_cost_codes_previews_then_applies(job, pm, accountant, export, connection, signed_in):
    project = erp_job_import(job=job, template=None, user=pm)
    export.phase("24001", "03-500", "Formwork", "03").line("24001", "03-500", "L", "250.50").write()
    erp_refresh(connection=connection)
    client = signed_in(accountant)
    assert "1 new cost code in the ERP" in client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert "1 new cost code in CMiC" in client.get(reverse("erp:jobs"), {"status": "synced"}).content.decode()
    url = reverse("erp:cost_codes", args=[project.pk])
    preview = client.get(url).content.decode()
    assert "1 cost code to add" in preview and "Formwork" in preview
    assert not CostCode.objects.filter(code="03-500").exists()
    done = client.post(url, follow=True).content.decode()
    assert "1 cost code added, 1 cost type assignment added" in done
    assert CostCode.objects.filter(project=project, code="03-500").exists()


def test_refresh_cost_codes_says_when_the_erp_cannot_be_read(job, pm, accountant, export, signed_in):
    project = erp_job_import(job=job, template=None, user=pm)
    (export.folder / "jcjobcostcodes.csv").write_text("nothing like CMiC's columns\n1\n")
    response = signed_in(accountant).get(reverse("erp:cost_codes", args=[project.pk]), follow=True).content.decode()
    assert "CMiC could not be read: jcjobcostcodes.csv" in response and "Nothing was changed" in response
    assert CostCode.objects.filter(project=project).count() == 3


def test_the_auto_add_setting_is_saved_and_audited(refreshed, admin, signed_in, company):
    signed_in(admin).post(reverse("erp:settings"), {"default_template": "", "auto_add_cost_codes": "on",
                                                     **{f"base_{c}": "other" for c in ("L", "M", "S")}})
    assert ErpSettings.objects.get(company=company).auto_add_cost_codes is True
    assert AuditEvent.objects.get(action="erp_settings.changed").after["auto_add_cost_codes"] is True


def test_a_link_confirmed_after_the_erp_changed_shows_the_new_preview_instead(job, by_hand, connection, export, signed_in, admin):
    client = signed_in(admin)
    url = reverse("erp:job_link_confirm", args=[job.pk, by_hand.pk])
    seen = client.get(url).context["plan"].fingerprint
    export.phase("24001", "03-500", "Formwork", "03").line("24001", "03-500", "L", "1000000.00").write()
    erp_refresh(connection=connection)
    page = client.post(url, {"expected": seen}, follow=True).content.decode()
    assert "Job 24001 in CMiC, or project 24001, changed since the preview was drawn; nothing was changed. Here is what linking changes now." in page and "Formwork" in page
    assert StagedJob.objects.get(pk=job.pk).status == "ready" and not CostCode.objects.filter(project=by_hand).exists()


def test_refresh_cost_codes_applied_after_the_erp_changed_shows_the_new_preview_instead(job, pm, accountant, export, signed_in):
    project = erp_job_import(job=job, template=None, user=pm)
    export.phase("24001", "03-500", "Formwork", "03").line("24001", "03-500", "L", "250.50").write()
    client = signed_in(accountant)
    url = reverse("erp:cost_codes", args=[project.pk])
    seen = client.get(url).context["plan"].fingerprint
    next(r for r in export.rows["cost_codes"] if r["code"] == "03-300")["name"] = "Foreman"
    export.write()
    page = client.post(url, {"expected": seen}, follow=True).content.decode()
    assert "Job 24001 in CMiC, or project 24001, changed since the preview was read; nothing was changed. Here is what refreshing changes now." in page and "Foreman" in page
    assert not CostCode.objects.filter(project=project, code="03-500").exists()
