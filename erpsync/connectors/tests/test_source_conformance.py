"""Every Source yields the same records for the same ERP data."""

import pytest

from erpsync.connectors.base import Source
from erpsync.connectors.cmic.fake_server import FakeCmic
from erpsync.connectors.cmic.source import CmicRestSource
from erpsync.connectors.files.source import CmicExportSource
from erpsync.demo import generator

ENTITIES = ["jobs", "cost_codes", "cost_types", "budget_lines", "cost_transactions"]


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    generator.generate(folder, generator.Plan(control_jobs=12, sub_jobs=2, large_job_phases=0))
    return folder


@pytest.fixture(scope="module")
def sources(export):
    with FakeCmic(export) as fake:
        yield {
            "files": CmicExportSource(folder=str(export)),
            "rest": CmicRestSource(**fake.connection_settings(page_size=100)),
        }


def pull(source, entity, **kwargs):
    return sorted(getattr(source, entity)(**kwargs), key=lambda r: r.key)


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_source_yields_identical_records(sources, entity):
    files, rest = (pull(s, entity) for s in (sources["files"], sources["rest"]))
    assert files and files == rest


@pytest.mark.parametrize("entity", ["cost_codes", "budget_lines", "cost_transactions"])
def test_every_source_filters_by_job_alike(sources, entity):
    codes = {"25102", "25102-01"}
    files, rest = (pull(s, entity, job_codes=codes) for s in (sources["files"], sources["rest"]))
    assert files == rest and {r.job_code for r in rest} == codes


@pytest.mark.parametrize("name", ["files", "rest"])
def test_every_source_speaks_the_protocol_and_checks_itself(sources, name):
    source = sources[name]
    assert isinstance(source, Source)
    results = source.check()
    assert results and all(r.ok for r in results), [r.message for r in results if not r.ok]
