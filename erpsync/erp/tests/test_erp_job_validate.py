from erpsync.erp.models import StagedJob
from erpsync.erp.services import erp_job_validate, erp_refresh
from erpsync.projects.models import Project


def problems(connection, job_code="24001"):
    erp_refresh(connection=connection)
    return erp_job_validate(job=StagedJob.objects.get(job_code=job_code))


def codes(found):
    return [(p["code"], p["items"]) for p in found]


def test_a_complete_job_has_no_problems(connection):
    assert problems(connection) == []


def test_it_lists_every_leaf_cost_code_without_a_cost_type(connection, export):
    export.phase("24001", "05", "Metals").phase("24001", "05-110", "Steel", "05").phase("24001", "05-120", "Joists", "05")
    export.write()
    found = problems(connection)
    assert codes(found) == [("cost_code_without_cost_type", ["05-110", "05-120"])]
    assert found[0]["message"].startswith("2 cost codes have no cost type: 05-110, 05-120.")


def test_division_headings_need_no_cost_type(connection, export):
    # "03" has children and no category of its own: that is how divisions look.
    assert problems(connection) == []


def test_it_refuses_dot_delimited_codes(connection, export):
    export.phase("24001", "600.004", "Dotted").line("24001", "600.004", "L", "1")
    export.write()
    found = problems(connection)
    assert codes(found) == [("unsupported_delimiter", ["600.004"])]
    assert found[0]["message"] == "1 cost code uses '.' as a delimiter; only '-' is supported: 600.004."


def test_it_refuses_a_project_number_already_taken(connection, company):
    Project.objects.create(company=company, project_number="24001", name="Typed by hand")
    assert codes(problems(connection)) == [("number_taken", ["24001"])]


def test_a_project_of_another_company_takes_no_number(connection, other_company):
    Project.objects.create(company=other_company, project_number="24001", name="Theirs")
    assert problems(connection) == []


def test_it_refuses_a_job_without_a_name(connection, export):
    export.rows["jobs"][0]["name"] = " "
    export.write()
    found = problems(connection)
    assert codes(found) == [("missing_name", [])]
    assert found[0]["message"] == "Job 24001 has no name in the ERP; give it one there, then refresh."


def test_it_refuses_values_longer_than_the_registry_accepts(connection, export):
    export.rows["jobs"][0]["name"] = "N" * 130
    export.phase("24001", "03-500", "D" * 121, "03").line("24001", "03-500", "L", "1")
    export.write()
    found = problems(connection)
    assert [p["code"] for p in found] == ["too_long", "too_long"]
    assert found[0]["message"] == "The job name is 130 characters; a project name may have at most 120."
    assert found[1]["items"] == ["03-500"]


def test_a_sub_job_name_too_long_for_the_project_blocks_its_control_job_and_is_never_cut(connection, export):
    export.job("24001-01", "S" * 121, controlling="24001")
    export.write()
    found = problems(connection)
    assert [p["message"] for p in found] == ["Sub job 24001-01: the name is 121 characters; a sub job's name may have at most 120."]


def test_a_sub_jobs_problems_block_its_control_job(connection, export):
    export.job("24001-01", "Site work", controlling="24001").phase("24001-01", "02", "Site").phase("24001-01", "02-100", "Grading", "02")
    export.write()
    found = problems(connection)
    assert found[0]["message"].startswith("Sub job 24001-01: 1 cost code has no cost type: 02-100.")


def test_a_refresh_stores_the_problems_a_fresh_check_finds(company, export):
    """Refresh and validation apply one rule set: for every job (sub jobs too), they agree."""
    import csv

    from erpsync.demo import generator
    from erpsync.erp.models import ErpConnection

    tmp_path = export.folder
    generator.generate(tmp_path, generator.Plan(control_jobs=30, sub_jobs=2, large_job_phases=0, transactions_per_line=(0, 0)))
    for name, values in (("jcjob", {"JobCompCode": "DB01", "JobCode": "29999-01", "JobName": "Orphaned sub job",
                                     "JobCtrlCode": "29999"}),
                         ("jcjobcostcodes", {"GjjpCompCode": "DB01", "GjjpJobCode": "29999-01", "GjjpCode": "01",
                                             "GjjpName": "General", "GjjpCtrlCode": "ALL", "GjjpActiveFlag": "Y"})):
        with open(tmp_path / f"{name}.csv", newline="") as handle:
            header = next(csv.reader(handle))
        with open(tmp_path / f"{name}.csv", "a", newline="") as handle:
            csv.writer(handle).writerow([values.get(column, "") for column in header])
    connection = ErpConnection.objects.create(company=company, name="CMiC", kind="cmic_files", settings={"folder": str(tmp_path)})
    erp_refresh(connection=connection)
    some_job = StagedJob.objects.filter(controlling_code="").order_by("job_code")[3]
    Project.objects.create(company=company, project_number=some_job.job_code, name="Typed by hand")
    erp_refresh(connection=connection, full=True)
    jobs = list(StagedJob.objects.filter(connection=connection))
    assert sum(1 for job in jobs if job.problems) >= 4  # the demo's blocked jobs, the number taken by hand, the orphan
    assert sum(1 for job in jobs if job.controlling_code) == 3
    orphan = next(job for job in jobs if job.job_code == "29999-01")
    assert codes(orphan.problems) == [("missing_controlling_job", ["29999"]), ("cost_code_without_cost_type", ["01"])]
    for job in jobs:
        assert job.problems == erp_job_validate(job=job), job.job_code
