import csv
import io

import pytest
from django.urls import reverse

from erpsync.erp.models import StagedJob
from erpsync.erp.services import erp_job_import


@pytest.fixture
def project(refreshed, pm):
    return erp_job_import(job=StagedJob.objects.get(), template=None, user=pm)


def test_the_table_groups_by_division_with_exact_totals(signed_in, viewer, project):
    body = signed_in(viewer).get(reverse("erp:job_costs")).content.decode()
    assert "03 Concrete</a>" in body and '<span class="hint">3 lines</span>' in body
    # revised budgets: 13,000.10 + 40,000.00 + 99,999.99; job-to-date 3,000.15 + 0 + 0.01
    assert "153,000.09" in body and "3,000.16" in body and "149,999.93" in body
    assert '<svg class="chart"' in body and "Revised budget and job-to-date cost per division" in body


def test_the_csv_download_has_every_line_and_the_total(signed_in, viewer, project):
    response = signed_in(viewer).get(reverse("erp:job_costs_csv", args=[project.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="job-costs-24001.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["Sub job", "Division", "Cost code", "Description", "Cost type"]
    assert rows[1][2:10] == ["03-300", "Cast-in-Place", "L Labor", "12500.10", "13000.10", "8000.00", "3000.15", "9999.95"]
    assert rows[-1][3:10] == ["Project total", "", "152500.09", "153000.09", "107999.99", "3000.16", "149999.93"]


def test_another_companys_project_answers_404(signed_in, outsider, project):
    assert signed_in(outsider).get(reverse("erp:job_costs_csv", args=[project.pk])).status_code == 404
    assert "Harbor" not in signed_in(outsider).get(reverse("erp:job_costs")).content.decode()


def test_users_without_erp_access_are_refused(signed_in, django_user_model, company, project):
    from erpsync.companies.models import Membership

    user = django_user_model.objects.create_user("plain")
    Membership.objects.create(user=user, company=company)
    response = signed_in(user).get(reverse("erp:job_costs"))
    assert response.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_an_accounting_approver_syncs_job_costs_now(signed_in, accountant, pm, refreshed):
    from django.core.management import call_command

    from erpsync.erp.models import SyncRun

    project = erp_job_import(job=StagedJob.objects.get(), template=None, user=pm)
    client = signed_in(accountant)
    assert "Sync job costs of 24001 now" in client.get(reverse("erp:job_costs")).content.decode()
    client.post(reverse("erp:job_costs_sync", args=[project.pk]))
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    run = SyncRun.objects.get(kind="job_costs")
    assert (run.outcome, run.started_by, run.project) == ("succeeded", accountant, project)


def test_a_project_manager_may_not_sync_job_costs(signed_in, pm, project):
    client = signed_in(pm)
    from erpsync.companies.permissions import SYNC_REQUIREMENT

    page = client.get(reverse("erp:job_costs")).content.decode()
    assert 'disabled aria-describedby="why-sync">Sync job costs of 24001 now' in page and SYNC_REQUIREMENT in page
    assert client.post(reverse("erp:job_costs_sync", args=[project.pk])).status_code == 403
