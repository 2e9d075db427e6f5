"""SMS through SNS `Publish` to a phone number, and the account-wide opted-out list."""
from __future__ import annotations

from chalicelib.clients import client

PROMOTIONAL = "Promotional"
TRANSACTIONAL = "Transactional"


def send_sms(phone_number: str, text: str, sms_type: str = PROMOTIONAL) -> str:
    """Publish one SMS to an E.164 number; returns SNS's message id. `sms_type` is
    PROMOTIONAL (campaigns: cheapest route) or TRANSACTIONAL (most reliable route)."""
    response = client("sns").publish(
        PhoneNumber=phone_number,
        Message=text,
        MessageAttributes={
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": sms_type},
        },
    )
    return response["MessageId"]


def opted_out_numbers() -> frozenset[str]:
    """Every number that replied STOP to this AWS account's SMS (SNS keeps the list): one call
    per 100 numbers, instead of one call per recipient."""
    sns = client("sns")
    numbers: set[str] = set()
    kwargs: dict[str, str] = {}
    while True:
        response = sns.list_phone_numbers_opted_out(**kwargs)
        numbers.update(response.get("phoneNumbers", []))
        token = response.get("nextToken")
        if not token:
            return frozenset(numbers)
        kwargs = {"nextToken": token}


def is_opted_out(phone_number: str) -> bool:
    """Whether this number replied STOP to this AWS account's SMS: one call, for a request that
    texts a few numbers (a campaign batch reads the whole list once instead)."""
    response = client("sns").check_if_phone_number_is_opted_out(phoneNumber=phone_number)
    return bool(response.get("isOptedOut"))
