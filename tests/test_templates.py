"""Account templates: sandboxed, autoescaped HTML, validated at save time; and HTML → text."""
from __future__ import annotations

import pytest

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.html_text import html_to_text
from chalicelib.domain.subscriptions import Contact
from chalicelib.domain.templates import render, template_variables, validate_template


def _variables(contact: Contact) -> dict:
    return template_variables(contact, list_name="News", account_name="Acme", unsubscribe_url="https://t/u/x",
                              preferences_url="https://t/p/x", forward_url="https://t/fw/x")


def test_every_documented_variable_renders():
    source = ("{{ email }}|{{ name }}|{{ company }}|{{ phone }}|{{ website }}|{{ field_of_activity }}|"
              "{{ attributes.plan }}|{{ list_name }}|{{ account_name }}|{{ unsubscribe_url }}|"
              "{{ preferences_url }}|{{ forward_url }}")
    validate_template(source, "text", ["plan"])
    contact = Contact(email="ann@example.com", name="Ann", company="Co", phone="+40712345678",
                      website="https://ann.example", field_of_activity="Retail", attributes={"plan": "gold"})
    assert render(source, "text", _variables(contact)) == (
        "ann@example.com|Ann|Co|+40712345678|https://ann.example|Retail|gold|News|Acme|https://t/u/x|"
        "https://t/p/x|https://t/fw/x")


def test_missing_fields_render_empty_not_none():
    rendered = render("[{{ name }}][{{ company }}][{{ attributes.plan }}]", "text",
                      _variables(Contact(email="ann@example.com")))
    assert rendered == "[][][]"


def test_html_is_autoescaped_and_text_parts_are_not():
    contact = Contact(email="ann@example.com", name='<script>alert("x")</script>')
    assert render("<p>{{ name }}</p>", "html", _variables(contact)) == \
        "<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>"
    for field in ("text", "subject", "sms_body"):
        assert render("{{ name }}", field, _variables(contact)) == '<script>alert("x")</script>'


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''['__class__'] }}",
    "{{ cycler.__init__.__globals__ }}",
    "{% if false %}{{ lipsum.__globals__ }}{% endif %}",
    "{% set n = '__cla' ~ 'ss__' %}{{ ''[n] }}",
    "{{ '{0.__class__}'.format(name) }}",
    "{{ attributes._values }}",
])
def test_sandbox_escapes_are_refused_at_save_time(source):
    with pytest.raises(InvalidInput) as error:
        validate_template(source, "html")
    assert error.value.field == "html"


@pytest.mark.parametrize(("source", "limit"), [
    ("{{ 'x' * 100000000 }}", "value_chars"),
    ("{{ 9 ** 99999999 }}", "int_bits"),
    # The probes (#12): each saved with 201, the last one took 12 s.
    ("{{ 'x'|center(10000000) }}", "value_chars"),
    ("{{ '%10000000s' % 'x' }}", "value_chars"),
    ("{{ (['x'*10000]*1000)|join }}", "value_chars"),
    ("{{ ((10**100)**100)**100 }}", "int_bits"),
    ("{{ 'x'.center(10000000) }}", "value_chars"),
    ("{{ '{:>999999999999}'.format('x') }}", "value_chars"),
    ("{{ ('x'*100000)|replace('x', 'xy') }}", "value_chars"),
    ("{% set a = 'x'*10000 %}{% set b = a~a~a~a~a~a~a~a~a~a~a %}{{ b }}", "value_chars"),
    ("{{ 'a'*99999 + 'bb' }}", "value_chars"),
])
def test_memory_bombs_are_refused(source, limit):
    with pytest.raises(InvalidInput) as error:
        validate_template(source, "text")
    assert error.value.field == "text" and f"limit '{limit}'" in error.value.message


def test_syntax_error_names_the_field_and_line():
    with pytest.raises(InvalidInput) as error:
        validate_template("Hello\n\n<p>{{ name }</p>", "html")
    assert error.value.field == "html"
    assert "line 3" in error.value.message and "unexpected '}'" in error.value.message


def test_unknown_variable_names_the_field_and_line():
    with pytest.raises(InvalidInput) as error:
        validate_template("Hi\n{{ nmae }}", "subject")
    assert error.value.field == "subject"
    assert "'nmae' is undefined" in error.value.message and "line 2" in error.value.message


def test_undeclared_attribute_is_refused_when_the_lists_declare_attributes():
    validate_template("{{ attributes.plan }}", "text", ["plan"])
    with pytest.raises(InvalidInput, match="'city' is not an attribute"):
        validate_template("{{ attributes.city }}", "text", ["plan"])


def test_runtime_errors_are_found_by_the_sample_render():
    with pytest.raises(InvalidInput, match="division by zero"):
        validate_template("{{ 1 / 0 }}", "sms_body")


def test_html_to_text_keeps_structure_and_link_urls():
    html = """<html><head><title>T</title><style>p {color: red}</style></head><body>
      <h1>Big   news</h1><p>Read <a href="https://shop.example/a?b=1&amp;c=2">our sale</a>.<br>Now.</p>
      <ul><li>One</li><li>Two</li></ul>
      <p><a href="https://x.example">https://x.example</a> <a href="mailto:help@acme.example">Help</a>
      <a href="#top">Top</a> <img src="logo.png" alt="Acme logo"></p>
      <script>alert(1)</script><p>Caf&eacute; &amp; {{ name }} <a href="{{ unsubscribe_url }}">Leave</a></p>
    </body></html>"""
    assert html_to_text(html) == (
        "Big news\n\n"
        "Read our sale (https://shop.example/a?b=1&c=2).\nNow.\n\n"
        "- One\n- Two\n\n"
        "https://x.example Help (help@acme.example) Top Acme logo\n\n"
        "Café & {{ name }} Leave ({{ unsubscribe_url }})"
    )


def test_a_render_stops_at_its_time_budget():
    """A slow template holds a Lambda (or the local stack's one process) for at most its budget:
    the render checks the clock while it loops and calls (issue #12: a 12 s save stalled another
    tenant's request for 9 s)."""
    import time

    from chalicelib.domain.templates import TemplateLimitExceeded, TemplateLimits, render_bounded

    slow = "{% for i in range(99000) %}{% for j in range(99000) %}{% endfor %}{% endfor %}"
    started = time.monotonic()
    with pytest.raises(TemplateLimitExceeded, match="limit 'seconds'"):
        render_bounded(slow, "text", {}, TemplateLimits(seconds=0.05, steps=10**9))
    assert time.monotonic() - started < 1.0


def test_limits_just_below_and_at_the_threshold():
    from chalicelib.domain.templates import LIMITS

    validate_template(f"{{{{ 'x' * {LIMITS.value_chars} }}}}", "text")
    with pytest.raises(InvalidInput, match="value_chars"):
        validate_template(f"{{{{ 'x' * {LIMITS.value_chars + 1} }}}}", "text")
    validate_template(f"{{% for i in range({LIMITS.steps - 10}) %}}{{% endfor %}}", "text")
    with pytest.raises(InvalidInput, match="'steps'"):
        validate_template(f"{{% for i in range({LIMITS.steps + 1}) %}}{{% endfor %}}", "text")
