"""`/account/email-change/{token}`: the new contact email's owner confirms the change (P27).

GET shows the button and changes nothing (mail scanners fetch links); the POST applies it.
"""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.services.email_change import confirm_email_change, pending_change
from chalicelib.web.pages import ANY_TYPE, confirm_page, html_errors, message_page

public = Blueprint(__name__)


@public.route("/account/email-change/{token}", methods=["GET"], content_types=ANY_TYPE)
@html_errors
def email_change_page(token: str) -> Response:
    _, account = pending_change(token)
    return confirm_page("Confirm your new contact email",
                        [f"Press the button to make this address the contact email of {account.name}."],
                        "Confirm this address")


@public.route("/account/email-change/{token}", methods=["POST"], content_types=ANY_TYPE)
@html_errors
def email_change_confirm(token: str) -> Response:
    account = confirm_email_change(token)
    return message_page(200, "Contact email changed",
                        [f"This address is now the contact email of {account.name}."])
