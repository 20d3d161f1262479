"""Pages decode the fast way or the careful way, and both give the same staging rows."""

import json
from decimal import Decimal

import pytest

from erpsync.connectors.base import ConnectorError, STAGING_ROW
from erpsync.connectors.cmic.mapping import CmicMapper
from erpsync.connectors.cmic.pages import PageDecoder

CODE = {"GjjpCompCode": "DB01", "GjjpJobCode": "25101", "GjjpCode": "03-100", "GjjpName": "Concrete", "GjjpCtrlCode": "03",
        "GjjpActiveFlag": "Y", "links": [{"rel": "self", "href": "/x"}]}
LINE = {"JcatCompCode": "DB01", "JcatJobCode": "25101", "JcatPhsCode": "03-100", "JcatCode": "5000", "JcatCatActiveFlag": "Y",
        "JcatOrigBudgetAmt": "1200.50", "JcatBudgetChgAmt": "0.00", "JcatBudgetUnits": "12", "JcatCommittedAmt": "900.10",
        "JcatPctComplete": "16"}

UNUSUAL_CODES = [
    {"GjjpCompCode": " DB01 ", "GjjpName": "Concrete  "},  # padded text
    {"GjjpCtrlCode": "all"},  # CMiC's top level in lower case
    {"GjjpCtrlCode": None, "GjjpActiveFlag": None},  # nulls
    {"GjjpActiveFlag": "yes"},  # a flag the fast loop leaves to the mapper
    {"GjjpActiveFlag": " n"},
    {"GjjpCode": 310},  # a number where text belongs
]
UNUSUAL_LINES = [
    {"JcatOrigBudgetAmt": 1200.5, "JcatBudgetUnits": 12},  # JSON numbers, not strings
    {"JcatOrigBudgetAmt": "1,200.50"},  # a thousands separator
    {"JcatBudgetChgAmt": "", "JcatCommittedAmt": None},  # empty and null amounts are zero
    {"JcatCatActiveFlag": "N", "JcatPctComplete": 33.333},
]


def body(items, has_more=False) -> bytes:
    return json.dumps({"items": items, "count": len(items), "hasMore": has_more, "links": []}).encode()


def careful(entity, name, items, offset=0):
    """What the mapper makes of each item: the rows the fast loop must match."""
    mapper = CmicMapper()
    make = {"cost_codes": mapper.cost_code, "budget_lines": mapper.budget_line}[entity]
    return [STAGING_ROW[entity](make(item, f"{name} offset {offset} item {i}")) for i, item in enumerate(items, 1)]


@pytest.mark.parametrize("entity, name, template, unusual", [
    ("cost_codes", "jcjobcostcodes", CODE, UNUSUAL_CODES),
    ("budget_lines", "jcjobcategory", LINE, UNUSUAL_LINES),
])
def test_usual_and_unusual_pages_give_the_mappers_rows(entity, name, template, unusual):
    decode = PageDecoder(CmicMapper(), entity, name)
    usual = [template | {"GjjpCode": f"03-{n}0"} if entity == "cost_codes" else template | {"JcatPhsCode": f"03-{n}0"}
             for n in range(1, 4)]
    assert decode(body(usual, has_more=True), 40) == (careful(entity, name, usual, 40), True)
    for change in unusual:
        page = [*usual, template | change]
        rows, has_more = decode(body(page), 0)
        assert rows == careful(entity, name, page) and has_more is False, change


def test_amounts_stay_exact_however_they_are_written():
    decode = PageDecoder(CmicMapper(), "budget_lines", "jcjobcategory")
    raw = b'{"items": [{"JcatCompCode": "DB01", "JcatJobCode": "1", "JcatPhsCode": "01", "JcatCode": "5000", ' \
          b'"JcatOrigBudgetAmt": 0.10, "JcatBudgetChgAmt": "12345678901.23", "JcatCommittedAmt": 1e3}], "hasMore": false}'
    (row,), _ = decode(raw, 0)
    assert row[5:9] == (Decimal("0.10"), Decimal("12345678901.23"), Decimal("0"), Decimal("1E+3"))
    assert str(row[5]) == "0.10"


@pytest.mark.parametrize("page, message", [
    ([CODE, CODE | {"GjjpName": "  "}], r"^jcjobcostcodes offset 500 item 2, field GjjpName: a value is required\.$"),
    ([CODE | {"GjjpActiveFlag": "maybe"}], r"^jcjobcostcodes offset 500 item 1, field GjjpActiveFlag: 'maybe' is not a Y/N flag\.$"),
    ([CODE, "not an object"], r"^jcjobcostcodes offset 500 item 2 is not an object\.$"),
])
def test_a_bad_item_is_named_with_its_place(page, message):
    with pytest.raises(ConnectorError, match=message):
        PageDecoder(CmicMapper(), "cost_codes", "jcjobcostcodes")(body(page), 500)


@pytest.mark.parametrize("raw, message", [
    (b"<html>Service Unavailable</html>", "answered jcjobcostcodes at offset 0 with something that is not JSON"),
    (body([CODE])[:-30], "answered jcjobcostcodes at offset 0 with something that is not JSON"),
    (b'{"count": 0}', "answered jcjobcostcodes at offset 0 without a list of items"),
])
def test_a_garbage_page_names_the_resource_and_offset(raw, message):
    with pytest.raises(ConnectorError, match=message) as info:
        PageDecoder(CmicMapper(), "cost_codes", "jcjobcostcodes")(raw, 0)
    assert not info.value.permanent  # CMiC may answer properly next time


def test_a_renamed_attribute_is_read_the_fast_way_too():
    mapper = CmicMapper({"cost_codes": {"name": "GjjpDescription"}})
    item = {k if k != "GjjpName" else "GjjpDescription": v for k, v in CODE.items()}
    (row,), _ = PageDecoder(mapper, "cost_codes", "jcjobcostcodes")(body([item]), 0)
    assert row[3] == "Concrete"


def test_jobs_keep_the_item_as_cmic_sent_it():
    item = {"JobCompCode": "DB01", "JobCode": "25101", "JobName": "Library", "JobCtrlCode": "ALL", "JobBudget": 1.50}
    (row,), _ = PageDecoder(CmicMapper(), "jobs", "jcjob")(body([item]), 0)
    assert row[:4] == ("DB01", "25101", "Library", "") and json.loads(row[11], parse_float=Decimal)["JobBudget"] == Decimal("1.50")
    assert "1.5" in row[11]


JOB = {"JobCompCode": "DB01", "JobCode": "25101", "JobName": "Library", "JobCtrlCode": "ALL", "JobStatusCode": "Open",
       "JobAddress1": "85 Mill Rd", "JobCity": "Richmond", "JobState": "VA", "JobZip": "23219", "JobStartDate": "2026-06-05",
       "JobEndDate": "2028-06-27", "JobIuUpdateDate": "2026-06-05T08:00:00-05:00"}


@pytest.mark.parametrize("change", [
    {},
    {"JobName": "  Library  ", "JobCtrlCode": "all"},
    {"JobCtrlCode": "25100", "JobStartDate": "2026-06-05T00:00:00-05:00", "JobEndDate": None, "JobIuUpdateDate": ""},
    {"JobName": None, "JobZip": 23219},  # a number where text belongs
])
def test_jobs_read_the_fast_way_match_the_mapper(change):
    mapper = CmicMapper()
    page = [JOB, JOB | {"JobCode": "25102"} | change]
    rows, _ = PageDecoder(mapper, "jobs", "jcjob")(body(page), 0)
    expected = [STAGING_ROW["jobs"](mapper.job(item, f"jcjob offset 0 item {i}")) for i, item in enumerate(page, 1)]
    assert [r[:11] + r[12:] for r in rows] == [r[:11] + r[12:] for r in expected]
    assert [json.loads(r[11]) for r in rows] == page


def test_a_job_with_a_date_that_is_not_one_is_named_with_its_place():
    with pytest.raises(ConnectorError, match=r"^jcjob offset 0 item 2, field JobStartDate: '2026-13-45' is not a date"):
        PageDecoder(CmicMapper(), "jobs", "jcjob")(body([JOB, JOB | {"JobStartDate": "2026-13-45"}]), 0)
