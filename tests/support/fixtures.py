"""Fixtures beyond conftest.py's, loaded as a plugin (conftest.py's `pytest_plugins`)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.api import bearer
from tests.support.lists import new_list
from tests.support.signups import SHOP


@pytest.fixture
def verified_sender(account: dict[str, Any]) -> None:
    """The account fixture's domain, acme.example, added as its sender identity (P35) and so
    verified in moto's SES, which verifies every identity at once: any From at acme.example."""
    from chalicelib.services.senders import add_sender

    add_sender(account["account_id"], "test", "acme.example")


@pytest.fixture
def headers(account: dict[str, Any], verified_sender: None) -> dict[str, str]:
    """The account's API request headers, its sender verified: what a campaign or message needs."""
    return bearer(account["api_key"])


@pytest.fixture
def news_list(client: Any, account: dict[str, Any], verified_sender: None) -> dict[str, Any]:
    """A double opt-in list of the account, with one allowed origin and one declared attribute: its
    id under "list_id", as the API's view of a list has it."""
    return {"list_id": new_list(client, bearer(account["api_key"]), attributes=("city",),
                                allowed_origins=[SHOP])}


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set TIDINGS_* variables for one test; the cached settings are re-read around it."""
    from chalicelib.config import settings

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        settings.cache_clear()

    yield set_env
    monkeypatch.undo()
    settings.cache_clear()


@pytest.fixture
def behind_cloudfront(settings_env: Any) -> None:
    """The deployment declares a CloudFront in front of the tracking links (TrackingBehindCloudFront):
    its CloudFront-Viewer-Country header is believed."""
    settings_env(TIDINGS_TRACKING_BEHIND_CLOUDFRONT="1")


@pytest.fixture
def logs() -> Iterator[Any]:
    """Everything the app logs during the test (tests/support/privacy_scan.CapturedLogs)."""
    from tests.support.privacy_scan import capture_logs

    with capture_logs() as captured:
        yield captured
