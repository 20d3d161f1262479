"""What users type is checked on the server: no redirect off the site, no server error from odd input."""

import pytest
from django.urls import reverse

from erpsync.companies.context import SESSION_KEY
from erpsync.companies.models import AccessLevel, Membership


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/erp/", "/\\evil.example", "javascript:alert(1)",
                                    "foo", "logout", "erp:settings", "erp/jobs/"])
def test_switching_company_never_redirects_off_the_site(signed_in, admin, other_company, target):
    Membership.objects.create(user=admin, company=other_company, erp_level=AccessLevel.ADMIN)
    client = signed_in(admin)
    response = client.post(reverse("company_switch"), {"company": other_company.pk, "next": target})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session[SESSION_KEY] == other_company.pk


def test_switching_company_keeps_a_page_of_this_site(signed_in, admin, other_company):
    Membership.objects.create(user=admin, company=other_company, erp_level=AccessLevel.ADMIN)
    response = signed_in(admin).post(reverse("company_switch"), {"company": other_company.pk, "next": "/erp/jobs/?status=synced"})
    assert response["Location"] == "/erp/jobs/?status=synced"


@pytest.mark.parametrize("chosen", ["abc", "", "1 OR 1=1", "99999999999999999999"])
def test_a_company_that_is_not_a_number_is_not_found(signed_in, admin, chosen):
    assert signed_in(admin).post(reverse("company_switch"), {"company": chosen}).status_code == 404


@pytest.mark.parametrize("page", ["erp:jobs", "projects:list"])
@pytest.mark.parametrize("query", ["\x00", "a\x00b", "x" * 61])
def test_a_search_that_cannot_be_searched_says_so(signed_in, admin, refreshed, page, query):
    response = signed_in(admin).get(reverse(page), {"q": query})
    assert response.status_code == 200
    assert "showing everything instead" in response.content.decode()


def test_a_procore_company_id_out_of_range_is_a_form_error(signed_in, admin):
    response = signed_in(admin).post(reverse("erp:procore_edit"), {
        "environment": "production", "procore_company_id": str(10**20), "client_id": "x", "client_secret": "y"})
    assert response.status_code == 200 and "Ensure this value is less than or equal to" in response.content.decode()


def test_pages_of_a_signed_in_user_are_never_cached(signed_in, admin):
    for page in (reverse("erp:jobs"), reverse("projects:list")):
        assert "no-store" in signed_in(admin).get(page)["Cache-Control"]
