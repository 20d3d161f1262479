import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from erpsync.erp.models import AuditEvent, ErpConnection, StagedJob
from erpsync.erp.services import erp_refresh


def form_data(fake, **overrides):
    return {"name": "CMiC live", "base_url": fake.base_url, "environment": "cmictest", "company_codes": "DB01",
            "auth": "basic", "client_id": "ACME", "user_id": "APIUSER", "password": fake.password, "page_size": "500",
            "parallel_requests": "2",
            "timeout": "30", "attributes": "", "resources": "", "token_url": "", "oauth_client_id": "", "client_secret": "",
            "scope": ""} | overrides


def test_an_admin_adds_a_cmic_connection_tests_it_and_refreshes(signed_in, admin, company, fake):
    client = signed_in(admin)
    response = client.post(reverse("erp:connection_new") + "?kind=cmic", form_data(fake))
    assert response.status_code == 302
    connection = ErpConnection.objects.get(name="CMiC live")
    assert connection.settings["company_codes"] == ["DB01"] and "password" not in json.dumps(connection.settings)
    assert connection.get_secrets() == {"password": fake.password}
    client.post(reverse("erp:connection_test", args=[connection.pk]))
    page = client.get(reverse("erp:settings")).content.decode()
    assert "Works" in page and fake.password not in page
    erp_refresh(connection=connection)
    assert StagedJob.objects.filter(connection=connection).exists()
    event = AuditEvent.objects.get(action="erp_connection.created")
    assert event.after["secrets_changed"] == ["password"] and fake.password not in json.dumps(event.after)


def test_the_password_is_never_shown_and_an_empty_field_keeps_it(signed_in, admin, company, fake):
    client = signed_in(admin)
    client.post(reverse("erp:connection_new") + "?kind=cmic", form_data(fake))
    connection = ErpConnection.objects.get()
    page = client.get(reverse("erp:connection_edit", args=[connection.pk])).content.decode()
    assert fake.password not in page and "Stored; leave empty to keep it." in page
    client.post(reverse("erp:connection_edit", args=[connection.pk]), form_data(fake, password="", environment="cmictest"))
    assert ErpConnection.objects.get().get_secrets() == {"password": fake.password}


def test_nonsense_is_refused_field_by_field(signed_in, admin, company, fake):
    response = signed_in(admin).post(reverse("erp:connection_new") + "?kind=cmic", form_data(
        fake, base_url="not a url", page_size="5000", company_codes=" , ", attributes="{jobs: 1}", password=""))
    body = response.content.decode()
    assert "Enter a valid URL." in body
    assert "Ensure this value is less than or equal to 1000." in body
    assert "Name at least one CMiC company code." in body
    assert "This is not valid JSON" in body
    assert "Required for the API user and password." in body
    assert not ErpConnection.objects.exists()


@pytest.mark.parametrize("field, value, refusal", [
    ("base_url", "https://user:hunter2@cmic.example.com", "Leave the user name and password out of the address"),
    ("base_url", "http://169.254.169.254/latest", "link-local"),
    ("base_url", "http://[fe80::1]/", "link-local"),
    ("company_codes", "DB01, " + "X" * 500, "A CMiC company code has at most 20 visible characters"),
    ("attributes", "[" * 10_000, "This is not valid JSON (lists or objects are nested too deeply)"),
    ("attributes", '{"jobs": {"name": "Job\\u0000Name"}}', "must be an attribute name (up to 100 printable characters)"),
])
def test_settings_that_would_leak_or_reach_where_they_should_not_are_refused(signed_in, admin, company, fake, field, value,
                                                                               refusal):
    response = signed_in(admin).post(reverse("erp:connection_new") + "?kind=cmic", form_data(fake, **{field: value}))
    assert response.status_code == 200 and refusal in response.content.decode().replace("&#x27;", "'")
    assert not ErpConnection.objects.exists()


def test_the_command_refuses_a_setting_it_does_not_know(admin, company, fake):
    with pytest.raises(CommandError, match="'Password' is not a setting of a CMiC \\(REST API\\) connection; the settings are "):
        command("add", "Typo", "--user", "admin", "--set", f"base_url={fake.base_url}", "--set", "Password=hunter2")
    assert not ErpConnection.objects.exists()


def test_only_erp_admins_manage_connections(signed_in, pm, company, fake):
    client = signed_in(pm)
    assert client.get(reverse("erp:connection_new")).status_code == 403
    assert client.post(reverse("erp:connection_new") + "?kind=cmic", form_data(fake)).status_code == 403
    assert not ErpConnection.objects.exists()


def command(*args, stdin: str = "") -> str:
    out = io.StringIO()
    import sys

    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command("erp_connection", *args, stdout=out)
    finally:
        sys.stdin = old
    return out.getvalue()


def test_the_command_adds_tests_lists_and_edits_a_connection(admin, company, fake):
    command("add", "CMiC live", "--user", "admin", "--set", f"base_url={fake.base_url}", "--set", "environment=cmictest",
            "--set", "company_codes=DB01", "--set", "client_id=ACME", "--set", "user_id=APIUSER", "--secret", "password",
            stdin=fake.password + "\n")
    assert ErpConnection.objects.get().get_secrets() == {"password": fake.password}
    assert "ok   jcjob: Reachable" in command("test", "CMiC live", "--user", "admin")
    assert json.loads(command("list", "--json"))[0]["last_test_ok"] is True
    command("edit", "CMiC live", "--user", "admin", "--set", "page_size=250")
    connection = ErpConnection.objects.get()
    assert connection.settings["page_size"] == 250 and connection.get_secrets() == {"password": fake.password}


def test_the_command_says_what_is_wrong(admin, company, fake):
    with pytest.raises(CommandError, match="base_url: This field is required.*password: Required for the API user and password"):
        command("add", "Broken", "--user", "admin", "--set", "environment=x", "--set", "company_codes=DB01",
                "--set", "client_id=A", "--set", "user_id=B")
    with pytest.raises(CommandError, match="The connection test found problems"):
        command("add", "Wrong password", "--user", "admin", "--set", f"base_url={fake.base_url}", "--set", "environment=cmictest",
                "--set", "company_codes=DB01", "--set", "client_id=ACME", "--set", "user_id=APIUSER", "--secret", "password",
                stdin="wrong\n")
        command("test", "Wrong password", "--user", "admin")


def test_the_next_step_it_prints_runs_as_printed(admin, company, other_company, fake):
    import shlex

    from erpsync.companies.models import AccessLevel, Membership

    Membership.objects.create(user=admin, company=other_company, erp_level=AccessLevel.ADMIN)  # the admin of two companies
    said = command("add", "CMiC 'live' $HOME", "--user", "admin", "--company", "acme", "--set", f"base_url={fake.base_url}",
                   "--set", "environment=cmictest", "--set", "company_codes=DB01", "--set", "client_id=ACME",
                   "--set", "user_id=APIUSER", "--secret", "password", stdin=fake.password + "\n")
    hint = said.split("Test it: ", 1)[1].strip()
    program, subcommand, *args = shlex.split(hint)
    assert (program, subcommand, args[-2:]) == ("manage.py", "erp_connection", ["--company", "acme"])
    assert "ok   jcjob: Reachable" in command(*args)


def test_an_export_folder_keeps_its_company_codes_and_attribute_mapping(signed_in, admin, company, export):
    from erpsync.erp.services import erp_refresh

    export.standard_job().write()
    jobs = export.folder / "jcjob.csv"
    jobs.write_text(jobs.read_text().replace("JobName", "JobTitle", 1))
    client = signed_in(admin)
    response = client.post(reverse("erp:connection_new") + "?kind=cmic_files", {
        "name": "Exports", "folder": str(export.folder), "company_codes": "AC01, AC02", "encoding": "",
        "attributes": '{"jobs": {"name": "JobTitle"}}'})
    assert response.status_code == 302
    connection = ErpConnection.objects.get(name="Exports")
    assert (connection.settings["company_codes"], connection.settings["attributes"]) == (["AC01", "AC02"], {"jobs": {"name": "JobTitle"}})
    erp_refresh(connection=connection)
    assert StagedJob.objects.get(connection=connection).name == "Harbor Office Building"
    page = client.get(reverse("erp:connection_edit", args=[connection.pk])).content.decode()
    assert "AC01, AC02" in page and "JobTitle" in page


def test_only_optional_attributes_may_be_mapped_to_null(admin, company, fake):
    with pytest.raises(CommandError, match=r"attributes: budget_lines: phase_code is required and cannot be null; only "
                                           r"approved_changes, budget_units, committed_cost, percent_complete, updated_at may be\."):
        command("add", "Nulls", "--user", "admin", "--set", f"base_url={fake.base_url}", "--set", "environment=cmictest",
                "--set", "company_codes=DB01", "--set", "client_id=ACME", "--set", "user_id=APIUSER",
                "--set", 'attributes={"budget_lines": {"phase_code": null}}', "--secret", "password", stdin=fake.password + "\n")
    for row in fake.items["jcjobcategory"]:
        del row["JcatCommittedAmt"]
    said = command("add", "Lean tenant", "--user", "admin", "--set", f"base_url={fake.base_url}", "--set", "environment=cmictest",
                   "--set", "company_codes=DB01", "--set", "client_id=ACME", "--set", "user_id=APIUSER", "--secret", "password",
                   stdin=fake.password + "\n")
    assert "Saved Lean tenant" in said
    report = command("test", "Lean tenant", "--user", "admin")  # exits 0: nothing required is missing
    assert "warn jcjobcategory: Reachable, without the optional attribute(s) JcatCommittedAmt (committed costs stay 0)" in report


@pytest.mark.parametrize("secret", ["password", "client_secret"])
def test_a_secret_is_never_taken_from_the_command_line(admin, company, fake, secret):
    with pytest.raises(CommandError, match=rf"^A {secret} is never given on the command line.*use --secret {secret}"):
        command("add", "Leaky", "--user", "admin", "--set", f"base_url={fake.base_url}", "--set", "environment=cmictest",
                "--set", "company_codes=DB01", "--set", "client_id=ACME", "--set", "user_id=APIUSER", "--set", f"{secret}=hunter2")
    assert not ErpConnection.objects.filter(name="Leaky").exists()
