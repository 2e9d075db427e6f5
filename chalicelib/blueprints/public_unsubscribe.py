"""`/u/{token}`: unsubscribe (P06, P07, P12).

GET shows the choice (this list, or every list of the sender) and changes nothing: mail scanners
fetch links. POST unsubscribes at once. The RFC 8058 one-click POST (body
`List-Unsubscribe=One-Click`, no cookies) gets a bare 200: no page to render for a mail client,
and never a redirect. A bad or expired token gets a 400 page, never a stack trace.
"""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.templates import gettext_for, render_page
from chalicelib.web.pages import (
    ANY_TYPE,
    PRIVATE_PAGE,
    form_fields,
    html_errors,
    message_page,
)
from chalicelib.web.responses import html_response

public = Blueprint(__name__)

ONE_CLICK = "One-Click"


@public.route("/u/{token}", methods=["GET"], content_types=ANY_TYPE)
@html_errors(public)
def unsubscribe_page(token: str) -> Response:
    from chalicelib.domain.errors import NotFound
    from chalicelib.services.accounts import sender_profile
    from chalicelib.services.lists import find_list
    from chalicelib.services.signups import list_language
    from chalicelib.services.unsubscribe import read_unsubscribe_token
    claim = read_unsubscribe_token(token)
    mailing_list = find_list(claim.list_id)
    language = list_language(mailing_list)
    _ = gettext_for(language)
    try:
        sender = sender_profile(claim.account_id)
    except NotFound:  # deleted for good (P23): nothing of it is left to send mail
        return message_page(200, _("You are unsubscribed"),
                            [_("This sender no longer exists: you will receive no more mail from it.")],
                            language=language)
    list_name = mailing_list.name if mailing_list else _("this list")
    html = render_page("unsubscribe", language, list_name=list_name, sender=sender)
    return html_response(html, 200, PRIVATE_PAGE)


# Any type: mail clients send the one-click POST form-encoded, and some send none at all.
@public.route("/u/{token}", methods=["POST"], content_types=ANY_TYPE)
@html_errors(public)
def unsubscribe_now(token: str) -> Response:
    from chalicelib.services.lists import find_list
    from chalicelib.services.signups import list_language
    from chalicelib.services.unsubscribe import Scope, read_unsubscribe_token, unsubscribe
    claim = read_unsubscribe_token(token)
    fields = form_fields(public.current_request)
    if fields.get("List-Unsubscribe") == ONE_CLICK:
        unsubscribe(claim, Scope.LIST)
        return Response(body="", status_code=200, headers={"Cache-Control": "no-store"})
    scope = Scope.ALL if fields.get("scope") == Scope.ALL.value else Scope.LIST
    unsubscribe(claim, scope)
    language = list_language(find_list(claim.list_id))
    _ = gettext_for(language)
    done = (_("You will receive no more mail from any list of this sender.") if scope is Scope.ALL
            else _("You will receive no more mail from this list."))
    return message_page(200, _("You are unsubscribed"), [done, _("This took effect at once.")],
                        language=language)
