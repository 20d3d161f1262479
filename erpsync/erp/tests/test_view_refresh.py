import pytest
from django.core.management import call_command
from django.urls import reverse

from erpsync.erp.models import StagedJob, SyncRun

pytestmark = pytest.mark.django_db(transaction=True)


def work_the_queue():
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def test_refresh_runs_in_the_background_and_the_panel_follows_it(signed_in, accountant, connection):
    client = signed_in(accountant)
    panel = client.post(reverse("erp:refresh"), HTTP_HX_REQUEST="true").content.decode()
    assert "Refreshing CMiC" in panel and 'hx-trigger="every 1s"' in panel
    assert not StagedJob.objects.exists()
    work_the_queue()
    done = client.get(reverse("erp:refresh_progress") + "?watching=1", HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
    page = client.get(reverse("erp:jobs")).content.decode()
    assert "Harbor Office Building" in page and "1 job, 1 new, 0 changed" in page


def test_a_failed_refresh_says_why_on_the_jobs_page(signed_in, accountant, connection, export):
    (export.folder / "jcjob.csv").write_text("")
    client = signed_in(accountant)
    client.post(reverse("erp:refresh"))
    work_the_queue()
    assert "The last refresh failed: jcjob.csv is empty. Nothing was changed." in client.get(reverse("erp:jobs")).content.decode()


def test_only_accounting_approvers_may_use_refresh_and_others_are_told_what_grants_it(signed_in, pm, connection):
    from erpsync.companies.permissions import REFRESH_REQUIREMENT

    client = signed_in(pm)
    page = client.get(reverse("erp:jobs")).content.decode()
    assert 'disabled aria-describedby="why-refresh">Refresh from CMiC' in page and REFRESH_REQUIREMENT in page
    assert client.post(reverse("erp:refresh")).status_code == 403
    assert not SyncRun.objects.exists()


def test_a_refresh_whose_worker_died_stops_showing_as_running_and_says_so(signed_in, accountant, connection):
    from datetime import timedelta

    from django.utils import timezone

    client = signed_in(accountant)
    client.post(reverse("erp:refresh"))
    SyncRun.objects.update(outcome="running", progress_label="Saving", heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert "Refreshing CMiC: Saving" in client.get(reverse("erp:jobs")).content.decode()
    client.post(reverse("erp:refresh"))  # the dead run is interrupted and a new one queued
    assert list(SyncRun.objects.order_by("pk").values_list("outcome", flat=True)) == ["interrupted", "queued"]
    work_the_queue()
    SyncRun.objects.filter(outcome="succeeded").delete()
    page = client.get(reverse("erp:jobs")).content.decode()
    assert "The last refresh was interrupted: The worker doing it stopped while saving; nothing was changed." in page
