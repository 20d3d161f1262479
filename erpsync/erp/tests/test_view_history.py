from django.urls import reverse


def runs_table(body: str) -> str:
    return body[body.index('<table id="runs">'):body.index("</table>", body.index('<table id="runs">'))]

from erpsync.erp.models import SyncRun
from erpsync.erp.services import erp_job_archive, erp_refresh
from erpsync.erp.models import StagedJob


def test_it_shows_runs_newest_first_with_failures_in_plain_words(signed_in, viewer, pm, refreshed, export):
    export.rows["jobs"][0]["start_date"] = "someday"
    export.write()
    try:
        erp_refresh(connection=refreshed)
    except Exception:
        pass
    erp_job_archive(job=StagedJob.objects.get(), user=pm)
    body = signed_in(viewer).get(reverse("erp:history")).content.decode()
    runs = runs_table(body)
    assert runs.index("Failed") < runs.index("Succeeded")
    assert "jcjob.csv row 2, field JobStartDate: &#x27;someday&#x27; is not a date (expected YYYY-MM-DD)." in body
    assert "erp_job.archived" not in body and "status: ready" not in body
    assert 'Archived job <a class="code" href="/erp/jobs/code/24001/">24001</a>.' in body


def test_it_filters_by_kind_and_outcome(signed_in, viewer, refreshed):
    SyncRun.objects.create(company=refreshed.company, kind="job_costs", outcome="failed", error="Timeout reading costs")
    client = signed_in(viewer)
    failed = client.get(reverse("erp:history"), {"outcome": "failed"}).content.decode()
    assert "Timeout reading costs" in runs_table(failed) and "Succeeded" not in runs_table(failed)
    refreshes = client.get(reverse("erp:history"), {"kind": "refresh"}).content.decode()
    assert "Timeout reading costs" not in runs_table(refreshes) and "Succeeded" in runs_table(refreshes)


def test_runs_and_changes_read_as_sentences_and_filter_by_job(signed_in, viewer, pm, connection, export):
    from erpsync.erp.services import erp_job_import

    export.standard_job("24002", "Second").write()
    erp_refresh(connection=connection)
    erp_job_import(job=StagedJob.objects.get(job_code="24001"), template=None, user=pm)
    erp_job_archive(job=StagedJob.objects.get(job_code="24002"), user=pm)
    body = signed_in(viewer).get(reverse("erp:history")).content.decode()
    assert "Read everything from CMiC: 2 jobs (2 new, 0 changed), 6 cost codes, 6 budget lines." in body
    assert ('Added <a class="code" href="/erp/jobs/code/24001/">24001</a> as project <a href="/projects/') in body
    assert "with 3 cost codes, 3 budget lines and 3 cost transactions." in body
    assert '2 new jobs came in from CMiC: <a class="code" href="/erp/jobs/code/24001/">24001</a>, <a class="code" href="/erp/jobs/code/24002/">24002</a>.' in body
    for raw in ("created: True", "incremental", "erp_job.imported", "['", "cost_transactions"):
        assert raw not in body, raw
    only = signed_in(viewer).get(reverse("erp:history"), {"job": "24002"}).content.decode()
    assert "Showing what happened to job 24002." in only
    assert "Archived job" in only and "as project" not in only
    assert "2 new jobs came in" in only  # when it arrived
    assert "2 new jobs came in" not in signed_in(viewer).get(reverse("erp:history"), {"job": "2400"}).content.decode()


def test_a_job_named_in_the_history_opens_its_page(signed_in, viewer, refreshed):
    job = StagedJob.objects.get()
    client = signed_in(viewer)
    assert client.get(reverse("erp:job_by_code", args=[job.job_code]))["Location"] == reverse("erp:job_detail", args=[job.pk])
    assert client.get(reverse("erp:job_by_code", args=["99999"]))["Location"] == "/erp/history/?job=99999"
    odd = reverse("erp:job_by_code", args=["A/B #1?"])  # any code a tenant uses makes a link
    assert client.get(odd)["Location"] == "/erp/history/?job=A%2FB+%231%3F"
