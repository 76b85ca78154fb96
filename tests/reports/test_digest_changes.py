"""The weekly digest shows the week's change-failure rate (`report --changes`' figures) and the causes confirmed
that week (issue 19): a confidential incident's cause counted, named by nothing; drills left out; titles inert."""

from __future__ import annotations

from datetime import UTC, datetime

from service.reports.changes import figures_between
from service.reports.digest import compose
from service.rules import RuleSet
from service.store import Store
from tests.changes.causes_seed import PRIVATE, SECRET, seed_causes, seed_private

MONDAY = datetime(2026, 11, 30, 8, tzinfo=UTC)


def test_the_rate_and_the_causes_of_the_week(store: Store, rules: RuleSet) -> None:
    """3 successful production deployments of acme/shop, 2 of which caused incidents (2, and the confidential 3),
    1 to staging, 1 of acme/payments: 2 of 5; 3 causes confirmed (the drill's and last week's left out), newest
    first."""
    seed_causes(store, MONDAY)
    digest = compose(store, rules, MONDAY)
    section = digest.markdown[digest.markdown.index("## Changes this week") :]
    assert "Change-failure rate: 40% (2 of 5 successful deployments caused an incident)." in section
    assert "| acme/shop/production | 3 | 2 | 67% |" in section and "| acme/shop/staging | 1 | 0 | 0% |" in section
    assert "| other projects | 1 | 0 | 0% |" in section and "acme/payments" not in section.split("###")[0]
    causes = section[section.index("### Causes confirmed this week") :].splitlines()[2:]
    assert causes[0].startswith("- [acme/shop#13](https://gitlab.example.com/acme/shop/-/issues/13) ")
    assert causes[0].endswith(": merge request acme/payments!77, confirmed 2026-11-30 by bob")
    assert causes[1] == "- a confidential incident's cause (counted, not named), confirmed 2026-11-27"
    assert causes[2] == (
        "- [acme/shop#10](https://gitlab.example.com/acme/shop/-/issues/10) Checkout returns 500: deployment abc2 "
        '"Change 2" to production of acme/shop, confirmed 2026-11-26 by im-alice'
    )
    assert len(causes) == 3  # neither the drill's flag nor the cause confirmed last week
    for hidden in (SECRET, "pangolin", "sirt-frank", "#11", "Game day", "#9 "):
        assert hidden not in digest.markdown
    assert "\n/close" not in digest.markdown and "@all" not in digest.markdown and "](javascript" not in digest.markdown
    assert "change-failure rate 40% (2 of 5 deployments); causes confirmed 3; overdue follow-ups" in digest.summary


def test_the_digest_reads_the_reports_figures(store: Store, rules: RuleSet) -> None:
    """One computation: each table row of a project with an incident the digest may name is `report --changes`'
    figure for the digest's 7 days."""
    seed_causes(store, MONDAY)
    digest = compose(store, rules, MONDAY)
    for name, f in figures_between(store.engine, digest.start, digest.end).items():
        if name.startswith("acme/shop/"):
            assert (
                f"| {name} | {f.deployments} | {f.caused_incidents} | {f.change_failure_rate:.0%} |" in digest.markdown
            )


def test_a_week_without_changes_says_so(store: Store, rules: RuleSet) -> None:
    """No deployment and no cause: the section says so, the summary gives no rate."""
    digest = compose(store, rules, MONDAY)
    assert "Change-failure rate: no successful deployment in the index over this window." in digest.markdown
    assert "### Causes confirmed this week\n\nNone." in digest.markdown
    assert "change-failure rate —; causes confirmed 0" in digest.summary


def test_a_project_the_digest_may_not_name_is_one_other_projects_row(store: Store, rules: RuleSet) -> None:
    """acme/payments has no incident, secret/vault only a confidential one: the reporting issue names neither; their
    deployments are one "other projects" row, counted in the rate."""
    seed_causes(store, MONDAY)
    seed_private(store, MONDAY)
    digest = compose(store, rules, MONDAY)
    section = digest.markdown[digest.markdown.index("## Changes this week") :]
    assert "Change-failure rate: 50% (3 of 6 successful deployments caused an incident)." in section
    assert "| acme/shop/production | 3 | 2 | 67% |" in section and "| other projects | 2 | 1 | 50% |" in section
    assert "acme/payments/production" not in section and PRIVATE not in digest.markdown
    assert "Vault sealed" not in digest.markdown
