"""`/fwd/{token}`: forward a campaign to a friend (P14). GET shows the form; POST sends."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.domain.errors import InvalidInput
from chalicelib.services.accounts import sender_profile
from chalicelib.services.forwarding import forward, read_forward_token
from chalicelib.templates import render_page
from chalicelib.web.pages import (
    ANY_TYPE,
    FORM_TYPES,
    PRIVATE_PAGE,
    form_fields,
    html_errors,
    message_page,
)
from chalicelib.web.responses import html_response

public = Blueprint(__name__)


def _form(account_id: str, email: str, error: InvalidInput | None, status: int) -> Response:
    html = render_page("forward", email=email, error=error.message if error else None,
                       sender=sender_profile(account_id))
    return html_response(html, status, PRIVATE_PAGE)


@public.route("/fwd/{token}", methods=["GET"], content_types=ANY_TYPE)
@html_errors
def forward_form(token: str) -> Response:
    return _form(read_forward_token(token).account_id, "", None, 200)


@public.route("/fwd/{token}", methods=["POST"], content_types=FORM_TYPES)
@html_errors
def forward_now(token: str) -> Response:
    claim = read_forward_token(token)
    email = form_fields(public.current_request).get("email", "")
    try:
        forward(claim, email)
    except InvalidInput as error:
        if error.field != "email":
            raise
        return _form(claim.account_id, email, error, 400)
    return message_page(200, "Sent", ["Thank you: we have sent your friend a copy of this mail."])
