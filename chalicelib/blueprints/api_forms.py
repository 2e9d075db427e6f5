"""`/v1/lists/{list_id}/form-snippet`: an HTML signup form for the account's own site.

The snippet is a plain form that posts to the hosted form's URL, so it works without JavaScript
and without CORS; the answer is the hosted thank-you page or the list's redirect.
"""
from __future__ import annotations

from typing import Any

from chalicelib.config import settings
from chalicelib.templates import render_page
from chalicelib.web.routes import ApiBlueprint, ApiCall

api = ApiBlueprint(__name__)


@api.route("/v1/lists/{list_id}/form-snippet", "GET",
           "An embeddable HTML signup form, and the URLs of the hosted form and the JS endpoint")
def get_form_snippet(call: ApiCall, list_id: str) -> dict[str, Any]:
    from chalicelib.services.accounts import sender_profile
    from chalicelib.services.lists import get_list
    from chalicelib.services.signups import list_language
    from chalicelib.web.forms import signup_form_for
    mailing_list = get_list(call.principal.account_id, list_id)
    base = settings().public_base_url
    hosted = f"{base}/f/{list_id}"
    return {
        "html": render_page("snippet", list_language(mailing_list), form=signup_form_for(
            mailing_list, hosted, controller=sender_profile(mailing_list.account_id).name)),
        "hosted_form_url": hosted,
        "js_endpoint": f"{base}/public/lists/{list_id}/subscribe",
    }
