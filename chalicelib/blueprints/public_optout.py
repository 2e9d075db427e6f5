"""`/optout`: anyone can stop all mail sent through the platform to their address (P12).

The form's answer is the same for every address (no enumeration); the mailed link opens a page
whose button confirms: GET never changes anything, because mail scanners fetch links.
"""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.config import settings
from chalicelib.domain.errors import InvalidInput
from chalicelib.templates import N_, gettext_for, render_page
from chalicelib.web.pages import (
    ANY_TYPE,
    FORM_TYPES,
    confirm_page,
    form_fields,
    html_errors,
    localized,
    message_page,
    request_language,
)
from chalicelib.web.requests import client_ip
from chalicelib.web.responses import html_response

public = Blueprint(__name__)

# These pages belong to no list: they speak the browser's language (Accept-Language), and so
# does the confirmation mail asked from them.
_ASKED = [N_("If this is a valid address, we have sent it a link. Open it and press the button to "
             "confirm: until then nothing changes."),
          N_("We send at most one such link a day to an address.")]


def _language() -> str:
    return request_language(public.current_request)


def _form(email: str, error: InvalidInput | None, status: int) -> Response:
    language = _language()
    html = render_page("optout_form", language, action=f"{settings().public_base_url}/optout", email=email,
                       error=localized(error, language) if error else None)
    return html_response(html, status)


@public.route("/optout", methods=["GET"], content_types=ANY_TYPE)
@html_errors(public)
def optout_form() -> Response:
    return _form("", None, 200)


@public.route("/optout", methods=["POST"], content_types=FORM_TYPES)
@html_errors(public)
def ask_optout() -> Response:
    from chalicelib.services.optout import request_optout
    email = form_fields(public.current_request).get("email", "")
    language = _language()
    try:
        request_optout(email, language, client_ip(public.current_request))
    except InvalidInput as error:
        return _form(email, error, 400)
    _ = gettext_for(language)
    return message_page(200, _("Check your inbox"), [_(paragraph) for paragraph in _ASKED], language=language)


@public.route("/optout/{token}", methods=["GET"], content_types=ANY_TYPE)
@html_errors(public)
def optout_confirm_page(token: str) -> Response:
    from chalicelib.services.optout import read_optout_link
    read_optout_link(token)
    _ = gettext_for(_language())
    return confirm_page(_("Stop all mail to your address"),
                        [_("Press the button and no organisation using this platform will be able "
                           "to send mail to your address any more.")],
                        _("Stop all mail"), _language())


@public.route("/optout/{token}", methods=["POST"], content_types=ANY_TYPE)
@html_errors(public)
def optout_confirm(token: str) -> Response:
    from chalicelib.services.optout import confirm_optout
    confirm_optout(token)
    _ = gettext_for(_language())
    return message_page(200, _("Done"), [_("No organisation using this platform will send mail to your "
                                           "address any more. This took effect at once.")],
                        language=_language())
