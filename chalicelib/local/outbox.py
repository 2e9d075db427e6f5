"""The local outbox: every email and SMS the stack "sent", as a page and as JSON.

Only the local runner registers this blueprint (app.py never does), so it is never deployed: it
shows contact data, which is its purpose on a developer's machine and unthinkable anywhere else.
Email HTML is shown in a sandboxed iframe (no scripts; links open in a new, unsandboxed tab so a
person can click a confirmation link); everything else on the page is escaped.
"""
from __future__ import annotations

from html import escape
from typing import Any

from chalice import Blueprint, Response

from chalicelib.local.sent import SentEmail, SentSms, sent_emails, sent_sms, url_spans
from chalicelib.web.responses import html_response, json_response

blueprint = Blueprint(__name__)

OUTBOX_PATH = "/_local/outbox"
# Scripts are never needed here; the sandboxed iframes inherit this policy too.
_SECURITY_HEADERS = {"Content-Security-Policy": "script-src 'none'; object-src 'none'",
                     "Cache-Control": "no-store"}


@blueprint.route(OUTBOX_PATH, methods=["GET"])
def outbox_page() -> Response:
    emails, sms = list(reversed(sent_emails())), list(reversed(sent_sms()))
    return html_response(render_page(emails, sms), headers=_SECURITY_HEADERS)


@blueprint.route(f"{OUTBOX_PATH}.json", methods=["GET"])
def outbox_json() -> Response:
    """Newest first: `{"emails": [...], "sms": [...]}`."""
    return json_response(
        {
            "emails": [email_view(item) for item in reversed(sent_emails())],
            "sms": [sms_view(item) for item in reversed(sent_sms())],
        },
        headers={"Cache-Control": "no-store"},
    )


def email_view(item: SentEmail) -> dict[str, Any]:
    return {
        "id": item.message_id,
        "from": item.sender,
        "to": item.to,
        "subject": item.subject,
        "date": item.date,
        "headers": [{"name": name, "value": value} for name, value in item.headers],
        "text": item.text,
        "html": item.html,
        "links": item.links,
    }


def sms_view(item: SentSms) -> dict[str, Any]:
    return {"id": item.message_id, "to": item.to, "message": item.message}


def render_page(emails: list[SentEmail], sms: list[SentSms]) -> str:
    """The whole outbox page; every value from a message is escaped."""
    email_html = "".join(_email_article(item) for item in emails) or "<p>No email sent yet.</p>"
    sms_html = "".join(_sms_article(item) for item in sms) or "<p>No SMS sent yet.</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tidings local outbox</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }}
article {{ border: 1px solid #ccc; border-radius: 6px; padding: 1rem; margin: 1rem 0; }}
dl {{ display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }}
dt {{ font-weight: bold; }} dd {{ margin: 0; }}
pre {{ white-space: pre-wrap; word-break: break-word; background: #f6f6f6; padding: .5rem; }}
li a, dd {{ overflow-wrap: anywhere; }}
iframe {{ width: 100%; height: 24rem; border: 1px solid #ddd; }}
</style></head><body>
<h1>Local outbox</h1>
<p>Everything the local stack sent, newest first. Nothing leaves this machine; reload to see new
mail. Also as <a href="{OUTBOX_PATH}.json">JSON</a>.</p>
<h2>Email ({len(emails)})</h2>{email_html}
<h2>SMS ({len(sms)})</h2>{sms_html}
</body></html>"""


def _email_article(item: SentEmail) -> str:
    links = "".join(f"<li>{_link(url)}</li>" for url in item.links)
    headers = "\n".join(f"{name}: {value}" for name, value in item.headers)
    text = f"<h4>Text</h4><pre>{_linkify(item.text)}</pre>" if item.text is not None else ""
    html = ""
    if item.html is not None:
        # <base target=_blank>: a click opens a new tab, which the sandbox lets escape it.
        document = escape('<base target="_blank">' + item.html, quote=True)
        html = ('<h4>HTML</h4><iframe title="HTML body" referrerpolicy="no-referrer" '
                f'sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc="{document}"></iframe>')
    return f"""<article>
<h3>{escape(item.subject) or "(no subject)"}</h3>
<dl><dt>From</dt><dd>{escape(item.sender)}</dd><dt>To</dt><dd>{escape(item.to)}</dd>
<dt>Date</dt><dd>{escape(item.date)}</dd><dt>SES id</dt><dd>{escape(item.message_id)}</dd></dl>
{f"<h4>Links</h4><ul>{links}</ul>" if links else ""}
<details><summary>All headers</summary><pre>{escape(headers)}</pre></details>
{text}{html}
</article>"""


def _sms_article(item: SentSms) -> str:
    return f"""<article>
<dl><dt>To</dt><dd>{escape(item.to)}</dd><dt>SNS id</dt><dd>{escape(item.message_id)}</dd></dl>
<pre>{_linkify(item.message)}</pre>
</article>"""


def _link(url: str) -> str:
    return f'<a href="{escape(url, quote=True)}" target="_blank" rel="noopener">{escape(url)}</a>'


def _linkify(text: str | None) -> str:
    """Escape `text`, turning each http(s) URL into a link."""
    text = text or ""
    pieces, position = [], 0
    for start, url in url_spans(text):
        pieces += [escape(text[position:start]), _link(url)]
        position = start + len(url)
    return "".join(pieces) + escape(text[position:])
