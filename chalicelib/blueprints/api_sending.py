"""`/v1/campaigns/{id}/send` and `/test`: start a campaign now, or try it on a few addresses."""
from __future__ import annotations

from typing import Any

from chalicelib.web.routes import ApiBlueprint, ApiCall

api = ApiBlueprint(__name__)

MAX_TEST_RECIPIENTS = 5
TEST_SEND = {
    "type": "object",
    "additionalProperties": False,
    "required": ["addresses"],
    "properties": {
        # Email addresses, or E.164 phone numbers for an SMS campaign.
        "addresses": {"type": "array", "minItems": 1, "maxItems": MAX_TEST_RECIPIENTS, "uniqueItems": True,
                      "items": {"type": "string", "minLength": 1, "maxLength": 320}},
    },
}


@api.route("/v1/campaigns/{campaign_id}/send", "POST", "Start sending a draft or scheduled campaign now; "
           "409 when it already started, 403 when the account is suspended", write=True, status=202)
def post_send(call: ApiCall, campaign_id: str) -> dict[str, Any]:
    from chalicelib.services.sending.start import send_now
    from chalicelib.web.views import campaign_view
    return campaign_view(send_now(call.principal.account_id, campaign_id, call.principal.key_id))


@api.route("/v1/campaigns/{campaign_id}/test", "POST", "Send the campaign, rendered for a sample "
           "subscriber, to up to 5 test addresses (phone numbers for SMS)", write=True, body=TEST_SEND,
           status=202)
def post_test(call: ApiCall, campaign_id: str) -> dict[str, Any]:
    from chalicelib.services.sending.test_sends import send_test
    ids = send_test(call.principal.account_id, campaign_id, call.body["addresses"])
    return {"message_ids": ids}
