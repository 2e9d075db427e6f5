"""`/account/email-change/{token}`: the new contact email's owner confirms the change (P27).

GET shows the button and changes nothing (mail scanners fetch links); the POST applies it. Both
pages speak the account's language (P32).
"""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.templates import gettext_for
from chalicelib.web.pages import ANY_TYPE, confirm_page, html_errors, message_page

public = Blueprint(__name__)


@public.route("/account/email-change/{token}", methods=["GET"], content_types=ANY_TYPE)
@html_errors(public)
def email_change_page(token: str) -> Response:
    from chalicelib.services.accounts import account_language
    from chalicelib.services.email_change import pending_change
    _claim, account = pending_change(token)
    language = account_language(account)
    _ = gettext_for(language)
    return confirm_page(_("Confirm your new contact email"),
                        [_("Press the button to make this address the contact email of %(account)s.")
                         % {"account": account.name}],
                        _("Confirm this address"), language)


@public.route("/account/email-change/{token}", methods=["POST"], content_types=ANY_TYPE)
@html_errors(public)
def email_change_confirm(token: str) -> Response:
    from chalicelib.services.accounts import account_language
    from chalicelib.services.email_change import confirm_email_change
    account = confirm_email_change(token)
    language = account_language(account)
    _ = gettext_for(language)
    return message_page(200, _("Contact email changed"),
                        [_("This address is now the contact email of %(account)s.")
                         % {"account": account.name}],
                        language=language)
