from django.test import Client
from django.urls import reverse

from erpsync.erp.models import AuditEvent, StagedJob, StagedJobStatus
from erpsync.erp.services import erp_refresh
from erpsync.projects.models import Project, ProjectTemplate

JOBS = reverse("erp:jobs")


def add_url(job):
    return reverse("erp:job_add", args=[job.pk])


def test_it_asks_for_sign_in(client, db):
    response = client.get(JOBS)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_it_lists_ready_jobs_with_counts_and_what_the_id_becomes(signed_in, pm, refreshed):
    body = signed_in(pm).get(JOBS).content.decode()
    assert "Ready to Import <span class=\"badge\">1</span>" in body
    assert "Harbor Office Building" in body and "24001" in body
    assert "CMiC ID" in body and "becomes the project number" in body


def test_a_blocked_job_shows_its_problems_and_a_disabled_add_with_the_reason(signed_in, pm, connection, export):
    export.phase("24001", "05", "Metals").phase("24001", "05-110", "Steel", "05").write()
    erp_refresh(connection=connection)
    body = signed_in(pm).get(JOBS).content.decode()
    assert "1 cost code has no cost type: 05-110." in body
    job = StagedJob.objects.get(job_code="24001")
    assert f'disabled aria-describedby="why-{job.pk}">Add' in body and f'<ul class="problems" id="why-{job.pk}">' in body


def test_add_makes_the_project_and_links_it(signed_in, pm, refreshed, company):
    template = ProjectTemplate.objects.create(company=company, name="Commercial", office="Boston")
    job = StagedJob.objects.get()
    response = signed_in(pm).post(add_url(job), {"template": template.pk}, follow=True)
    project = Project.objects.get()
    assert (project.project_number, project.template) == ("24001", template)
    assert f'<a href="/projects/{project.pk}/">24001 Harbor Office Building</a>' in response.content.decode()
    assert StagedJob.objects.get().status == StagedJobStatus.SYNCED


def test_add_with_htmx_removes_the_row_and_shows_the_message(signed_in, pm, refreshed):
    job = StagedJob.objects.get()
    response = signed_in(pm).post(add_url(job), {"template": "none"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'id="messages" hx-swap-oob="true"' in body and "was added as project" in body
    assert f'id="job-{job.pk}"' not in body
    assert Project.objects.get().template is None


def test_a_failed_add_shows_the_reason_in_the_row_and_changes_nothing(signed_in, pm, refreshed, company):
    company.project_limit = 0
    company.save()
    job = StagedJob.objects.get()
    response = signed_in(pm).post(add_url(job), {"template": "none"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert f'id="job-{job.pk}"' in body and "has reached its limit of 0 projects" in body
    assert not Project.objects.exists()


def test_nonsense_in_the_template_picker_is_refused_plainly(signed_in, pm, refreshed, other_company):
    theirs = ProjectTemplate.objects.create(company=other_company, name="Theirs")
    job = StagedJob.objects.get()
    for value in ("abc", str(theirs.pk), ""):
        response = signed_in(pm).post(add_url(job), {"template": value}, follow=True)
        assert "Pick a project template" in response.content.decode()
    assert not Project.objects.exists()


def test_the_project_limit_banner_and_disabled_add(signed_in, pm, refreshed, company):
    company.project_limit = 1
    company.save()
    Project.objects.create(company=company, project_number="OLD", name="Old")
    body = signed_in(pm).get(JOBS).content.decode()
    assert "has reached its project limit: 1 of 1 projects" in body
    assert 'id="why-limit">' in body and 'disabled aria-describedby="why-limit">Add' in body


def test_a_read_only_user_sees_add_and_archive_disabled_with_what_grants_them_and_the_server_refuses_them(
        signed_in, viewer, refreshed):
    from erpsync.companies.permissions import IMPORT_REQUIREMENT, MANAGE_REQUIREMENT

    client = signed_in(viewer)
    body = client.get(JOBS).content.decode()
    assert 'class="primary" disabled aria-describedby="why-import">Add</button>' in body
    assert f'<p class="reason muted" id="why-import">Add is off for you: {IMPORT_REQUIREMENT}</p>' in body
    assert 'disabled aria-describedby="why-manage">✕ Archive' in body and MANAGE_REQUIREMENT in body
    assert body.count(IMPORT_REQUIREMENT) == 1  # said once for the page, not in every row
    assert 'form="add-' in body and 'disabled aria-describedby="why-import">' in body  # the template picker too
    job = StagedJob.objects.get()
    assert client.post(add_url(job), {"template": "none"}).status_code == 403
    assert client.post(reverse("erp:job_archive", args=[job.pk])).status_code == 403
    assert not Project.objects.exists() and StagedJob.objects.get().status == StagedJobStatus.READY


def test_an_accountant_without_the_create_privilege_is_refused_add(signed_in, accountant, refreshed):
    from erpsync.companies.permissions import IMPORT_REQUIREMENT

    job = StagedJob.objects.get()
    client = signed_in(accountant)
    assert IMPORT_REQUIREMENT in client.get(JOBS).content.decode()  # said beside the disabled Add
    response = client.post(add_url(job), {"template": "none"})
    assert response.status_code == 403 and IMPORT_REQUIREMENT in response.content.decode()  # in the same words


def test_another_companys_job_answers_404(signed_in, outsider, refreshed):
    job = StagedJob.objects.get()
    client = signed_in(outsider)
    assert client.post(add_url(job), {"template": "none"}).status_code == 404
    assert client.get(reverse("erp:job_archive", args=[job.pk])).status_code == 404
    assert "Harbor" not in client.get(JOBS).content.decode()


def test_archive_asks_first_then_archives_and_restore_brings_it_back(signed_in, pm, refreshed):
    job = StagedJob.objects.get()
    client = signed_in(pm)
    confirm = client.get(reverse("erp:job_archive", args=[job.pk])).content.decode()
    assert "Archive job 24001?" in confirm and StagedJob.objects.get().status == StagedJobStatus.READY
    client.post(reverse("erp:job_archive", args=[job.pk]))
    assert StagedJob.objects.get().status == StagedJobStatus.ARCHIVED
    archived = client.get(JOBS + "?status=archived").content.decode()
    assert "Restore" in archived
    client.post(reverse("erp:job_restore", args=[job.pk]))
    assert StagedJob.objects.get().status == StagedJobStatus.READY
    assert AuditEvent.objects.filter(action__in=["erp_job.archived", "erp_job.restored"], actor=pm).count() == 2


def test_synced_rows_link_to_their_project(signed_in, pm, refreshed):
    job = StagedJob.objects.get()
    client = signed_in(pm)
    client.post(add_url(job), {"template": "none"})
    body = client.get(JOBS + "?status=synced").content.decode()
    assert f'href="/projects/{Project.objects.get().pk}/">24001 Harbor Office Building</a>' in body


def test_search_and_sort(signed_in, pm, connection, export):
    export.standard_job("24002", "Zebra Depot").standard_job("24003", "Alpha Clinic").write()
    erp_refresh(connection=connection)
    client = signed_in(pm)
    found = client.get(JOBS, {"q": "zebra"}).content.decode()
    assert "Zebra Depot" in found and "Alpha Clinic" not in found
    by_name = client.get(JOBS, {"sort": "name"}).content.decode()
    assert by_name.index("Alpha Clinic") < by_name.index("Harbor Office") < by_name.index("Zebra Depot")
    by_name_desc = client.get(JOBS, {"sort": "-name"}).content.decode()
    assert by_name_desc.index("Zebra Depot") < by_name_desc.index("Alpha Clinic")


def test_posts_need_the_csrf_token(pm, refreshed):
    client = Client(enforce_csrf_checks=True)
    client.force_login(pm)
    job = StagedJob.objects.get()
    assert client.post(add_url(job), {"template": "none"}).status_code == 403
    assert not Project.objects.exists()


HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/erp/jobs/?status=ready"}


def test_adding_a_job_another_user_archived_says_who_and_when_and_adds_nothing(signed_in, pm, admin, refreshed):
    import re

    from erpsync.erp.services import erp_job_archive

    admin.first_name, admin.last_name = "Avery", "Admin"
    admin.save()
    job = StagedJob.objects.get()
    erp_job_archive(job=job, user=admin)  # while the project manager's page still shows the job as ready
    page = signed_in(pm).post(add_url(job), {"template": "none"}, **HTMX).content.decode()
    assert re.search(r"Job 24001 was archived by Avery Admin at \d\d:\d\d\.", page)
    assert 'id="job-list" hx-swap-oob="true"' in page and "No jobs are waiting to be imported." in page
    assert not Project.objects.exists()


def test_adding_a_job_another_user_already_added_does_not_claim_it(signed_in, pm, admin, refreshed):
    from erpsync.erp.services import erp_job_import

    job = StagedJob.objects.get()
    erp_job_import(job=job, template=None, user=admin)
    page = signed_in(pm).post(add_url(job), {"template": "none"}, **HTMX).content.decode()
    assert "Job 24001 was added as project 24001 by admin at" in page
    assert "was added as project <a" not in page  # not the message of one's own add
    assert Project.objects.count() == 1


def test_archiving_or_restoring_a_job_someone_else_moved_says_so(signed_in, pm, admin, refreshed):
    from erpsync.erp.services import erp_job_archive, erp_job_unarchive

    job = StagedJob.objects.get()
    erp_job_archive(job=job, user=admin)
    page = signed_in(pm).post(reverse("erp:job_archive", args=[job.pk]), **HTMX).content.decode()
    assert "Job 24001 was archived by admin at" in page
    erp_job_unarchive(job=job, user=admin)
    page = signed_in(pm).post(reverse("erp:job_restore", args=[job.pk]), **HTMX).content.decode()
    assert "Job 24001 was restored to Ready to Import by admin at" in page
    assert AuditEvent.objects.filter(actor=pm).count() == 0  # the project manager changed nothing


def test_a_row_answer_clears_the_last_actions_message(signed_in, pm, refreshed, company):
    company.project_limit = 0
    company.save()
    page = signed_in(pm).post(add_url(StagedJob.objects.get()), {"template": "none"}, **HTMX).content.decode()
    assert '<div id="messages" hx-swap-oob="true" aria-live="polite"></div>' in page


def test_an_htmx_action_refused_says_why_at_the_top(signed_in, viewer, refreshed):
    from erpsync.companies.permissions import IMPORT_REQUIREMENT

    response = signed_in(viewer).post(add_url(StagedJob.objects.get()), {"template": "none"}, **HTMX)
    assert response["HX-Retarget"] == "#messages" and IMPORT_REQUIREMENT in response.content.decode()
    assert not Project.objects.exists()


def test_an_htmx_action_after_the_session_ended_sends_the_page_to_sign_in(client, refreshed):
    response = client.post(add_url(StagedJob.objects.get()), {"template": "none"}, **HTMX)
    assert response["HX-Redirect"] == "/login/?next=/erp/jobs/%3Fstatus%3Dready"
    assert b"Sign in" not in response.content  # not the sign-in page inside a table row


def test_an_htmx_action_with_an_old_csrf_token_says_to_reload(pm, refreshed):
    client = Client(enforce_csrf_checks=True)
    client.force_login(pm)
    response = client.post(add_url(StagedJob.objects.get()), {"template": "none"}, **HTMX)
    assert response["HX-Retarget"] == "#messages" and "This page is out of date" in response.content.decode()
    assert not Project.objects.exists()


def test_every_synced_row_says_where_its_publish_stands(signed_in, pm, refreshed):
    from erpsync.erp.services import erp_job_import

    job = StagedJob.objects.get()
    erp_job_import(job=job, template=None, user=pm)
    client = signed_in(pm)
    for publish_status, badge in [("", "Synced"), ("published", "Synced"), ("publishing", "Publishing"),
                                  ("failed", "Publish failed"), ("interrupted", "Interrupted")]:
        StagedJob.objects.filter(pk=job.pk).update(publish_status=publish_status)
        body = client.get(JOBS, {"status": "synced"}).content.decode()
        assert '<td data-label="Status"><span class="status ' in body and f'">{badge}</span></td>' in body, badge
