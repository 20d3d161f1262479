"""Corrupted copies of the demo export: each is refused by name (file, row or item, field) and staging stays as it was.

Every copy starts from a slice of the bundled demo export (a real tenant's shape, not rows
written for the test), renames one job so that a wrongly accepted refresh would show in
staging, and then breaks one thing. A few harmless variants (a byte-order mark, Windows line
ends, reordered or extra columns, …) must be accepted and stage exactly what the clean copy does.
"""

import csv
import io
import json
import shutil
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from erpsync.erp.models import StagedCostType, StagedJob, StagedJobStructure

JOBS = ("25101", "25102", "25103")  # control jobs kept from the demo export, with their sub jobs
RENAMED = "Hartford Lab Fit-Out (renamed in CMiC)"
AMOUNTS = {"JcatOrigBudgetAmt", "JcatBudgetChgAmt", "JcatBudgetUnits", "JcatCommittedAmt", "JcatPctComplete", "JcdtAmt", "JcdtUnits"}


def read_csv(path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def write_csv(path, header, rows, **options) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator=options.get("lineterminator", "\n"))
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="session")
def demo_slice(tmp_path_factory):
    """The demo export's rows of three jobs (and their sub jobs), every category, as CSV files."""
    folder = tmp_path_factory.mktemp("demo-slice")
    for source in settings.DEMO_EXPORT_DIR.glob("*.csv"):
        header, rows = read_csv(source)
        if "JobCode" in header or any(h.endswith("JobCode") for h in header):
            column = next(i for i, h in enumerate(header) if h.endswith("JobCode"))
            rows = [r for r in rows if r[column].split("-")[0] in JOBS]
        write_csv(folder / source.name, header, rows)
    return folder


class Copy:
    """A copy of the slice in the company's export folder, to be changed file by file."""

    def __init__(self, folder):
        self.folder = folder

    def table(self, name):
        return read_csv(self.folder / f"{name}.csv")

    def edit(self, name, change):
        """change(header, rows) alters them in place."""
        header, rows = self.table(name)
        change(header, rows)
        write_csv(self.folder / f"{name}.csv", header, rows)
        return self

    def cell(self, name, row: int, attribute: str, value: str):
        """Set one value; row counts as the file does (the header is row 1)."""
        return self.edit(name, lambda header, rows: rows[row - 2].__setitem__(header.index(attribute), value))

    def as_json(self, name, change=None):
        """The file as a JSON export (amounts as JSON numbers), after change(items)."""
        header, rows = self.table(name)
        items = [{h: (Decimal(v) if h in AMOUNTS and v else v) for h, v in zip(header, row)} for row in rows]
        if change:
            change(items)
        (self.folder / f"{name}.csv").unlink()
        (self.folder / f"{name}.json").write_text(json.dumps({"items": items}, default=float))
        return self

    def raw(self, name, change):
        path = next(self.folder.glob(f"{name}.*"))
        path.write_bytes(change(path.read_bytes()))
        return self


@pytest.fixture
def copy(demo_slice, export, company):
    shutil.copytree(demo_slice, export.folder)
    return Copy(export.folder)


@pytest.fixture
def staged(copy, company, admin):
    """The copy refreshed once; then job 25101 renamed in it, so that any accepted refresh would change staging."""
    from erpsync.erp.models import ErpConnection

    ErpConnection.objects.create(company=company, name="CMiC", kind="cmic_files", settings={"folder": copy.folder.name})
    refresh()
    before = staging()
    copy.cell("jcjob", 2, "JobName", RENAMED)
    return before


def refresh() -> str:
    out = io.StringIO()
    call_command("erp_refresh", "--company", "acme", "--full", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def staging() -> dict:
    return {
        "jobs": sorted(StagedJob.objects.values_list("job_code", "name", "controlling_code", "erp_status", "address", "city",
                                                     "state", "zip", "start_date", "end_date", "status")),
        # amounts compared as numbers: 0.0 from a JSON number is the 0.00 of a CSV file
        "structures": sorted((s.job.job_code, s.cost_codes, [line[:3] + [Decimal(a) for a in line[3:]] for line in s.budget_lines])
                             for s in StagedJobStructure.objects.select_related("job")),
        "cost_types": sorted(StagedCostType.objects.values_list("code", "name")),
    }


def refused(*named: str) -> str:
    """The refresh fails with exit status 1 and a message naming each of `named`; staging is as it was."""
    with pytest.raises(CommandError) as info:
        refresh()
    assert info.value.returncode == 1
    message = str(info.value)
    for part in named:
        assert part in message, (part, message)
    assert "Error" not in message and "Traceback" not in message
    return message


def long(n):
    return "x" * n


# name, the corruption, what the message must name
CORRUPTIONS = [
    ("missing budget column", lambda c: c.edit("jcjobcategory", drop("JcatOrigBudgetAmt")),
     ["jcjobcategory.csv", "JcatOrigBudgetAmt"]),
    ("missing name column", lambda c: c.edit("jcjob", drop("JobName")), ["jcjob.csv", "JobName"]),
    ("missing category name column", lambda c: c.edit("jcmastercategories", drop("CatName")), ["jcmastercategories.csv", "CatName"]),
    ("missing flag column", lambda c: c.edit("jcjobcostcodes", drop("GjjpActiveFlag")), ["jcjobcostcodes.csv", "GjjpActiveFlag"]),
    ("one stray byte", lambda c: c.raw("jcjob", lambda b: b.replace(b"Boston Warehouse", b"Boston Wareh\xfcuse", 1)),
     ["jcjob.csv row 4", "FC", "UTF-8"]),
    ("UTF-16 without the setting", lambda c: c.raw("jcjob", lambda b: b.decode().encode("utf-16")), ["jcjob.csv row 1", "UTF-8"]),
    ("over-long name", lambda c: c.cell("jcjob", 3, "JobName", long(256)), ["jcjob.csv row 3", "JobName", "256 characters"]),
    ("over-long status", lambda c: c.cell("jcjob", 3, "JobStatusCode", long(31)), ["jcjob.csv row 3", "JobStatusCode", "at most 30"]),
    ("over-long company code", lambda c: c.cell("jcjob", 5, "JobCompCode", "DB01" + long(20)), ["jcjob.csv row 5", "JobCompCode"]),
    ("over-long zip", lambda c: c.cell("jcjob", 3, "JobZip", "0" * 21), ["jcjob.csv row 3", "JobZip"]),
    ("over-long phase name", lambda c: c.cell("jcjobcostcodes", 4, "GjjpName", long(300)), ["jcjobcostcodes.csv row 4", "GjjpName"]),
    ("NUL byte in a name", lambda c: c.cell("jcjob", 3, "JobName", "Site\x00Work"), ["jcjob.csv row 3", "JobName", "NUL"]),
    ("bell in a city", lambda c: c.cell("jcjob", 3, "JobCity", "Hart\x07ford"), ["jcjob.csv row 3", "JobCity", "U+0007"]),
    ("text as an amount", lambda c: c.cell("jcjobcategory", 2, "JcatOrigBudgetAmt", "twelve"),
     ["jcjobcategory.csv row 2", "JcatOrigBudgetAmt", "'twelve' is not a number"]),
    ("decimal comma", lambda c: c.cell("jcjobcategory", 3, "JcatCommittedAmt", "1,5"), ["jcjobcategory.csv row 3", "JcatCommittedAmt"]),
    ("fractions of a cent", lambda c: c.cell("jcjobcategory", 2, "JcatOrigBudgetAmt", "100.005"),
     ["jcjobcategory.csv row 2", "JcatOrigBudgetAmt", "decimal places"]),
    ("amount too large", lambda c: c.cell("jcjobcategory", 2, "JcatBudgetChgAmt", "1e20"), ["jcjobcategory.csv row 2", "JcatBudgetChgAmt"]),
    ("NaN", lambda c: c.cell("jcjobcategory", 2, "JcatBudgetUnits", "NaN"), ["jcjobcategory.csv row 2", "JcatBudgetUnits"]),
    ("Infinity", lambda c: c.cell("jcjobcategory", 2, "JcatCommittedAmt", "Infinity"), ["jcjobcategory.csv row 2", "JcatCommittedAmt"]),
    ("percent too large", lambda c: c.cell("jcjobcategory", 2, "JcatPctComplete", "123456"), ["jcjobcategory.csv row 2", "JcatPctComplete"]),
    ("impossible date", lambda c: c.cell("jcjob", 3, "JobStartDate", "2025-02-30"), ["jcjob.csv row 3", "JobStartDate"]),
    ("a number for a date", lambda c: c.cell("jcjob", 3, "JobEndDate", "1735689600"), ["jcjob.csv row 3", "JobEndDate"]),
    ("a flag that is not Y/N", lambda c: c.cell("jcjobcostcodes", 3, "GjjpActiveFlag", "maybe"), ["jcjobcostcodes.csv row 3", "GjjpActiveFlag"]),
    ("empty job code", lambda c: c.cell("jcjob", 4, "JobCode", "  "), ["jcjob.csv row 4", "JobCode", "a value is required"]),
    ("empty phase name", lambda c: c.cell("jcjobcostcodes", 5, "GjjpName", ""), ["jcjobcostcodes.csv row 5", "GjjpName"]),
    ("row cut short", lambda c: c.edit("jcjobcostcodes", lambda h, rows: rows[3].pop()), ["jcjobcostcodes.csv row 5", "fields"]),
    ("column given twice", lambda c: c.edit("jcjob", lambda h, rows: (h.append("JobName"), [r.append("Other") for r in rows])),
     ["jcjob.csv", "JobName", "more than once"]),
    ("a job given twice", lambda c: c.edit("jcjob", lambda h, rows: rows.append(list(rows[2]))), ["jcjob.csv row 8 repeats the job DB01 / 25102", "row 4"]),
    ("phase of a job CMiC does not list", lambda c: c.cell("jcjobcostcodes", 3, "GjjpJobCode", "99999"),
     ["jcjobcostcodes.csv row 3", "99999"]),
    ("category that does not exist", lambda c: c.cell("jcjobcategory", 2, "JcatCode", "9999"), ["jcjobcategory.csv row 2", "9999"]),
    ("no jobs file", lambda c: (c.folder / "jcjob.csv").unlink(), ["jcjob.csv"]),
    ("a jobs file with no jobs", lambda c: c.edit("jcjob", lambda h, rows: rows.clear()),
     ["jcjobcostcodes.csv row 2", "which the jobs list does not have"]),
    ("a job missing from the jobs file", lambda c: c.edit("jcjob", lambda h, rows: rows.pop(0)),
     ["jcjobcostcodes.csv row 2", "25101", "which the jobs list does not have"]),
    ("underscores in an amount", lambda c: c.cell("jcjobcategory", 2, "JcatOrigBudgetAmt", "1_000"), ["jcjobcategory.csv row 2", "'1_000' is not a number"]),
    ("Arabic-Indic digits", lambda c: c.cell("jcjobcategory", 2, "JcatOrigBudgetAmt", "\u0665"), ["jcjobcategory.csv row 2", "is not a number"]),
    ("full-width digits", lambda c: c.cell("jcjobcategory", 2, "JcatCommittedAmt", "\uff15"), ["jcjobcategory.csv row 2", "is not a number"]),
    ("percent over 100", lambda c: c.cell("jcjobcategory", 2, "JcatPctComplete", "101"), ["jcjobcategory.csv row 2", "not between 0 and 100"]),
    ("negative percent", lambda c: c.cell("jcjobcategory", 2, "JcatPctComplete", "-1"), ["jcjobcategory.csv row 2", "not between 0 and 100"]),
    ("Yes as a flag", lambda c: c.cell("jcjobcostcodes", 3, "GjjpActiveFlag", "Yes"), ["jcjobcostcodes.csv row 3", "not a Y/N flag"]),
    ("a tab in a name", lambda c: c.cell("jcjob", 3, "JobName", "Site\tWork"), ["jcjob.csv row 3", "U+0009"]),
    ("a line break in a name", lambda c: c.cell("jcjob", 3, "JobName", "Site\nWork"), ["jcjob.csv row", "U+000A"]),
    ("a C1 control in a name", lambda c: c.cell("jcjob", 3, "JobName", "Site\x85Work"), ["jcjob.csv row 3", "U+0085"]),
    ("a right-to-left override", lambda c: c.cell("jcjob", 3, "JobName", "Site\u202eWork"), ["jcjob.csv row 3", "U+202E"]),
    ("empty file", lambda c: c.raw("jcjobcostcodes", lambda b: b""), ["jcjobcostcodes.csv", "empty"]),
    # JSON exports
    ("JSON: a list as a name", lambda c: c.as_json("jcjob", lambda items: items[1].update(JobName=["x", "y"])),
     ["jcjob.json item 2", "JobName", "a list, not text"]),
    ("JSON: true as a budget", lambda c: c.as_json("jcjobcategory", lambda items: items[0].update(JcatOrigBudgetAmt=True)),
     ["jcjobcategory.json item 1", "JcatOrigBudgetAmt", "not a number"]),
    ("JSON: a number as a date", lambda c: c.as_json("jcjob", lambda items: items[2].update(JobStartDate=20250101)),
     ["jcjob.json item 3", "JobStartDate", "not a date"]),
    ("JSON: an object as a job code", lambda c: c.as_json("jcjob", lambda items: items[3].update(JobCode={"code": "25109"})),
     ["jcjob.json item 4", "JobCode", "an object, not text"]),
    ("JSON: null as a phase code", lambda c: c.as_json("jcjobcostcodes", lambda items: items[1].update(GjjpCode=None)),
     ["jcjobcostcodes.json item 2", "GjjpCode", "a value is required"]),
    ("JSON: an attribute missing from one item", lambda c: c.as_json("jcjob", lambda items: items[4].pop("JobName")),
     ["jcjob.json item 5", "JobName"]),
    ("JSON: an attribute given twice", lambda c: c.as_json("jcjob").raw(
        "jcjob", lambda b: b.replace(b'"JobCity": "Boston"', b'"JobCity": "Boston", "JobCity": "Salem"', 1)),
     ["jcjob.json", "JobCity", "twice"]),
    ("JSON: fractions of a cent", lambda c: c.as_json("jcjobcategory", lambda items: items[0].update(JcatOrigBudgetAmt=Decimal("0.125"))),
     ["jcjobcategory.json item 1", "JcatOrigBudgetAmt", "decimal places"]),
    ("JSON: an item that is not an object", lambda c: c.as_json("jcjob", lambda items: items.__setitem__(1, "25101-01")),
     ["jcjob.json item 2", "not an object"]),
    ("JSON: cut short", lambda c: c.as_json("jcjobcostcodes").raw("jcjobcostcodes", lambda b: b[:-40]),
     ["jcjobcostcodes.json", "not valid JSON"]),
    ("JSON: nested a hundred thousand deep", lambda c: c.as_json("jcjob").raw(
        "jcjob", lambda b: b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"), ["jcjob.json", "nested too deeply"]),
    ("JSON: a number of five thousand digits", lambda c: c.as_json("jcjobcategory").raw(
        "jcjobcategory", lambda b: b.replace(b'"JcatOrigBudgetAmt": ', b'"JcatOrigBudgetAmt": ' + b"9" * 5000 + b", \"x\": ", 1)),
     ["jcjobcategory.json", "thousands of digits"]),
    ("JSON: a lone surrogate in a name", lambda c: c.as_json("jcjob").raw(
        "jcjob", lambda b: b.replace(b'"JobName": "', b'"JobName": "\\ud800', 1)), ["jcjob.json item 1", "JobName", "not valid text"]),
    ("JSON: an amount finer than a cent", lambda c: c.as_json("jcjobcategory").raw(
        "jcjobcategory", lambda b: b.replace(b'"JcatOrigBudgetAmt": ', b'"JcatOrigBudgetAmt": 0.30000000000000004, "y": ', 1)),
     ["jcjobcategory.json item 1", "JcatOrigBudgetAmt", "more than 2 decimal places"]),
]


def drop(attribute):
    def change(header, rows):
        i = header.index(attribute)
        del header[i]
        for row in rows:
            del row[i]
    return change


@pytest.mark.parametrize("corrupt, named", [(c, n) for _, c, n in CORRUPTIONS], ids=[name for name, _, _ in CORRUPTIONS])
def test_a_corrupted_export_is_refused_by_name_and_staging_is_unchanged(copy, staged, corrupt, named):
    corrupt(copy)
    refused(*named)
    assert staging() == staged


HARMLESS = [
    ("byte-order mark", lambda c: c.raw("jcjob", lambda b: b"\xef\xbb\xbf" + b)),
    ("Windows line ends", lambda c: c.raw("jcjobcostcodes", lambda b: b.replace(b"\n", b"\r\n"))),
    ("columns in another order", lambda c: c.edit("jcjobcategory", lambda h, rows: (h.reverse(), [r.reverse() for r in rows]))),
    ("a column erpsync does not read", lambda c: c.edit("jcjob", lambda h, rows: (h.append("JobDefaultDeptCode"),
                                                                                 [r.append("D1") for r in rows]))),
    ("every value quoted, padded and amounts grouped", lambda c: c.raw("jcjobcategory", lambda b: quoted_padded(b))),
    ("a blank line at the end", lambda c: c.raw("jcjobcostcodes", lambda b: b + b"\n\n")),
    ("JSON with amounts as numbers", lambda c: c.as_json("jcjobcategory")),
    ("JSON as a bare list", lambda c: c.as_json("jcjobcostcodes").raw("jcjobcostcodes", lambda b: json.dumps(json.loads(b)["items"]).encode())),
]


def quoted_padded(data: bytes) -> bytes:
    header, *rows = list(csv.reader(io.StringIO(data.decode())))
    amount = [h in AMOUNTS for h in header]
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([f" {f'{Decimal(v):,}' if is_amount and v else v} " for v, is_amount in zip(row, amount)] for row in rows)
    return out.getvalue().encode()


@pytest.mark.parametrize("vary", [v for _, v in HARMLESS], ids=[name for name, _ in HARMLESS])
def test_a_harmless_variant_stages_what_the_clean_export_does(copy, staged, vary):
    refresh()
    clean = staging()
    assert clean != staged  # the rename came through
    vary(copy)
    refresh()
    assert staging() == clean


# --- any single value, at random -----------------------------------------------------------------

from hypothesis import HealthCheck, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

JOB_TEXT = {"JobName": "name", "JobStatusCode": "erp_status", "JobAddress1": "address", "JobCity": "city", "JobState": "state",
            "JobZip": "zip"}
GROUPED = r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?"  # the one spelling with commas an amount may have

any_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=300)  # a file holds UTF-8; a line break would make it two rows
amounts = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(min_value=-10**15, max_value=10**15, places=2).map(lambda d: f"{d:,}"),
    st.from_regex(r"\A[ 0-9.,eE+-]{0,12}\Z"),
    any_text,
)


def restore(copy, demo_slice):
    for path in copy.folder.iterdir():
        path.unlink()
    for path in demo_slice.iterdir():
        shutil.copy(path, copy.folder)


@hypothesis_settings(max_examples=40, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_changed_value_is_refused_by_name_or_staged_exactly_as_written(copy, staged, demo_slice, data):
    import re

    restore(copy, demo_slice)
    name, attribute, value = data.draw(st.one_of(
        st.tuples(st.just("jcjob"), st.sampled_from(sorted(JOB_TEXT)), any_text),
        st.tuples(st.just("jcjobcategory"), st.just("JcatOrigBudgetAmt"), amounts),
    ))
    header, rows = copy.table(name)
    row = data.draw(st.integers(2, len(rows) + 1), label="row")
    copy.cell(name, row, attribute, value)
    key = dict(zip(header, rows[row - 2]))
    before = staging()
    try:
        refresh()
    except CommandError as exc:
        message = str(exc)
        assert exc.returncode == 1
        assert f"{name}.csv row {row}, field {attribute}: " in message, message
        assert staging() == before
        return
    if name == "jcjob":
        job = StagedJob.objects.get(job_code=key["JobCode"])
        assert getattr(job, JOB_TEXT[attribute]) == value.strip()  # nothing cut, nothing changed
    else:
        written = value.strip()
        assert "," not in written or re.fullmatch(GROUPED, written), f"{written!r} was read as a number"
        structure = StagedJobStructure.objects.get(job__job_code=key["JcatJobCode"])
        (line,) = [line for line in structure.budget_lines if line[:2] == [key["JcatPhsCode"], key["JcatCode"]]]
        assert Decimal(line[3]) == Decimal(written.replace(",", "") or "0")
