"""Linking a job to a project Procore has already, unlinking it, and publishing refreshed cost codes once."""

import pytest

from erpsync.connectors.procore.fake_server import SCHEMA_FILE
from erpsync.erp.models import PublishStatus, StagedJob, SyncRun
from erpsync.erp.services import cost_codes_refresh, erp_job_import, erp_job_link, erp_job_unlink, link_preview
from erpsync.erp.services.publish import procore_publish
from erpsync.errors import ImportBlocked
from erpsync.projects.models import CostCode, Project


@pytest.fixture
def job(refreshed):
    return StagedJob.objects.select_related("connection", "company").get(job_code="24001")


@pytest.fixture
def by_hand(company):
    return Project.objects.create(company=company, project_number="24001", name="Harbor Office Building")


def publish(job):
    """Run the publish the worker would: the one queued, if any."""
    job = StagedJob.objects.select_related("project", "connection", "company").get(pk=job.pk)
    procore_publish(job=job, run=SyncRun.objects.filter(kind="publish", outcome="queued", job=job).first())
    job.refresh_from_db()
    return job


def test_the_preview_finds_procores_project_by_number_and_by_name(job, by_hand, admin, procore_connection, procore):
    same_number = procore.project_add(name="Harbor office", project_number="24001")
    same_name = procore.project_add(name="Harbor Office Building (old)", project_number="H-1")
    procore.project_add(name="Elsewhere", project_number="99")
    preview = link_preview(job=job, project=by_hand, user=admin)
    assert [p["id"] for p in preview.procore_projects] == [same_number["id"], same_name["id"]]
    assert all(p["linked_to"] == "" for p in preview.procore_projects)


def test_linking_stamps_procores_project_and_takes_over_its_cost_codes(job, by_hand, admin, procore_connection, procore):
    existing = procore.project_add(name="Harbor office", project_number="24001")
    concrete = procore.cost_code_add(existing["id"], "03", "Concrete (typed in Procore)")
    procore.cost_code_add(existing["id"], "300", "Cast in place", parent_id=concrete["id"])
    erp_job_link(job=job, project=by_hand, user=admin, procore_project_id=existing["id"])
    stamped = procore.projects[existing["id"]]
    assert (stamped["origin_id"], stamped["origin_code"]) == ("cmic_files:AC01:24001", "24001")
    by_hand.refresh_from_db()
    assert (by_hand.procore_id, by_hand.procore_adopted) == (existing["id"], True)
    job = publish(job)
    assert job.publish_status == PublishStatus.PUBLISHED and len(procore.projects) == 1
    codes = procore.cost_codes[existing["id"]]
    assert len(codes) == 3  # 03 and 03-300 taken over, 03-400 made: none twice
    assert {c["name"] for c in codes.values()} == {"Concrete", "Cast-in-Place", "Precast"}  # the ERP's names win
    assert all(key.startswith("cmic_files:AC01:24001:code:") for key in codes)
    assert len(procore.assignments[existing["id"]]) == 3
    if SCHEMA_FILE.exists():
        assert procore.violations == []
    requests = sum(procore.requests.values())
    publish(job)
    assert sum(procore.requests.values()) == requests  # published again: nothing to send


def test_a_procore_project_linked_to_another_job_is_refused_with_that_jobs_name(job, by_hand, admin, pm, connection, export,
                                                                               procore_connection, procore):
    from erpsync.erp.services import erp_refresh

    export.standard_job("24002", "Riverside Clinic").write()
    erp_refresh(connection=connection)
    theirs = procore.project_add(name="Riverside", project_number="24002", origin_id="cmic_files:AC01:24002")
    with pytest.raises(ImportBlocked, match="already linked to job 24002 Riverside Clinic"):
        erp_job_link(job=job, project=by_hand, user=admin, procore_project_id=theirs["id"])
    job.refresh_from_db()
    assert job.status == "ready" and procore.projects[theirs["id"]]["origin_id"] == "cmic_files:AC01:24002"
    preview = link_preview(job=job, project=by_hand, user=admin)
    assert preview.procore_projects == [] or all(p["linked_to"] for p in preview.procore_projects if p["id"] == theirs["id"])


def test_unlink_clears_procores_origin_and_a_failure_there_changes_nothing(job, by_hand, admin, pm, procore_connection, procore):
    existing = procore.project_add(name="Harbor office", project_number="24001")
    erp_job_link(job=job, project=by_hand, user=admin, procore_project_id=existing["id"])
    with pytest.raises(Exception, match="Publish to Procore of project 24001 Harbor Office Building is queued; wait"):
        erp_job_unlink(job=job, user=pm)
    publish(job)
    procore.faults.fail_next["RestV10ProjectsIdPatch"] = 10
    with pytest.raises(Exception, match="Nothing was changed"):
        erp_job_unlink(job=job, user=pm)
    assert StagedJob.objects.get(pk=job.pk).status == "synced"
    procore.faults.fail_next.clear()
    erp_job_unlink(job=job, user=pm)
    assert "origin_id" not in procore.projects[existing["id"]] and "origin_code" not in procore.projects[existing["id"]]
    # Linked again, to the same Procore project: marked again, and nothing is made twice; "create" is not on offer.
    with pytest.raises(ImportBlocked, match=f"is Procore project {existing['id']} already"):
        erp_job_link(job=StagedJob.objects.get(pk=job.pk), project=by_hand, user=admin, procore_project_id=None)
    preview = link_preview(job=StagedJob.objects.get(pk=job.pk), project=by_hand, user=admin)
    assert [p["id"] for p in preview.procore_projects] == [existing["id"]]
    erp_job_link(job=job, project=by_hand, user=admin, procore_project_id=existing["id"])
    assert procore.projects[existing["id"]]["origin_id"] == "cmic_files:AC01:24001"
    publish(job)
    assert len(procore.cost_codes[existing["id"]]) == 3 and len(procore.projects) == 1


def test_refresh_cost_codes_publishes_a_new_phase_once(job, pm, accountant, export, procore_connection, procore):
    project = erp_job_import(job=job, template=None, user=pm)
    publish(job)
    export.phase("24001", "03-500", "Formwork", "03").line("24001", "03-500", "L", "250.50")
    next(r for r in export.rows["cost_codes"] if r["code"] == "03-400")["name"] = "Precast panels"
    export.write()
    cost_codes_refresh(project=project, user=accountant)
    before = procore.requests.copy()
    publish(job)
    sent = procore.requests - before
    assert sent["RestV10CostCodesSyncPatch"] == 2  # the new code, then the renamed one
    assert sent["RestV10ProjectsPost"] == 0 and sent["cost_code_line_item_types"] == 1
    project.refresh_from_db()
    codes = procore.cost_codes[project.procore_id]
    assert codes["cmic_files:AC01:24001:code:03-500"]["code"] == "500"
    assert codes["cmic_files:AC01:24001:code:03-400"]["name"] == "Precast panels"
    assert len(codes) == 4
    assert not CostCode.objects.filter(project=project, procore_outdated=True).exists()
    again = procore.requests.copy()
    publish(job)
    assert procore.requests == again


def test_on_the_web_the_listed_procore_project_is_preselected_and_linked(job, by_hand, admin, procore_connection, procore, client):
    from django.urls import reverse

    existing = procore.project_add(name="Harbor office", project_number="24001")
    client.force_login(admin)
    url = reverse("erp:job_link_confirm", args=[job.pk, by_hand.pk])
    page = client.get(url)
    assert page.context["chosen"] == str(existing["id"])
    plan = page.context["plan"].fingerprint
    tampered = client.post(url, {"procore_project": "123", "expected": plan}).content.decode()
    assert "Select a valid choice" in tampered and StagedJob.objects.get(pk=job.pk).status == "ready"
    client.post(url, {"procore_project": str(existing["id"]), "expected": plan})
    by_hand.refresh_from_db()
    assert by_hand.procore_id == existing["id"] and procore.projects[existing["id"]]["origin_id"] == "cmic_files:AC01:24001"
