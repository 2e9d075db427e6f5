"""`/optout`: anyone can stop all mail sent through the platform to their address (P12).

The form's answer is the same for every address (no enumeration); the mailed link opens a page
whose button confirms: GET never changes anything, because mail scanners fetch links.
"""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.config import settings
from chalicelib.domain.errors import InvalidInput
from chalicelib.services.optout import confirm_optout, read_optout_link, request_optout
from chalicelib.templates import render_page
from chalicelib.web.pages import (
    ANY_TYPE,
    FORM_TYPES,
    confirm_page,
    form_fields,
    html_errors,
    message_page,
)
from chalicelib.web.responses import html_response

public = Blueprint(__name__)

_ASKED = ["If this is a valid address, we have sent it a link. Open it and press the button to "
          "confirm: until then nothing changes.",
          "We send at most one such link a day to an address."]


def _form(email: str, error: InvalidInput | None, status: int) -> Response:
    html = render_page("optout_form", action=f"{settings().public_base_url}/optout", email=email,
                       error=error.message if error else None)
    return html_response(html, status)


@public.route("/optout", methods=["GET"], content_types=ANY_TYPE)
@html_errors
def optout_form() -> Response:
    return _form("", None, 200)


@public.route("/optout", methods=["POST"], content_types=FORM_TYPES)
@html_errors
def ask_optout() -> Response:
    email = form_fields(public.current_request).get("email", "")
    try:
        request_optout(email)
    except InvalidInput as error:
        return _form(email, error, 400)
    return message_page(200, "Check your inbox", _ASKED)


@public.route("/optout/{token}", methods=["GET"], content_types=ANY_TYPE)
@html_errors
def optout_confirm_page(token: str) -> Response:
    read_optout_link(token)
    return confirm_page("Stop all mail to your address",
                        ["Press the button and no organisation using this platform will be able "
                         "to send mail to your address any more."],
                        "Stop all mail")


@public.route("/optout/{token}", methods=["POST"], content_types=ANY_TYPE)
@html_errors
def optout_confirm(token: str) -> Response:
    confirm_optout(token)
    return message_page(200, "Done", ["No organisation using this platform will send mail to your "
                                      "address any more. This took effect at once."])
