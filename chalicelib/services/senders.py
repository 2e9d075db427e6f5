"""Sender identities (P35): an account adds the addresses and domains it sends as, and every From
it uses — profile, campaign, test, transactional, the confirmation mail sent on its behalf — must
be one of them, verified by SES.

Adding one claims it for the account (exactly one owner, domain/senders.check_may_claim) and
creates the SES identity: for an address SES mails a verification link to it; for a domain SES
uses Easy DKIM and the answer lists the CNAME records to publish. An identity SES has already is
never made again from the API (only the operator gives it to its owner: adopt_sender), and a
claim SES never verified lapses (domain/senders.claim_lapsed) rather than lock the owner out.
The status is always read from SES, never cached, so a verification that lapses stops sending at
once.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters import ses
from chalicelib.config import settings
from chalicelib.domain.clock import now
from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from chalicelib.domain.health import refuse_while_blocked
from chalicelib.domain.retention import deletion_has_come
from chalicelib.domain.senders import (
    Owner,
    SenderKind,
    SenderName,
    add_may_be_running,
    check_may_claim,
    claim_lapsed,
    claims_in_the_way,
    covering_domains,
    dns_records,
    owned_identities_for,
    release_stalled,
    sender_name,
    unavailable,
    verification_covers,
)
from chalicelib.observability import logger
from chalicelib.store import audit
from chalicelib.store import senders as sender_store
from chalicelib.store.accounts import get_account
from chalicelib.store.models import SenderIdentity

# Who releases a claim SES never verified (in the audit log of the account that loses it; the
# account that claims the identity next is another tenant's, and is not named there).
LAPSED = "platform"
# How often a claim whose checks changed under it is read and decided again (_claim).
CLAIM_ATTEMPTS = 3
# How often a delete whose profile or kept claims changed before its give-up began is read and
# decided again (delete_sender).
DELETE_ATTEMPTS = 3


def _owners(domain: str, *, releasing_too: bool = True) -> list[Owner]:
    """Who claims each identity at the domain; without `releasing_too`, not the claims being given
    up (_give_up), which nobody sends as any more but which still hold the identity."""
    return [Owner(item.identity, item.account_id) for item in sender_store.identities_at(domain)
            if releasing_too or item.releasing_at is None]


def sender_view(item: SenderIdentity, state: ses.IdentityState | None) -> dict[str, Any]:
    """What the API shows of one identity: its SES status now, and what to do to verify it."""
    status = state.verification_status if state else "NOT_FOUND_IN_SES"
    view: dict[str, Any] = {
        "identity": item.identity,
        "kind": item.kind,
        "verification_status": status,
        "verified": bool(state and state.verified),
        "created_at": item.created_at.isoformat(),
    }
    if item.kind == SenderKind.DOMAIN.value:
        view["dkim_status"] = state.dkim_status if state else None
        view["dns_records"] = dns_records(item.domain, state.dkim_tokens if state else ())
    else:
        view["dns_records"] = []
    if item.releasing_at is not None:  # a delete that stopped midway: nothing is sent as it
        view["next_step"] = "being deleted: delete it again if it is still listed in a few minutes"
    elif not view["verified"]:
        view["next_step"] = ("publish the DNS records above; SES verifies the domain once it sees them"
                             if item.kind == SenderKind.DOMAIN.value else
                             "open the verification link SES mailed to the address")
    return view


def add_sender(account_id: str, actor: str, raw_identity: str, *, operator: bool = False) -> dict[str, Any]:
    """Claim an address or domain for the account and create its SES identity; its view.
    Forbidden while the account may not send (P26): it may not prepare to send either; nor once
    its deletion date has come (P23), as the purge waits for every add still running. Conflict
    when SES has the identity already and no account owns it: it is someone's verified identity
    (made by hand, or from before identities were owned), which the operator adopts for its
    owner; made again here, its owner's DKIM records and verification would be lost. Conflict
    too under (or, for an address, at) a domain SES has verified for another account or for
    nobody: SES would let it be sent as through that domain. The `operator` (its CLI) may give
    an account an identity under the platform's domain, or under one SES verified for nobody:
    the operator vouches for it, as for an adoption."""
    account = get_account(account_id)
    refuse_while_blocked(account)
    if deletion_has_come(account.deletion_state, account.deletion_due_at, now()):
        # The purge waits while an add may be making an SES identity (give_up_running): adds
        # without end would keep it from ever deleting the account.
        raise Forbidden("the account's deletion date has come: it adds no sender identity",
                        field="account")
    name = sender_name(raw_identity)
    _refuse_platform_domain(name, subdomains=not operator, operator=operator)
    _refuse_under_a_verified_domain(name, account_id, unowned_too=not operator)
    _release_lapsed_claims(name, account_id)
    item = _claim(name, account_id)
    state = _make_in_ses(item)
    # From here the claim holds an SES identity: it stays whatever fails below (the owner's
    # delete removes both). Until the claim says the identity is made, no give-up begins
    # (_give_up); one can only have begun once this add could no longer be running.
    if not sender_store.mark_ses_made(item):
        # The claim went meanwhile (the account's purge removes its claims, whatever runs): what
        # this add made goes too, unless a claim holds the identity now (this one lapsed, and
        # another add gave it up and made the identity afresh); an add after this read finds
        # SES has it, and makes nothing.
        if all(claim.identity != item.identity for claim in sender_store.identities_at(item.domain)):
            ses.delete_identity(item.identity)
        raise Conflict(f"the identity '{name.identity}' was given up while it was being added: "
                       "add it again", field="identity")
    audit.record(account_id, actor, "sender.added", name.kind.value)
    logger.info("sender identity added", extra={"account_id": account_id, "kind": name.kind.value})
    return sender_view(item, state)


def _make_in_ses(item: SenderIdentity) -> ses.IdentityState:
    """Create the claim's SES identity; its state. The claim is released when SES made nothing:
    it had the identity before the claim, or made it meanwhile (Conflict: never made again),
    refused it, or failed before it was asked. When its create fails otherwise, SES may have
    made it (a timeout, or the read after the create failing): the claim stays, so that no SES
    identity outlives its claim, and says the identity is made, so its owner's delete removes
    both at once."""
    try:
        had = ses.identity_state(item.identity) is not None
    except Exception:
        sender_store.release_identity(item)
        raise
    state = None
    if not had:
        try:
            state = ses.create_identity(item.identity)
        except InvalidInput:
            sender_store.release_identity(item)
            raise
        except Exception:
            sender_store.mark_ses_made(item)
            raise
    if state is None:
        sender_store.release_identity(item)
        raise Conflict(f"SES already has the identity '{item.identity}' and no account owns it: "
                       "ask the operator to adopt it for the account it belongs to", field="identity")
    return state


def _claim(name: SenderName, account_id: str, *, ses_made: bool = False) -> SenderIdentity:
    """check_may_claim against the claims at the domain, and the claim, in one transaction with
    the checks that those still hold (sender_store.claim_identity): of two accounts claiming a
    domain and an address at it at once, the later is refused as check_may_claim refuses it,
    before anything is made in SES. A claim refused for another that landed meanwhile and left
    it free (the account's own, one given up) is read and decided again, CLAIM_ATTEMPTS times.
    `ses_made`: SES has the identity already (adopt_sender)."""
    for _ in range(CLAIM_ATTEMPTS):
        read = sender_store.claims_at(name.domain)
        check_may_claim(name, account_id, [Owner(item.identity, item.account_id) for item in read.items])
        item = sender_store.claim_identity(account_id, name, read, ses_made=ses_made)
        if item is not None:
            return item
    raise Conflict(f"sender identities at '{name.domain}' are changing: try again in a moment",
                   field="identity")


def _refuse_platform_domain(name: SenderName, *, subdomains: bool = False, operator: bool = False) -> None:
    """Conflict for the platform's own sender domain and an address at it, and with `subdomains`
    for anything under it (SES's verification of the domain covers them): to an account, worded
    as for another account's identity (domain/senders.unavailable); the `operator` is told why."""
    platform = sender_name(settings().default_sender).domain
    if name.domain == platform or (subdomains and name.domain.endswith(f".{platform}")):
        if operator:
            raise Conflict("the platform's own sender domain cannot be an account's identity",
                           field="identity")
        raise unavailable(name.identity)


def _verified_domain_over(name: SenderName, account_id: str, *,
                          unowned_too: bool) -> tuple[str, bool] | None:
    """The nearest domain covering `name` (domain/senders.covering_domains) that SES has verified
    for someone other than the account, and whether an account owns it; None when there is none.
    Another account's domain claim is read first (a GetItem each) and SES only for a claim found,
    or, with `unowned_too`, for a domain nobody claims (an identity made before identities were
    owned, or by hand)."""
    for domain in covering_domains(name):
        claim = sender_store.domain_claim(domain)
        if (claim is None and not unowned_too) or (claim is not None and claim.account_id == account_id):
            continue
        if verification_covers(_status(domain)):
            return domain, claim is not None
    return None


def _refuse_under_a_verified_domain(name: SenderName, account_id: str, *, unowned_too: bool) -> None:
    """Conflict naming `identity` when `name` is under (or, for an address, at) a domain SES has
    verified for another account, or for nobody yet (with `unowned_too`): SES would let it be
    sent as through that domain's verification, signed with that domain's DKIM keys."""
    found = _verified_domain_over(name, account_id, unowned_too=unowned_too)
    if found is None:
        return
    domain, owned = found
    if owned:
        raise unavailable(name.identity)
    raise Conflict(f"SES has verified '{domain}' and no account owns it: ask the operator to adopt it "
                   "for the account it belongs to", field="identity")


def _release_lapsed_claims(name: SenderName, account_id: str) -> None:
    """Release the other accounts' claims that keep the account from adding `name` when every one
    of them has lapsed (domain/senders.claim_lapsed) or is outranked (_gives_way: unverified under
    a domain the account has verified), deleting their SES identities too, so that
    no SES identity outlives its claim and the newcomer verifies afresh. A claim of `name` itself
    whose give-up was killed midway (any account's, this one's too) gives way the same, and is
    finished: its SES identity, verified by its old owner, goes, and is made afresh. A single
    claim that still holds keeps them all: the add is refused, and nothing changes."""
    items = sender_store.identities_at(name.domain)
    in_the_way = claims_in_the_way(name, account_id, [Owner(item.identity, item.account_id)
                                                      for item in items])
    blocking = [item for item in items if Owner(item.identity, item.account_id) in in_the_way
                or (item.identity == name.identity and item.releasing_at is not None)]
    at = now()
    outranks = bool(blocking) and _verified_own_domain_over(name, account_id)
    held = [item for item in blocking if not _gives_way(item, at, outranked=outranks)]
    if held and all(item.releasing_at is not None for item in held):
        raise Conflict(f"a sender identity at '{name.domain}' is being deleted: try again in a few "
                       "minutes", field="identity")
    if not blocking or held:
        return
    for item in blocking:
        finishing = item.releasing_at is not None  # a give-up stopped midway: not a new lapse
        if _give_up(item) and not finishing:
            audit.record(item.account_id, LAPSED, "sender.lapsed", item.kind)
            logger.info("unverified sender claim lapsed", extra={"account_id": item.account_id,
                                                                 "kind": item.kind})


def _gives_way(item: SenderIdentity, at: datetime, *, outranked: bool = False) -> bool:
    """Whether the claim no longer keeps its identity from an add: lapsed, or being given up by
    a process that can no longer be running or is past SES's delete (_may_be_running), or
    (`outranked`: the adder has verified a domain above it) one SES has and has not verified: its
    claimant could never send as it (SES would send it through the adder's domain, check_sender),
    so it does not lock the domain's owner out for VERIFICATION_WINDOW. A claim SES has verified
    holds (its claimant proved the mailbox or DNS: the operator decides), and so does one whose
    add may still be making it (_add_may_be_running)."""
    if _add_may_be_running(item, at):
        return False
    if item.releasing_at is not None:
        return not _may_be_running(item, at)
    status = _status(item.identity)
    if outranked and status is not None and not verification_covers(status):
        return True
    return claim_lapsed(status, item.created_at, at)


def _verified_own_domain_over(name: SenderName, account_id: str) -> bool:
    """Whether the account claims a domain covering `name` (domain/senders.covering_domains),
    not being given up, that SES has verified."""
    for domain in covering_domains(name):
        claim = sender_store.domain_claim(domain)
        if (claim is not None and claim.account_id == account_id and claim.releasing_at is None
                and verification_covers(_status(domain))):
            return True
    return False


def _status(identity: str) -> str | None:
    state = ses.identity_state(identity)
    return state.verification_status if state else None


def list_senders(account_id: str) -> list[dict[str, Any]]:
    """The account's identities with their SES status (one SES read each: an account has few)."""
    return [sender_view(item, ses.identity_state(item.identity))
            for item in sender_store.account_identities(account_id)]


def _own(account_id: str, raw_identity: str) -> tuple[SenderName, SenderIdentity]:
    name = sender_name(raw_identity)
    return name, sender_store.get_identity(account_id, name.domain, name.identity)


def get_sender(account_id: str, raw_identity: str) -> dict[str, Any]:
    """One of the account's identities (NotFound for another account's)."""
    _, item = _own(account_id, raw_identity)
    return sender_view(item, ses.identity_state(item.identity))


def delete_sender(account_id: str, actor: str, raw_identity: str) -> None:
    """Remove an identity and its SES identity; Conflict while the profile's sender identity
    needs it (change `sender_identity` first). A delete whose profile or kept claims changed
    between its read and its give-up did nothing (sender_store.KeepingChanged): it is read and
    decided again at once, DELETE_ATTEMPTS times, so a PATCH landing meanwhile yields the answer
    a delete just after it gets (204, or 409 because the profile now needs the identity)."""
    for attempt in range(1, DELETE_ATTEMPTS + 1):
        try:
            _delete_as_read(account_id, actor, raw_identity)
            return
        except sender_store.KeepingChanged:
            if attempt == DELETE_ATTEMPTS:
                raise


def _delete_as_read(account_id: str, actor: str, raw_identity: str) -> None:
    """delete_sender's one attempt: read the claim and the profile, decide, give up."""
    name, item = _own(account_id, raw_identity)
    if _may_be_running(item, now()):
        raise Conflict("the identity is being deleted: try again in a few minutes", field="identity")
    if _add_may_be_running(item, now()):
        raise Conflict("the identity is still being added: try again in a moment", field="identity")
    profile_sender = get_account(account_id).sender_identity
    others: list[SenderIdentity] = []
    if profile_sender and name.identity in (profile_sender, profile_sender.rpartition("@")[2]):
        held = [claim for claim in sender_store.identities_at(name.domain) if claim.releasing_at is None]
        covering = owned_identities_for(profile_sender, account_id,
                                        [Owner(claim.identity, claim.account_id) for claim in held])
        others = [claim for claim in held if claim.account_id == account_id
                  and claim.identity in covering and claim.identity != name.identity]
        if not others:
            raise Conflict("the account profile sends as this identity; set another sender_identity "
                           "with PATCH /v1/account first", field="identity")
    # The profile as read, and the claims it keeps sending as, must still hold as the give-up
    # begins (one transaction): after a concurrent delete of those, or a PATCH, all is read again.
    if not _give_up(item, sender_store.Keeping(account_id, profile_sender, tuple(others))):
        # The claim changed between the read and the delete: the platform released it as lapsed
        # (the identity may be another account's now), or another delete of it began meanwhile
        # and is deleting it. Nothing was deleted here, as when the request came a moment later:
        # 404, naming no other account.
        raise NotFound("no such sender identity in this account", field="identity")
    audit.record(account_id, actor, "sender.deleted", name.kind.value)


def _give_up(item: SenderIdentity, keeping: sender_store.Keeping | None = None) -> bool:
    """Give up the account's claim as it was read and delete its SES identity; False (nothing
    done) when the claim is gone already, another account's now (P35), being given up by a
    process that may still be running, or being added by one (its SES create could follow this
    delete, and make an SES identity that no claim holds).

    The claim is marked first, conditionally: an identity another account took over since
    (released as lapsed, claimed, made afresh in SES) is that account's, and SES is left alone;
    from the mark on, nobody sends as it (check_sender); with `keeping`, only while what the
    delete read still holds (sender_store.begin_release). Then SES's identity goes, then the claim.
    When SES's delete fails, the mark is undone, so the delete can be retried; once it is done,
    the claim says so (`ses_deleted`), and a release that then fails is finished by the next
    delete, account purge or add of the identity at once. A process killed between the steps
    leaves the marked claim, never an SES identity without one: once the give-up can no longer
    be running (domain/senders.release_stalled), the next delete, account purge or add of the
    identity finishes it, and an add makes the identity afresh, so its old
    owner's verification is never inherited."""
    if _in_flight(item, now()):
        return False
    if item.ses_deleted:  # a give-up stopped after SES's delete: only the claim is left
        return sender_store.release_unchanged_identity(item)
    before = item.releasing_at
    if not sender_store.begin_release(item, keeping):
        return False
    try:
        ses.delete_identity(item.identity)
    except Exception:
        sender_store.undo_release(item, before)
        raise
    # No give-up touches SES again: a release that fails below (its domain's claims kept changing
    # under it, DynamoDB failed) is finished by the next give-up at once, not once it is stalled.
    sender_store.mark_ses_deleted(item)
    sender_store.release_unchanged_identity(item)
    return True


def _may_be_running(item: SenderIdentity, at: datetime) -> bool:
    """Whether a give-up of the claim began and may still be on its way to SES's delete: no other
    may finish it yet, or the running one could delete an identity made afresh meanwhile. One
    past SES's delete (`ses_deleted`) or stalled (domain/senders.release_stalled) may be finished."""
    return (item.releasing_at is not None and not item.ses_deleted
            and not release_stalled(item.releasing_at, at))


def _in_flight(item: SenderIdentity, at: datetime) -> bool:
    """Whether a give-up or an add of the claim may still be running: no other may begin."""
    return _may_be_running(item, at) or _add_may_be_running(item, at)


def _add_may_be_running(item: SenderIdentity, at: datetime) -> bool:
    """Whether the add that made the claim may still be on its way to SES's create: the claim
    does not say the identity is made (`ses_made`), and that add could still be running
    (domain/senders.add_may_be_running). A claim made before `ses_made` existed is older."""
    return (not item.ses_made and item.releasing_at is None
            and add_may_be_running(item.created_at, at))


def check_sender(account_id: str, address: str, field: str = "from_address") -> str:
    """Forbidden naming `field` unless the account owns `address` or its domain, and no other
    account's verified domain is above it; Conflict when it does but SES has not verified that
    identity (yet, or any more). `address` is normalised. The identity it sends as: the
    address's claim or its domain's."""
    domain = address.rpartition("@")[2]
    owned = owned_identities_for(address, account_id, _owners(domain, releasing_too=False))
    # Under another account's verified domain, it may be verified through that domain: never
    # this account's to send as. (At its own domain, the claims already keep one owner.)
    if owned and _verified_domain_over(SenderName(domain, domain, SenderKind.DOMAIN), account_id,
                                       unowned_too=False):
        owned = []
    if not owned:
        raise Forbidden(f"'{address}' is not a sender identity of this account: add the address or "
                        "its domain with POST /v1/senders and verify it (P35)", field=field)
    for identity in owned:
        state = ses.identity_state(identity)
        if state is not None and state.verified:
            return identity
    raise Conflict(f"'{address}' is not verified by SES yet: see GET /v1/senders for what to do",
                   field=field)


def may_send_as(account_id: str, address: str | None) -> bool:
    """check_sender as a yes or no (for mail the platform sends on the account's behalf, which
    falls back to the platform's own sender instead of failing)."""
    if not address:
        return False
    try:
        check_sender(account_id, address)
    except (Forbidden, Conflict):
        return False
    return True


def adopt_sender(account_id: str, raw_identity: str) -> dict[str, Any]:
    """The operator vouches that an identity SES already has belongs to this account (stacks
    deployed before identities were owned, P35): it is claimed as add_sender would, but the SES
    identity is kept as it is, so its verification and DKIM records stay valid. NotFound when SES
    does not have it (add it with add_sender instead), or when there is no such account: an
    identity claimed for an account nobody holds could be sent as by none, and claimed by none."""
    name = sender_name(raw_identity)
    get_account(account_id)
    _refuse_platform_domain(name, operator=True)
    _refuse_under_a_verified_domain(name, account_id, unowned_too=False)
    check_may_claim(name, account_id, _owners(name.domain))  # before SES's answer: as add_sender's
    state = ses.identity_state(name.identity)
    if state is None:
        raise NotFound(f"SES has no identity '{name.identity}': add it with POST /v1/senders",
                       field="identity")
    item = _claim(name, account_id, ses_made=True)
    audit.record(account_id, "operator", "sender.adopted", name.kind.value)
    return sender_view(item, state)


def delete_account_identities(account_id: str) -> int:
    """Delete every identity of an account being deleted (P22, P23, P24), in SES and as a claim;
    how many. SES is a sub-processor: an address identity is someone's mailbox, and it must not
    outlive the account, nor stay behind where no account may add it (add_sender). Each goes as
    delete_sender's does (_give_up): an identity another account took over meanwhile is left to
    it, and not counted. Idempotent: gone already is fine, and a run stopped midway leaves the
    rest for the next; one killed within an identity's give-up leaves its claim marked, which the
    next run (a day later: the give-up cannot be running any more) finishes."""
    items = sender_store.account_identities(account_id)
    return sum(_give_up(item) for item in items)


def give_up_running(account_id: str) -> bool:
    """Whether a give-up of one of the account's identities began within RELEASE_GRACE (a delete
    that may still be running, or was killed), or an add of one may still be making it: the
    account's purge waits for a later run, which finishes it (delete_account_identities). Purged
    now, the claim would be gone, and nothing could finish a give-up killed before SES's delete,
    nor delete what the add makes: SES's identity would outlive the account."""
    at = now()
    return any(_in_flight(item, at) for item in sender_store.account_identities(account_id))


def register_operator_sender(account_id: str, raw_identity: str) -> None:
    """The operator's CLI gives a new account its sender identity: adopted when SES has it
    already (the operator made it by hand, infra/README.md, and vouches for it), else claimed and
    created in SES like add_sender (verification still follows SES's own rules)."""
    if ses.identity_state(sender_name(raw_identity).identity) is not None:
        adopt_sender(account_id, raw_identity)
    else:
        add_sender(account_id, "operator", raw_identity, operator=True)
