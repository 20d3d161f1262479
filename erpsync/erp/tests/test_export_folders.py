"""A files connection reads only inside its company's export folder, and says nothing about the server's other folders."""

import pytest
from django.urls import reverse

from erpsync.erp.models import ErpConnection, StagedJob
from erpsync.erp.services import erp_refresh
from erpsync.errors import SourceFailed

NEW = reverse("erp:connection_new") + "?kind=cmic_files"


def form(folder: str) -> dict:
    return {"name": "Exports", "folder": folder, "company_codes": "AC01", "encoding": "", "attributes": "{}"}


def refusal(client, folder: str) -> str:
    response = client.post(NEW, form(folder))
    assert response.status_code == 200  # the form again, with the reason
    page = response.content.decode()
    start = page.index("The export folder must be inside")
    return page[start:page.index("</", start)]


@pytest.fixture
def folders(export_root, tmp_path):
    """Real folders outside the company's: another company's export, one beside the root, and a link leading out."""
    rival = export_root / "rival" / tmp_path.name
    rival.mkdir(parents=True)
    (rival / "jcjob.csv").write_text("JobCompCode,JobCode\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (export_root / "acme").mkdir(exist_ok=True)
    link = export_root / "acme" / f"shortcut-{tmp_path.name}"
    link.symlink_to(rival, target_is_directory=True)
    return {"rival": rival, "elsewhere": elsewhere, "link": link}


def test_an_admin_may_name_a_folder_inside_the_companys_export_folder(signed_in, admin, company, export):
    export.standard_job().write()
    client = signed_in(admin)
    for folder in (export.folder.name, str(export.folder), f"./{export.folder.name}/"):
        response = client.post(NEW, form(folder) | {"name": f"Exports {folder}"})
        assert response.status_code == 302, folder
    connection = ErpConnection.objects.get(name=f"Exports {export.folder.name}")
    erp_refresh(connection=connection)
    assert StagedJob.objects.filter(company=company, job_code="24001").exists()


def test_every_folder_outside_is_refused_alike_whether_or_not_it_exists(signed_in, admin, folders, export_root):
    client = signed_in(admin)
    tried = [
        str(folders["rival"]),  # another company's export, which exists
        str(folders["rival"].parent / "missing"),  # and one that does not
        f"../rival/{folders['rival'].name}", "../rival/nothing-here",
        str(folders["elsewhere"]), "/etc", "/no/such/folder",
        folders["link"].name,  # a link inside that leads out
        f"a/../../rival/{folders['rival'].name}",
    ]
    messages = {folder: refusal(client, folder) for folder in tried}
    assert len(set(messages.values())) == 1, messages
    message = next(iter(messages.values()))
    assert "acme/" in message and str(export_root) not in message  # the server's own paths are not shown
    assert not ErpConnection.objects.exists()


def test_the_command_refuses_a_folder_outside(admin, folders):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="The export folder must be inside"):
        call_command("erp_connection", "add", "Exports", "--kind", "cmic_files", "--user", admin.username,
                     "--set", f"folder={folders['rival']}", "--set", "company_codes=AC01")
    assert not ErpConnection.objects.exists()


def test_a_stored_folder_that_leads_out_is_not_read(company, folders):
    """Settings changed behind erpsync's back (or saved before exports had a root) are checked again at each read."""
    connection = ErpConnection.objects.create(company=company, name="Old", kind="cmic_files", settings={"folder": str(folders["rival"])})
    with pytest.raises(SourceFailed, match="The export folder must be inside"):
        erp_refresh(connection=connection)
    assert not StagedJob.objects.exists()


def test_a_connection_test_of_a_folder_outside_says_only_that(signed_in, admin, company, folders):
    connection = ErpConnection.objects.create(company=company, name="Old", kind="cmic_files", settings={"folder": folders["link"].name})
    signed_in(admin).post(reverse("erp:connection_test", args=[connection.pk]))
    connection.refresh_from_db()
    assert connection.last_test_ok is False
    assert [r["message"] for r in connection.last_test_report] == [
        "The export folder must be inside this company's folder for export files (acme/ in the server's export root): "
        "name a folder there."]


@pytest.mark.parametrize("target", ["outside", "missing"])
def test_a_file_that_is_a_link_leading_out_is_refused_alike_whether_or_not_its_target_exists(company, folders, export, target):
    export.standard_job().write()
    secret = folders["elsewhere"] / "secret.csv"
    if target == "outside":
        secret.write_text("JobCompCode,JobCode,JobName,JobCtrlCode,JobStatusCode,JobAddress1,JobCity,JobState,JobZip,"
                          "JobStartDate,JobEndDate\nAC01,1,x,ALL,,,,,,SECRET-VALUE,\n")
    (export.folder / "jcjob.csv").unlink()
    (export.folder / "jcjob.csv").symlink_to(secret)
    connection = ErpConnection.objects.create(company=company, name="Linked", kind="cmic_files", settings={"folder": export.folder.name})
    with pytest.raises(SourceFailed) as info:
        erp_refresh(connection=connection)
    assert info.value.message == ("jcjob.csv is a link that leads outside this company's export folder; put the file itself "
                                  "in the folder.")
    assert not StagedJob.objects.exists()


def test_messages_name_the_folder_from_the_company_on(company, export):
    connection = ErpConnection.objects.create(company=company, name="Gone", kind="cmic_files", settings={"folder": "not-there"})
    with pytest.raises(SourceFailed, match=r"^The export folder acme/not-there does not exist\.$"):
        erp_refresh(connection=connection)
