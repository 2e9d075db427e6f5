"""The preference centre (P16-P18) behind the `/p/{token}` link of every marketing mail.

The link's token (domain/mail_links.py) names the account and the address: it is the person's
credential, so every action checks it again. What the page shows is what an access request
would export; every change is recorded as a privacy request completed at once (P19).

Each form also carries a nonce signed with the token and valid for an hour. Not against
classic CSRF — there is no cookie to ride on, the token in the URL is the credential — but so
that a change needs a page seen recently: a bare POST from a link scanner that follows forms,
or a form re-sent from a tab left open for days, is refused and the page asks for a reload.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.adapters import sns
from chalicelib.adapters.retries import error_code, is_refusal, is_throttling, with_backoff
from chalicelib.config import hash_key, signer
from chalicelib.domain import phone_consent
from chalicelib.domain.clock import now
from chalicelib.domain.errors import Conflict, InvalidInput, TooManyRequests, Unprocessable
from chalicelib.domain.health import refuse_unless_taking_signups
from chalicelib.domain.ids import new_id
from chalicelib.domain.mail_links import PREFERENCES, LinkClaim, read_link_token
from chalicelib.domain.privacy import (
    PAGE_REQUESTS_PER_HOUR,
    Person,
    RequestType,
    Subject,
    SubjectKind,
    page_request_counter,
    phone_hash,
)
from chalicelib.domain.subscriptions import (
    CONTACT_FIELDS,
    Source,
    Status,
    clean_ip,
    evidence,
    may_transition,
    named_version,
    textable_phone,
)
from chalicelib.domain.suppression import SuppressionReason
from chalicelib.domain.tokens import TokenInvalid
from chalicelib.observability import logger
from chalicelib.services.privacy import object_once, submit_request
from chalicelib.services.signups import current_tracking_consent, list_language
from chalicelib.store import audit, messages, person_data, person_subscribers
from chalicelib.store import subscribers as subscriber_store
from chalicelib.store import tracking as tracking_store
from chalicelib.store.accounts import get_account
from chalicelib.store.lists import find_list, tracking_history
from chalicelib.store.models import MailingList, Subscriber
from chalicelib.store.privacy_requests import complete_request, create_request, load_export, withdraw_request
from chalicelib.store.rate_limits import CountersBusy, consume, consume_or_refuse
from chalicelib.store.suppressions import end_lifts, suppress, suppressed_hashes
from chalicelib.templates import N_

ACTOR = "preference-centre"
_NONCE_PURPOSE = "preferences-form"
NONCE_SECONDS = 3600
# Contact fields a person may edit: all but the email, which is the entry's key.
EDITABLE_FIELDS = CONTACT_FIELDS[1:]
# How the page names them and the statuses (message ids: the template translates them, P32).
FIELD_LABELS = {"name": N_("Name"), "company": N_("Company"), "phone": N_("Phone"), "website": N_("Website"),
                "field_of_activity": N_("Field of activity")}
STATUS_LABELS = (N_("pending"), N_("confirmed"), N_("unsubscribed"), N_("bounced"), N_("complained"))
ATTRIBUTE_PREFIX = "attr."


class StalePage(InvalidInput):
    """The form's nonce is missing, too old, or from another link."""

    code = "stale_page"


@dataclass(frozen=True)
class Preferences:
    """What the page shows: the account, and what it holds about the person."""

    claim: LinkClaim
    account_name: str
    held: dict[str, list[dict[str, Any]]]
    attributes: list[str]
    # (version, text) of the tracking consent each of the person's lists asks for now (P30): the
    # page shows it beside the button that gives it.
    tracking_texts: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def entries(self) -> list[dict[str, Any]]:
        """Her own entries: the rows of others' entries that carry her proven number have no status."""
        return [e for e in self.held.get("subscriptions", []) if "status" in e]

    @property
    def current(self) -> dict[str, Any]:
        """The values the edit form starts from: her entry on the mail's list, else her first;
        {} when she has none."""
        ours = [e for e in self.entries if e["list_id"] == self.claim.list_id] or self.entries
        return ours[0] if ours else {}


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]


def language_of(token: str) -> str:
    """The language of the page a preference link opens: its list's (P32)."""
    claim = read_link_token(signer(), PREFERENCES, token)
    return list_language(find_list(claim.list_id))


def form_nonce(token: str) -> str:
    """A nonce for the forms of the page shown for `token`."""
    return signer().sign(_NONCE_PURPOSE, {"t": _token_digest(token)})


def _check_nonce(token: str, nonce: str | None) -> None:
    try:
        payload = signer().verify(_NONCE_PURPOSE, nonce or "", NONCE_SECONDS)
    except InvalidInput:
        raise StalePage(N_("this page is out of date: reload it and try again"), field="nonce") from None
    if payload.get("t") != _token_digest(token):
        raise StalePage(N_("this page is out of date: reload it and try again"), field="nonce")


def _claim(token: str) -> tuple[LinkClaim, Person]:
    claim = read_link_token(signer(), PREFERENCES, token)
    return claim, person_subscribers.find_person(claim.account_id, _subject(claim))


def _subject(claim: LinkClaim) -> Subject:
    return Subject(SubjectKind.EMAIL, claim.address)


def preferences(token: str) -> Preferences:
    """What the page shows; reads only (GET must change nothing)."""
    claim, person = _claim(token)
    held = person_data.export_person(person)
    lists = person_subscribers.lists_of(person_subscribers.entries_of(person))
    declared = sorted({name for m in lists.values() for name in m.declared_attributes or ()})
    texts = {list_id: text for list_id, m in lists.items() if (text := current_tracking_consent(m))}
    return Preferences(claim, get_account(claim.account_id).name, held, declared, texts)


def _authorised(token: str, form: Mapping[str, str], *, consenting: bool = False) -> LinkClaim:
    """The claim of a genuine link, sent with a fresh page's nonce. `consenting`: the action
    gives a new consent (a phone number's code, P01; tracking, P30), which an account that takes
    no signups now (suspended, cancelled, marked for deletion) does not take: SignupsClosed.
    Leaving and the person's requests (unsubscribe, withdraw, export, edit, erase) never ask
    (P07, P16-P18, P30)."""
    claim = read_link_token(signer(), PREFERENCES, token)
    _check_nonce(token, form.get("nonce"))
    # NotFound for an account deleted for good (P23): a request, audit entry or suppression
    # recorded for it now would be its data, that no purge would come for again (P25).
    account = get_account(claim.account_id)
    if consenting:
        refuse_unless_taking_signups(account)
    return claim


def _within_hourly_cap(claim: LinkClaim, request_type: RequestType) -> None:
    """Count one request of this kind for the person; TooManyRequests (with Retry-After) when
    they made PAGE_REQUESTS_PER_HOUR of them this hour, before anything is recorded."""
    consume_or_refuse([page_request_counter(hash_key(), claim.account_id, claim.address, request_type)],
                      now(), N_("you asked for this %(count)s times this hour; try again later"),
                      params={"count": PAGE_REQUESTS_PER_HOUR})


def download(token: str, form: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """A portability request (P16); its id and the export."""
    claim = _authorised(token, form)
    _within_hourly_cap(claim, RequestType.PORTABILITY)
    request = submit_request(claim.account_id, ACTOR, RequestType.PORTABILITY, _subject(claim))
    export = load_export(claim.account_id, request.request_id)
    if export is None:  # just written: only a failed write could lose it
        raise TokenInvalid(N_("the export could not be prepared; try again"), field="token")
    return request.request_id, export


def edit(token: str, form: Mapping[str, str]) -> int:
    """Apply the edited contact fields and attributes as a rectify request (P17); how many
    fields changed (0 records nothing)."""
    claim = _authorised(token, form)
    shown = preferences(token)
    current = shown.current
    if not current:
        # Erased (P18), or ended and purged (P29): a page opened before has nothing left to correct.
        raise _nothing_held(shown)
    changes: dict[str, object] = {name: form[name] for name in EDITABLE_FIELDS
                                  if name in form and _as_held(name, form[name]) != (current.get(name) or "")}
    held_attributes = current.get("attributes") or {}
    sent = {name: form[f"{ATTRIBUTE_PREFIX}{name}"] for name in shown.attributes
            if f"{ATTRIBUTE_PREFIX}{name}" in form}
    attributes = {name: value for name, value in sent.items()
                  if value.strip() != held_attributes.get(name, "")}
    if attributes:
        changes["attributes"] = attributes
    if not changes:
        return 0
    request = submit_request(claim.account_id, ACTOR, RequestType.RECTIFY, _subject(claim), changes,
                             admit=lambda: _within_hourly_cap(claim, RequestType.RECTIFY))
    if not request.outcome.as_dict()["entries_updated"]:  # erased or purged since the read above
        raise _nothing_held(shown)
    return len(changes) - bool(attributes) + len(attributes)


def _as_held(name: str, sent: str) -> str:
    """A sent contact field as it would be held: a number in E.164, as typed with spaces or not,
    is the same number, not a change (P17)."""
    text = sent.strip()
    if name != "phone" or not text:
        return text
    try:
        return textable_phone(text)
    except InvalidInput:
        return text  # not the number held: the request refuses it, naming the field


def _nothing_held(shown: Preferences) -> Conflict:
    return Conflict(N_("%(account)s holds no list entries for this address."), field="token",
                    params={"account": shown.account_name})


def unsubscribe(token: str, form: Mapping[str, str]) -> int:
    """Unsubscribe from the list named in the form, or from every list (`all`: an objection,
    which also suppresses the address in the account, P12). How many entries ended now. Either,
    replayed with nothing left to change, records no request or audit entry (P19, P27)."""
    claim = _authorised(token, form)
    choice = form.get("list_id", "")
    subject = _subject(claim)
    if choice == "all":
        return object_once(claim.account_id, ACTOR, subject, mailed=claim)
    person = person_subscribers.find_person(claim.account_id, subject)
    entries = [e for e in person_subscribers.entries_of(person) if e.list_id == choice]
    if not entries:
        raise InvalidInput(N_("you are not on this list"), field="list_id")
    # An objection limited to one list: a suppression for that list keeps the address off it
    # (P12), even if the account deletes the entry and adds the address again; the other lists
    # stay as they are.
    request = create_request(claim.account_id, RequestType.OBJECT, subject, ACTOR)
    # Read before the writes: an update refreshes the entry it was called on with what it wrote.
    could_end = any(may_transition(Status(entry.status), Status.UNSUBSCRIBED) for entry in entries)
    suppressed = suppress(claim.account_id, claim.address, SuppressionReason.UNSUBSCRIBED, list_id=choice)
    lift_closed = end_lifts(claim.account_id, claim.address, choice)  # a way back they had taken (P12)
    ended = sum(person_subscribers.unsubscribe(
        entry, claim.campaign_for(entry.list_id, entry.address, entry.created_at)) for entry in entries)
    # Which press records the act: where an entry could end, the one whose conditional write
    # ended it (racing presses may each win one of the writes above); else the one that wrote
    # the list's suppression or closed a way back.
    if not (ended if could_end else suppressed or lift_closed):
        # A replay (this page is not rate-capped: opting out must always work, P07): it changed
        # nothing, so the request it would record goes too.
        withdraw_request(request)
        return 0
    complete_request(request, {"entries_unsubscribed": ended, "list_id": choice})
    audit.record(claim.account_id, ACTOR, "privacy.object", request.request_id)
    logger.info("privacy request completed", extra={"request_id": request.request_id, "type": "object"})
    return ended


def set_tracking(token: str, form: Mapping[str, str], ip: str | None = None,
                 user_agent: str | None = None) -> bool:
    """Give (`choice=give`) or withdraw (`choice=withdraw`; any other is InvalidInput) the tracking
    consent of one list (P30); True when the person now lets that list count their opens and
    clicks. Withdrawing also deletes what was
    counted about them in that list's campaigns, and the tracking worker counts nothing more
    of their mail, even an old one; giving it is their own action, so it counts as confirmed.
    A pending entry may only withdraw it: confirming then does not grant it.
    Given, it is proven like the signup box's (P02): to the text version the page showed
    (`tracking_version`; StalePage when it names none of the list's), from this IP and browser.
    Giving it is SignupsClosed while the account takes no signups; withdrawing always works.
    A replay answers the same and writes nothing: the same text given again keeps the first
    proof, a second withdrawal the first time (this page is not rate-capped: withdrawing must
    always work, P30)."""
    choice = form.get("choice")
    if choice not in _TRACKING_CHOICES:  # no button sent it: withdrawing would delete what was counted
        raise InvalidInput(N_("press one of the page's buttons to say whether this list may count your opens "
                              "and clicks"), field="choice")
    give = choice == "give"
    claim = _authorised(token, form, consenting=give)
    list_id = form.get("list_id", "")
    person = person_subscribers.find_person(claim.account_id, _subject(claim))
    entries = [e for e in person_subscribers.entries_of(person) if e.list_id == list_id]
    if not entries:
        raise InvalidInput(N_("you are not on this list"), field="list_id")
    _require_status(entries, _CONFIRMED if give else _MAY_WITHDRAW_TRACKING)
    mailing_list = person_subscribers.lists_of(entries).get(list_id)
    if give:
        proof = evidence(now(), Source.PREFERENCES, _shown_tracking_version(mailing_list, form),
                         ip=ip, user_agent=user_agent, form_url=None)
        changed = sum(subscriber_store.give_tracking(entry, proof) for entry in entries)
    else:
        changed = sum(subscriber_store.withdraw_tracking(entry) for entry in entries)
        # Also on a replay: one retried after a failure here still deletes what was counted.
        tracking_store.delete_markers(marker for _, marker in tracking_store.markers_of(
            claim.account_id, person.emails, list_id=list_id))
    if changed:  # a replay (the same text given again, a second withdrawal) records nothing (P27)
        action = "subscriber.tracking_given" if give else "subscriber.tracking_withdrawn"
        audit.record(claim.account_id, ACTOR, action, list_id)
    return give


# The values of the page's tracking buttons.
_TRACKING_CHOICES = frozenset({"give", "withdraw"})


def _shown_tracking_version(mailing_list: MailingList | None, form: Mapping[str, str]) -> int:
    """The version of the tracking text the page showed beside the button (the text may have
    changed since); 0 for a list that asks none: giving then only lifts an earlier refusal."""
    if mailing_list is None or current_tracking_consent(mailing_list) is None:
        return 0
    versions = [v.version for v in tracking_history(mailing_list)]
    shown = named_version(versions, form.get("tracking_version"))
    if shown is None:  # consent to no text the list has is no proof of consent (P02)
        raise StalePage(N_("this page is out of date: reload it and try again"), field="tracking_version")
    return shown


# Giving tracking consent and the phone choices need a confirmed entry: a pending one has not
# proven its address yet (P01). Withdrawing tracking consent is offered on a pending entry too:
# one who ticked the box at signup takes it back before confirming, so that confirming does not
# grant it (P30). An ended entry gets nothing more and is due for deletion (P12, P29).
_CONFIRMED = frozenset({Status.CONFIRMED.value})
_MAY_WITHDRAW_TRACKING = frozenset({Status.PENDING.value, Status.CONFIRMED.value})


def _require_status(entries: list[Subscriber], allowed: frozenset[str]) -> None:
    """InvalidInput (list_id) unless every entry's status is `allowed`: a POST the page did not
    offer (an old tab, whoever holds the link) changes nothing."""
    if any(entry.status not in allowed for entry in entries):
        raise InvalidInput(N_("this is only for lists you are subscribed to and have confirmed"),
                           field="list_id")


def _entry_with_phone(claim: LinkClaim, list_id: str) -> Subscriber:
    person = person_subscribers.find_person(claim.account_id, _subject(claim))
    entries = [e for e in person_subscribers.entries_of(person) if e.list_id == list_id and e.phone]
    if not entries:
        raise InvalidInput(N_("no phone number is held for you on this list"), field="list_id")
    _require_status(entries, _CONFIRMED)
    return entries[0]


def send_phone_code(token: str, form: Mapping[str, str]) -> None:
    """Text a one-time code to the number held on one list, for the person to type here (P01 for
    SMS). At most one every RESEND_INTERVAL, CODES_PER_ENTRY_PER_DAY and the account's
    CODES_PER_ACCOUNT_PER_DAY (TooManyRequests); the code is stored only as a keyed hash.
    InvalidInput for a number already confirmed.

    A number that is suppressed here (a STOP reply, an erasure), that SNS holds opted out, or
    that was texted its CODES_PER_NUMBER_PER_DAY, is not texted (P12), and the page answers as if
    it were: whoever holds the link typed the number, and must not learn that its owner said STOP
    (P05), nor use the page to text it without end. SignupsClosed while the account takes no
    signups (a suspended one sends nothing, P26); a 4xx when SNS will not text it (_text_code)."""
    claim = _authorised(token, form, consenting=True)
    entry = _entry_with_phone(claim, form.get("list_id", ""))
    if subscriber_store.phone_is_confirmed(entry):
        # A new code would replace the proof of the confirmation (P02) and stop the SMS.
        raise InvalidInput(N_("your number is already confirmed for this list"), field="list_id")
    proof = entry.phone_consent
    at = now()
    if not phone_consent.may_send_code(proof.code_sent_at if proof else None, at):
        raise TooManyRequests(N_("a code was sent a moment ago; wait two minutes before asking again"))
    key = hash_key()
    try:
        _count_code(key, claim.account_id, entry, at)
        texted = _may_text_code(claim.account_id, entry, key, at)
    except CountersBusy:
        # Other requests held the counters (the account's is one item for all its forms): a
        # 429 to try again, never a 500.
        raise TooManyRequests(N_("no code can be texted just now; ask again in a few minutes"),
                              retry_after=1) from None
    code = phone_consent.new_code()
    # A code held back is kept as one no guess matches: it reached nobody (P01).
    kept = (phone_consent.code_hash(key, entry.list_id, entry.address, entry.phone, code) if texted
            else phone_consent.HELD_BACK)
    recipient_hash, message_id = phone_hash(entry.phone, key), new_id("msg")
    purge_list = messages.list_for_purge(claim.account_id, {message_id: recipient_hash}) if texted else None
    if not subscriber_store.save_phone_code(entry, kept, (purge_list, message_id) if purge_list else None):
        # Another ask saved its code since this one read the entry (P18: neither loses its record's way).
        raise TooManyRequests(N_("a code was sent a moment ago; wait two minutes before asking again"))
    if not texted:
        logger.info("phone confirmation code not texted: the number opted out or had its codes today",
                    extra={"list_id": entry.list_id})
        return
    mailing_list = person_subscribers.lists_of([entry]).get(entry.list_id)
    list_name = mailing_list.name if mailing_list else ""
    text = phone_consent.code_text(get_account(claim.account_id).name, list_name, code,
                                   list_language(mailing_list))
    _text_code(entry, text)
    # Recorded like any text (P21: erased after 30 days, or with the person, P18), once it went:
    # a HELP or START from the number is then answered, naming the account (services/
    # sms_inbound.py); a code SNS refused leaves no record, so no answer goes to its number.
    messages.claim(recipient_hash, message_id, claim.account_id, phone_consent.CODE_KIND,
                   list_id=entry.list_id, purge_list=purge_list)
    logger.info("phone confirmation code sent", extra={"list_id": entry.list_id})


def _count_code(key: str, account_id: str, entry: Subscriber, at: datetime) -> None:
    """Count the code against the entry's and the account's codes a day, both or neither;
    TooManyRequests naming the limit that is full."""
    account = phone_consent.account_code_counter(account_id)
    full = consume([phone_consent.entry_code_counter(key, account_id, entry.list_id, entry.address), account],
                   at)
    if not full:
        return
    retry_after = max(counter.window_end(at) for counter in full) - int(at.timestamp())
    if account in full:
        raise TooManyRequests(N_("this sender's forms asked for their %(count)s codes today; ask again "
                                 "tomorrow"), retry_after=retry_after,
                              params={"count": phone_consent.CODES_PER_ACCOUNT_PER_DAY})
    raise TooManyRequests(N_("you asked for %(count)s codes today; ask again tomorrow"),
                          retry_after=retry_after, params={"count": phone_consent.CODES_PER_ENTRY_PER_DAY})


def _text_code(entry: Subscriber, text: str) -> None:
    """Text the code, retried while SNS throttles. SNS throttling past the backoff is
    TooManyRequests, and an answer refusing this text (a number phonenumbers takes but SNS will
    not text, retries.REFUSAL_CODES) Unprocessable naming `phone`: the person gets a page saying
    so, not a server error. Any other failure is the platform's (SNS's own fault, a permission it
    lacks): a server error its alarms see, not a page blaming the number."""
    try:
        with_backoff(lambda: sns.send_sms(entry.phone, text, sns.TRANSACTIONAL))
    except Exception as error:
        if not (is_throttling(error) or is_refusal(error)):
            raise
        code = error_code(error)
        logger.warning("phone confirmation code not texted: SNS did not take it",
                       extra={"list_id": entry.list_id, "error": code})
        if is_throttling(error):
            raise TooManyRequests(N_("no code can be texted just now; ask again in a few minutes"),
                                  retry_after=int(phone_consent.RESEND_INTERVAL.total_seconds())) from None
        raise Unprocessable(N_("your number cannot be texted; check the number held for you on this list"),
                            field="phone") from None


def _may_text_code(account_id: str, entry: Subscriber, key: str, at: datetime) -> bool:
    """Whether the entry's number may get its code: not suppressed for the account, the list or
    the platform, not opted out at SNS, and within its codes for the day (counted when it may)."""
    if suppressed_hashes(account_id, [phone_hash(entry.phone, key)], entry.list_id):
        return False
    if sns.is_opted_out(entry.phone):
        return False
    return not consume([phone_consent.number_code_counter(key, entry.phone)], at)


def confirm_phone_code(token: str, form: Mapping[str, str], ip: str | None, user_agent: str | None) -> None:
    """Confirm the number with the code it received (P01 for SMS): recorded with the time, IP and
    browser, like the email consent. InvalidInput for a wrong, old or over-tried code;
    SignupsClosed, taking no try, while the account takes no signups."""
    claim = _authorised(token, form, consenting=True)
    entry = _entry_with_phone(claim, form.get("list_id", ""))
    proof = entry.phone_consent
    offered = phone_consent.code_hash(hash_key(), entry.list_id, entry.address, entry.phone,
                                      form.get("code", ""))
    # The try is taken before the code is compared, so parallel guesses share MAX_ATTEMPTS.
    if proof is None or proof.phone != entry.phone or not proof.code_hash or not (
            subscriber_store.take_code_attempt(entry, proof.code_hash, phone_consent.MAX_ATTEMPTS)
            and phone_consent.code_matches(proof.code_hash, proof.code_sent_at, int(proof.attempts or 0),
                                           offered, now())):
        raise InvalidInput(N_("this code is not right, or too old: ask for a new one"), field="code")
    if not subscriber_store.confirm_phone(entry, clean_ip(ip), (user_agent or "")[:1000] or None):
        # Erased or purged since it was read (P18, P29): nothing is left to confirm.
        raise InvalidInput(N_("no phone number is held for you on this list"), field="list_id")
    audit.record(claim.account_id, ACTOR, "subscriber.phone_confirmed", entry.list_id)


def erase(token: str, form: Mapping[str, str]) -> None:
    """An erasure request (P18): the person leaves every table; the keyed hash stays."""
    claim = _authorised(token, form)
    _within_hourly_cap(claim, RequestType.ERASE)
    submit_request(claim.account_id, ACTOR, RequestType.ERASE, _subject(claim))
