"""The links in every marketing mail: unsubscribe, preferences, forward, open pixel, click.

Each kind has its own purpose (its own key), so one kind of token can never be replayed as
another. The payload names the account, list, address and campaign with one-letter keys, and
the token encrypts it (domain/tokens.py, P31): the token is in every link of every mail, so it is
kept short. A click token also holds the target URL, so the click route redirects only where
the mail's author pointed, never where a visitor asks (no open redirect), and the link's label:
how reports name it, as written, never as rendered (domain/link_labels.py, P14). Links live
`LINK_LIFETIME`: an unsubscribe link must work for at least 60 days (P07).
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from chalicelib.domain.link_labels import link_label, origin_label
from chalicelib.domain.tokens import Signer, TokenInvalid
from chalicelib.templates import N_

UNSUBSCRIBE = "mail-unsubscribe"
PREFERENCES = "mail-preferences"
FORWARD = "mail-forward"
OPEN = "mail-open"
CLICK = "mail-click"

# P07 asks for 60 days at least; a year also covers mail read long after it was sent.
LINK_LIFETIME = timedelta(days=365)
_MAX_AGE_SECONDS = int(LINK_LIFETIME.total_seconds())

# Paths of the public routes that read these tokens.
_PATHS = {UNSUBSCRIBE: "u", PREFERENCES: "p", FORWARD: "fwd", OPEN: "t/o", CLICK: "t/c"}
# A web page's address: the only kind of link composing tracks and the click route follows.
# A scheme is case-insensitive (RFC 3986, 3.1): `HTTPS://` is as good as `https://`.
_WEB_LINK = re.compile(r"https?://.", re.IGNORECASE)


def is_web_link(url: str) -> bool:
    """True for an http(s) URL with something after its `://`, whatever the case of its scheme."""
    return _WEB_LINK.match(url) is not None


# What a browser does to an href before following it (the WHATWG URL parser): C0 controls and
# spaces around it go, tabs and line breaks anywhere in it go, and what a URL cannot hold as is
# (other controls, spaces, non-ASCII) is percent-encoded as UTF-8. A header can carry no line
# break (Chalice answers 500) and only ASCII, so the click's Location must be this form.
_AROUND = "".join(map(chr, range(0x21)))
_TAB_AND_NEWLINE = str.maketrans("", "", "\t\n\r")
_KEPT = string.punctuation  # with letters and digits; "%" too, so escapes already there stay


def followed_url(url: str) -> str:
    """The URL a browser follows for the link target `url` as written."""
    return quote(url.strip(_AROUND).translate(_TAB_AND_NEWLINE), safe=_KEPT)


# A token's time is in whole seconds: an entry made within the second its mail was made got it.
_TOKEN_TIME_STEP = timedelta(seconds=1)


@dataclass(frozen=True)
class LinkClaim:
    """Who a mail link was made for: this address on this list of this account, from this
    campaign (None for mail that belongs to no campaign). `signed_at`, of a link read back: when
    its mail was made (not part of the claim's identity)."""

    account_id: str
    list_id: str
    address: str
    campaign_id: str | None = None
    signed_at: datetime | None = field(default=None, compare=False)

    @property
    def mailed_entries_before(self) -> datetime | None:
        """Only an entry created before this time can have got the mail (None: not known)."""
        return self.signed_at + _TOKEN_TIME_STEP if self.signed_at else None

    def campaign_for(self, list_id: str, address: str, created_at: datetime) -> str | None:
        """The campaign whose mail this link came in, when that mail went to this entry (the one
        created at `created_at`): what the entry's person does from the link (unsubscribing)
        counts for it (P13). An entry made since, by signing up again, never got that mail."""
        before = self.mailed_entries_before
        if (list_id, address) != (self.list_id, self.address) or (before and created_at >= before):
            return None
        return self.campaign_id

    def payload(self) -> dict[str, str]:
        claim = {"a": self.account_id, "l": self.list_id, "e": self.address}
        if self.campaign_id:
            claim["c"] = self.campaign_id
        return claim


def _claim(payload: dict[str, Any], signed_at: datetime | None = None) -> LinkClaim:
    account_id, list_id, address = payload.get("a"), payload.get("l"), payload.get("e")
    campaign_id = payload.get("c")
    fields = (account_id, list_id, address)
    if not all(isinstance(value, str) and value for value in fields) or not (
        campaign_id is None or isinstance(campaign_id, str)
    ):
        raise TokenInvalid(N_("this link is not valid"), field="token")
    return LinkClaim(account_id=account_id, list_id=list_id, address=address, campaign_id=campaign_id,
                     signed_at=signed_at)


def link_token(signer: Signer, purpose: str, claim: LinkClaim) -> str:
    """A token for one of UNSUBSCRIBE, PREFERENCES, FORWARD or OPEN."""
    return signer.sign(purpose, claim.payload())


def read_link_token(signer: Signer, purpose: str, token: str) -> LinkClaim:
    """The claim of a genuine token of `purpose` younger than LINK_LIFETIME, with when it was
    made; TokenExpired or TokenInvalid otherwise."""
    return _claim(*signer.verify_timed(purpose, token, _MAX_AGE_SECONDS))


def click_token(signer: Signer, claim: LinkClaim, url: str, label: str | None = None) -> str:
    """A click-redirect token: the claim, the target URL and the link's label (the link as the
    campaign's author wrote it), all under the signature. Without a label (a link that comes
    from no written one) the click is reported under the target's origin only."""
    payload = {**claim.payload(), "u": url}
    if label is not None:
        # Most links have no merge tag before their query: "" (the target's own label) costs
        # 7 bytes of every such link's token, not its path a second time.
        payload["w"] = "" if label == link_label(url) else label
    return signer.sign(CLICK, payload)


def read_click_token(signer: Signer, token: str) -> tuple[LinkClaim, str]:
    """(claim, the URL its click goes to) of a genuine click token; TokenExpired or TokenInvalid
    otherwise."""
    payload = signer.verify(CLICK, token, _MAX_AGE_SECONDS)
    return _claim(payload), followed_url(_target(payload))


def _target(payload: dict[str, Any]) -> str:
    url = payload.get("u")
    if not isinstance(url, str) or not is_web_link(url):
        raise TokenInvalid(N_("this link is not valid"), field="token")
    return url


def _label(payload: dict[str, Any], url: str) -> str:
    """How reports name the click's link: its label as written, "" standing for the target's own."""
    written = payload.get("w")
    if written is None:  # a token made before labels: its target's path may be the reader's own
        return origin_label(url)
    if not isinstance(written, str):
        raise TokenInvalid(N_("this link is not valid"), field="token")
    return written or link_label(url)


@dataclass(frozen=True)
class TrackedLink:
    """An open or click token, read: whom it was made for, the URL the click goes to and its
    label (None for an open) and when it was signed, i.e. when the mail was composed for sending."""

    claim: LinkClaim
    url: str | None
    signed_at: datetime
    label: str | None


def read_tracking_token(signer: Signer, purpose: str, token: str) -> TrackedLink:
    """An OPEN or CLICK token, with its signing time; TokenExpired or TokenInvalid otherwise."""
    payload, signed_at = signer.verify_timed(purpose, token, _MAX_AGE_SECONDS)
    url = _target(payload) if purpose == CLICK else None
    label = _label(payload, url) if url is not None else None
    return TrackedLink(_claim(payload), followed_url(url) if url is not None else None, signed_at, label)


def link_url(public_base_url: str, purpose: str, token: str) -> str:
    """The public URL that serves a token of `purpose`, e.g. `{base}/u/{token}`."""
    return f"{public_base_url.rstrip('/')}/{_PATHS[purpose]}/{token}"
