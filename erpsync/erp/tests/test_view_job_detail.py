"""The job page: everything about one ERP job, linked from the lists."""

from django.urls import reverse

from erpsync.erp.models import StagedJob
from erpsync.erp.services import erp_job_import, erp_refresh


def page_of(client, job, **params) -> str:
    return client.get(reverse("erp:job_detail", args=[job.pk]), params).content.decode()


def test_it_shows_what_the_project_will_be_its_divisions_and_how_to_add_it(signed_in, pm, connection, export):
    export.job("24001-01", "Site work", controlling="24001").phase("24001-01", "02", "Site").phase(
        "24001-01", "02-100", "Grading", "02").line("24001-01", "02-100", "L", "5").write()
    erp_refresh(connection=connection)
    job = StagedJob.objects.get(job_code="24001")
    client = signed_in(pm)
    assert f'href="{reverse("erp:job_detail", args=[job.pk])}"' in client.get(reverse("erp:jobs")).content.decode()
    page = page_of(client, job)
    assert "What the project will be" in page and "Harbor Office Building" in page and "1 Main St, Boston, MA 02110" in page
    assert '<strong class="code">03</strong> Concrete <span class="hint">3 cost codes</span>' in page
    assert "Sub job 24001-01" in page and 'name="template"' in page and ">Add</button>" in page
    opened = client.get(reverse("erp:job_detail", args=[job.pk]), {"division": "03", "part": "codes"},
                        HTTP_HX_REQUEST="true").content.decode()
    assert '<strong class="code">03-300</strong> Cast-in-Place' in opened and "L Labor</span>" in opened
    sub = client.get(reverse("erp:job_detail", args=[job.pk]), {"division": "24001-01/02", "part": "codes"},
                     HTTP_HX_REQUEST="true").content.decode()
    assert '<strong class="code">02-100</strong> Grading' in sub


def test_every_problem_is_listed_in_full(signed_in, pm, connection, export):
    for n in range(14):
        export.phase("24001", f"03-9{n:02}", f"Leaf {n}", "03")
    export.write()
    erp_refresh(connection=connection)
    job = StagedJob.objects.get(job_code="24001")
    page = page_of(signed_in(pm), job)
    assert "and 4 more" in page  # the summary line, as the list shows it
    assert "All 14 of them" in page and "03-913" in page  # and every code at fault


def test_a_synced_job_links_its_project_and_shows_its_history(signed_in, pm, connection, export):
    erp_refresh(connection=connection)
    job = StagedJob.objects.get(job_code="24001")
    project = erp_job_import(job=job, template=None, user=pm)
    page = page_of(signed_in(pm), job)
    assert f'href="/projects/{project.pk}/"' in page and "Synced" in page
    assert "Added job" in page and "as project" in page  # its history, in words


def test_another_companys_job_answers_404(signed_in, outsider, connection):
    erp_refresh(connection=connection)
    assert signed_in(outsider).get(reverse("erp:job_detail", args=[StagedJob.objects.get().pk])).status_code == 404


def test_a_leaf_without_a_cost_type_is_marked_in_the_tree(signed_in, pm, connection, export):
    export.phase("24001", "03-500", "Rebar", "03").write()
    erp_refresh(connection=connection)
    job = StagedJob.objects.get(job_code="24001")
    opened = signed_in(pm).get(reverse("erp:job_detail", args=[job.pk]), {"division": "03", "part": "codes"},
                               HTTP_HX_REQUEST="true").content.decode()
    rebar = opened[opened.index("03-500"):]
    assert rebar.index('<span class="status blocked">no cost type</span>') < rebar.index("</li>")
