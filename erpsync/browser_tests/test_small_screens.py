"""At phone width (390 pixels) no page scrolls sideways and the actions stay within reach."""

import re

import pytest
from playwright.sync_api import expect

PAGES = ("/erp/jobs/", "/erp/jobs/?status=archived", "/erp/job-costs/", "/erp/history/", "/erp/settings/", "/projects/",
         "/templates/", "/login/")


@pytest.fixture
def phone(new_page):
    return new_page(390, 844)


def sign_in(page, username, password):
    page.goto("/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def sideways(page) -> int:
    """How many pixels the page is wider than the screen."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_no_page_scrolls_sideways_at_phone_width(demo, phone, request):
    from erpsync.erp.models import StagedJob
    from erpsync.erp.services import erp_job_import
    from erpsync.projects.models import Project

    job = StagedJob.objects.get(job_code="25130")  # the large job: 2,128 cost codes
    erp_job_import(job=job, template=None, user=job.company.memberships.get(user__username="admin").user)
    sign_in(phone, "admin", "demo-admin")
    wide = {}
    blocked = StagedJob.objects.get(job_code="25124", controlling_code="")  # its number is a hand-typed project's
    by_hand = Project.objects.get(project_number="25124")
    large = StagedJob.objects.get(job_code="25130").project_id
    for path in (*PAGES[:-1], f"/projects/{large}/", f"/erp/jobs/{StagedJob.objects.get(job_code='25104').pk}/",
                 f"/erp/jobs/{blocked.pk}/link/", f"/erp/jobs/{blocked.pk}/link/{by_hand.pk}/", f"/erp/projects/{large}/cost-codes/"):
        phone.goto(path)
        if sideways(phone) > 0:
            wide[path] = sideways(phone)
        if path == "/erp/jobs/" and request.config.getoption("--screenshots"):
            phone.screenshot(path=f"{request.config.getoption('--screenshots')}/jobs-phone.png")
    assert wide == {}


def test_add_is_within_reach_on_a_phone(demo, phone):
    sign_in(phone, "pm", "demo-pm")
    phone.goto("/erp/jobs/")
    row = phone.locator("#jobs tbody tr").filter(has=phone.locator("td", has_text=re.compile("^25102$")))
    add = row.get_by_role("button", name="Add")
    add.scroll_into_view_if_needed()
    box = add.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    add.click()
    expect(phone.locator("#messages")).to_contain_text("Job 25102 was added as project")
