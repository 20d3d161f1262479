"""After Add, Archive or Restore the jobs list shows the truth: counts, rows, the empty state and the search result count."""

import re

from playwright.sync_api import expect


def row(page, job_code):
    return page.locator("#jobs tbody tr").filter(has=page.locator("td:first-child", has_text=re.compile(f"^{job_code}$")))


def count(page, label):
    return page.get_by_role("link", name=re.compile(f"^{label}")).locator(".badge")


def test_counts_and_the_empty_state_follow_every_swap(demo, sign_in):
    from erpsync.erp.models import StagedJob, StagedJobStatus

    ready = StagedJob.objects.filter(status=StagedJobStatus.READY, controlling_code="").count()
    page = sign_in("admin", "demo-admin")
    page.goto("/erp/jobs/")
    expect(count(page, "Ready to Import")).to_have_text(str(ready))
    expect(count(page, "Archived")).to_have_text("0")

    page.once("dialog", lambda dialog: dialog.accept())
    row(page, "25103").get_by_role("link", name="Archive job 25103").click()
    expect(page.locator("#messages")).to_contain_text("Job 25103 was archived")
    expect(page.locator("#messages p")).to_be_focused()  # a keyboard or screen-reader user lands on what happened
    expect(count(page, "Ready to Import")).to_have_text(str(ready - 1))
    expect(count(page, "Archived")).to_have_text("1")

    row(page, "25102").get_by_role("button", name="Add").click()
    expect(page.locator("#messages")).to_contain_text("Job 25102 was added as project")
    expect(count(page, "Ready to Import")).to_have_text(str(ready - 2))
    expect(count(page, "Synced")).to_have_text("1")

    count(page, "Archived").click()
    row(page, "25103").get_by_role("button", name="Restore").click()
    expect(page.locator("#messages")).to_contain_text("Job 25103 is back in Ready to Import")
    expect(page.locator("#jobs tbody")).to_contain_text("No jobs here.")
    expect(count(page, "Archived")).to_have_text("0")
    expect(count(page, "Ready to Import")).to_have_text(str(ready - 1))


def test_a_search_says_how_many_jobs_it_found(demo, sign_in):
    page = sign_in("viewer", "demo-viewer")
    page.goto("/erp/jobs/")
    page.get_by_label("Search by CMiC ID or name").fill("Boston")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".result-count")).to_have_text(re.compile(r"^(1 job matches|\d+ jobs match) “Boston” in Ready to Import\.$"))


def test_at_1440_pixels_each_ordinary_job_takes_one_line_for_every_role(demo, new_page):
    from erpsync.erp.models import StagedJob
    from erpsync.erp.services import erp_job_import

    job = StagedJob.objects.get(job_code="25101")
    erp_job_import(job=job, template=None, user=job.company.memberships.get(user__username="admin").user)
    for username in ("pm", "viewer", "accountant"):
        page = new_page(1440, 900)
        page.goto("/login/")
        page.get_by_label("User name").fill(username)
        page.get_by_label("Password").fill(f"demo-{username}")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login/" not in url)
        for path in ("/erp/jobs/", "/erp/jobs/?status=synced"):
            page.goto(path)
            line = page.evaluate("parseFloat(getComputedStyle(document.body).lineHeight)")
            rows = page.locator("#jobs tbody tr")
            heights = rows.evaluate_all("rows => rows.map(r => r.getBoundingClientRect().height)")
            blocked = page.locator("#jobs tbody tr:has(.problems)").count()
            one_line = [h for h in heights if h < 2.2 * line + 16]  # a line of text, or the buttons' height, plus the padding
            assert len(one_line) >= len(heights) - blocked, (username, path, heights)
            assert max(heights) < 8 * line, (username, path, max(heights), line)  # a blocked job too stays compact
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0, (username, path)
