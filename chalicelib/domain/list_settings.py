"""What composing a campaign's mail needs to know about the recipient's list. Apart from the
composing itself (marketing_mail.py): a fan-out page's batch jobs carry it, and the scheduler and
the fan-out worker, which compose nothing, need not load the composer."""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.templates import DEFAULT_LANGUAGE


@dataclass(frozen=True)
class ListSettings:
    """What composing needs to know about the list the recipient is on."""

    list_id: str
    name: str
    track_opens: bool
    track_clicks: bool
    # The language of the footer and label the platform adds (P32).
    language: str = DEFAULT_LANGUAGE
