"""The Job Costs page acts on the job the user picked."""

from playwright.sync_api import expect


def test_picking_a_job_switches_the_page_and_every_action_follows_it(demo, sign_in):
    from erpsync.erp.models import StagedJob
    from erpsync.erp.services import erp_job_import

    admin = StagedJob.objects.get(job_code="25101").company.memberships.get(user__username="admin").user
    for code in ("25101", "25102"):
        erp_job_import(job=StagedJob.objects.get(job_code=code), template=None, user=admin)
    page = sign_in("accountant", "demo-accountant")
    page.goto("/erp/job-costs/")
    expect(page.get_by_role("link", name="Download CSV of 25101")).to_be_visible()
    page.get_by_label("Synced job").select_option(label="25102 Boston Warehouse")
    expect(page.get_by_role("link", name="Download CSV of 25102")).to_be_visible()
    assert "project=" in page.url  # the picked job is in the address, so reload and back keep it
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV of 25102").click()
    assert download.value.suggested_filename == "job-costs-25102.csv"
    page.get_by_role("button", name="Sync job costs of 25102 now").click()
    expect(page.locator("#messages")).to_contain_text("The job costs of 25102 are being synced")
    expect(page.get_by_label("Synced job")).to_have_value(str(StagedJob.objects.get(job_code="25102").project_id))
