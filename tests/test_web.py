"""``sasnn serve``'s API: the same answers as the CLI's JSON on a sasdata file, and clean
one-line errors (JSON, never a traceback page) for bad files, oversized uploads,
unknown models and unknown ids. The fit tests take minutes and are marked slow."""

from __future__ import annotations

import io
import json
import re
import socket
import tempfile
import time
import zipfile

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed (pip install -e .[web])")

from fastapi.testclient import TestClient  # noqa: E402

from sasnn.cli import main  # noqa: E402
from sasnn.io import example_data_path  # noqa: E402
from sasnn.web.app import STATIC, create_app  # noqa: E402
from sasnn.web.uploads import safe_name  # noqa: E402

AOT = example_data_path("AOT_Microemulsion-Core_Contrast.xml")
ENTITIES = b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"


def cli_json(capsys, *args: str):
    code = main(list(args))
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


@pytest.fixture(scope="module")
def predictor():
    from sasnn.identify.loading import load_predictor

    return load_predictor(None)


@pytest.fixture(scope="module")
def client(predictor):
    with TestClient(create_app(predictor=predictor), raise_server_exceptions=False) as c:
        yield c


def upload(client, *files: tuple[str, bytes], **fields):
    return client.post("/api/predict", files=[("files", f) for f in files],
                       data={k: str(v) for k, v in fields.items()})


def aot_upload(client, **fields):
    return upload(client, (AOT.name, AOT.read_bytes()), **fields)


def without_file(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in ("file", "plot")}


def test_predict_gives_the_cli_json(client, capsys):
    expected = cli_json(capsys, "predict", str(AOT), "--json", "--top", "4")
    answer = aot_upload(client, top=4)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [without_file(i["prediction"]) for i in body["items"]] == [without_file(r) for r in expected]
    assert body["items"][0]["prediction"]["file"] == AOT.name  # the uploaded name, not a temp path
    assert body["errors"] == [] and "dropped 24 of 137 points" in body["warnings"][0]
    curve = body["items"][0]["curves"][0]
    assert len(curve["q"]) == len(curve["intensity"]) == len(curve["sigma"]) == 113


def test_several_files_and_entries_are_shown_separately(client):
    body = upload(client, (AOT.name, AOT.read_bytes()), ("copy.xml", AOT.read_bytes())).json()
    assert [i["label"] for i in body["items"]] == [AOT.name, "copy.xml"]
    assert body["items"][0]["prediction"]["candidates"] == body["items"][1]["prediction"]["candidates"]


def test_pr_gives_the_cli_json(client, capsys):
    expected = cli_json(capsys, "pr", str(AOT), "--json", "--dmax", "90")
    analysis = aot_upload(client).json()["id"]
    answer = client.get(f"/api/analyses/{analysis}/items/0/pr", params={"dmax": "90"})
    assert answer.status_code == 200, answer.text
    assert without_file(answer.json()["record"]) == without_file(expected[0])
    guinier = answer.json()["guinier"]
    assert len(guinier["q2"]) == len(guinier["ln_i"]) == len(guinier["line"])
    assert any(v is not None for v in guinier["line"])


def test_pr_refusal_is_the_cli_message(client, capsys):
    ordered = example_data_path("P123_D2O_40_percent.xml")  # Bragg peaks: no Dmax to resolve
    assert main(["pr", str(ordered), "--json"]) == 1
    cli_error = capsys.readouterr().err.splitlines()[-1]
    analysis = upload(client, (ordered.name, ordered.read_bytes())).json()["id"]
    answer = client.get(f"/api/analyses/{analysis}/items/0/pr")
    assert answer.status_code == 422
    assert answer.json()["error"].split(": ", 1)[1] == cli_error.split(".xml: ", 1)[1]


def test_report_zip_holds_the_cli_report(client, tmp_path, capsys):
    assert main(["predict", str(AOT), "--report", str(tmp_path / "cli")]) == 0
    capsys.readouterr()
    analysis = aot_upload(client).json()["id"]
    answer = client.get(f"/api/analyses/{analysis}/report")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert sorted(archive.namelist()) == sorted(p.name for p in (tmp_path / "cli").iterdir())
    ours = json.loads(archive.read("report.json"))
    theirs = json.loads((tmp_path / "cli/report.json").read_text())
    assert ours["files"] == theirs["files"]
    assert [without_file(p) for p in ours["predictions"]] == [without_file(p) for p in theirs["predictions"]]
    assert archive.read(ours["files"][0])[:8] == b"\x89PNG\r\n\x1a\n"


def test_nothing_is_left_in_the_temporary_folder(predictor, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with TestClient(create_app(predictor=predictor)) as c:
        big = AOT.read_bytes() + b"\n" * 2 * 2**20  # over starlette's 1 MB spool: still in memory
        body = upload(c, ("big.xml", big), ("bad.xml", ENTITIES)).json()
        assert c.get(f"/api/analyses/{body['id']}/report").status_code == 200
    assert list(tmp_path.iterdir()) == []


def test_bad_file_is_one_line_naming_it(client):
    answer = upload(client, ("../../evil name.xml", ENTITIES))
    assert answer.status_code == 422
    assert answer.json() == {"error": "evil_name.xml: declares XML entities, which sasnn refuses to expand "
                                      "for safety"}
    mixed = upload(client, ("empty.txt", b""), (AOT.name, AOT.read_bytes())).json()
    assert len(mixed["items"]) == 1 and len(mixed["errors"]) == 1 and "empty.txt" in mixed["errors"][0]


def test_oversized_uploads_are_refused(client, predictor):
    answer = upload(client, ("huge.txt", b"0" * (20 * 2**20 + 1)))
    assert answer.status_code == 413
    assert re.fullmatch(r"the upload is 20\.0 MB, over the 20 MB limit", answer.json()["error"])
    with TestClient(create_app(predictor=predictor, max_upload_bytes=10_000)) as small:
        assert aot_upload(small).json()["error"].endswith("over the 0.00953674 MB limit")
    with TestClient(create_app(predictor=predictor, max_entries=1)) as few:
        answer = upload(few, (AOT.name, AOT.read_bytes()), ("copy.xml", AOT.read_bytes()))
        assert answer.status_code == 413 and answer.json()["error"].startswith("too many entries")
    many = upload(client, *[(f"f{k}.txt", b"1 2\n") for k in range(21)])
    assert many.status_code == 413 and many.json()["error"] == "too many files: at most 20 in one upload"


def test_not_an_upload_and_bad_options(client):
    assert client.post("/api/predict", json={}).json()["error"].startswith("expected a multipart")
    assert aot_upload(client, top=0).json()["error"] == "top must be a positive number, got '0'"
    assert aot_upload(client, q_units="mm").status_code == 422


def test_unknown_models_are_named(client, predictor, capsys):
    answer = aot_upload(client, also="sphere,no_such_model")
    assert answer.status_code == 422 and "no_such_model" in answer.json()["error"]
    with pytest.raises(FileNotFoundError):
        create_app("/no/such/model")
    with socket.socket() as probe:  # a port that is free
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["serve", "--model", "/no/such/model", "--port", str(port)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("sasnn: error: ") and "/no/such/model" in err and len(err.splitlines()) == 1


def test_serve_refuses_a_busy_port(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 1
    assert f"--port {port}: cannot listen there" in capsys.readouterr().err


def test_unknown_ids_and_invalid_queries_are_json(client):
    assert client.get("/api/analyses/nope/report").json() == {
        "error": "unknown or expired analysis; upload the files again"}
    assert client.get("/api/jobs/nope").status_code == 404
    assert client.post("/api/jobs/nope/cancel").status_code == 404
    analysis = aot_upload(client).json()["id"]
    answer = client.post(f"/api/analyses/{analysis}/items/0/fit", params={"fit_top": 0})
    assert answer.status_code == 422 and answer.json()["error"].startswith("fit_top:")
    assert client.get(f"/api/analyses/{analysis}/items/5/pr").status_code == 404


def test_an_unexpected_error_is_not_a_traceback_page(predictor, monkeypatch):
    app = create_app(predictor=predictor)
    monkeypatch.setattr(app.state.store, "get", lambda _id: 1 / 0)
    with TestClient(app, raise_server_exceptions=False) as c:
        answer = c.get("/api/analyses/x/report")
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error (ZeroDivisionError); see the server's log"}


def test_the_page_is_served_with_nothing_from_elsewhere(client):
    page = client.get("/")
    assert page.status_code == 200 and "uPlot.iife.min.js" in page.text
    for name in ("index.html", "app.js", "plots.js", "style.css"):
        assert not re.search(r"https?://", (STATIC / name).read_text()), name
    assert client.get("/static/vendor/uplot/uPlot.iife.min.js").status_code == 200
    assert (STATIC / "vendor/uplot/LICENSE").read_text().startswith("The MIT License")


def test_safe_name_keeps_no_folder():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\data\\run 1.xml") == "run_1.xml"
    assert safe_name("..") == "upload" and safe_name("") == "upload"


def test_report_folder_names_match_the_cli():
    from sasnn.cli import predict
    from sasnn.plots import report_folder

    assert (predict.REPORT_INDEX, predict.REPORT_SUMMARY) == (report_folder.REPORT_INDEX,
                                                              report_folder.REPORT_SUMMARY)
    assert predict.PNG_NAME.pattern == report_folder.PNG_NAME.pattern


def wait_job(client, job_id: str, analysis: str, seconds: float = 900) -> dict:
    deadline = time.time() + seconds
    while True:
        status = client.get(f"/api/jobs/{job_id}", params={"analysis": analysis, "index": 0}).json()
        if status["state"] not in ("queued", "running") or time.time() > deadline:
            return status
        time.sleep(1)


@pytest.mark.slow
def test_fit_gives_the_cli_json(client, capsys):
    # a fit that reaches its time limit stops wherever it is; at 600 s only the step limit can stop
    # these, so both answers are the same whichever process ran them and however busy the machine was
    expected = cli_json(capsys, "predict", str(AOT), "--json", "--fit", "--fit-top", "3")
    analysis = aot_upload(client).json()["id"]
    job = client.post(f"/api/analyses/{analysis}/items/0/fit", params={"fit_top": 3, "fit_time": 600}).json()
    status = wait_job(client, job["id"], analysis)
    assert status["state"] == "done", status
    assert status["done"] == status["total"] == 3
    ours, theirs = without_file(status["item"]["prediction"]), without_file(expected[0])
    assert [c["model"] for c in ours["candidates"]] == [c["model"] for c in theirs["candidates"]]
    for a, b in zip(ours["candidates"], theirs["candidates"], strict=True):
        assert a["bic"] == pytest.approx(b["bic"], rel=1e-6)
        assert a["parameters"].keys() == b["parameters"].keys()
    for key in ("unsure", "reason", "ties"):
        assert ours[key] == theirs[key], key
    fits = status["item"]["fits"]
    assert len(fits) == 3 and len(fits[0]["curves"][0]["residual"]) == 113
    report = zipfile.ZipFile(io.BytesIO(client.get(f"/api/analyses/{analysis}/report").content))
    assert json.loads(report.read("report.json"))["predictions"][0]["candidates"][0]["bic"] is not None


@pytest.mark.slow
def test_a_fit_can_be_cancelled(client):
    analysis = aot_upload(client).json()["id"]
    job = client.post(f"/api/analyses/{analysis}/items/0/fit", params={"fit_top": 10}).json()
    deadline = time.time() + 120
    while client.get(f"/api/jobs/{job['id']}").json()["state"] != "running":
        assert time.time() < deadline
        time.sleep(0.2)
    assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 200
    status = wait_job(client, job["id"], analysis, seconds=30)
    assert status["state"] == "cancelled" and status["done"] < 10
    pool = client.app.state.pool
    assert all(not t.is_alive() for t in pool._threads if t.name.endswith(job["id"]))
    predicted = client.get(f"/api/analyses/{analysis}/report")  # the unfitted prediction stays
    report = json.loads(zipfile.ZipFile(io.BytesIO(predicted.content)).read("report.json"))
    assert "bic" not in report["predictions"][0]["candidates"][0]


def test_concurrent_uploads_all_succeed(client):
    # sasdata's reader is not thread-safe; the server reads one file at a time
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: aot_upload(client), range(16)))
    assert [a.status_code for a in answers] == [200] * 16
    first = answers[0].json()["items"][0]["prediction"]
    assert all(a.json()["items"][0]["prediction"] == first for a in answers)
