"""The preference centre `/p/{token}` as a person uses it: the page's fresh nonce, then a POST."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from tests.support.api import FORM


def nonce_of(client: Any, token: str) -> str:
    """The nonce the page shows now (each POST needs a fresh one of its own link)."""
    page = client.http.get(f"/p/{token}").body.decode()
    return re.search(r'name="nonce" value="([^"]+)"', page).group(1)


def post_preferences(client: Any, token: str, action: str, **fields: str) -> Any:
    return client.http.post(f"/p/{token}/{action}", headers=FORM, body=urlencode(fields))
