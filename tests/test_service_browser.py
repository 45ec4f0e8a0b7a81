"""The playground page in a real headless Chromium (Debian's ``chromium``), driven by Playwright.

Without /usr/bin/chromium these tests skip, except in CI (``CI=true``), where .ci/run installs it
and they must run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from policy_engine import dump_config
from policy_engine.cli._demo import load_sample_store
from service_support import serving

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists():  # pragma: no cover - CI installs it
    if os.environ.get("CI") == "true":
        pytest.fail("CI must run the browser tests: /usr/bin/chromium is missing", pytrace=False)
    pytest.skip("no /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")

STORE = load_sample_store()


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    """The playground, served on the sample store's configuration, open in Chromium."""
    with serving(STORE.configuration) as url, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            tab.on("pageerror", lambda error: errors.append(str(error)))
            tab.goto(url + "/")
            yield tab
            assert errors == []
        finally:
            browser.close()


def _set_config(page: Any, config: dict[str, Any]) -> None:
    page.fill("#config", json.dumps(config, indent=2))


def _quantity(page: Any, account: str) -> Any:
    return page.locator(f'#results tr[data-account="{account}"] td.quantity')


def test_editing_a_threshold_changes_the_listed_quantity(page: Any) -> None:
    """Raising the threshold policy's ``above`` quantity changes what eBay lists for 24-MB01."""
    expect = sync_api.expect
    page.select_option("#product", "product:24-MB01")
    expect(_quantity(page, "ebay-de")).to_have_text("20 (above_threshold)")
    expect(page.locator("#config-status")).to_have_text("valid · 0 warnings")
    config = dump_config(STORE.configuration)
    config["inventory_policies"]["threshold"]["threshold"]["above"] = 25
    _set_config(page, config)
    expect(_quantity(page, "ebay-de")).to_have_text("25 (above_threshold)")
    # The steps explain it, the preview shows the change, the curve is drawn.
    expect(page.locator("#explanations")).to_contain_text("lists 25")
    expect(page.locator("#preview tbody")).to_contain_text("24-MB01")
    expect(page.locator("#preview-status")).to_contain_text("against the served configuration")
    # The curve follows the first account's template (aliexpress: buffered) until one is picked.
    expect(page.locator("#curve-policy")).to_have_value("buffered")
    page.select_option("#curve-policy", "threshold")
    expect(page.locator("#curve path.line")).to_have_attribute("data-points", "41")


def test_an_invalid_configuration_shows_its_path(page: Any) -> None:
    """A value the schema refuses, and a reference only the service checks, each show with
    their JSON path."""
    expect = sync_api.expect
    config = dump_config(STORE.configuration)
    config["inventory_policies"]["buffered"]["buffer"] = -5
    _set_config(page, config)
    errors = page.locator("#config-errors")
    expect(errors).to_contain_text("must be >= 0 (got -5) @ $.inventory_policies.buffered.buffer")
    expect(page.locator("#config-status")).to_have_text("1 problem (JSON Schema)")

    config = dump_config(STORE.configuration)
    config["templates"][0]["pricing_policy"] = "nope"
    _set_config(page, config)
    expect(errors).to_contain_text("@ $.templates[0].pricing_policy")
    expect(errors).to_contain_text("unknown pricing policy 'nope'")

    page.fill("#config", "{")
    expect(errors).to_contain_text("invalid JSON")
    page.click("#reset-served")
    expect(page.locator("#config-status")).to_have_text("valid · 0 warnings")
