from datetime import datetime, timezone
from decimal import Decimal

import pytest

from erpsync.connectors.base import ConnectorError
from erpsync.connectors.files.source import CmicExportSource


def job_count(small_export):
    return sum(1 for _ in CmicExportSource(folder=str(small_export)).jobs())


def test_it_pages_with_limit_and_offset_until_has_more_ends(rest_source, fake, small_export):
    jobs = list(rest_source().jobs())
    total = job_count(small_export)
    assert len(jobs) == total and len({j.key for j in jobs}) == total
    assert fake.requests["jcjob"] == -(-total // 10)  # the minimum for the page size


def test_it_never_asks_for_more_than_a_thousand_rows(rest_source, fake):
    list(rest_source(page_size=5000).cost_codes())
    assert fake.limits_asked and max(fake.limits_asked) == 1000


def test_a_500_on_page_three_that_recovers_gives_every_row_once(rest_source, fake, small_export, waits):
    fake.faults.status_on_page[("jcjobcostcodes", 20)] = [500, 2]
    codes = list(rest_source().cost_codes())
    expected = list(CmicExportSource(folder=str(small_export)).cost_codes())
    assert sorted(codes, key=lambda r: r.key) == sorted(expected, key=lambda r: r.key)
    assert len(codes) == len({c.key for c in codes}) == len(expected) > 30
    assert len(waits) == 2


def test_a_lasting_503_fails_with_a_plain_message(rest_source, fake, waits):
    fake.faults.status_on_page[("jcjobcostcodes", 10)] = [503, 99]
    with pytest.raises(ConnectorError, match="CMiC kept answering HTTP 503 after 4 attempts") as info:
        list(rest_source().cost_codes())
    assert not info.value.permanent and len(waits) == 3


def test_a_429_waits_as_told(rest_source, fake, waits):
    fake.faults.rate_limited = [2, 7]
    assert list(rest_source().jobs())
    assert waits == [7.0, 7.0]


def test_a_slow_answer_is_retried(rest_source, fake, waits):
    fake.faults.delay_seconds, fake.faults.delay_times = 0.6, 1
    assert list(rest_source(timeout=0.2).cost_types())
    assert len(waits) == 1


def test_bad_credentials_say_to_check_the_user_and_password(rest_source):
    with pytest.raises(ConnectorError, match=r"CMiC refused the user name and password \(HTTP 401\): check the API user"):
        list(rest_source(password="wrong").jobs())


def test_a_forbidden_resource_names_the_missing_api_security(rest_source, fake):
    fake.faults.forbidden.add("jcjobcostcodes")
    with pytest.raises(ConnectorError, match=r"the service user lacks API security for jcjobcostcodes"):
        list(rest_source().cost_codes())


def test_a_wrong_environment_says_to_check_it(rest_source):
    with pytest.raises(ConnectorError, match=r"CMiC has no jcjob at .*/cmicprod/jc-rest-api/rest/1/jcjob \(HTTP 404\): check the environment"):
        list(rest_source(environment="cmicprod").jobs())


@pytest.mark.parametrize("kind", ["truncated", "html"])
def test_a_garbage_body_names_the_resource_and_offset(rest_source, fake, kind):
    fake.faults.garbage_on_page[("jcjobcategory", 20)] = kind
    assert len(fake.items["jcjobcategory"]) > 30
    with pytest.raises(ConnectorError, match=r"CMiC answered jcjobcategory at offset 20 with something that is not JSON"):
        list(rest_source().budget_lines())


def test_a_page_promising_more_with_no_items_is_refused_not_taken_for_the_end(rest_source, fake):
    fake.faults.garbage_on_page[("jcjobcategory", 20)] = "empty"
    with pytest.raises(ConnectorError, match=r"^CMiC answered jcjobcategory at offset 20 with no items but said there were "
                                             r"more; nothing was changed\.$"):
        list(rest_source().budget_lines())


def test_a_lasting_failure_names_the_resource_and_offset(rest_source, fake, waits):
    fake.faults.status_on_page[("jcjobcostcodes", 10)] = [500, 99]
    with pytest.raises(ConnectorError, match=r"^Reading jcjobcostcodes at offset 10: CMiC kept answering HTTP 500"):
        list(rest_source().cost_codes())


def test_oauth_caches_its_token_and_renews_it_once_after_a_401(rest_source, fake):
    source = rest_source(auth="oauth", token_url=fake.token_url, oauth_client_id="erpsync", client_secret="client-secret")
    list(source.cost_types())
    list(source.cost_types())
    assert len(fake.tokens) == 1
    fake.faults.revoke_tokens = True
    assert list(source.cost_types())
    assert len(fake.tokens) == 1  # the old one was revoked, one new one issued


def test_bad_client_credentials_are_refused_plainly(rest_source, fake):
    source = rest_source(auth="oauth", token_url=fake.token_url, oauth_client_id="erpsync", client_secret="nope")
    with pytest.raises(ConnectorError, match="The identity provider refused the CMiC client credentials"):
        list(source.jobs())


def test_test_connection_names_attributes_the_tenant_lacks(rest_source, fake):
    fake.faults.forbidden.add("jcdetailposted")
    results = {r.subject: r for r in rest_source(attributes={"jobs": {"name": "JobTitle"}}).check()}
    assert not results["jcjob"].ok and "jcjob has no attribute(s) JobTitle" in results["jcjob"].message
    assert results["jcjobcostcodes"].ok
    assert "lacks API security for jcdetailposted" in results["jcdetailposted"].message


def test_a_tenant_without_optional_attributes_passes_the_test_and_is_told_what_is_lost(rest_source, fake):
    for row in fake.items["jcjobcategory"]:
        del row["JcatCommittedAmt"], row["JcatIuUpdateDate"]
    results = {r.subject: r for r in rest_source().check()}
    lines = results["jcjobcategory"]
    assert lines.ok and lines.warning
    assert lines.message == ("Reachable, without the optional attribute(s) JcatCommittedAmt (committed costs stay 0); "
                             "JcatIuUpdateDate (no audit date: every refresh and job-cost sync reads every job category). "
                             "Map each to null in the attribute mapping to stop asking for it.")
    assert all(r.ok for r in results.values())
    mapped = {r.subject: r for r in rest_source(attributes={"budget_lines": {"committed_cost": None, "updated_at": None}}).check()}
    assert not mapped["jcjobcategory"].warning and mapped["jcjobcategory"].message == "Reachable; every configured attribute exists."


def test_an_attribute_mapped_to_null_is_not_asked_for_and_reads_as_absent(rest_source, fake):
    source = rest_source(attributes={"budget_lines": {"committed_cost": None, "updated_at": None}})
    since = datetime(2099, 1, 1, tzinfo=timezone.utc)
    lines = list(source.budget_lines(since=since))  # no audit date to filter by: everything
    assert len(lines) == len(fake.items["jcjobcategory"]) and {line.committed_cost for line in lines} == {Decimal(0)}
    assert list(source.cost_codes(since=since)) == []  # phases still have theirs
