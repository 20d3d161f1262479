from django.urls import reverse

from erpsync.erp.models import AuditEvent, StagedJob
from erpsync.erp.services import erp_job_import
from erpsync.projects.models import Project, ProjectTemplate


def test_the_project_page_shows_details_tree_and_job_costs(signed_in, viewer, pm, refreshed):
    project = erp_job_import(job=StagedJob.objects.get(), template=None, user=pm)
    body = signed_in(viewer).get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert "24001 · Harbor Office Building" in body and "1 Main St, Boston, MA 02110" in body
    tree = body[body.index('id="cost-codes"'):body.index('id="job-costs"')]
    assert '<strong class="code">03</strong> Concrete <span class="hint">3 cost codes</span>' in tree
    assert "03-300" not in tree  # a division opens on demand
    assert "153,000.09" in body
    division = project.cost_codes.get(code="03")
    client = signed_in(viewer)
    opened = client.get(reverse("projects:detail", args=[project.pk]), {"division": division.pk, "part": "codes"},
                        HTTP_HX_REQUEST="true").content.decode()
    assert opened.index('<strong class="code">03</strong> Concrete') < opened.index('<strong class="code">03-300</strong> Cast-in-Place')
    assert "L Labor</span>" in opened and "S Subcontract</span>" in opened and "<html" not in opened
    costs = client.get(reverse("projects:detail", args=[project.pk]), {"division": division.pk, "part": "costs"},
                       HTTP_HX_REQUEST="true").content.decode()
    assert '<td class="code">03-300</td><td>Cast-in-Place</td><td>L Labor</td>' in costs
    without_script = client.get(reverse("projects:detail", args=[project.pk]), {"division": division.pk}).content.decode()
    assert "03-300" in without_script and '<td class="code">03-400</td>' in without_script


def test_a_search_finds_cost_codes_by_code_or_description(signed_in, viewer, pm, refreshed):
    project = erp_job_import(job=StagedJob.objects.get(), template=None, user=pm)
    body = signed_in(viewer).get(reverse("projects:detail", args=[project.pk]), {"q": "precast"}).content.decode()
    assert "1 cost code matches “precast”." in body
    assert '<strong class="code">03-400</strong> Precast' in body and "03-300" not in body


def test_a_division_that_is_not_the_projects_answers_404(signed_in, viewer, pm, refreshed):
    project = erp_job_import(job=StagedJob.objects.get(), template=None, user=pm)
    leaf = project.cost_codes.get(code="03-300")
    for part in ("codes", "costs"):
        response = signed_in(viewer).get(reverse("projects:detail", args=[project.pk]), {"division": leaf.pk, "part": part},
                                         HTTP_HX_REQUEST="true")
        assert response["HX-Retarget"] == "#messages" and "That record is no longer here" in response.content.decode()
    plain = signed_in(viewer).get(reverse("projects:detail", args=[project.pk]), {"division": leaf.pk, "part": "codes"})
    assert plain.status_code == 200  # without htmx: the page, with nothing opened


def test_the_list_searches_by_number_and_name(signed_in, viewer, company):
    Project.objects.create(company=company, project_number="A-1", name="Harbor Tower")
    Project.objects.create(company=company, project_number="B-2", name="Mill Lofts")
    body = signed_in(viewer).get(reverse("projects:list"), {"q": "lofts"}).content.decode()
    assert "Mill Lofts" in body and "Harbor Tower" not in body


def test_another_companys_project_answers_404(signed_in, outsider, company):
    project = Project.objects.create(company=company, project_number="A-1", name="Harbor Tower")
    assert signed_in(outsider).get(reverse("projects:detail", args=[project.pk])).status_code == 404
    assert "Harbor Tower" not in signed_in(outsider).get(reverse("projects:list")).content.decode()


def test_company_admins_create_edit_and_delete_templates_with_a_team(signed_in, admin, pm, company):
    client = signed_in(admin)
    form = {"name": "Healthcare", "stage": "pre_construction", "project_type": "Hospital", "office": "Boston",
            "time_zone": "America/New_York", "team-TOTAL_FORMS": "3", "team-INITIAL_FORMS": "0",
            "team-0-user": str(pm.pk), "team-0-role": "Project Manager", "team-1-user": "", "team-1-role": "", "team-2-user": "", "team-2-role": ""}
    assert client.post(reverse("projects:template_new"), form).status_code == 302
    template = ProjectTemplate.objects.get(company=company)
    assert [(m.user, m.role) for m in template.team.all()] == [(pm, "Project Manager")]
    client.post(reverse("projects:template_edit", args=[template.pk]), {**form, "office": "Hartford"})
    assert ProjectTemplate.objects.get().office == "Hartford"
    client.post(reverse("projects:template_delete", args=[template.pk]))
    assert not ProjectTemplate.objects.exists()
    assert list(AuditEvent.objects.order_by("pk").values_list("action", flat=True)) == [
        "project_template.created", "project_template.changed", "project_template.deleted"]


def test_a_team_member_from_outside_the_company_is_refused(signed_in, admin, outsider, company):
    form = {"name": "X", "stage": "pre_construction", "project_type": "", "office": "", "time_zone": "UTC",
            "team-TOTAL_FORMS": "1", "team-INITIAL_FORMS": "0", "team-0-user": str(outsider.pk), "team-0-role": "Spy"}
    response = signed_in(admin).post(reverse("projects:template_new"), form)
    assert "Select a valid choice" in response.content.decode()
    assert not ProjectTemplate.objects.exists()


def test_only_directory_admins_manage_templates(signed_in, pm, company):
    template = ProjectTemplate.objects.create(company=company, name="Keep")
    client = signed_in(pm)
    assert client.get(reverse("projects:templates")).status_code == 403
    assert "Managing project templates needs Admin on the Company Directory." in client.get(reverse("projects:templates")).content.decode()
    assert client.post(reverse("projects:template_delete", args=[template.pk])).status_code == 403
    assert ProjectTemplate.objects.exists()


def test_a_user_of_two_companies_switches_between_them(signed_in, pm, other_company):
    from erpsync.companies.models import Membership

    Project.objects.create(company=other_company, project_number="R-1", name="Rival Tower")
    Membership.objects.create(user=pm, company=other_company)
    client = signed_in(pm)
    assert "Rival Tower" not in client.get(reverse("projects:list")).content.decode()
    client.post(reverse("company_switch"), {"company": other_company.pk, "next": "/projects/"})
    assert "Rival Tower" in client.get(reverse("projects:list")).content.decode()


def test_switching_to_a_company_one_does_not_belong_to_answers_404(signed_in, pm, other_company):
    assert signed_in(pm).post(reverse("company_switch"), {"company": other_company.pk}).status_code == 404
