"""Signups and confirmations: the rules of P01-P05 and P12 applied to the store and the outbox.

Handlers (blueprints/public.py, blueprints/api_subscribers.py) parse requests and shape
responses; everything they decide lives here. Public signups return nothing a caller could tell
apart: new, pending, confirmed and suppressed addresses all end the same way (P05).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.adapters.sqs import enqueue
from chalicelib.config import hash_key, settings, signer
from chalicelib.domain.accounts import AccountProfile
from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.clock import now
from chalicelib.domain.confirmation_mail import confirmation_email, confirmation_message_id
from chalicelib.domain.errors import Conflict, InvalidInput, NotFound, ServiceUnavailable
from chalicelib.domain.health import (
    SignupsClosed,
    refuse_unless_taking_signups,
    refuse_while_blocked,
    takes_signups,
)
from chalicelib.domain.lists import TrackingConsent, require_privacy_policy, tracking_consent_of
from chalicelib.domain.outbox import CONFIRMATION_KIND, EmailJob
from chalicelib.domain.signup_job import ResendJob, SignupJob
from chalicelib.domain.signup_limits import Counter, address_counters
from chalicelib.domain.subscriptions import (
    ConsentEvidence,
    SignupOutcome,
    Source,
    Status,
    clean_contact,
    clean_ip,
    clean_proof_url,
    evidence,
    form_address,
    named_version,
    pending_lifetime,
    pick_consent_version,
    signup_outcome,
    supplied_consent_time,
    supplied_text,
    version_in_force,
)
from chalicelib.domain.tokens import ConfirmClaim, confirm_token, confirm_token_list_hint, read_confirm_token
from chalicelib.observability import logger
from chalicelib.resources import OUTBOX, SIGNUPS
from chalicelib.services.request_limits import refuse_over_request_limits
from chalicelib.services.senders import may_send_as
from chalicelib.store import audit
from chalicelib.store import returning as returns
from chalicelib.store import subscribers as subscriber_store
from chalicelib.store.accounts import get_account, profile_of
from chalicelib.store.lists import consent_history, find_list, list_language, tracking_history
from chalicelib.store.models import Account, MailingList, Subscriber, TrackingConsentProof
from chalicelib.store.rate_limits import consume, consume_or_refuse, refund
from chalicelib.store.suppressions import (
    OwnSignup,
    confirmation_standing,
    is_suppressed,
    lift_for_list,
    own_signup,
)
from chalicelib.templates import N_

# Bots fill every input; people never see this one (the form hides it). Not "website": that is
# a real contact field (P04).
HONEYPOT_FIELD = "website_url"
_TOO_MANY_SIGNUPS = N_("too many signups from here; please try again later")
_MAX_LIST_ID_BYTES = 100
# A signup's tracking consent (P30): as queued with it, or as stored with the entry or the
# signup back; None when the box was not ticked.
SignupTracking = ConsentEvidence | TrackingConsentProof | None


class SignupExpired(InvalidInput):
    """A genuine confirm link whose signup is no longer waiting (expired, ended or suppressed)."""

    code = "signup_expired"


@dataclass(frozen=True)
class PublicSignup:
    """A signup from the hosted form or the JS endpoint, as the handler read it."""

    fields: Mapping[str, object]
    consent_given: bool
    source: Source
    ip: str | None
    user_agent: str | None
    # The page the browser names (Referer, else Origin); only its scheme, host and path are kept.
    form_url: str | None
    # P30: the separate tracking box was ticked.
    tracking_given: bool = False


def find_public_list(list_id: str) -> MailingList | None:
    """The list a public route names, or None (also for an id no list could have)."""
    # Anyone can type a list id: an over-long one is "not found", not a DynamoDB error.
    if not list_id or len(list_id.encode("utf-8")) > _MAX_LIST_ID_BYTES:
        return None
    return find_list(list_id)


def public_list(list_id: str) -> MailingList:
    """The list a public route names, or NotFound."""
    mailing_list = find_public_list(list_id)
    if mailing_list is None:
        raise NotFound("no such list", field="list_id")
    return mailing_list


def current_consent(mailing_list: MailingList) -> tuple[int, str]:
    """(version, text) of the consent text forms show now."""
    history = consent_history(mailing_list)
    if not history:
        raise InvalidInput("this list has no consent text", field="consent_text")
    return history[-1].version, history[-1].text


def asks_tracking_consent(mailing_list: MailingList) -> bool:
    """Whether the list tracks at all and asks for the person's own consent to it (P15, P30)."""
    tracks = bool(mailing_list.track_opens or mailing_list.track_clicks)
    return tracks and tracking_consent_of(mailing_list.tracking_consent) is TrackingConsent.REQUIRED


def current_tracking_consent(mailing_list: MailingList) -> tuple[int, str] | None:
    """(version, text) of the tracking box forms show now, or None when the list asks none."""
    history = tracking_history(mailing_list)
    if not asks_tracking_consent(mailing_list) or not history:
        return None
    return history[-1].version, history[-1].text


def _tracking_evidence(mailing_list: MailingList, claimed: object,
                       consent: ConsentEvidence) -> ConsentEvidence | None:
    """Evidence of the tracking consent given with a signup, when the list asks for it (P30)."""
    versions = [v.version for v in tracking_history(mailing_list)]
    if not asks_tracking_consent(mailing_list) or not versions:
        return None
    return evidence(consent.given_at, consent.source, pick_consent_version(versions, claimed),
                    ip=consent.ip, user_agent=consent.user_agent, form_url=consent.form_url)


def signup_sender(mailing_list: MailingList) -> AccountProfile:
    """Who the list's form names (P08, P32); SignupsClosed (409) naming `list_id` while its
    account takes no signups (domain/health.takes_signups: suspended, P26, P33; cancelled;
    marked for deletion, P23): the form would promise a confirmation mail that never comes. The
    public is not told why (the suspension's reason is the account's and the operator's)."""
    account = get_account(mailing_list.account_id)
    refuse_unless_taking_signups(account)
    return profile_of(account)


def refuse_account_signups(account: Account) -> None:
    """What the account's own signups (the API's, an import's) meet: Forbidden, with the
    suspension's reason, while it may not send (P26, P33); SignupsClosed while it is marked for
    deletion (P23), which it can undo."""
    refuse_while_blocked(account)
    if not takes_signups(account):
        raise SignupsClosed("the account is marked for deletion and takes no signups until it is "
                            "reactivated (POST /v1/account/reactivate)", field="account")


def public_signup(mailing_list: MailingList, signup: PublicSignup) -> None:
    """Validate a public signup, count it against the abuse limits and queue it (P01).

    Raises InvalidInput for bad input, TooManyRequests past the per-IP or per-list limit, and
    Conflict while the list has no privacy policy (P32). (Its account's standing is not read
    here, within issue 3's three calls: the form page reads it, and the worker drops the
    signups of an account that takes none, domain/health.takes_signups.)
    Otherwise it does the same three AWS calls whatever the address's state (P05): the signups
    worker decides, out of sight, whether to write the entry and mail (apply_public_signup).
    A filled honeypot is accepted and dropped.
    """
    require_privacy_policy(mailing_list.privacy_policy_url)  # P32: its mail must link one
    if signup.fields.get(HONEYPOT_FIELD):
        _log_signup(mailing_list, signup.source, "honeypot")
        return
    contact = clean_contact(signup.fields, mailing_list.declared_attributes or (), drop_unknown=True,
                            check_dns=settings().check_email_dns)
    if not signup.consent_given:
        raise InvalidInput(N_("tick the box to give your consent"), field="consent")
    versions = [v.version for v in consent_history(mailing_list)]
    consent = evidence(now(), signup.source,
                       pick_consent_version(versions, signup.fields.get("consent_version")),
                       ip=signup.ip, user_agent=signup.user_agent, form_url=form_address(signup.form_url))
    tracking = (_tracking_evidence(mailing_list, signup.fields.get("tracking_version"), consent)
                if signup.tracking_given else None)
    refuse_over_request_limits(signup.ip, _TOO_MANY_SIGNUPS, mailing_list.list_id)
    enqueue(SIGNUPS, SignupJob(mailing_list.list_id, contact, consent, tracking).to_dict())
    _log_signup(mailing_list, signup.source, "queued")


def apply_public_signup(job: SignupJob, job_id: str) -> None:
    """The signups worker's half: a suppressed address (P12) or one already on the list writes
    nothing and mails nothing; otherwise the entry is pending, or, back to an entry its person
    unsubscribed, the signup waits beside it (store/returning.py), and the confirmation mail is
    queued.
    `job_id` (the SQS message's) makes a redelivered job count against the limits once while
    its count stands: one whose count went back (it mailed nothing) counts again when it mails."""
    mailing_list = find_list(job.list_id)
    if mailing_list is None:
        return
    source = job.consent.source
    # Queued before its account was suspended, cancelled or marked for deletion: no entry is
    # written for an account that may write no content (P22) and would mail no confirmation (P26),
    # or whose content goes within 30 days (P23).
    account = get_account(mailing_list.account_id)
    if not takes_signups(account):
        _log_signup(mailing_list, source, "account_blocked")
        return
    # P12: a person who only unsubscribed may come back by signing up and confirming themselves;
    # anyone else suppressed is dropped, unseen (P05).
    if own_signup(mailing_list.account_id, job.contact.email, mailing_list.list_id) is OwnSignup.BLOCKED:
        _log_signup(mailing_list, source, "suppressed")
        return
    # Counted now, when the mail would go: at the job's own time, a backlog more than a window
    # behind counted each job in its own ended window and mailed them all at once. Given back to
    # the windows it counted in, whatever delivery gives it back (store/rate_limits.refund).
    at, counters = now(), address_limits(mailing_list, job.contact.email)
    if consume(counters, at, job_id):  # full: dropped silently (P05)
        _log_signup(mailing_list, source, "rate_limited")
        return
    waits = pending_lifetime(mailing_list.pending_signup_days)
    written = subscriber_store.write_signup(mailing_list.account_id, mailing_list.list_id, job.contact,
                                            job.consent, Status.PENDING, tracking=job.tracking,
                                            pending_for=waits)
    # P12, P22: back to an entry they unsubscribed, the signup waits beside it until confirmed.
    returning = written is None and returns.write_return(mailing_list.account_id, job.contact,
                                                         mailing_list.list_id, job.consent, job.tracking,
                                                         waits)
    if written is None and not returning:
        # Nothing new is mailed: its count would only hold the person's own signups back.
        _give_back(mailing_list, counters, at, job_id)
        _log_signup(mailing_list, source, "already_on_list")
        return
    send_confirmation(mailing_list, job.contact.email, "signup", job.consent.given_at, account,
                      tracking=job.tracking)
    _log_signup(mailing_list, source, "returning" if returning else "pending")


def address_limits(mailing_list: MailingList, address: str) -> list[Counter]:
    """The per-address counters a confirmation mail to `address` on the list spends (the form's,
    the API's, a resend's and an import's alike). The workers count them once per job (a
    redelivery whose first delivery counted but failed to queue the mail must still mail)."""
    return address_counters(settings().signup_limits, hash_key(), mailing_list.account_id,
                            mailing_list.list_id, address)


@dataclass(frozen=True)
class ApiSignupResult:
    subscriber: Subscriber
    created: bool


def api_signup(mailing_list: MailingList, raw_contact: Mapping[str, object],
               proof: Mapping[str, object] | None,
               tracking_proof: Mapping[str, object] | None = None) -> ApiSignupResult:
    """Add someone through the authenticated API.

    Double opt-in, unless the list turned it off *and* the caller proved consent, in which case
    the entry is confirmed at once. A suppressed or ended address is a Conflict (P12): the
    caller is the tenant and may know its own suppressions. Already confirmed: unchanged.
    A signup that would mail a confirmation counts against the address's limits, as a public
    form's does (the tenant is not the person, P11): over one it is TooManyRequests (429) naming
    `email`, with Retry-After, and writes nothing. Not a success saying no mail went: writing the
    signup anyway would replace the one waiting, and so void the link already mailed for it (a
    link confirms only its own signup, P02, P30), leaving the person none that works.
    """
    contact = clean_contact(raw_contact, mailing_list.declared_attributes or (), drop_unknown=False,
                            check_dns=settings().check_email_dns)
    supplied = _api_evidence(mailing_list, proof)
    consent = supplied or _unproven_evidence(mailing_list)
    tracking = _api_tracking_evidence(mailing_list, tracking_proof)
    confirm_now = supplied is not None and not mailing_list.double_opt_in
    if not confirm_now:  # P32: the confirmation mail links the privacy policy
        require_privacy_policy(mailing_list.privacy_policy_url)
    # A pending entry is a confirmation mail a suspended account sends none of (P26); a confirmed
    # one is content that would outlive the erasure of the account's content (P22, P23).
    refuse_account_signups(get_account(mailing_list.account_id))
    suppressed = is_suppressed(mailing_list.account_id, contact.email, mailing_list.list_id)
    target = Status.CONFIRMED if confirm_now else Status.PENDING
    current = None if suppressed else subscriber_store.get_subscriber(mailing_list.list_id, contact.email)
    written = None
    if not suppressed:
        at = now()
        counters = (_refuse_over_address_limits(mailing_list, contact.email, at)
                    if target is Status.PENDING and subscriber_store.signup_replaces(current) else [])
        try:
            written = subscriber_store.write_signup(mailing_list.account_id, mailing_list.list_id,
                                                    contact, consent, target, tracking=tracking,
                                                    pending_for=pending_lifetime(mailing_list.pending_signup_days))
        finally:
            if written is None:  # lost, or refused meanwhile: no mail, so no count (P11)
                _give_back(mailing_list, counters, at)
    if written is not None:
        if target is Status.PENDING:
            _mail_api_signup(mailing_list, written, counters, at)
        _log_signup(mailing_list, Source.API, target.value)
        return ApiSignupResult(written, created=True)
    outcome = signup_outcome(Status(current.status) if current else None, suppressed, confirm_now)
    if outcome is SignupOutcome.ALREADY_CONFIRMED and current is not None:
        return ApiSignupResult(current, created=False)
    if suppressed:
        raise Conflict("this address is suppressed for this account or list (it unsubscribed, "
                       "complained or bounced, or its processing is restricted: P17) and cannot be "
                       "added again", field="email")
    if current is not None and current.restricted:
        raise Conflict("this address's processing is restricted on this list (P17): it is kept but "
                       "not mailed, and cannot be signed up again", field="email")
    status = current.status if current else "changing"
    raise Conflict(f"this address is {status} on this list and cannot be added again", field="email")


def _mail_api_signup(mailing_list: MailingList, written: Subscriber, counters: list[Counter],
                     at: datetime) -> None:
    """Queue the written API signup's confirmation mail. Should SQS fail, its counts go back and the
    caller gets a 503 to post again: the entry waits with no link mailed, so the repost replaces it
    and mails (a 500 keeping the counts would 429 that repost for the whole mail interval, P11).
    Should giving them back fail too, it is still the 503 (_give_back): that repost is then a 429
    whose Retry-After says when the interval ends."""
    try:
        send_confirmation(mailing_list, written.address, "signup", written.consent.given_at,
                          tracking=written.tracking)
    except Exception as error:
        logger.exception("confirmation mail not queued", extra={"list_id": mailing_list.list_id})
        _give_back(mailing_list, counters, at)
        raise ServiceUnavailable("the signup is saved but its confirmation mail could not be queued; "
                                 "post it again to mail it", retry_after=1) from error


def _give_back(mailing_list: MailingList, counters: list[Counter], at: datetime,
               job_id: str | None = None) -> None:
    """`refund` the counts of a signup that mailed nothing, never raising: the signup's own answer
    or error is what its caller meets, not the refund's. Should the refund fail (other
    transactions held the counters throughout: CountersBusy; or DynamoDB refused it), its counts
    stay spent until their windows end, `held_until`: one mail interval of the list's, and one of
    the day's confirmation mails (P11). Logged by references only."""
    try:
        refund(counters, at, job_id)
    except Exception as error:  # whatever it is, the signup's own outcome must win
        logger.warning("signup counts not given back: held until their windows end",
                       extra={"list_id": mailing_list.list_id, "error": type(error).__name__,
                              "held_until": max(counter.window_end(at) for counter in counters)})


def _refuse_over_address_limits(mailing_list: MailingList, address: str, at: datetime) -> list[Counter]:
    """Count an API signup's confirmation mail against the address's limits, the public form's
    counters (domain/signup_limits.address_counters: per list and per account, never across
    accounts; erased with the person, P18), and return them; TooManyRequests naming `email` when
    one is full."""
    counters = address_limits(mailing_list, address)
    consume_or_refuse(counters, at, "this address got as many confirmation mails as it may for "
                      "now (one a list every few minutes, a few a day); nothing was changed and no "
                      "mail was sent: a signup waiting for it keeps its link", field="email")
    return counters


def _api_evidence(mailing_list: MailingList, proof: Mapping[str, object] | None) -> ConsentEvidence | None:
    """The consent proof the caller supplied, recording the text in force at its `given_at` (P02);
    None when there is none, or it predates every version of the list's text (it proves none)."""
    if proof is None:
        return None
    history = consent_history(mailing_list)
    claimed = proof.get("consent_text_version")
    if claimed is not None and claimed not in [v.version for v in history]:
        raise InvalidInput(f"this list has no consent text version {claimed}",
                           field="consent.consent_text_version")
    given_at = _given_at(proof.get("given_at"), "consent.given_at")
    version = version_in_force(history, given_at, named_version([v.version for v in history], claimed),
                               "consent.consent_text_version")
    return None if version is None else _supplied_evidence(proof, "consent", version)


def _unproven_evidence(mailing_list: MailingList) -> ConsentEvidence:
    """Only the API call itself is known; the person proves consent by confirming (P03)."""
    versions = [v.version for v in consent_history(mailing_list)]
    return evidence(now(), Source.API, pick_consent_version(versions, None), ip=None, user_agent=None,
                    form_url=None)


def _api_tracking_evidence(mailing_list: MailingList,
                           proof: Mapping[str, object] | None) -> ConsentEvidence | None:
    """Proof of the tracking consent the caller collected (P30), checked like the mailing
    consent's; None without it, or when the list asks no tracking consent."""
    if proof is None:
        return None
    versions = [v.version for v in tracking_history(mailing_list)]
    if not asks_tracking_consent(mailing_list) or not versions:
        raise InvalidInput("this list asks no tracking consent", field="tracking_consent")
    claimed = proof.get("consent_text_version")
    if claimed is not None and claimed not in versions:
        raise InvalidInput(f"this list has no tracking consent text version {claimed}",
                           field="tracking_consent.consent_text_version")
    given_at = _given_at(proof.get("given_at"), "tracking_consent.given_at")
    version = version_in_force(tracking_history(mailing_list), given_at, named_version(versions, claimed),
                               "tracking_consent.consent_text_version")
    if version is None:
        # No confirmation mail asks for tracking consent (P30): a proof of no text is refused.
        raise InvalidInput("'tracking_consent.given_at' is before this list's first tracking consent text",
                           field="tracking_consent.given_at")
    return _supplied_evidence(proof, "tracking_consent", version)


def _supplied_evidence(proof: Mapping[str, object], scope: str, version: int) -> ConsentEvidence:
    """The proof an API caller supplies under `scope` (`consent`, `tracking_consent`), each
    detail checked and named by its path in the body."""
    return evidence(_given_at(proof.get("given_at"), f"{scope}.given_at"), Source.API, version,
                    ip=clean_ip(_optional_text(proof.get("ip")), f"{scope}.ip"),
                    user_agent=supplied_text(_optional_text(proof.get("user_agent")), f"{scope}.user_agent"),
                    form_url=clean_proof_url(_optional_text(proof.get("form_url")), f"{scope}.form_url"))


def _given_at(raw: object, field: str) -> datetime:
    if not isinstance(raw, str):
        raise InvalidInput(f"'{field}' is required", field=field)
    return supplied_consent_time(raw, field)


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def confirmation_job(mailing_list: MailingList, address: str, purpose: str, sender: AccountProfile,
                     signed_up_at: datetime, tracking: SignupTracking = None) -> EmailJob:
    """The outbox job of a double opt-in mail for the signup whose consent was given at
    `signed_up_at`: its link confirms that signup only (P02, P30), and with it the tracking
    consent given with it (`tracking`: the signup's proof of it), which the mail then names with
    its text (P30). Its id is stable per list, address, purpose, signup and day, so a redelivered
    job (or a second resend) mails once that day; a new signup, which replaces the one waiting,
    gets its own mail."""
    token = confirm_token(signer(), mailing_list.list_id, address, signed_up_at)
    mail = confirmation_email(
        address, mailing_list.name, sender, token,
        public_base_url=settings().public_base_url, default_sender=settings().default_sender,
        language=list_language(mailing_list), privacy_policy_url=mailing_list.privacy_policy_url,
        valid_days=pending_lifetime(mailing_list.pending_signup_days).days,
        tracking_text=confirmed_tracking_text(mailing_list, tracking),
    )
    return EmailJob(
        message_id=confirmation_message_id(hash_key(), mailing_list.list_id, address, purpose, now(),
                                           signed_up_at),
        account_id=mailing_list.account_id,
        kind=CONFIRMATION_KIND,
        email=mail,
        tags={"list": mailing_list.list_id},
    )


def confirmed_tracking_text(mailing_list: MailingList, tracking: SignupTracking) -> str | None:
    """The tracking-consent text that confirming the signup also confirms (P30: confirm_signup):
    the version its box showed (the newest, should that version be missing). None when its box
    was not ticked, or the consent was withdrawn since: the mail then says nothing of tracking."""
    if tracking is None or tracking.given_at is None or getattr(tracking, "withdrawn_at", None):
        return None
    versions = tracking_history(mailing_list)
    texts = {v.version: v.text for v in versions}
    version = tracking.consent_text_version
    shown = texts.get(int(version)) if version is not None else None
    return shown or (versions[-1].text if versions else "")


def confirmation_sender(account_id: str, account: Account | None = None) -> AccountProfile | None:
    """Who a confirmation mail comes from: the account's profile, From its sender identity while
    the account may send as it (P35), else From the platform's own sender; None while the
    account takes no signups (suspended, P26, P33; cancelled; marked for deletion, P23): its
    forms, resends and imports then mail nobody. `account`: the account, when the caller has
    just read it."""
    account = account or get_account(account_id)
    if not takes_signups(account):
        return None
    profile = profile_of(account)
    if profile.sender_identity and not may_send_as(account_id, profile.sender_identity):
        return replace(profile, sender_identity=None)
    return profile


def send_confirmation(mailing_list: MailingList, address: str, purpose: str, signed_up_at: datetime,
                      account: Account | None = None, *, tracking: SignupTracking = None) -> None:
    """Queue the double opt-in mail of the signup given at `signed_up_at`, with its `tracking`
    consent (see confirmation_job), unless the account takes no signups (`account`: the list's,
    when the caller has just read it)."""
    sender = confirmation_sender(mailing_list.account_id, account)
    if sender is None:
        logger.info("confirmation mail not sent: the account takes no signups",
                    extra={"list_id": mailing_list.list_id, "purpose": purpose})
        return
    job = confirmation_job(mailing_list, address, purpose, sender, signed_up_at, tracking)
    enqueue(OUTBOX, job.to_dict())


def resend_confirmation(list_id: str, email: str, ip: str | None) -> None:
    """Queue a request for a new confirmation mail. The same calls whatever the address's state
    (P05): the signups worker mails only a live pending signup (apply_resend). SignupsClosed
    while the list's account takes no signups (signup_sender)."""
    address = normalise_email(email)
    mailing_list = find_public_list(list_id)
    if mailing_list is None:
        return
    signup_sender(mailing_list)  # a closed account's page promises no link (P26, P23)
    refuse_over_request_limits(ip, _TOO_MANY_SIGNUPS, mailing_list.list_id)
    enqueue(SIGNUPS, ResendJob(list_id=mailing_list.list_id, address=address).to_dict())


def apply_resend(job: ResendJob, job_id: str) -> None:
    """Mail a live pending signup its link again, within the per-address limits (counted once
    per `job_id`, as apply_public_signup does)."""
    mailing_list = find_list(job.list_id)
    if mailing_list is None:
        return
    subscriber = subscriber_store.get_subscriber(job.list_id, job.address)
    if subscriber is None or subscriber.restricted:  # kept but not mailed (P17)
        return
    waiting = subscriber if subscriber.status == Status.PENDING.value else returns.waiting_return(subscriber)
    if waiting is None:
        return
    # The rule the signup itself went ahead by (P12): a person coming back after unsubscribing
    # gets their link again; a complaint, bounce, erasure or platform opt-out sends nothing.
    if own_signup(mailing_list.account_id, job.address, mailing_list.list_id) is OwnSignup.BLOCKED:
        return
    if consume(address_limits(mailing_list, job.address), now(), job_id):
        return
    send_confirmation(mailing_list, job.address, "resend", waiting.consent.given_at,
                      tracking=waiting.tracking)
    _log_signup(mailing_list, Source(waiting.consent.source), "resent")


def confirm_signup(token: str, ip: str | None, user_agent: str | None) -> MailingList:
    """Confirm the signup a token names; returns its list (for the redirect).

    Confirming twice is harmless. TokenExpired/TokenInvalid for a bad token; SignupsClosed,
    changing nothing, while the list's account takes no signups (suspended, cancelled, marked for
    deletion: domain/health.takes_signups), whatever the address's state (P05); SignupExpired when
    the signup is gone or can no longer be confirmed (suppressed meanwhile, or ended).
    """
    claim = read_confirm_token(signer(), token)
    mailing_list, standing, _ = _confirmable(claim)
    gone = _no_longer_waiting(mailing_list)
    ip, user_agent = clean_ip(ip), (user_agent or "")[:1000] or None
    # Only the signup the link was mailed for: one that replaced it since (anyone may sign an
    # address up) is confirmed by its own mail's link (P02, P30).
    confirmed = subscriber_store.confirm(claim.list_id, claim.address, ip, user_agent, claim.signed_up_at)
    if confirmed is not None:  # the same confirmation confirms the tracking box (P30)
        subscriber_store.confirm_tracking(confirmed)
    else:
        current = subscriber_store.get_subscriber(claim.list_id, claim.address)
        if current is not None and returns.waiting_return(current):  # their signup back (P12)
            confirmed = returns.confirm_return(current, ip, user_agent, claim.signed_up_at)
        if confirmed is None and (current is None or current.status != Status.CONFIRMED.value):
            raise gone
    if confirmed is not None and standing is OwnSignup.RETURNING:
        _lift_suppression(mailing_list, claim.address)
    logger.info("subscription confirmed", extra={"list_id": mailing_list.list_id,
                                                 "first_time": confirmed is not None})
    return mailing_list


def confirmable_list(token: str) -> tuple[MailingList, AccountProfile]:
    """The list of a confirm link that confirm_signup would take, and who its page names (P08,
    P32), for the page that shows its button (and changes nothing): one whose signup still waits,
    or is confirmed already. TokenExpired/TokenInvalid for a bad token; SignupsClosed, as
    confirming would answer, while the list's account takes no signups; SignupExpired when the
    signup is gone: past the list's own days (P01), replaced, ended or suppressed since."""
    claim = read_confirm_token(signer(), token)
    mailing_list, _, account = _confirmable(claim)
    current = subscriber_store.get_subscriber(claim.list_id, claim.address)
    if current is None or not _awaits_link(current, claim.signed_up_at):
        raise _no_longer_waiting(mailing_list)
    return mailing_list, profile_of(account)


def _confirmable(claim: ConfirmClaim) -> tuple[MailingList, OwnSignup, Account]:
    """What the confirm page and confirming both check first, in the same order: the link's list,
    the person's standing there and its account (one BatchGetItem). SignupExpired when the list
    or account is gone or the person may not come back (P12); SignupsClosed while the account
    takes no signups, whatever the address's state (P05)."""
    mailing_list = find_list(claim.list_id)
    if mailing_list is None:
        raise _no_longer_waiting(mailing_list)
    standing, account = confirmation_standing(mailing_list.account_id, claim.address, mailing_list.list_id)
    if account is None:
        raise _no_longer_waiting(mailing_list)
    refuse_unless_taking_signups(account)
    if standing is OwnSignup.BLOCKED:
        raise _no_longer_waiting(mailing_list)
    return mailing_list, standing, account


def _awaits_link(entry: Subscriber, signed_up_at: datetime | None) -> bool:
    """Whether a live entry is one a link naming the signup given at `signed_up_at` confirms (or
    finds confirmed: confirming twice is harmless)."""
    if entry.status == Status.CONFIRMED.value:
        return True
    waiting = entry if entry.status == Status.PENDING.value else returns.waiting_return(entry)
    return waiting is not None and (signed_up_at is None or waiting.consent.given_at == signed_up_at)


def _no_longer_waiting(mailing_list: MailingList | None) -> SignupExpired:
    # The list's own days (P01: 1-7; `pending_signup_days`), which may be fewer than the link's.
    days = pending_lifetime(mailing_list.pending_signup_days if mailing_list else None).days
    return SignupExpired(N_("this signup is no longer waiting for confirmation; unconfirmed signups "
                            "are forgotten after %(days)s days"), field="token", params={"days": days})


def _lift_suppression(mailing_list: MailingList, address: str) -> None:
    """P12: the person who had unsubscribed confirmed a signup of their own: the account's
    suppression of them no longer holds for this list (imports and the API still cannot add
    them anywhere, and it holds again the moment they unsubscribe or complain); audited."""
    if lift_for_list(mailing_list.account_id, address, mailing_list.list_id):
        audit.record(mailing_list.account_id, "subscriber", "subscriber.resubscribed", mailing_list.list_id)
        logger.info("suppression lifted by the person's own signup", extra={"list_id": mailing_list.list_id})


def _log_signup(mailing_list: MailingList, source: Source, outcome: str) -> None:
    # References only: never the address, phone or IP.
    logger.info("signup handled", extra={"list_id": mailing_list.list_id,
                                         "source": source.value, "outcome": outcome})


def read_confirm_link(token: str) -> ConfirmClaim:
    """What a genuine, unexpired confirm link says; TokenExpired/TokenInvalid otherwise."""
    return read_confirm_token(signer(), token)


def confirm_link_list_hint(token: str) -> str | None:
    """The list id of a confirm link that no longer verifies, to pre-fill the resend form."""
    return confirm_token_list_hint(signer(), token)
