"""Public routes: the hosted signup form, the JS signup endpoint and the confirmation link.

No authentication; lists are found by id. Every signup answer is the same whatever the address's
state (P05). GET never changes anything — mail scanners fetch links (DESIGN.md) — so confirming
is a POST from the page's button.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.config import settings
from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.errors import Forbidden, InvalidInput, NotFound, TidingsError
from chalicelib.domain.health import SignupsClosed
from chalicelib.domain.lists import clean_origin
from chalicelib.domain.subscriptions import Source
from chalicelib.domain.tokens import TokenExpired, TokenInvalid
from chalicelib.services.signups import (
    PublicSignup,
    SignupExpired,
    confirm_link_list_hint,
    confirm_signup,
    confirmable_list,
    find_public_list,
    list_language,
    public_list,
    public_signup,
    read_confirm_link,
    resend_confirmation,
    signup_sender,
)
from chalicelib.templates import N_, gettext_for, render_page
from chalicelib.web.forms import signup_form_for
from chalicelib.web.pages import (
    ANY_TYPE,
    FORM_TYPES,
    PRIVATE_PAGE,
    form_fields,
    localized,
    message_page,
    redirect,
    request_language,
    ticked,
)
from chalicelib.web.requests import client_ip, json_body
from chalicelib.web.responses import error_response, html_response, json_response, retry_after
from chalicelib.web.routes import guarded

if TYPE_CHECKING:
    from chalicelib.store.models import MailingList

public = Blueprint(__name__)

_RECEIVED = N_("Thank you. Please check your inbox: we have sent you a link to confirm your subscription.")
_JS_SIGNUP = {"type": "object", "maxProperties": 60}
# A hosted form carries the contact fields and every attribute its list declares.
_MAX_FORM_FIELDS = 100


def _request() -> Request:
    return public.current_request


def _url(path: str) -> str:
    return f"{settings().public_base_url}{path}"


def _language(list_id: str | None) -> str:
    """The list's language when the id names one (P32), else the browser's."""
    mailing_list = find_public_list(list_id) if list_id else None
    return list_language(mailing_list) if mailing_list else request_language(_request())


def _form_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """Domain errors on a form route become a readable page, never a stack trace or JSON, in
    the language of the list the route names (by id or confirm link), else the browser's."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except TidingsError as error:
            token = kwargs.get("token")
            language = _language(kwargs.get("list_id") or (confirm_link_list_hint(token) if token else None))
            _ = gettext_for(language)
            if isinstance(error, NotFound):
                return message_page(404, _("Not found"), [_("This signup form does not exist (any more).")],
                                    headers=None, language=language)
            return message_page(error.status, _("Something is not right"), [localized(error, language)],
                                headers=retry_after(error), language=language)

    return wrapper


# --- hosted form --------------------------------------------------------------------------------

@public.route("/f/{list_id}", methods=["GET"], content_types=ANY_TYPE)
@_form_errors
def signup_form(list_id: str) -> Response:
    mailing_list = public_list(list_id)
    return _form_page(mailing_list, {}, None, 200)


def _form_page(mailing_list: MailingList, values: dict[str, str], error: InvalidInput | None,
               status: int) -> Response:
    sender = signup_sender(mailing_list)
    form = signup_form_for(mailing_list, "", controller=sender.name)
    shown = {f.name: values.get(f.name, "") for f in form.fields}
    language = list_language(mailing_list)
    html = render_page("form", language, form=form, values=shown,
                       error=localized(error, language) if error else None,
                       error_field=error.field if error else None, sender=sender,
                       privacy_policy_url=mailing_list.privacy_policy_url)
    return html_response(html, status)


@public.route("/f/{list_id}", methods=["POST"], content_types=FORM_TYPES)
@_form_errors
def submit_form(list_id: str) -> Response:
    request = _request()
    mailing_list = public_list(list_id)
    values = form_fields(request, _MAX_FORM_FIELDS)
    signup = PublicSignup(
        fields={k: v for k, v in values.items() if k not in ("consent", "tracking")},
        consent_given=ticked(values.get("consent")),
        tracking_given=ticked(values.get("tracking")),
        source=Source.FORM,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        form_url=request.headers.get("referer") or _url(f"/f/{list_id}"),
    )
    try:
        public_signup(mailing_list, signup)
    except InvalidInput as error:
        return _form_page(mailing_list, values, error, 400)
    if mailing_list.redirect_after_signup:
        return redirect(mailing_list.redirect_after_signup)
    language = list_language(mailing_list)
    _ = gettext_for(language)
    return message_page(200, _("Almost done"), [_(_RECEIVED)], headers=None, language=language)


# --- JS signup with per-list CORS ---------------------------------------------------------------

def _allowed_origin(request: Request, mailing_list: MailingList) -> str:
    """The request's Origin when the list allows it; Forbidden otherwise (also without one:
    this endpoint serves browsers on the list's own sites)."""
    raw = request.headers.get("origin")
    try:
        origin = clean_origin(raw or "", field="Origin")
    except InvalidInput:
        origin = None
    if origin is None or origin not in (mailing_list.allowed_origins or set()):
        raise Forbidden("this origin may not sign people up to this list", field="Origin")
    return origin


def _cors_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


@public.route("/public/lists/{list_id}/subscribe", methods=["OPTIONS"], content_types=ANY_TYPE)
@guarded
def js_preflight(list_id: str) -> Response:
    origin = _allowed_origin(_request(), public_list(list_id))
    return Response(body="", status_code=204, headers={
        **_cors_headers(origin),
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "600",
    })


@public.route("/public/lists/{list_id}/subscribe", methods=["POST"], content_types=ANY_TYPE)
@guarded
def js_subscribe(list_id: str) -> Response:
    request = _request()
    mailing_list = public_list(list_id)
    origin = _allowed_origin(request, mailing_list)
    response = _js_signup(request, mailing_list)
    # Errors too: the page's script must be able to read which field was wrong.
    response.headers.update(_cors_headers(origin))
    return response


@guarded
def _js_signup(request: Request, mailing_list: MailingList) -> Response:
    body = json_body(request, _JS_SIGNUP)
    signup = PublicSignup(
        fields={k: v for k, v in body.items() if k not in ("consent", "tracking")},
        consent_given=body.get("consent") is True,
        tracking_given=body.get("tracking") is True,
        source=Source.JS,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        form_url=request.headers.get("referer") or request.headers.get("origin"),
    )
    language = list_language(mailing_list)
    try:
        public_signup(mailing_list, signup)
    except TidingsError as error:  # the page's script shows the message to the person
        return error_response(error, message=localized(error, language))
    return json_response({"status": "received", "message": gettext_for(language)(_RECEIVED)}, 202)


# --- confirmation -------------------------------------------------------------------------------

def _link_problem(token: str, error: TidingsError) -> Response:
    list_id = confirm_link_list_hint(token)
    language = _language(list_id)
    _ = gettext_for(language)
    if isinstance(error, TokenExpired):
        title = _("This confirmation link has expired")
    else:
        title = _("This confirmation link does not work")
    html = render_page("link_problem", language, title=title, explanation=localized(error, language),
                       list_id=list_id, resend_action=_url("/c/resend"), error=None)
    return html_response(html, 400, PRIVATE_PAGE)


def _signup_gone(list_id: str, error: SignupExpired) -> Response:
    language = _language(list_id)
    _ = gettext_for(language)
    link = {"href": _url(f"/f/{list_id}"), "text": _("Sign up again")} if find_public_list(list_id) else None
    return message_page(400, _("This signup cannot be confirmed"), [localized(error, language)], link=link,
                        language=language)


def _signups_closed(token: str, error: SignupsClosed) -> Response:
    """The list's account takes no signups now: the same page whatever the address's state (P05),
    without the account's reason; nothing was changed, and the link may work again later."""
    language = _language(read_confirm_link(token).list_id)
    _ = gettext_for(language)
    return message_page(error.status, _("This signup cannot be confirmed"), [
        localized(error, language), _("Nothing was changed. Please try this link again later."),
    ], language=language)


@public.route("/c/{token}", methods=["GET"], content_types=ANY_TYPE)
@_form_errors
def confirm_page(token: str) -> Response:
    """Shows the confirm button while confirming would work; changes nothing (link scanners
    fetch every GET)."""
    try:
        mailing_list, sender = confirmable_list(token)
    except (TokenExpired, TokenInvalid) as error:
        return _link_problem(token, error)
    except SignupsClosed as error:
        return _signups_closed(token, error)
    except SignupExpired as error:
        return _signup_gone(read_confirm_link(token).list_id, error)
    html = render_page("confirm", list_language(mailing_list), list_name=mailing_list.name,
                       sender=sender, privacy_policy_url=mailing_list.privacy_policy_url)
    return html_response(html, 200, PRIVATE_PAGE)


@public.route("/c/{token}", methods=["POST"], content_types=ANY_TYPE)
@_form_errors
def confirm(token: str) -> Response:
    request = _request()
    try:
        mailing_list = confirm_signup(token, client_ip(request), request.headers.get("user-agent"))
    except (TokenExpired, TokenInvalid) as error:
        return _link_problem(token, error)
    except SignupsClosed as error:
        return _signups_closed(token, error)
    except SignupExpired as error:
        return _signup_gone(read_confirm_link(token).list_id, error)
    if mailing_list.redirect_after_confirm:
        return redirect(mailing_list.redirect_after_confirm, PRIVATE_PAGE)
    language = list_language(mailing_list)
    _ = gettext_for(language)
    thanks = _("Thank you: your subscription to %(list)s is confirmed.") % {"list": mailing_list.name}
    return message_page(200, _("You are subscribed"), [thanks], language=language)


@public.route("/c/resend", methods=["POST"], content_types=FORM_TYPES)
@_form_errors
def resend() -> Response:
    """Ask for a new confirmation mail. The answer never tells whether one was sent (P05)."""
    request = _request()
    values = form_fields(request, _MAX_FORM_FIELDS)
    list_id = values.get("list_id", "").strip()
    language = _language(list_id)
    _ = gettext_for(language)
    try:
        normalise_email(values.get("email", ""))
    except InvalidInput as error:
        html = render_page("link_problem", language, title=_("Ask for a new confirmation link"),
                           explanation="", list_id=list_id or None, resend_action=_url("/c/resend"),
                           error=localized(error, language))
        return html_response(html, 400, PRIVATE_PAGE)
    resend_confirmation(list_id, values["email"], client_ip(request))
    return message_page(200, _("Check your inbox"), [
        _("If a signup for this address is waiting for confirmation, we have sent you a new link."),
        _("If it has expired, please sign up again."),
    ], language=language)
