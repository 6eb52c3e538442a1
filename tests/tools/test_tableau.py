"""The Tableau toolset with the real tableauserverclient against the loopback TableauFake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.config import load_config
from dacrew.errors import ApprovalRequired, ToolError
from dacrew.testing import TableauFake
from dacrew.tools.base import ToolContext
from dacrew.tools.tableau.server import (
    JobStatusArgs,
    ListArgs,
    PublishArgs,
    RefreshArgs,
    tableau_job_status,
    tableau_list,
    tableau_publish_datasource,
    tableau_refresh_extract,
)

SECRET = "pat-secret-value-7f3a"
TDS = b"<?xml version='1.0' encoding='utf-8'?><datasource formatted-name='orders' inline='true' version='18.1'/>"


@pytest.fixture
def fake() -> Iterator[TableauFake]:
    with TableauFake(token_name="ci-token", token_secret=SECRET, site="analytics", job_polls=2) as server:
        yield server


@pytest.fixture
def project(tmp_path: Path, fake: TableauFake, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "tableau/datasources").mkdir(parents=True)
    (tmp_path / "tableau/datasources/orders.tds").write_bytes(TDS)
    monkeypatch.setenv("DACREW_TABLEAU__SERVER_URL", fake.url)
    monkeypatch.setenv("DACREW_TABLEAU__SITE", "analytics")
    monkeypatch.setenv("DACREW_TABLEAU__TOKEN_NAME", "ci-token")
    monkeypatch.setenv("DACREW_TABLEAU__TOKEN_SECRET", SECRET)
    monkeypatch.setenv("DACREW_TABLEAU__POLL_INTERVAL_S", "0.01")
    return tmp_path


def context(project: Path, **kw: object) -> ToolContext:
    ctx = ToolContext(project_dir=project, **kw)  # type: ignore[arg-type]
    ctx._config = load_config(project)
    return ctx


def test_publish_as_job_waits_and_creates_the_datasource(project: Path, fake: TableauFake) -> None:
    ctx = context(project)
    result = tableau_publish_datasource(
        ctx, PublishArgs(file="tableau/datasources/orders.tds", project="Analytics", mode="CreateNew")
    )
    ctx.close()
    assert result.ok
    assert result.job is not None
    assert result.job.state == "Success"
    assert result.name == "orders"
    (ds,) = fake.datasources.values()
    assert ds.name == "orders"
    assert ds.project_name == "Analytics"
    assert ds.content == TDS
    assert result.datasource_id == ds.id
    # version negotiated before sign-in, published as a job, polled until done, signed out
    paths = fake.paths()
    assert paths[0] == "/api/2.4/serverInfo"
    assert paths[1] == "/api/3.24/auth/signin"
    publish = [(p, q) for m, p, q in fake.requests if m == "POST" and p.endswith("/datasources")]
    assert publish[0][1]["asJob"] == ["true"]
    assert len([p for p in paths if "/jobs/" in p]) == 2
    assert fake.signed_out == 1


def test_chunked_upload_publishes_the_same_bytes(
    project: Path, fake: TableauFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TSC_FILESIZE_LIMIT_MB", "0")  # every file goes through fileUploads
    big = TDS + b"<!--" + b"x" * 300_000 + b"-->"
    (project / "tableau/datasources/orders.tds").write_bytes(big)
    result = tableau_publish_datasource(context(project), PublishArgs(file="tableau/datasources/orders.tds"))
    assert result.ok
    assert any(m == "PUT" and "/fileUploads/" in p for m, p, _ in fake.requests)
    (ds,) = fake.datasources.values()
    assert ds.content == big
    assert ds.project_name == "default"


def test_failing_publish_job_returns_ok_false_with_notes(project: Path, fake: TableauFake) -> None:
    fake.fail_jobs = True
    result = tableau_publish_datasource(context(project), PublishArgs(file="tableau/datasources/orders.tds"))
    assert not result.ok
    assert result.job is not None
    assert result.job.state == "Failed"
    assert "simulated failure" in result.message
    assert result.datasource_id is None
    assert fake.datasources == {}


def test_job_wait_timeout_is_reported_not_hung(
    project: Path, fake: TableauFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.job_polls = 10_000
    monkeypatch.setenv("DACREW_TABLEAU__JOB_TIMEOUT_S", "0.2")
    result = tableau_publish_datasource(context(project), PublishArgs(file="tableau/datasources/orders.tds"))
    assert not result.ok
    assert result.timed_out
    assert result.job is not None
    assert result.job.state == "InProgress"
    status = tableau_job_status(context(project), JobStatusArgs(job_id=result.job.id))
    assert status.ok  # a status read is never a failure
    assert status.job.state == "InProgress"


def test_overwrite_of_existing_datasource_needs_approval(project: Path, fake: TableauFake) -> None:
    fake.add_datasource("orders", project="default", content=b"old")
    ctx = context(project)
    with pytest.raises(ToolError, match="already exists"):
        tableau_publish_datasource(ctx, PublishArgs(file="tableau/datasources/orders.tds", mode="CreateNew"))
    args = PublishArgs(file="tableau/datasources/orders.tds", mode="Overwrite")
    with pytest.raises(ApprovalRequired) as asked:
        tableau_publish_datasource(ctx, args)
    assert asked.value.detail["name"] == "orders"
    assert SECRET not in json.dumps(asked.value.detail)
    (ds,) = fake.datasources.values()
    assert ds.content == b"old"
    ctx.approved.add(asked.value.digest)
    result = tableau_publish_datasource(ctx, args)
    assert result.ok
    assert ds.content == TDS
    assert result.datasource_id == ds.id


def test_bad_token_is_a_clear_401_without_the_secret(
    project: Path, fake: TableauFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DACREW_TABLEAU__TOKEN_SECRET", "wrong-secret-123")
    with pytest.raises(ToolError, match="401") as err:
        tableau_list(context(project), ListArgs(kind="projects"))
    assert "wrong-secret-123" not in str(err.value)
    assert "ci-token" in str(err.value)


def test_list_and_refresh(project: Path, fake: TableauFake) -> None:
    ds_id = fake.add_datasource("customer_ltv", project="Analytics")
    ctx = context(project)
    projects = tableau_list(ctx, ListArgs(kind="projects"))
    assert [p.name for p in projects.items] == ["Analytics", "default"]
    listed = tableau_list(ctx, ListArgs(kind="datasources"))
    assert [(d.name, d.project) for d in listed.items] == [("customer_ltv", "Analytics")]
    refreshed = tableau_refresh_extract(ctx, RefreshArgs(datasource="customer_ltv", project="Analytics"))
    assert refreshed.ok
    assert refreshed.datasource_id == ds_id
    assert fake.datasources[ds_id].refreshes == 1
    with pytest.raises(ToolError, match="no data source"):
        tableau_refresh_extract(ctx, RefreshArgs(datasource="nope", project="Analytics"))


def test_missing_configuration_names_what_to_set(tmp_path: Path) -> None:
    from dacrew.errors import UserError

    ctx = ToolContext(project_dir=tmp_path)
    with pytest.raises(UserError, match="DACREW_TABLEAU__TOKEN_SECRET"):
        tableau_list(ctx, ListArgs(kind="projects"))


def test_cli_publish_exit_codes(project: Path, fake: TableauFake) -> None:
    runner = CliRunner()
    args = json.dumps(
        {"file": "tableau/datasources/orders.tds", "project": "default", "name": "orders", "mode": "CreateNew"}
    )
    ok = runner.invoke(
        app,
        [
            "tools",
            "call",
            "tableau_publish_datasource",
            "--args",
            args,
            "--project-dir",
            str(project),
            "--agent",
            "tableau-expert",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["job"]["state"] == "Success"

    overwrite = args.replace("CreateNew", "Overwrite")
    needs = runner.invoke(
        app,
        [
            "tools",
            "call",
            "tableau_publish_datasource",
            "--args",
            overwrite,
            "--project-dir",
            str(project),
            "--agent",
            "tableau-expert",
        ],
    )
    assert needs.exit_code == 3, needs.output
    assert json.loads(needs.stdout)["status"] == "needs_approval"

    fake.fail_jobs = True
    other = args.replace('"orders"}', '"orders_v2"}').replace('"name": "orders"', '"name": "orders_v2"')
    failed = runner.invoke(
        app,
        [
            "tools",
            "call",
            "tableau_publish_datasource",
            "--args",
            other,
            "--project-dir",
            str(project),
            "--agent",
            "tableau-expert",
        ],
    )
    assert failed.exit_code == 1, failed.output
    body = json.loads(failed.stdout)
    assert body["ok"] is False
    assert body["job"]["state"] == "Failed"
    assert SECRET not in ok.output + needs.output + failed.output


def test_built_datasource_is_published_with_its_extract_as_tdsx(project: Path, fake: TableauFake) -> None:
    import io
    import xml.etree.ElementTree as ET
    import zipfile

    from test_tableau_local import MART_ROWS, make_project

    from dacrew.tools.tableau.local import BuildArgs, tableau_build_datasource

    make_project(project)
    ctx = context(project, files=("tableau/datasources/",))
    built = tableau_build_datasource(ctx, BuildArgs(table="analytics.customer_ltv"))
    assert built.rows == MART_ROWS
    result = tableau_publish_datasource(ctx, PublishArgs(file=built.tds, project="Analytics"))
    assert result.ok
    assert result.packaged_with_extract
    (ds,) = fake.datasources.values()
    assert ds.file_name == "customer_ltv.tdsx"
    with zipfile.ZipFile(io.BytesIO(ds.content)) as bundle:
        assert sorted(bundle.namelist()) == ["Data/Extracts/customer_ltv.hyper", "customer_ltv.tds"]
        inner = ET.fromstring(bundle.read("customer_ltv.tds"))
        hyper_bytes = bundle.read("Data/Extracts/customer_ltv.hyper")
    conn = inner.find(".//connection[@class='hyper']")
    assert conn is not None
    assert conn.get("dbname") == "Data/Extracts/customer_ltv.hyper"
    assert built.hyper is not None
    assert hyper_bytes == (project / built.hyper).read_bytes()
    # the project's own .tds still points at the extract beside it
    assert b"dbname='customer_ltv.hyper'" in (project / built.tds).read_bytes().replace(b'"', b"'")


def test_a_server_that_does_not_answer_in_time(
    project: Path, fake: TableauFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DACREW_TABLEAU__HTTP_TIMEOUT_S", "0.1")
    fake.delay_s = 0.4
    with pytest.raises(ToolError, match="Timeout"):
        tableau_list(context(project), ListArgs(kind="projects"))


def test_fake_serves_a_synchronous_publish_to_the_real_client(fake: TableauFake, tmp_path: Path) -> None:
    import tableauserverclient as TSC

    server = TSC.Server(fake.url)
    server.use_server_version()
    server.auth.sign_in(TSC.PersonalAccessTokenAuth("ci-token", SECRET, site_id="analytics"))
    (tmp_path / "sales.tds").write_bytes(TDS)
    item = TSC.DatasourceItem(fake.project_id("default"), name="sales")
    published = server.datasources.publish(item, str(tmp_path / "sales.tds"), "CreateNew")
    assert published.name == "sales"
    assert published.project_name == "default"
    assert published.id is not None
    assert server.datasources.get_by_id(published.id).name == "sales"
    with pytest.raises(TSC.ServerResponseError) as conflict:
        server.datasources.publish(
            TSC.DatasourceItem(item.project_id, name="sales"), str(tmp_path / "sales.tds"), "CreateNew"
        )
    assert conflict.value.code == "409004"
    server.auth.sign_out()
    assert fake.signed_out == 1


def test_publish_reads_only_inside_the_project(
    project: Path, fake: TableauFake, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from dacrew.errors import GuardRefused

    (project / "credentials.tds").write_bytes(TDS)
    ctx = context(project)
    for path, rule in (
        ("credentials.tds", "secret"),
        ("../orders.tds", "parent_path"),
        ("/orders.tds", "absolute_path"),
    ):
        with pytest.raises(GuardRefused) as refused:
            tableau_publish_datasource(ctx, PublishArgs(file=path))
        assert refused.value.rule == rule
    # A .tds pointing at an extract outside the project would upload that file: refused, nothing sent.
    outside = tmp_path_factory.mktemp("outside") / "private.hyper"
    outside.write_bytes(b"not yours")
    (project / "tableau/datasources/sneaky.tds").write_text(
        f"<datasource><connection class='federated'><named-connections><named-connection name='h'>"
        f"<connection class='hyper' dbname='{outside}' /></named-connection></named-connections>"
        "</connection></datasource>"
    )
    with pytest.raises(GuardRefused, match="outside the project"):
        tableau_publish_datasource(ctx, PublishArgs(file="tableau/datasources/sneaky.tds"))
    assert fake.datasources == {}
    assert not [p for m, p, _ in fake.requests if m in {"POST", "PUT"} and ("/datasources" in p or "fileUploads" in p)]


def test_overwrite_check_folds_case_as_tableau_does(project: Path, fake: TableauFake) -> None:
    fake.add_datasource("Orders", project="default", content=b"old")
    ctx = context(project)
    with pytest.raises(ToolError, match="already exists"):
        tableau_publish_datasource(ctx, PublishArgs(file="tableau/datasources/orders.tds", mode="CreateNew"))
    args = PublishArgs(file="tableau/datasources/orders.tds", name="orders", mode="Overwrite")
    with pytest.raises(ApprovalRequired):
        tableau_publish_datasource(ctx, args)
    (ds,) = fake.datasources.values()
    assert ds.content == b"old"  # "orders" is the same data source as "Orders": nothing replaced unapproved
    # Only the publish request goes to the server; the fake, like Tableau, matches names case-insensitively.
    assert not [p for m, p, _ in fake.requests if m == "POST" and p.endswith("/datasources")]


def test_the_token_secret_is_in_no_result_error_or_file(project: Path, fake: TableauFake) -> None:
    from test_tableau_local import make_project

    from dacrew.tools.tableau.local import BuildArgs, tableau_build_datasource
    from dacrew.tools.tableau.server import _tableau_errors

    make_project(project)
    ctx = context(project, files=("tableau/datasources/",))
    outputs: list[str] = []
    built = tableau_build_datasource(ctx, BuildArgs(table="analytics.customer_ltv"))
    outputs.append(built.model_dump_json())
    published = tableau_publish_datasource(ctx, PublishArgs(file=built.tds, project="Analytics"))
    outputs += [published.model_dump_json(), tableau_list(ctx, ListArgs(kind="datasources")).model_dump_json()]
    outputs.append(tableau_job_status(ctx, JobStatusArgs(job_id=published.job.id)).model_dump_json())  # type: ignore[union-attr]
    outputs.append(
        tableau_refresh_extract(ctx, RefreshArgs(datasource="customer_ltv", project="Analytics")).model_dump_json()
    )
    for call in (
        lambda: tableau_publish_datasource(ctx, PublishArgs(file=built.tds, project="Analytics")),
        lambda: tableau_publish_datasource(ctx, PublishArgs(file=built.tds, project="Analytics", mode="Overwrite")),
        lambda: tableau_job_status(ctx, JobStatusArgs(job_id="00000000-0000-0000-0000-000000000000")),
    ):
        with pytest.raises((ToolError, ApprovalRequired)) as err:
            call()
        outputs.append(f"{err.value} {getattr(err.value, 'detail', '')}")
    fake.fail_jobs = True
    failed = tableau_publish_datasource(ctx, PublishArgs(file="tableau/datasources/orders.tds"))
    outputs.append(failed.model_dump_json())
    # Should a server's answer ever repeat the secret, the error masks it.
    TSC = __import__("tableauserverclient")
    echoed = _tableau_errors(ctx, TSC.ServerResponseError("401001", "Signin Error", f"bad token {SECRET}"))
    outputs.append(str(echoed))
    assert "***" in str(echoed)
    files = [p.read_bytes() for p in project.rglob("*") if p.is_file() and p.name != ".env"]
    files += [ds.content for ds in fake.datasources.values()]
    assert SECRET not in "\n".join(outputs)
    assert not [blob for blob in files if SECRET.encode() in blob]
    ctx.close()
