"""Accounts: create, read, update the profile."""
from __future__ import annotations

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.domain.accounts import AccountProfile
from chalicelib.domain.clock import now
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.ids import new_id
from chalicelib.domain.retention import day_of
from chalicelib.store.models import Account, SenderIdentity
from chalicelib.store.transactions import first_condition_failed, write_transaction

_CONDITION_FAILED = "ConditionalCheckFailedException"


def create_account(name: str, **profile: str | None) -> Account:
    at = now()
    account = Account(
        account_id=new_id("acc"), name=name, created_at=at, updated_at=at,
        last_active_day=day_of(at), **profile
    )
    account.save(condition=Account.account_id.does_not_exist())
    return account


def get_account(account_id: str) -> Account:
    try:
        return Account.get(account_id)
    except Account.DoesNotExist:
        raise NotFound("no such account") from None


def account_exists(account_id: str) -> bool:
    """Whether the account is held (one GetItem of its key only)."""
    try:
        Account.get(account_id, attributes_to_get=["account_id"])
    except Account.DoesNotExist:
        return False
    return True


def account_names(account_ids: list[str]) -> list[str]:
    """The names of those of the accounts still held, in the order given (one BatchGetItem
    per 100, the name only)."""
    names = {account.account_id: account.name
             for account in Account.batch_get(account_ids, attributes_to_get=["account_id", "name"])}
    return [names[account_id] for account_id in account_ids if account_id in names]


def update_profile(account: Account, changes: dict[str, str], *, sends_as: str | None = None) -> Account:
    """Write the changes; with `sends_as` (the identity the new sender_identity is the account's
    through, P35), in one transaction with a check that the account still claims it and is not
    giving it up: Conflict naming `sender_identity` when a delete of it came first."""
    actions = [getattr(Account, name).set(value) for name, value in changes.items()]
    actions.append(Account.updated_at.set(now()))
    if sends_as is None:
        account.update(actions=actions)
        return account
    try:
        with write_transaction(Account) as transaction:
            transaction.condition_check(
                SenderIdentity, sends_as.rpartition("@")[2], sends_as,
                condition=(SenderIdentity.account_id == account.account_id)
                & SenderIdentity.releasing_at.does_not_exist())
            transaction.update(account, actions=actions)
    except TransactWriteError as exc:
        if first_condition_failed(exc):
            raise Conflict(f"'{sends_as}' is being deleted from the account's sender identities: "
                           "choose another sender_identity", field="sender_identity") from None
        raise
    account.refresh(consistent_read=True)
    return account


def set_email_change_nonce(account_id: str, nonce: str) -> None:
    """Remember the nonce of the latest email-change mail: only its link may confirm (P27)."""
    Account(account_id=account_id).update(actions=[Account.email_change_nonce.set(nonce)],
                                          condition=Account.account_id.exists())


def change_contact_email(account_id: str, new_email: str, nonce: str) -> bool:
    """Make `new_email` the contact email and void the link's nonce, in one conditional update;
    False when the nonce is not the latest one (a newer mail was sent, or the link was used).
    A deletion link mailed to the old address is voided too: deletion is confirmed by the
    account's email (P23), which is no longer that one."""
    try:
        Account(account_id=account_id).update(
            actions=[Account.contact_email.set(new_email), Account.email_change_nonce.remove(),
                     Account.deletion_nonce.remove(), Account.updated_at.set(now())],
            condition=Account.email_change_nonce == nonce)
    except UpdateError as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            return False
        raise
    return True


def profile_of(account: Account) -> AccountProfile:
    """The sender a message names (P08), as the domain rules take it."""
    return AccountProfile(name=account.name, postal_address=account.postal_address,
                          contact_email=account.contact_email, sender_identity=account.sender_identity)
