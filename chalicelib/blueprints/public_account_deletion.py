"""`/account/deletion/{token}`: the account's contact confirms its deletion (P23).

GET shows the button and changes nothing (mail scanners fetch links); the POST marks the account
for deletion in 30 days.
"""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.domain.retention import DELETION_GRACE
from chalicelib.services.account_lifecycle import confirm_deletion, pending_deletion
from chalicelib.web.pages import ANY_TYPE, confirm_page, html_errors, message_page

public = Blueprint(__name__)


@public.route("/account/deletion/{token}", methods=["GET"], content_types=ANY_TYPE)
@html_errors
def deletion_page(token: str) -> Response:
    account = pending_deletion(token)
    return confirm_page(f"Delete the account {account.name}",
                        [f"Press the button and the account and all its data will be deleted in "
                         f"{DELETION_GRACE.days} days. Until then it can export its data and cancel "
                         "the deletion (POST /v1/account/reactivate)."],
                        "Delete this account")


@public.route("/account/deletion/{token}", methods=["POST"], content_types=ANY_TYPE)
@html_errors
def deletion_confirm(token: str) -> Response:
    account, due = confirm_deletion(token)
    return message_page(200, "Deletion confirmed",
                        [f"The account {account.name} will be deleted on {due.date().isoformat()}, "
                         "with all its data.", "Until then, POST /v1/account/reactivate cancels it."])
