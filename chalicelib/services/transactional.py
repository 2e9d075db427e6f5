"""Queueing a transactional email (P11): one recipient, a From the account owns and SES verified
(P35), never to an address that bounced hard, complained or was erased, nor to a person who opted
out of the platform (P12); sent by the send worker like every other mail."""
from __future__ import annotations

from email.headerregistry import Address
from typing import Any

from chalicelib.adapters.sqs import enqueue
from chalicelib.config import hash_key, settings
from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.from_names import check_from_name
from chalicelib.domain.header_text import check_header_text
from chalicelib.domain.health import refuse_while_blocked
from chalicelib.domain.ids import new_id
from chalicelib.domain.outbox import EmailJob, refuse_oversized
from chalicelib.domain.outgoing import OutgoingEmail
from chalicelib.domain.sending import transactional_message_id
from chalicelib.domain.suppression import account_subject, address_hash
from chalicelib.domain.transactional import (
    IDEMPOTENCY_WINDOW,
    KIND,
    blocking_reason,
    idempotency_key_id,
    request_fingerprint,
)
from chalicelib.domain.transactional_parts import render_parts
from chalicelib.observability import logger
from chalicelib.resources import OUTBOX
from chalicelib.services.senders import check_sender
from chalicelib.store.accounts import get_account
from chalicelib.store.idempotency import hold_key
from chalicelib.store.suppressions import suppression_reasons


def queue_transactional(account_id: str, request: dict[str, Any], idempotency_key: str | None) -> str:
    """Check and queue one transactional email; returns its message id. The same request with the
    same `idempotency_key` gives the same id, so a retry is sent once; the key with a different
    request within IDEMPOTENCY_WINDOW is Unprocessable (nothing queued). A message too big to
    queue is PayloadTooLarge naming `html` or `text`."""
    check_header_text(request.get("subject"), "subject")  # an encoded-word: once rendered (render_parts)
    check_from_name(request.get("from_name"))
    account = get_account(account_id)
    refuse_while_blocked(account)
    to = normalise_email(request["to"], field="to", check_dns=settings().check_email_dns, mailable=True)
    from_address = request.get("from_address") or account.sender_identity
    if not from_address:
        raise InvalidInput("give 'from_address' or set a sender identity in the account profile",
                           field="from_address")
    from_address = normalise_email(from_address, field="from_address", mailable=True)
    check_sender(account_id, from_address)
    reason = blocking_reason(suppression_reasons(account_id, to))
    if reason:
        raise Conflict(f"'to' is suppressed for this account ({reason}): transactional mail is never "
                       "sent to an address that bounced, complained or was erased (P11), nor to a "
                       "person whose processing is restricted (P17) or who opted out of the platform "
                       "(P12)", field="to")
    subject, html, text = render_parts(request["subject"], request.get("html"), request.get("text"),
                                       request.get("variables"))
    reply_to = (normalise_email(request["reply_to"], field="reply_to", mailable=True)
                if request.get("reply_to") else None)
    sender = Address(display_name=request.get("from_name") or "", addr_spec=from_address)
    mail = OutgoingEmail(sender=str(sender), recipient=to, subject=subject, text=text, html=html,
                         reply_to=reply_to)
    fingerprint = request_fingerprint(hash_key(), request, to) if idempotency_key else None
    message_id = (transactional_message_id(account_id, idempotency_key, fingerprint)
                  if idempotency_key and fingerprint else new_id("tx"))
    job = EmailJob(message_id, account_id, KIND, mail)
    refuse_oversized(job)
    if idempotency_key and fingerprint:  # the last check: a refused request does not take the key
        hold_key(idempotency_key_id(account_id, idempotency_key), fingerprint,
                 account_subject(account_id, address_hash(to, hash_key())),
                 IDEMPOTENCY_WINDOW)
    enqueue(OUTBOX, job.to_dict())
    logger.info("transactional email queued", extra={"account_id": account_id, "message_id": job.message_id})
    return job.message_id
