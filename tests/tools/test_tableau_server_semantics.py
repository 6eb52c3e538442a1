"""Tableau as its client library defines it: job outcomes decided by tableauserverclient's own
``wait_for_job`` (finishCode 3, Completed, is a success), and projects named by id, path or a name only
one project has — never a silent pick between two projects of the same name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import tableauserverclient as TSC

from dacrew.config import load_config
from dacrew.errors import ToolError
from dacrew.testing import TableauFake
from dacrew.tools.base import ToolContext
from dacrew.tools.tableau.jobs import job_of
from dacrew.tools.tableau.server import PublishArgs, RefreshArgs, tableau_publish_datasource, tableau_refresh_extract

FIXTURES = Path(__file__).parents[2] / ".." / "shared" / "fixtures" / "tableau-rest-responses"
TDS = b"<?xml version='1.0' encoding='utf-8'?><datasource formatted-name='orders' inline='true' version='18.1'/>"
JOB = (
    "<?xml version='1.0' encoding='UTF-8'?><tsResponse xmlns='http://tableau.com/api'>"
    "<job id='j1' mode='Asynchronous' type='RefreshExtract' progress='100' createdAt='2024-01-01T00:00:00Z' "
    "completedAt='2024-01-01T00:01:00Z' finishCode='{code}' /></tsResponse>"
)


def test_the_completed_fixture_is_a_success() -> None:
    path = FIXTURES / "job_get_by_id_completed.xml"
    if not path.is_file():
        pytest.skip("../shared/fixtures/tableau-rest-responses is not beside the project")
    (item,) = TSC.JobItem.from_response(path.read_bytes(), TSC.Server("http://x").namespace)
    job = job_of(item)
    assert (job.state, job.finish_code) == ("Success", 3)


@pytest.mark.parametrize(
    ("code", "state"), [(0, "Success"), (3, "Success"), (1, "Failed"), (2, "Cancelled"), (7, "Unknown")]
)
def test_finish_codes_as_wait_for_job_reads_them(code: int, state: str) -> None:
    (item,) = TSC.JobItem.from_response(JOB.format(code=code).encode(), TSC.Server("http://x").namespace)
    assert job_of(item).state == state


def test_an_unfinished_job_is_in_progress() -> None:
    xml = JOB.replace("completedAt='2024-01-01T00:01:00Z' finishCode='{code}' ", "")
    (item,) = TSC.JobItem.from_response(xml.encode(), TSC.Server("http://x").namespace)
    assert job_of(item).state == "InProgress"


@pytest.fixture
def fake() -> Iterator[TableauFake]:
    with TableauFake(projects=("default", "Finance", "Sales/Finance", "Sales/Finance/Archive"), success_code=3) as s:
        yield s


@pytest.fixture
def ctx(tmp_path: Path, fake: TableauFake, monkeypatch: pytest.MonkeyPatch) -> Iterator[ToolContext]:
    (tmp_path / "tableau/datasources").mkdir(parents=True)
    (tmp_path / "tableau/datasources/orders.tds").write_bytes(TDS)
    monkeypatch.setenv("DACREW_TABLEAU__SERVER_URL", fake.url)
    monkeypatch.setenv("DACREW_TABLEAU__TOKEN_NAME", fake.token_name)
    monkeypatch.setenv("DACREW_TABLEAU__TOKEN_SECRET", fake.token_secret)
    monkeypatch.setenv("DACREW_TABLEAU__POLL_INTERVAL_S", "0.01")
    context = ToolContext(project_dir=tmp_path)
    context._config = load_config(tmp_path)  # pyright: ignore[reportPrivateUsage]
    yield context
    context.close()


def test_a_job_that_ends_completed_is_a_success(ctx: ToolContext, fake: TableauFake) -> None:
    published = tableau_publish_datasource(ctx, PublishArgs(file="tableau/datasources/orders.tds", project="default"))
    assert published.ok, published.message
    assert published.job is not None
    assert (published.job.state, published.job.finish_code) == ("Success", 3)
    refreshed = tableau_refresh_extract(ctx, RefreshArgs(datasource="orders", project="default"))
    assert refreshed.ok
    assert refreshed.job is not None
    assert refreshed.job.state == "Success"


def test_an_ambiguous_project_name_is_reported(ctx: ToolContext, fake: TableauFake) -> None:
    with pytest.raises(ToolError) as info:
        tableau_publish_datasource(ctx, PublishArgs(file="tableau/datasources/orders.tds", project="Finance"))
    top, nested = fake.project_id("Finance"), fake.project_id("Sales/Finance")
    assert str(info.value) == (
        f"2 Tableau projects are named 'Finance': Finance (id {top}), Sales/Finance (id {nested}); "
        "give the project's path from the top (Parent/Child) or its id"
    )
    assert fake.datasources == {}


@pytest.mark.parametrize("how", ["path", "id"])
def test_a_path_or_an_id_names_one_project(ctx: ToolContext, fake: TableauFake, how: str) -> None:
    nested = fake.project_id("Sales/Finance")
    project = "Sales/Finance" if how == "path" else nested
    published = tableau_publish_datasource(ctx, PublishArgs(file="tableau/datasources/orders.tds", project=project))
    assert published.ok, published.message
    (ds,) = fake.datasources.values()
    assert ds.project_id == nested


def test_a_unique_nested_name_and_an_unknown_one(ctx: ToolContext, fake: TableauFake) -> None:
    published = tableau_publish_datasource(ctx, PublishArgs(file="tableau/datasources/orders.tds", project="Archive"))
    assert published.ok
    assert next(iter(fake.datasources.values())).project_id == fake.project_id("Sales/Finance/Archive")
    with pytest.raises(ToolError, match=r"no Tableau project 'Marketing' \(projects: Finance, Sales, Sales/Finance, "):
        tableau_publish_datasource(ctx, PublishArgs(file="tableau/datasources/orders.tds", project="Marketing"))
