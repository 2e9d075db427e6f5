"""The scenarios the cost model prices (bench/cost.py): every assumption in one place, each with
its name as the printout shows it.

Two senders. SOBER is the small sender the issue names (20,000 mails a month): modest engagement,
opens trickling in, the template's default SES rate of 14 a second, bounces and complaints near
SES's review thresholds rather than at their best. BUSY is a larger sender whose readers are
keen: more events a mail and in bigger bursts (bigger batches), a raised SES quota.

Engagement figures are typical of newsletters after Apple's Mail Privacy Protection (2021): a
proxy fetches the pixel of about a third of mails at delivery whether or not anyone reads them;
published ESP benchmarks put reported unique opens near 40% and clicks at 2-4%.
"""
from __future__ import annotations

from dataclasses import dataclass

from bench.traffic import Engagement


@dataclass(frozen=True)
class Scenario:
    name: str
    # Confirmed subscribers mailed by each campaign, and campaigns a month (so mails a month).
    list_size: int
    campaigns_per_month: int
    # The SES maximum send rate, messages a second.
    ses_rate: float
    engagement: Engagement
    # New signups a month as a share of the list (gross growth), and the share of them that
    # never confirm (their confirmation mail is sent all the same; the purge erases them).
    signups_per_month: float
    unconfirmed_share: float
    # Unsubscribes a mail (the one-click POST, RFC 8058).
    unsubscribe_rate: float

    @property
    def mails_per_month(self) -> int:
        return self.list_size * self.campaigns_per_month

    def assumptions(self) -> list[str]:
        """Every assumption of the scenario, one line each, for the printout."""
        e = self.engagement
        return [
            f"list of {self.list_size:,} confirmed subscribers, {self.campaigns_per_month} campaigns a month "
            f"({self.mails_per_month:,} mails), SES max send rate {self.ses_rate:g}/s",
            f"privacy proxies fetch the pixel of {e.proxy_share:.0%} of mails at delivery (and hide their "
            f"readers' opens); people read {e.unique_open_rate:.0%} of mails, {e.opens_per_opener:g} opens "
            f"each; {e.unique_click_rate:.0%} of mails clicked, {e.clicks_per_clicker:g} clicks each; "
            f"scanners fetch all {e.links} links of {e.scanner_share:.0%} of mails at delivery "
            f"(about {1000 * e.expected_events:.0f} opens and clicks per 1,000 mails)",
            f"people's opens on a decay curve: {e.fast_share:.0%} with a mean delay of "
            f"{e.fast_mean_hours:g} h, "
            f"the rest {e.slow_mean_hours:g} h, all within {e.horizon_hours:g} h of delivery",
            f"bounces {e.bounce_rate:.1%} of mails, complaints {e.complaint_rate:.2%}; unsubscribes "
            f"{self.unsubscribe_rate:.1%}",
            f"signups {self.signups_per_month:.0%} of the list a month, {self.unconfirmed_share:.0%} of them "
            "never confirmed",
        ]


SOBER = Scenario(
    name="sober",
    list_size=5_000,
    campaigns_per_month=4,
    ses_rate=14.0,
    engagement=Engagement(
        proxy_share=0.30, unique_open_rate=0.25, opens_per_opener=1.6,
        unique_click_rate=0.03, clicks_per_clicker=1.5, scanner_share=0.02, links=3,
        fast_share=0.5, fast_mean_hours=2.0, slow_mean_hours=16.0,
        bounce_rate=0.02, complaint_rate=0.001),
    signups_per_month=0.03,
    unconfirmed_share=0.25,
    unsubscribe_rate=0.002,
)

BUSY = Scenario(
    name="busy",
    list_size=20_000,
    campaigns_per_month=8,
    ses_rate=200.0,
    engagement=Engagement(
        proxy_share=0.45, unique_open_rate=0.40, opens_per_opener=2.5,
        unique_click_rate=0.08, clicks_per_clicker=2.0, scanner_share=0.05, links=4,
        fast_share=0.7, fast_mean_hours=1.0, slow_mean_hours=12.0,
        bounce_rate=0.01, complaint_rate=0.0005),
    signups_per_month=0.06,
    unconfirmed_share=0.25,
    unsubscribe_rate=0.003,
)

SCENARIOS = (SOBER, BUSY)
