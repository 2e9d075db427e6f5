"""`/p/{token}`: the preference centre linked from every marketing mail (P16-P18).

GET shows what is held and changes nothing (mail scanners fetch links). Each change is a POST
to its own path, checked again against the token and the page's nonce (chalicelib/services/preferences.py).
"""
from __future__ import annotations

import json

from chalice import Blueprint, Response

from chalicelib.config import settings
from chalicelib.templates import N_, gettext_for, render_page
from chalicelib.web.pages import ANY_TYPE, FORM_TYPES, PRIVATE_PAGE, form_fields, html_errors, message_page
from chalicelib.web.requests import client_ip
from chalicelib.web.responses import html_response

public = Blueprint(__name__)
# The edit form sends the contact fields and every declared attribute of the person's lists.
_MAX_FIELDS = 200


def _language_of(token: str) -> str:
    """The language of the token's list (P32)."""
    from chalicelib.services import preferences as centre

    return centre.language_of(token)


def _form() -> dict[str, str]:
    return form_fields(public.current_request, _MAX_FIELDS)


def _page_url(token: str) -> str:
    return f"{settings().public_base_url}/p/{token}"


def _done(token: str, title: str, paragraphs: list[str]) -> Response:
    """A result page in the list's language; `title` and `paragraphs` are message ids."""
    language = _language_of(token)
    _ = gettext_for(language)
    html = render_page("message", language, title=_(title), paragraphs=[_(p) for p in paragraphs],
                       link={"href": _page_url(token), "text": _("Back to your preferences")})
    return html_response(html, 200, PRIVATE_PAGE)


@public.route("/p/{token}", methods=["GET"], content_types=ANY_TYPE)
@html_errors(public, _language_of)
def preferences_page(token: str) -> Response:
    from chalicelib.services import preferences as centre
    shown = centre.preferences(token)
    html = render_page("preferences", centre.language_of(token), prefs=shown, current=shown.current,
                       page_url=_page_url(token), nonce=centre.form_nonce(token),
                       editable=centre.EDITABLE_FIELDS, labels=centre.FIELD_LABELS,
                       attribute_prefix=centre.ATTRIBUTE_PREFIX)
    return html_response(html, 200, PRIVATE_PAGE)


@public.route("/p/{token}/export", methods=["POST"], content_types=FORM_TYPES)
@html_errors(public, _language_of)
def preferences_export(token: str) -> Response:
    from chalicelib.services import preferences as centre
    request_id, export = centre.download(token, _form())
    return Response(body=json.dumps(export, indent=2), status_code=200,
                    headers={**PRIVATE_PAGE, "Content-Type": "application/json",
                             "Content-Disposition": f'attachment; filename="{request_id}.json"'})


@public.route("/p/{token}/edit", methods=["POST"], content_types=FORM_TYPES)
@html_errors(public, _language_of)
def preferences_edit(token: str) -> Response:
    from chalicelib.services import preferences as centre
    changed = centre.edit(token, _form())
    if not changed:
        return _done(token, N_("Nothing to change"), [N_("What you sent is what we already hold.")])
    return _done(token, N_("Your details are updated"),
                 [N_("Your details are changed on every list of this sender you are on.")])


@public.route("/p/{token}/unsubscribe", methods=["POST"], content_types=FORM_TYPES)
@html_errors(public, _language_of)
def preferences_unsubscribe(token: str) -> Response:
    from chalicelib.services import preferences as centre
    form = _form()
    centre.unsubscribe(token, form)
    if form.get("list_id") == "all":
        return _done(token, N_("You are unsubscribed from every list"),
                     [N_("This sender will not mail you again, and cannot add you back. "
                         "This took effect at once.")])
    return _done(token, N_("You are unsubscribed"),
                 [N_("You will get no more mail from this list. This took effect at once.")])


@public.route("/p/{token}/tracking", methods=["POST"], content_types=FORM_TYPES)
@html_errors(public, _language_of)
def preferences_tracking(token: str) -> Response:
    from chalicelib.services import preferences as centre
    request = public.current_request
    if centre.set_tracking(token, _form(), client_ip(request), request.headers.get("user-agent")):
        return _done(token, N_("Thank you"), [N_("This list may now see when you open its mail and which "
                                                 "links you click. You can withdraw this here at any time.")])
    return _done(token, N_("Tracking is off"), [N_("This list no longer sees when you open its mail or "
                                                   "which links you click, and what it had counted "
                                                   "about you is deleted.")])


@public.route("/p/{token}/phone/code", methods=["POST"], content_types=FORM_TYPES)
@html_errors(public, _language_of)
def preferences_phone_code(token: str) -> Response:
    from chalicelib.services import preferences as centre
    form = _form()
    centre.send_phone_code(token, form)
    html = render_page("phone_code", centre.language_of(token), page_url=_page_url(token),
                       nonce=centre.form_nonce(token), list_id=form.get("list_id", ""), error=None)
    return html_response(html, 200, PRIVATE_PAGE)


@public.route("/p/{token}/phone/confirm", methods=["POST"], content_types=FORM_TYPES)
@html_errors(public, _language_of)
def preferences_phone_confirm(token: str) -> Response:
    from chalicelib.services import preferences as centre
    request = public.current_request
    centre.confirm_phone_code(token, _form(), client_ip(request), request.headers.get("user-agent"))
    return _done(token, N_("Your number is confirmed"),
                 [N_("This list may now send you SMS. Reply STOP to any of them to stop.")])


@public.route("/p/{token}/erase", methods=["POST"], content_types=FORM_TYPES)
@html_errors(public, _language_of)
def preferences_erase(token: str) -> Response:
    from chalicelib.services import preferences as centre
    language = centre.language_of(token)
    centre.erase(token, _form())
    _ = gettext_for(language)
    return message_page(200, _("Your data is erased"),
                        [_("This sender no longer holds anything about you. Only a keyed fingerprint "
                           "of your address stays, so that you cannot be added again.")], language=language)
