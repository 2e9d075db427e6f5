"""What Tidings answers to a keyword reply (domain/sms_replies.Keyword), and how often.

A STOP is confirmed once, when it suppressed the number anew (a repeated STOP gets no answer).
HELP and START are answered only to a number an account texted (services/sms_inbound.py).
HELP names the accounts that texted the number in the last 30 days, nothing else about them,
and only as a text may show a name chosen by its account (domain/sender_names.py).
START restarts nothing: texts go only to a number its person confirmed through a signup (P01),
and a reply proves nothing about who signed up; the answer says so. Every answer costs: a number
gets at most ANSWERS_PER_NUMBER_PER_DAY of them, so no reply loop with another robot and no
cost attack by forged or repeated keywords.
"""
from __future__ import annotations

from collections.abc import Sequence

from chalicelib.domain.sender_names import sms_display_name
from chalicelib.domain.signup_limits import Counter, keyed
from chalicelib.domain.sms_encoding import cut_to_fit, parts_limits
from chalicelib.domain.sms_replies import Keyword
from chalicelib.templates import DEFAULT_LANGUAGE, N_, gettext_for

ANSWERS_PER_NUMBER_PER_DAY = 3
# The most parts a HELP answer takes, however many accounts texted the number: the list is cut.
HELP_PARTS = 2
_DAY = 86_400
# Numbers of these regions are answered in Romanian; any other in the default language (nothing
# else tells the language of someone who texts a keyword).
_ROMANIAN_REGIONS = frozenset({"RO", "MD"})

STOP_CONFIRMATION = N_("You opted out: no more marketing texts will be sent to this number.")
HELP_SENDERS = N_("Texts to this number in the last 30 days came from: %(senders)s. "
                  "Reply STOP to opt out.")
HELP_NOBODY = N_("No sender texted this number in the last 30 days. Reply STOP to opt out.")
# How HELP names an account whose name a text must not show (a link, a phone number...).
UNNAMED_SENDER = N_("a sender whose name cannot be shown")
START_ANSWER = N_("Replying START restarts no texts: to get them again, sign up on the sender's form.")


def answer_counter(secret: str, phone: str) -> Counter:
    """The keyword answers one number got today (keyed: no number in the counter's key). No
    `subject`, like the number's code counter: an erasure in one account must not reset it."""
    return Counter(f"sms-answer:{keyed(secret, 'phone', phone)}", ANSWERS_PER_NUMBER_PER_DAY, _DAY)


def answer_language(phone: str) -> str:
    """The language of an answer to `phone` (E.164), by the region of the number (P32)."""
    import phonenumbers  # lazily, as domain/subscriptions.normalise_phone

    region = phonenumbers.region_code_for_number(phonenumbers.parse(phone))
    return "ro" if region in _ROMANIAN_REGIONS else DEFAULT_LANGUAGE


def answer_text(keyword: Keyword, senders: Sequence[str], language: str) -> str:
    """The answer to `keyword`; `senders`, the names of the accounts that texted the number,
    are named by HELP only, as a text may show them, cut to HELP_PARTS parts."""
    _ = gettext_for(language)
    if keyword is Keyword.STOP:
        return _(STOP_CONFIRMATION)
    if keyword is Keyword.START:
        return _(START_ANSWER)
    if not senders:
        return _(HELP_NOBODY)
    # Each as a text may show it (domain/sender_names.py), once: two withheld are one "unnamed".
    names = dict.fromkeys(sms_display_name(sender) or _(UNNAMED_SENDER) for sender in senders)
    head, tail = _(HELP_SENDERS).split("%(senders)s")
    return cut_to_fit(head + ", ".join(names), tail, parts_limits(HELP_PARTS))
