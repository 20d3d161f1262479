"""A CMiC page becomes records the one way: its items, read with exact amounts, through the mapper."""

import json
from decimal import Decimal

import pytest

from erpsync.connectors.base import ConnectorError
from erpsync.connectors.cmic.mapping import CmicMapper
from erpsync.connectors.cmic.pages import checked_items, envelope_items

CODE = {"GjjpCompCode": "DB01", "GjjpJobCode": "25101", "GjjpCode": "03-100", "GjjpName": "Concrete", "GjjpCtrlCode": "03",
        "GjjpActiveFlag": "Y", "links": [{"rel": "self", "href": "/x"}]}
LINE = {"JcatCompCode": "DB01", "JcatJobCode": "25101", "JcatPhsCode": "03-100", "JcatCode": "5000", "JcatCatActiveFlag": "Y",
        "JcatOrigBudgetAmt": 0}
JOB = {"JobCompCode": "DB01", "JobCode": "25101", "JobName": "Library", "JobCtrlCode": "ALL", "JobStatusCode": "Open",
       "JobAddress1": None, "JobCity": None, "JobState": None, "JobZip": None, "JobStartDate": "2026-06-05", "JobEndDate": None}


def body(items, has_more=False) -> bytes:
    return json.dumps({"items": items, "count": len(items), "hasMore": has_more, "links": []}).encode()


def records(entity: str, name: str, page: bytes, offset: int = 0, mapper: CmicMapper | None = None):
    """What the REST Source makes of one page."""
    mapper = mapper or CmicMapper()
    make = {"jobs": mapper.job, "cost_codes": mapper.cost_code, "budget_lines": mapper.budget_line}[entity]
    items, _ = envelope_items(page, name, offset)
    return [make(item, where) for where, item in checked_items(items, name, offset)]


def test_amounts_stay_exact_however_they_are_written():
    raw = b'{"items": [{"JcatCompCode": "DB01", "JcatJobCode": "1", "JcatPhsCode": "01", "JcatCode": "5000", "JcatCatActiveFlag": "Y", ' \
          b'"JcatOrigBudgetAmt": 0.10, "JcatBudgetChgAmt": "12345678901.23", "JcatCommittedAmt": 1e3, ' \
          b'"JcatBudgetUnits": "1,200.5"}], "hasMore": false}'
    (line,) = records("budget_lines", "jcjobcategory", raw)
    assert (line.original_budget, line.approved_changes, line.budget_units, line.committed_cost) == (
        Decimal("0.10"), Decimal("12345678901.23"), Decimal("1200.5"), Decimal("1E+3"))
    assert str(line.original_budget) == "0.10"


@pytest.mark.parametrize("written, meant", [("1,234,567.89", "1234567.89"), ("-1,000", "-1000"), (" 12.50 ", "12.50"), (7, "7")])
def test_thousands_separators_are_read(written, meant):
    (line,) = records("budget_lines", "jcjobcategory", body([LINE | {"JcatOrigBudgetAmt": written}]))
    assert str(line.original_budget) == meant


@pytest.mark.parametrize("written", ["1,5", "12,34,5.6", "1.234,56", True, False, [1], {"amount": 1}, "$12", "NaN"])
def test_an_amount_that_could_be_misread_is_refused_naming_its_place(written):
    with pytest.raises(ConnectorError, match=r"^jcjobcategory offset 0 item 1, field JcatOrigBudgetAmt: .* not a number\b"):
        records("budget_lines", "jcjobcategory", body([LINE | {"JcatOrigBudgetAmt": written}]))


@pytest.mark.parametrize("page, message", [
    ([CODE, CODE | {"GjjpName": "  "}], r"^jcjobcostcodes offset 500 item 2, field GjjpName: a value is required\.$"),
    ([CODE | {"GjjpActiveFlag": "maybe"}], r"^jcjobcostcodes offset 500 item 1, field GjjpActiveFlag: 'maybe' is not a Y/N flag\.$"),
    ([CODE, "not an object"], r"^jcjobcostcodes offset 500 item 2 is not an object\.$"),
])
def test_a_bad_item_is_named_with_its_place(page, message):
    with pytest.raises(ConnectorError, match=message):
        records("cost_codes", "jcjobcostcodes", body(page), 500)


@pytest.mark.parametrize("raw, message", [
    (b"<html>Service Unavailable</html>", "answered jcjobcostcodes at offset 0 with something that is not JSON"),
    (body([CODE])[:-30], "answered jcjobcostcodes at offset 0 with something that is not JSON"),
    (b'{"count": 0}', "answered jcjobcostcodes at offset 0 without a list of items"),
])
def test_a_garbage_page_names_the_resource_and_offset(raw, message):
    with pytest.raises(ConnectorError, match=message) as info:
        records("cost_codes", "jcjobcostcodes", raw)
    assert not info.value.permanent  # CMiC may answer properly next time


def test_a_renamed_attribute_is_read():
    mapper = CmicMapper({"cost_codes": {"name": "GjjpDescription"}})
    item = {k if k != "GjjpName" else "GjjpDescription": v for k, v in CODE.items()}
    (code,) = records("cost_codes", "jcjobcostcodes", body([item]), mapper=mapper)
    assert (code.code, code.name, code.parent_code) == ("03-100", "Concrete", "03")


def test_padded_text_nulls_and_cmics_top_level_in_any_case():
    (code,) = records("cost_codes", "jcjobcostcodes", body([CODE | {"GjjpName": " Concrete  ", "GjjpCtrlCode": "all",
                                                                   "GjjpActiveFlag": None}]))
    assert (code.name, code.parent_code, code.active) == ("Concrete", "", True)


def test_jobs_keep_the_item_as_cmic_sent_it():
    item = JOB | {"JobBudget": 1.50}
    (job,) = records("jobs", "jcjob", body([item]))
    assert (job.company_code, job.job_code, job.name, job.controlling_code) == ("DB01", "25101", "Library", "")
    assert job.raw["JobBudget"] == Decimal("1.5")


def test_a_job_with_a_date_that_is_not_one_is_named_with_its_place():
    job = JOB
    with pytest.raises(ConnectorError, match=r"^jcjob offset 0 item 2, field JobStartDate: '2026-13-45' is not a date"):
        records("jobs", "jcjob", body([job, job | {"JobStartDate": "2026-13-45"}]))
