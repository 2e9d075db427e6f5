"""`/account/deletion/{token}`: the account's contact confirms its deletion (P23).

GET shows the button and changes nothing (mail scanners fetch links); the POST marks the account
for deletion in 30 days. Both pages speak the account's language (P32).
"""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.domain.retention import DELETION_GRACE
from chalicelib.templates import gettext_for
from chalicelib.web.pages import ANY_TYPE, confirm_page, html_errors, message_page

public = Blueprint(__name__)


@public.route("/account/deletion/{token}", methods=["GET"], content_types=ANY_TYPE)
@html_errors(public)
def deletion_page(token: str) -> Response:
    from chalicelib.services.account_lifecycle import pending_deletion
    from chalicelib.services.accounts import account_language
    account = pending_deletion(token)
    language = account_language(account)
    _ = gettext_for(language)
    values = {"account": account.name, "days": DELETION_GRACE.days}
    return confirm_page(_("Delete the account %(account)s") % values,
                        [_("Press the button and the account and all its data will be deleted in "
                           "%(days)s days. Until then it can export its data and cancel the deletion "
                           "(POST /v1/account/reactivate).") % values],
                        _("Delete this account"), language)


@public.route("/account/deletion/{token}", methods=["POST"], content_types=ANY_TYPE)
@html_errors(public)
def deletion_confirm(token: str) -> Response:
    from chalicelib.services.account_lifecycle import confirm_deletion
    from chalicelib.services.accounts import account_language
    account, due = confirm_deletion(token)
    language = account_language(account)
    _ = gettext_for(language)
    return message_page(200, _("Deletion confirmed"),
                        [_("The account %(account)s will be deleted on %(date)s, with all its data.")
                         % {"account": account.name, "date": due.date().isoformat()},
                         _("Until then, POST /v1/account/reactivate cancels it.")], language=language)
