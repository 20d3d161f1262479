"""The standard cast and the fixtures most tests share."""

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from erpsync.companies.models import AccessLevel, Company, Membership
from erpsync.connectors.cmic.mapping import RESOURCES
from erpsync.erp.models import ErpConnection


def pytest_addoption(parser):
    parser.addoption("--screenshots", default="", help="save browser-test screenshots of the main screens into this folder")


def pytest_report_header(config):
    from django.conf import settings

    return f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}"


@pytest.fixture
def company(db):
    return Company.objects.create(name="Acme Construction", slug="acme")


@pytest.fixture
def other_company(db):
    return Company.objects.create(name="Rival Builders", slug="rival")


def _member(django_user_model, company, username, **levels):
    user = django_user_model.objects.create_user(username=username, password="pw-" + username)
    Membership.objects.create(user=user, company=company, **levels)
    return user


@pytest.fixture
def admin(django_user_model, company):
    return _member(django_user_model, company, "admin", erp_level=AccessLevel.ADMIN, directory_level=AccessLevel.ADMIN,
                   can_create_project=True, can_push_to_accounting=True)


@pytest.fixture
def pm(django_user_model, company):
    """Standard on ERP Integrations with the Create New Project privilege."""
    return _member(django_user_model, company, "pm", erp_level=AccessLevel.STANDARD, directory_level=AccessLevel.READ_ONLY,
                   can_create_project=True)


@pytest.fixture
def accountant(django_user_model, company):
    """Standard on ERP Integrations with Can Push to Accounting (an accounting approver)."""
    return _member(django_user_model, company, "accountant", erp_level=AccessLevel.STANDARD, can_push_to_accounting=True)


@pytest.fixture
def viewer(django_user_model, company):
    return _member(django_user_model, company, "viewer", erp_level=AccessLevel.READ_ONLY, directory_level=AccessLevel.READ_ONLY)


@pytest.fixture
def outsider(django_user_model, other_company):
    return _member(django_user_model, other_company, "outsider", erp_level=AccessLevel.ADMIN, directory_level=AccessLevel.ADMIN,
                   can_create_project=True, can_push_to_accounting=True)


@dataclass
class ExportBuilder:
    """Writes a small CMiC export folder, row by row, in CMiC's attribute names."""

    folder: Path
    company_code: str = "AC01"
    rows: dict = field(default_factory=lambda: {entity: [] for entity in RESOURCES})

    def category(self, code, name):
        self.rows["cost_types"].append({"company_code": self.company_code, "code": code, "name": name, "parent_code": "ALL"})
        return self

    def job(self, code, name, *, controlling="ALL", **extra):
        self.rows["jobs"].append({"company_code": self.company_code, "job_code": code, "name": name,
                                  "controlling_code": controlling, "status": "In Progress", "address": "1 Main St",
                                  "city": "Boston", "state": "MA", "zip": "02110", "start_date": "2025-03-01",
                                  "end_date": "2026-09-30", **extra})
        return self

    def phase(self, job, code, name, parent="ALL", active="Y"):
        self.rows["cost_codes"].append({"company_code": self.company_code, "job_code": job, "code": code, "name": name,
                                        "parent_code": parent, "active": active})
        return self

    def line(self, job, phase, category, budget="0", *, changes="0", committed="0", units="0", percent="0"):
        self.rows["budget_lines"].append({"company_code": self.company_code, "job_code": job, "phase_code": phase,
                                          "category_code": category, "active": "Y", "original_budget": budget,
                                          "approved_changes": changes, "budget_units": units, "committed_cost": committed,
                                          "percent_complete": percent})
        return self

    def posted(self, job, phase, category, number, posted_on, amount, units="0"):
        self.rows["cost_transactions"].append({"company_code": self.company_code, "job_code": job, "phase_code": phase,
                                               "category_code": category, "number": number, "posted_on": posted_on,
                                               "amount": amount, "units": units, "source": "AP", "reference": "INV-1"})
        return self

    def standard_job(self, code="24001", name="Harbor Office Building"):
        """A job with a division, two leaf codes, cost types on both, and posted costs."""
        if not self.rows["cost_types"]:
            self.category("L", "Labor").category("M", "Material").category("S", "Subcontract")
        self.job(code, name)
        self.phase(code, "03", "Concrete").phase(code, "03-300", "Cast-in-Place", "03").phase(code, "03-400", "Precast", "03")
        self.line(code, "03-300", "L", "12500.10", changes="500.00", committed="8000.00")
        self.line(code, "03-300", "M", "40000.00")
        self.line(code, "03-400", "S", "99999.99", committed="99999.99")
        self.posted(code, "03-300", "L", f"{code}-T1", "2025-04-01", "1000.10", units="12")
        self.posted(code, "03-300", "L", f"{code}-T2", "2025-05-01", "2000.05", units="20")
        self.posted(code, "03-400", "S", f"{code}-T3", "2025-06-01", "0.01")
        return self

    def write(self, fmt="csv"):
        self.folder.mkdir(parents=True, exist_ok=True)
        for entity, rows in self.rows.items():
            resource = RESOURCES[entity]
            attrs = resource.attributes
            for old in self.folder.glob(f"{resource.name}.*"):
                old.unlink()
            if fmt == "json":
                items = [{attrs[k]: v for k, v in row.items()} for row in rows]
                (self.folder / f"{resource.name}.json").write_text(json.dumps({"items": items, "count": len(items), "hasMore": False}))
                continue
            with open(self.folder / f"{resource.name}.csv", "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(attrs.values())
                for row in rows:
                    writer.writerow([row.get(f, "") for f in attrs])
        return self.folder


@pytest.fixture(scope="session", autouse=True)
def export_root(tmp_path_factory):
    """The server's export root for this test session: each company reads only its own subfolder."""
    from django.conf import settings

    settings.EXPORT_ROOT = tmp_path_factory.mktemp("exports")
    return settings.EXPORT_ROOT


@pytest.fixture
def export(export_root, tmp_path):
    """An export folder of the company `acme` (the `company` fixture), one per test."""
    return ExportBuilder(export_root / "acme" / tmp_path.name)


@pytest.fixture
def connection(company, export):
    export.standard_job().write()
    return ErpConnection.objects.create(company=company, name="CMiC", kind="cmic_files", settings={"folder": export.folder.name})


@pytest.fixture
def refreshed(connection):
    from erpsync.erp.services import erp_refresh

    erp_refresh(connection=connection)
    return connection


@pytest.fixture
def signed_in(client):
    """Sign a user of the cast in: `signed_in(pm)` returns the client."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in
