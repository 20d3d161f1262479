"""The connection forms show only the fields of the authentication or environment chosen."""

from playwright.sync_api import expect


def test_the_cmic_form_shows_the_fields_of_the_chosen_authentication(demo, sign_in):
    page = sign_in("admin", "demo-admin")
    page.goto("/erp/connections/new/?kind=cmic")
    expect(page.get_by_label("API user")).to_be_visible()
    expect(page.get_by_label("Token URL")).to_be_hidden()
    page.get_by_label("Authentication").select_option("oauth")
    expect(page.get_by_label("Token URL")).to_be_visible()
    expect(page.get_by_label("OAuth client secret")).to_be_visible()
    expect(page.get_by_label("API user")).to_be_hidden()
    expect(page.get_by_label("Password")).to_be_hidden()


def test_the_procore_form_shows_custom_urls_only_for_custom(demo, sign_in):
    page = sign_in("admin", "demo-admin")
    page.goto("/erp/procore/")
    expect(page.get_by_label("API URL (custom only)")).to_be_hidden()
    page.get_by_label("Environment").select_option("custom")
    expect(page.get_by_label("API URL (custom only)")).to_be_visible()
    expect(page.get_by_label("Login URL (custom only)")).to_be_visible()
