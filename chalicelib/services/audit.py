"""The account's audit log as the API shows it (P27): references, never contact data."""
from __future__ import annotations

from chalicelib.store.audit import entries_page as entries_page
