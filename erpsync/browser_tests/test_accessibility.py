"""axe-core (installed from the npm registry by `make test`) finds no accessibility violation on any main page."""

import json
from pathlib import Path

import pytest

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def axe_page(new_page):
    if not AXE.exists():
        pytest.skip("axe-core is not installed: `make test` installs it with npm (npm ci --prefix erpsync/browser_tests).")
    # axe is injected as a script of the page itself, which erpsync's Content-Security-Policy rightly forbids.
    return new_page(1440, 900, bypass_csp=True)


def violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {', '.join(json.dumps(n['target']) for n in v['nodes'][:3])}"
            for v in result["violations"]]


def test_no_main_page_has_an_accessibility_violation(demo, axe_page):
    from erpsync.erp.models import StagedJob
    from erpsync.erp.services import erp_job_archive, erp_job_import
    from erpsync.projects.models import Project, ProjectTemplate

    page = axe_page
    page.goto("/login/")
    found = {"/login/": violations(page)}
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill("demo-admin")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    admin = StagedJob.objects.get(job_code="25101").company.memberships.get(user__username="admin").user
    project = erp_job_import(job=StagedJob.objects.get(job_code="25101"), template=None, user=admin)
    erp_job_archive(job=StagedJob.objects.get(job_code="25103"), user=admin)
    template = ProjectTemplate.objects.first()
    blocked = StagedJob.objects.get(job_code="25124", controlling_code="")  # its number is a hand-typed project's
    by_hand = Project.objects.get(project_number="25124")
    for path in ("/erp/jobs/", "/erp/jobs/?status=synced", "/erp/jobs/?status=archived", "/erp/jobs/?q=Boston",
                 "/erp/job-costs/", "/erp/history/", "/erp/settings/", "/erp/connections/new/?kind=cmic",
                 "/erp/connections/new/?kind=cmic_files", "/erp/procore/", "/projects/", f"/projects/{project.pk}/",
                 "/templates/", "/templates/new/", f"/templates/{template.pk}/",
                 f"/erp/jobs/{StagedJob.objects.get(job_code='25130').pk}/", f"/erp/jobs/{StagedJob.objects.get(job_code='25101').pk}/",
                 f"/erp/jobs/{blocked.pk}/link/", f"/erp/jobs/{blocked.pk}/link/?q=ware", f"/erp/jobs/{blocked.pk}/link/{by_hand.pk}/",
                 f"/erp/jobs/{StagedJob.objects.get(job_code='25101').pk}/unlink/", f"/erp/projects/{project.pk}/cost-codes/"):
        page.goto(path)
        found[path] = violations(page)
    assert {path: v for path, v in found.items() if v} == {}
