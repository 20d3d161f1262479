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
    assert "erp_job.archived" in body and "status: ready → archived" in body


def test_it_filters_by_kind_and_outcome(signed_in, viewer, refreshed):
    SyncRun.objects.create(company=refreshed.company, kind="job_costs", outcome="failed", error="Timeout reading costs")
    client = signed_in(viewer)
    failed = client.get(reverse("erp:history"), {"outcome": "failed"}).content.decode()
    assert "Timeout reading costs" in runs_table(failed) and "Succeeded" not in runs_table(failed)
    refreshes = client.get(reverse("erp:history"), {"kind": "refresh"}).content.decode()
    assert "Timeout reading costs" not in runs_table(refreshes) and "Succeeded" in runs_table(refreshes)
