"""In a real browser, under erpsync's Content-Security-Policy, nothing on the main pages is blocked and htmx still works."""

import re

from playwright.sync_api import expect


def test_the_main_pages_run_with_nothing_blocked(demo, sign_in, page):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in("admin", "demo-admin")
    for path in ("/erp/jobs/", "/erp/jobs/?status=archived", "/erp/job-costs/", "/erp/history/", "/erp/settings/",
                 "/projects/", "/templates/"):
        page.goto(path)
        expect(page.get_by_role("main")).to_be_visible()
    # an htmx swap: archiving a job takes its row away and says so at the top
    page.goto("/erp/jobs/")
    row = page.locator("#jobs tbody tr").filter(has=page.locator("td:first-child", has_text=re.compile("^25103$")))
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("link", name="Archive job 25103").click()
    expect(page.locator("#messages")).to_contain_text("Job 25103 was archived")
    assert problems == []
