import codecs
from decimal import Decimal
from datetime import date

import pytest

from erpsync.connectors.base import ConnectorError, Source
from erpsync.connectors.files.source import CmicExportSource


def read_all(folder):
    source = CmicExportSource(folder=str(folder))
    return {
        "jobs": list(source.jobs()),
        "cost_codes": list(source.cost_codes()),
        "cost_types": list(source.cost_types()),
        "budget_lines": list(source.budget_lines()),
        "cost_transactions": list(source.cost_transactions()),
    }


def test_it_is_a_source(export):
    assert isinstance(CmicExportSource(folder=str(export.folder)), Source)


def test_it_reads_every_resource_with_exact_amounts(export):
    folder = export.standard_job().write()
    records = read_all(folder)
    job = records["jobs"][0]
    assert (job.company_code, job.job_code, job.name, job.controlling_code) == ("AC01", "24001", "Harbor Office Building", "")
    assert job.start_date == date(2025, 3, 1)
    assert [(c.code, c.parent_code) for c in records["cost_codes"]] == [("03", ""), ("03-300", "03"), ("03-400", "03")]
    line = records["budget_lines"][0]
    assert line.original_budget == Decimal("12500.10") and line.approved_changes == Decimal("500.00")
    assert [t.amount for t in records["cost_transactions"]] == [Decimal("1000.10"), Decimal("2000.05"), Decimal("0.01")]
    assert records["jobs"][0].where == "jcjob.csv row 2"


def test_csv_and_json_exports_give_identical_records(export, tmp_path):
    export.standard_job()
    from_csv = read_all(export.write("csv"))
    from_json = read_all(export.write("json"))
    assert from_csv == from_json


def test_json_amounts_stay_exact(export):
    export.standard_job()
    export.rows["budget_lines"][0]["original_budget"] = 0.1  # a JSON number, not a string
    folder = export.write("json")
    assert '"JcatOrigBudgetAmt": 0.1,' in (folder / "jcjobcategory.json").read_text()
    assert read_all(folder)["budget_lines"][0].original_budget == Decimal("0.1")


def test_it_only_reads_the_requested_jobs(export):
    export.standard_job("24001").standard_job("24002", "Second")
    folder = export.write()
    source = CmicExportSource(folder=str(folder))
    assert {t.job_code for t in source.cost_transactions(job_codes={"24002"})} == {"24002"}


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8], ids=["utf8", "utf8-bom"])
def test_it_reads_utf8_with_or_without_a_byte_order_mark(export, bom):
    folder = export.standard_job(name="Café Müller Renovation").write()
    path = folder / "jcjob.csv"
    path.write_bytes(bom + path.read_bytes())
    assert read_all(folder)["jobs"][0].name == "Café Müller Renovation"


@pytest.mark.parametrize("setting, encoding", [("cp1252", "cp1252"), ("UTF-16", "utf-16"), ("latin-1", "latin-1")])
def test_it_reads_the_encoding_the_connection_names(export, setting, encoding):
    folder = export.standard_job(name="Café Müller Renovation").write()
    path = folder / "jcjob.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))
    (job,) = CmicExportSource(folder=str(folder), encoding=setting).jobs()
    assert job.name == "Café Müller Renovation"


def test_a_byte_that_is_not_utf8_is_refused_naming_file_and_row_never_guessed(export):
    export.standard_job("24001").standard_job("24002", name="Zürich Depot")
    folder = export.write()
    path = folder / "jcjob.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    message = failure(folder)
    assert message.startswith("jcjob.csv row 3: the byte FC is not valid UTF-8.")
    assert "set the connection's encoding" in message


@pytest.mark.parametrize("encoding", ["klingon", "rot13", "hex", "base64", "zip", "undefined"])
def test_an_encoding_that_is_not_a_known_text_encoding_is_refused(encoding):
    with pytest.raises(ConnectorError, match=f"The encoding '{encoding}' is not a text encoding erpsync knows"):
        CmicExportSource(folder="/nonexistent", encoding=encoding)


def failure(folder) -> str:
    with pytest.raises(ConnectorError) as info:
        read_all(folder)
    return info.value.message


def test_it_names_the_missing_column(export):
    folder = export.standard_job().write()
    path = folder / "jcjobcostcodes.csv"
    path.write_text(path.read_text().replace("GjjpName", "Description"))
    assert failure(folder) == "jcjobcostcodes.csv is missing the column(s) GjjpName."


def test_it_names_file_row_and_field_of_a_bad_date(export):
    export.standard_job()
    export.rows["cost_transactions"][1]["posted_on"] = "31/05/2025"
    assert failure(export.write()) == "jcdetailposted.csv row 3, field JcdtPostDate: '31/05/2025' is not a date (expected YYYY-MM-DD)."


def test_it_names_file_row_and_field_of_text_in_an_amount(export):
    export.standard_job()
    export.rows["budget_lines"][2]["original_budget"] = "about 5k"
    assert failure(export.write()) == "jcjobcategory.csv row 4, field JcatOrigBudgetAmt: 'about 5k' is not a number."


def test_it_refuses_a_missing_required_value(export):
    export.standard_job()
    export.rows["jobs"][0]["job_code"] = ""
    assert failure(export.write()) == "jcjob.csv row 2, field JobCode: a value is required."


def test_it_refuses_a_bad_flag(export):
    export.standard_job()
    export.rows["cost_codes"][0]["active"] = "maybe"
    assert "jcjobcostcodes.csv row 2, field GjjpActiveFlag: 'maybe' is not a Y/N flag." == failure(export.write())


def test_it_refuses_an_empty_file(export):
    folder = export.standard_job().write()
    (folder / "jcjob.csv").write_bytes(b"")
    assert failure(folder) == "jcjob.csv is empty."


def test_it_spots_a_csv_cut_short(export):
    folder = export.standard_job().write()
    path = folder / "jcjobcategory.csv"
    path.write_text(path.read_text()[:-30])
    message = failure(folder)
    assert message.startswith("jcjobcategory.csv row 4 has ") and "cut short" in message


def test_it_spots_json_cut_short(export):
    folder = export.standard_job().write("json")
    path = folder / "jcjob.json"
    path.write_text(path.read_text()[:-40])
    message = failure(folder)
    assert message.startswith("jcjob.json is not valid JSON (line 1") and "cut short" in message


def test_it_refuses_json_without_items(export):
    folder = export.standard_job().write("json")
    (folder / "jcjob.json").write_text('{"count": 3}')
    assert failure(folder) == 'jcjob.json has no list of items (expected {"items": [...]}).'


def test_it_says_which_file_is_missing(export):
    folder = export.standard_job().write()
    (folder / "jcjobcostcodes.csv").unlink()
    assert failure(folder) == f"The export folder {folder} has no jcjobcostcodes.csv or jcjobcostcodes.json."


def test_a_folder_without_posted_costs_has_none(export):
    folder = export.standard_job().write()
    (folder / "jcdetailposted.csv").unlink()
    assert read_all(folder)["cost_transactions"] == []


def test_configured_attribute_names_override_the_defaults(export):
    folder = export.standard_job().write()
    path = folder / "jcjob.csv"
    path.write_text(path.read_text().replace("JobName", "JobTitle"))
    source = CmicExportSource(folder=str(folder), attributes={"jobs": {"name": "JobTitle"}})
    assert [j.name for j in source.jobs()] == ["Harbor Office Building"]


def test_check_reports_each_resource_in_plain_words(export):
    folder = export.standard_job().write()
    (folder / "jcjobcostcodes.csv").write_text("nonsense\n1\n")
    results = {r.subject: r for r in CmicExportSource(folder=str(folder)).check()}
    assert results["jcjob"].ok and results["jcjob"].message == "jcjob.csv: 1 rows."
    assert not results["jcjobcostcodes"].ok
    assert "missing the column(s) GjjpCompCode" in results["jcjobcostcodes"].message


def test_only_the_configured_companies_rows_are_read(export):
    export.standard_job()
    export.company_code = "ZZ99"
    export.category("L", "Labour").job("99001", "Another company's job").phase("99001", "01", "General")
    export.line("99001", "01", "L", "not a number")  # another company's trouble is not ours
    export.write()
    source = CmicExportSource(folder=str(export.folder), company_codes=["AC01"])
    assert {j.company_code for j in source.jobs()} == {"AC01"}
    assert len(list(source.budget_lines())) == 3 and {t.company_code for t in source.cost_types()} == {"AC01"}
    assert {j.company_code for j in CmicExportSource(folder=str(export.folder)).jobs()} == {"AC01", "ZZ99"}


def test_a_tenants_own_column_names_are_read_through_the_mapping(export):
    export.standard_job().write()
    jobs = export.folder / "jcjob.csv"
    jobs.write_text(jobs.read_text().replace("JobName", "JobTitle", 1))
    (job,) = CmicExportSource(folder=str(export.folder), attributes={"jobs": {"name": "JobTitle"}}).jobs()
    assert job.name == "Harbor Office Building"
