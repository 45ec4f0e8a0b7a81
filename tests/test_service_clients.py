"""``policy-engine serve`` as a process: the documented curl and Node clients run against it,
SIGHUP reloads its file, and the command reports a bad start clearly."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from policy_engine import config_revision, dump_config, load_config
from policy_engine.cli import main
from service_support import get_json, serve_command

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
IN_CI = os.environ.get("CI") == "true"


def _need(program: str) -> str:
    found = shutil.which(program)
    if found is None:  # pragma: no cover - CI has both
        if IN_CI:
            pytest.fail(f"CI must run the {program} client example", pytrace=False)
        pytest.skip(f"{program} is not installed")
    return found


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """``policy-engine serve examples/config.json`` on a free port."""
    with serve_command(EXAMPLES / "config.json") as (base, _):
        yield base


def _run(command: list[str], url: str) -> str:
    done = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, "BASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_curl_example(url: str) -> None:
    """examples/service/curl.sh runs against the live server and prints what the docs show."""
    _need("curl")
    output = _run(["sh", "examples/service/curl.sh"], url).splitlines()
    revision = config_revision(load_config(EXAMPLES / "config.json"))
    health = json.loads(output[0])
    assert (health["status"], health["revision"]) == ("ok", revision)
    assert output[1] == "evaluate: ok"
    first, second = (json.loads(line) for line in output[2:])
    assert (first["line"], first["sku"]) == (1, "24-MB01")
    assert first["accounts"][0]["quantity"] == 20
    assert first["accounts"][0]["price"] == "39.99"
    assert second["line"] == 2


def test_node_example(url: str) -> None:
    """examples/service/evaluate.mjs runs on Node's fetch and prints what the docs show."""
    node = _need("node")
    output = _run([node, "examples/service/evaluate.mjs"], url)
    assert output == (
        "revision true\n"
        "24-MB01 on ali-us: 20 at 39.99 USD\n"
        "status 422\n"
        "expected a quantity (a number), got the string 'lots'"
        " @ $.product.stock.qty\n"
    )


def test_docs_show_the_examples() -> None:
    """The service page shows both client scripts exactly as they are in examples/."""
    page = (ROOT / "docs" / "service.md").read_text(encoding="utf-8")
    for name in ("curl.sh", "evaluate.mjs"):
        assert (EXAMPLES / "service" / name).read_text(encoding="utf-8") in page


def test_sighup_reloads_and_a_bad_file_keeps_serving(tmp_path: Path) -> None:
    """SIGHUP reads the file again; a file that does not load is logged and the old
    configuration keeps serving."""
    config = load_config(EXAMPLES / "config.json")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(dump_config(config)), encoding="utf-8")
    with serve_command(path) as (base, process):
        bad = dump_config(config)
        bad["inventory_policies"]["threshold"]["buffer"] = -1
        path.write_text(json.dumps(bad), encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        _, _, health = get_json(base, "/healthz")
        assert health["revision"] == config_revision(config)

        good = dump_config(config)
        good["inventory_policies"]["threshold"]["buffer"] = 1
        path.write_text(json.dumps(good), encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        wanted = config_revision(load_config(good))
        deadline = time.monotonic() + 10
        while health["revision"] != wanted and time.monotonic() < deadline:
            time.sleep(0.05)
            _, _, health = get_json(base, "/healthz")
        assert health["revision"] == wanted
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert "reload refused, still serving" in output
    assert "must be >= 0 (got -1) @ $.inventory_policies.threshold.buffer" in output
    assert f"revision {wanted}" in output


def test_serve_refuses_a_bad_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    """A configuration that does not load stops serve before it listens: one line a problem."""
    assert main(["serve", str(EXAMPLES / "bad" / "config.json")]) == 1
    err = capsys.readouterr().err
    assert "must be >= 0 (got -5) @ $.inventory_policies.stock.buffer" in err
    assert main(["serve", "missing.json"]) == 2
    assert capsys.readouterr().err == "missing.json: no such file\n"


def test_serve_without_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without Starlette and uvicorn, serve says which extra to install."""
    monkeypatch.setitem(sys.modules, "starlette", None)
    monkeypatch.delitem(sys.modules, "policy_engine.service")
    assert main(["serve", str(EXAMPLES / "config.json")]) == 2
    assert "install the serve extra: pip install 'policy-engine[serve]'" in capsys.readouterr().err
