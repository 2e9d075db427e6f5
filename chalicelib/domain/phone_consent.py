"""Marketing SMS only to numbers their person confirmed (P01-P03 for SMS).

An address is confirmed by the double opt-in link; a phone number given with it is not: anyone
can type anyone's number. The person confirms it with a one-time code sent to it by SMS and
typed into the preference centre, and the confirmation is recorded like the email consent:
which number, when, from which IP and browser. A changed number needs confirming again.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from chalicelib.domain.signup_limits import Counter, keyed
from chalicelib.domain.suppression import account_subject, address_hash
from chalicelib.templates import DEFAULT_LANGUAGE, N_, gettext_for

# A code lives this long, allows this many tries, and a new one may be asked for this often.
CODE_LIFETIME = timedelta(minutes=15)
MAX_ATTEMPTS = 5
RESEND_INTERVAL = timedelta(minutes=2)
CODE_DIGITS = 6
# Codes a day: one entry may ask for so many (the interval alone allows 720), and one number is
# texted so many whatever the entries and accounts it is typed on: a number typed by whoever
# holds an email link is not a free line to text (SMS pumping).
CODES_PER_ENTRY_PER_DAY = 5
CODES_PER_NUMBER_PER_DAY = 10
# ... and one account's entries ask for so many: entries typed by whoever holds their links, each
# within its own caps, must not make the account's forms an SMS pump at its expense.
CODES_PER_ACCOUNT_PER_DAY = 200
# The message record's kind of a code text (store/messages.py): a text the account had sent, so
# a HELP or START from the number is answered (services/sms_inbound.py).
CODE_KIND = "phone_code"
_DAY = 86_400


# What is kept of a code held back from its number (suppressed, opted out, its codes for the day
# used up): no code's hash (hex) is this, so no guess confirms it, and the page answers as if the
# code had gone (P05). A code that reached nobody must not be there to guess: every entry the
# number is typed on would add its tries, past the number's daily cap on codes.
HELD_BACK = "held back: no code was texted"


def new_code() -> str:
    """A random six-digit code."""
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(hash_key: str, list_id: str, address: str, phone: str, code: str) -> str:
    """What is stored of a code: a keyed hash bound to the entry and the number, never the code."""
    message = f"{list_id}|{address}|{phone}|{code.strip()}".encode()
    return hmac.new(hash_key.encode(), message, hashlib.sha256).hexdigest()


def phone_confirmed(phone: str | None, confirmed_phone: str | None, confirmed_at: datetime | None) -> bool:
    """Whether the entry's current number is the one its person confirmed."""
    return bool(phone) and phone == confirmed_phone and confirmed_at is not None


def may_send_code(sent_at: datetime | None, at: datetime) -> bool:
    return sent_at is None or at - sent_at >= RESEND_INTERVAL


def entry_code_counter(secret: str, account_id: str, list_id: str, address: str) -> Counter:
    """The codes one entry asked for today (keyed: no address in the counter's key)."""
    return Counter(f"code-entry:{list_id}:{keyed(secret, 'address', address)}", CODES_PER_ENTRY_PER_DAY, _DAY,
                   account_subject(account_id, address_hash(address, secret)))


def account_code_counter(account_id: str) -> Counter:
    """The codes the account's entries asked for today (no person's data in its key)."""
    return Counter(f"code-account:{account_id}", CODES_PER_ACCOUNT_PER_DAY, _DAY)


def number_code_counter(secret: str, phone: str) -> Counter:
    """The codes one number was texted today, across every entry and account. It names no
    `subject`: one account's erasure of the person must not reset a cap that guards the number's
    holder against texts through every other account's forms (it stays its day)."""
    return Counter(f"code-phone:{keyed(secret, 'phone', phone)}", CODES_PER_NUMBER_PER_DAY, _DAY)


def code_matches(stored_hash: str | None, sent_at: datetime | None, attempts: int, offered_hash: str,
                 at: datetime) -> bool:
    """The code offered is the live one: not expired, within its tries, and equal."""
    if not stored_hash or sent_at is None or attempts >= MAX_ATTEMPTS or at - sent_at > CODE_LIFETIME:
        return False
    return hmac.compare_digest(stored_hash, offered_hash)


def masked(phone: str) -> str:
    """The number as a page shows it: its prefix and last three digits only."""
    return f"{phone[:3]}•••{phone[-3:]}" if len(phone) > 6 else "•••"


def code_text(account_name: str, list_name: str, code: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The code SMS, in the list's language (P32)."""
    return gettext_for(language)(N_("%(code)s is your code to receive SMS from %(account)s (%(list)s). "
                                    "If you did not ask for it, ignore this message.")) % {
        "code": code, "account": account_name, "list": list_name}
