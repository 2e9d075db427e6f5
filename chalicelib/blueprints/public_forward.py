"""`/fwd/{token}`: share a campaign (P14). GET shows the button; POST counts the share and shows
the link to the web view, `/v/{token}`, which anyone with the link may open. Nothing is mailed."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.templates import render_page
from chalicelib.web.pages import ANY_TYPE, FORM_TYPES, PRIVATE_PAGE, html_errors
from chalicelib.web.responses import html_response

public = Blueprint(__name__)

# The web view shows the account's own HTML: in a sandbox (no script, an origin of its own), so
# nothing in it can act on this site's other pages.
_VIEW_HEADERS = {**PRIVATE_PAGE, "Content-Security-Policy": (
    "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; img-src https: data:; "
    "style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")}


def _language_of(token: str) -> str:
    """The language of the shared campaign's list (P32)."""
    from chalicelib.services.forwarding import language_of

    return language_of(token)


def _page(token: str, account_id: str, link: str | None, subject: str = "") -> Response:
    from chalicelib.services.accounts import sender_profile
    html = render_page("forward", _language_of(token), link=link, subject=subject,
                       sender=sender_profile(account_id))
    return html_response(html, 200, PRIVATE_PAGE)


@public.route("/fwd/{token}", methods=["GET"], content_types=ANY_TYPE)
@html_errors(public, _language_of)
def forward_form(token: str) -> Response:
    from chalicelib.services.forwarding import reader_link
    return _page(token, reader_link(token).account_id, None)


@public.route("/fwd/{token}", methods=["POST"], content_types=FORM_TYPES)
@html_errors(public, _language_of)
def forward_now(token: str) -> Response:
    from chalicelib.services.forwarding import share
    claim, link = share(token)
    return _page(token, claim.account_id, link)


@public.route("/v/{token}", methods=["GET"], content_types=ANY_TYPE)
@html_errors(public)
def web_view(token: str) -> Response:
    from chalicelib.services.forwarding import shared_view
    view = shared_view(token)
    html = view.html or render_page("message", view.language, title=view.subject,
                                    paragraphs=[view.text or ""], link=None)
    return html_response(html, 200, _VIEW_HEADERS)
