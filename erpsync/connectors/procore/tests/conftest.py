import pytest

from erpsync.connectors.procore.fake_server import FakeProcore
from erpsync.erp.models import ProcoreConnection


@pytest.fixture
def waits(monkeypatch):
    """Waits the Procore client asked for, recorded instead of waited."""
    recorded = []
    monkeypatch.setattr("erpsync.connectors.http.wait_for_real", recorded.append)
    return recorded


@pytest.fixture
def procore(waits):
    with FakeProcore() as fake:
        yield fake


@pytest.fixture
def connect_procore(procore):
    """Connects a company to the fake Procore: `connect_procore(company)`."""

    def connect(company) -> ProcoreConnection:
        settings = procore.connection_settings()
        connection = ProcoreConnection(company=company, environment="custom", base_url=settings["base_url"],
                                       login_url=settings["login_url"], procore_company_id=settings["company_id"],
                                       client_id=settings["client_id"])
        connection.set_secrets({"client_secret": settings["client_secret"]})
        connection.save()
        return connection

    return connect


@pytest.fixture
def procore_connection(company, connect_procore):
    return connect_procore(company)
