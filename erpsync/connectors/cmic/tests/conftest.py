import pytest

from erpsync.connectors.cmic.fake_server import FakeCmic
from erpsync.connectors.cmic.source import CmicRestSource
from erpsync.connectors.http import RetryPolicy
from erpsync.demo import generator
from erpsync.erp.models import ErpConnection


@pytest.fixture(scope="session")
def small_export(export_root):
    folder = export_root / "acme" / "small-export"  # the export folder of the company `acme`
    generator.generate(folder, generator.Plan(control_jobs=6, sub_jobs=1, large_job_phases=0, transactions_per_line=(0, 2)))
    return folder


@pytest.fixture
def fake(small_export):
    with FakeCmic(small_export) as server:
        yield server


@pytest.fixture
def waits():
    """The waits the retry logic asked for, instead of waiting."""
    return []


@pytest.fixture
def rest_source(fake, waits):
    def make(**overrides):
        settings = fake.connection_settings(page_size=10) | overrides
        return CmicRestSource(retry=RetryPolicy(attempts=4, sleep=waits.append), **settings)

    return make


@pytest.fixture
def cmic(fake, company, monkeypatch, waits):
    monkeypatch.setattr("erpsync.connectors.http.wait_for_real", waits.append)
    settings = fake.connection_settings(page_size=100)
    password = settings.pop("password")
    connection = ErpConnection(company=company, name="CMiC live", kind="cmic", settings=settings)
    connection.set_secrets({"password": password})
    connection.save()
    return connection
