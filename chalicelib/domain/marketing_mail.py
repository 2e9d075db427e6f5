"""One marketing email for one recipient (P10), built from a campaign's templates.

Every message gets, per recipient:
- signed unsubscribe and preference links, and the RFC 8058 headers
  `List-Unsubscribe: <https://…/u/{token}>, <mailto:unsubscribe@{sender domain}?subject=unsubscribe-{token}>`
  and `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (P06);
- a footer with the account's name, postal address and contact email when the part lacks them
  (P08), and the unsubscribe and preference links when the part lacks the unsubscribe link;
- when the campaign is flagged as an advertisement (P09), the label ADVERTISEMENT_LABEL
  ("Advertisement") as a banner at the top of the HTML part and as the first line of the text
  part. The subject is left as the author wrote it: a subject prefix is a local convention
  ("[Ad]", "Publicitate") that an account may write into its subject template;
- with the list's tracking on (P15), and for a recipient who consented where the list asks (P30),
  an open pixel and http(s) links rewritten to the click-redirect route, the target inside the
  token with the link's label: the link as the author wrote it in the template, so that reports
  never name it as rendered for one recipient (domain/link_labels.py, P14); otherwise neither.
  Only the HTML part is tracked: the text part shows readers the real addresses. Those two kinds
  of link may point elsewhere than the public pages (`tracking_base_url`: in AWS, a Lambda
  function URL, which costs no API Gateway request per open or click).
"""
from __future__ import annotations

import html as html_escaping
import re
from dataclasses import dataclass, replace

from chalicelib.domain.accounts import AccountProfile
from chalicelib.domain.addresses import ascii_domain
from chalicelib.domain.campaigns import CampaignContent
from chalicelib.domain.header_text import subject_line
from chalicelib.domain.html_text import html_to_text, shows_link, visible_end, visible_markup, visible_tag
from chalicelib.domain.link_labels import WrittenLinks, mark_written_links, without_marks
from chalicelib.domain.list_settings import ListSettings
from chalicelib.domain.mail_links import (
    CLICK,
    FORWARD,
    OPEN,
    PREFERENCES,
    UNSUBSCRIBE,
    LinkClaim,
    click_token,
    is_web_link,
    link_token,
    link_url,
)
from chalicelib.domain.outgoing import OutgoingEmail
from chalicelib.domain.subscriptions import Contact
from chalicelib.domain.templates import render, template_variables
from chalicelib.domain.tokens import Signer
from chalicelib.templates import N_, gettext_for

ADVERTISEMENT_LABEL = N_("Advertisement")

# An <a> tag's href; the tag's attributes run past no "<" but in a quoted value (else
# quadratic, see link_labels).
_LINK = re.compile(r"""(<a\b(?:[^<>"']|"[^"]*+"|'[^']*+')*?\bhref\s*=\s*)(["'])([^"'>]+)\2""",
                   re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_BODY_START = re.compile(r"<body\b[^<>]*>", re.IGNORECASE)
_BODY_END = re.compile(r"</body", re.IGNORECASE)


@dataclass(frozen=True)
class _Links:
    signer: Signer
    claim: LinkClaim
    base: str
    tracking_base: str
    unsubscribe_token: str
    unsubscribe: str
    preferences: str
    forward: str


def compose_marketing_email(*, signer: Signer, account_id: str, campaign_id: str | None,
                            content: CampaignContent, recipient: Contact, mailing_list: ListSettings,
                            sender: AccountProfile, public_base_url: str,
                            tracking_base_url: str | None = None, trackable: bool = True) -> OutgoingEmail:
    """The message for `recipient`, rendered from a campaign whose templates were validated.

    The pixel and tracked links go only into the mail of a `trackable` recipient (P30: the list
    asks no tracking consent, or they gave it), and only as the list's tracking allows (P15).
    Open pixel and click links start with `tracking_base_url` (default: `public_base_url`);
    every other link with `public_base_url`.
    """
    if not trackable:
        mailing_list = replace(mailing_list, track_opens=False, track_clicks=False)
    links = _links(signer, LinkClaim(account_id, mailing_list.list_id, recipient.email, campaign_id),
                   public_base_url, tracking_base_url or public_base_url)
    variables = template_variables(recipient, list_name=mailing_list.name, account_name=sender.name,
                                   unsubscribe_url=links.unsubscribe, preferences_url=links.preferences,
                                   forward_url=links.forward)
    written = _written_links(content.html or "", mailing_list)
    html = render(written.source, "html", variables) if written.source else None
    text = (render(content.text, "text", variables) if content.text
            else html_to_text(without_marks(html or "")))
    text = _text_part(text, content.advertisement, sender, mailing_list, links)
    if html is not None:
        html = _html_part(html, content.advertisement, sender, mailing_list, links, written)
    subject = subject_line(render(content.subject or "", "subject", variables))
    from_address = content.from_address or sender.sender_identity or ""
    # Here, not at the top: the fan-out, the scheduler and SMS import this module for its list
    # settings and label, and compose no mail (cold start, issue 15).
    from email.headerregistry import Address

    return OutgoingEmail(
        sender=str(Address(display_name=content.from_name or "", addr_spec=from_address)),
        recipient=recipient.email,
        subject=subject,
        text=text,
        html=html,
        reply_to=content.reply_to,
        headers=unsubscribe_headers(links.unsubscribe, links.unsubscribe_token, from_address),
    )


def unsubscribe_headers(unsubscribe_url: str, token: str, from_address: str) -> dict[str, str]:
    """The RFC 2369 / RFC 8058 headers (P06): one-click POST to the URL, or a mail to the
    sender's domain whose subject carries the token."""
    # In A-labels, as From's: a header of Unicode would be RFC 2047-encoded, and an encoded
    # word is no `<mailto:...>` URI (RFC 2369).
    domain = ascii_domain(from_address.rpartition("@")[2])
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>, "
                            f"<mailto:unsubscribe@{domain}?subject=unsubscribe-{token}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _links(signer: Signer, claim: LinkClaim, public_base_url: str, tracking_base_url: str) -> _Links:
    base = public_base_url.rstrip("/")
    unsubscribe_token = link_token(signer, UNSUBSCRIBE, claim)
    return _Links(
        signer=signer,
        claim=claim,
        base=base,
        tracking_base=tracking_base_url.rstrip("/"),
        unsubscribe_token=unsubscribe_token,
        unsubscribe=link_url(base, UNSUBSCRIBE, unsubscribe_token),
        preferences=link_url(base, PREFERENCES, link_token(signer, PREFERENCES, claim)),
        forward=link_url(base, FORWARD, link_token(signer, FORWARD, claim)),
    )


# --- HTML part ----------------------------------------------------------------------------------

def _written_links(html: str, mailing_list: ListSettings) -> WrittenLinks:
    """The HTML template to render: with clicks tracked, its links marked by their place, so each
    rendered link's click is labelled as written."""
    return mark_written_links(html) if html and mailing_list.track_clicks else WrittenLinks(html)


def _html_part(html: str, advertisement: bool, sender: AccountProfile, mailing_list: ListSettings,
               links: _Links, written: WrittenLinks) -> str:
    if mailing_list.track_clicks:
        html = _track_clicks(html, links, written)
    footer = _html_footer(html, sender, mailing_list, links)
    if mailing_list.track_opens:
        token = link_token(links.signer, OPEN, links.claim)
        footer += f'<img src="{link_url(links.tracking_base, OPEN, token)}" width="1" height="1" alt="">'
    if footer:
        html = _before_body_end(html, footer)
    if advertisement:
        html = _after_body_start(
            html, '<p style="margin:0 0 16px;padding:4px 8px;border:1px solid #999;font-size:12px;'
                  f'font-weight:bold;text-transform:uppercase">'
                  f'{gettext_for(mailing_list.language)(ADVERTISEMENT_LABEL)}</p>')
    return html


def _track_clicks(html: str, links: _Links, written: WrittenLinks) -> str:
    """Point every http(s) link at the click route, its token labelling it as written; the
    platform's own links stay as they are. No mark of `written` is left."""
    tokens: dict[tuple[str, str | None], str] = {}
    own_links = f"{links.base}/"

    def rewrite(match: re.Match[str]) -> str:
        label, href = written.label_of(match.group(3))
        target = html_escaping.unescape(href)
        if is_web_link(target) and not target.startswith(own_links):
            if (target, label) not in tokens:
                token = click_token(links.signer, links.claim, target, label)
                tokens[target, label] = link_url(links.tracking_base, CLICK, token)
            href = tokens[target, label]
        return f"{match.group(1)}{match.group(2)}{href}{match.group(2)}"

    return without_marks(_LINK.sub(rewrite, html))


def _html_footer(html: str, sender: AccountProfile, mailing_list: ListSettings, links: _Links) -> str:
    escape = html_escaping.escape
    # Judged on what the reader sees: a link or an address in a comment shows nobody anything.
    shown = visible_markup(html)
    parts = []
    if _lacks_identity(shown, sender, escaped=True):
        contact = escape(sender.contact_email or "")
        parts.append(f"<p>{escape(sender.name)} &middot; {escape(sender.postal_address or '')} &middot; "
                     f'<a href="mailto:{contact}">{contact}</a></p>')
    # The tenant's own link counts only when the reader can see and click it (P06): a quick test
    # first, the parse only for a part that holds the URL at all.
    if links.unsubscribe not in shown or not shows_link(html, links.unsubscribe):
        _ = gettext_for(mailing_list.language)
        why = _("You receive this email because you subscribed to %(list)s.") % {
            "list": escape(mailing_list.name)}
        unsubscribe, preferences = _("Unsubscribe"), _("Update your preferences")
        parts.append(f"<p>{why} "
                     f'<a href="{links.unsubscribe}">{unsubscribe}</a> &middot; '
                     f'<a href="{links.preferences}">{preferences}</a></p>')
    if not parts:
        return ""
    return ('<div style="margin-top:32px;font-size:12px;color:#666;line-height:1.5">'
            + "".join(parts) + "</div>")


def _before_body_end(html: str, addition: str) -> str:
    # Never inside a comment or an unseen element, where the reader would not see it (P06, P08).
    match = visible_tag(html, _BODY_END, last=True)
    end = visible_end(html) if match is None else match.start()
    return html[:end] + addition + html[end:]


def _after_body_start(html: str, addition: str) -> str:
    match = visible_tag(html, _BODY_START)
    return addition + html if match is None else html[:match.end()] + addition + html[match.end():]


# --- text part ----------------------------------------------------------------------------------

def _text_part(text: str, advertisement: bool, sender: AccountProfile, mailing_list: ListSettings,
               links: _Links) -> str:
    footer = []
    if _lacks_identity(text, sender, escaped=False):
        footer.append(f"{sender.name}, {_one_line(sender.postal_address or '')}, {sender.contact_email}")
    _ = gettext_for(mailing_list.language)
    if links.unsubscribe not in text:
        why = _("You receive this email because you subscribed to %(list)s.") % {"list": mailing_list.name}
        unsubscribe, preferences = _("Unsubscribe:"), _("Preferences:")
        footer.append(f"{why}\n{unsubscribe} {links.unsubscribe}\n{preferences} {links.preferences}")
    if footer:
        text = text.rstrip() + "\n\n-- \n" + "\n".join(footer) + "\n"
    return f"{_(ADVERTISEMENT_LABEL)}\n\n{text}" if advertisement else text


def _lacks_identity(body: str, sender: AccountProfile, *, escaped: bool) -> bool:
    """True when the part does not show the postal address and the contact email (P08)."""
    flat = _one_line(body)
    wanted = [_one_line(sender.postal_address or ""), sender.contact_email or ""]
    if escaped:
        wanted = [html_escaping.escape(value, quote=False) for value in wanted]
    return not all(value and value in flat for value in wanted)


def _one_line(value: str) -> str:
    return _SPACES.sub(" ", value).strip()
