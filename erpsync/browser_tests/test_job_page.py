"""The job page, as a user reaches it from the list."""

import re

from playwright.sync_api import expect


def test_a_user_opens_a_job_sees_its_tree_and_problems_and_adds_it_from_there(demo, sign_in, screenshot):
    from erpsync.erp.models import StagedJob

    blocked = StagedJob.objects.filter(controlling_code="").exclude(problems=[]).order_by("job_code").first()
    page = sign_in("pm", "demo-pm")
    page.goto("/erp/jobs/")
    page.get_by_role("link", name=blocked.job_code, exact=True).click()
    expect(page.get_by_role("heading", level=2)).to_contain_text(blocked.job_code)
    expect(page.locator("#problems")).to_contain_text(blocked.problems[0]["message"][:40])
    expect(page.get_by_role("button", name="Add")).to_be_disabled()

    page.goto("/erp/jobs/")
    page.get_by_role("link", name="25102", exact=True).click()
    expect(page.get_by_text("What the project will be")).to_be_visible()
    division = page.locator("#cost-codes details").first
    division.locator("summary").click()
    expect(division.locator(".tree .badge").first).to_be_visible()  # its cost codes with their cost types
    screenshot("job-page")
    page.get_by_role("button", name=re.compile("^Add")).click()
    expect(page.locator("#messages")).to_contain_text("Job 25102 was added as project")
    assert StagedJob.objects.get(job_code="25102").status == "synced"
