"""The handbook's paging page: every policy level by level, page_on, the teams' policies, who is reachable how."""

from __future__ import annotations

from pathlib import Path

from service.knowledge.handbook import build
from service.knowledge.paging import paging_page
from service.rules import RuleSet, load_rules
from tests.paging.pagingrules import paging_rules


def text(page_blocks: object) -> str:
    return repr(page_blocks)


def test_policies_levels_page_on_and_contacts(tmp_path: Path) -> None:
    """Each level with its delay and target, the runs, when a page starts, and each person's contacts (no address)."""
    rules = load_rules(paging_rules(tmp_path))
    page = paging_page(rules, "incident-bot")
    shown = text(page.blocks)
    assert "Severity 1, 2: policy `default`, first reaching the `eoc`." in shown
    assert "`@incident-bot page database`: policy `default`." in shown
    assert "Level 1 of 3, at once: whoever holds the role `eoc`" in shown
    assert "Level 2 of 3, after 5 min unacknowledged: whoever holds the role `incident-manager`" in shown
    assert "Level 3 of 3, after 15 min unacknowledged: the channel `executives`; acknowledge within 15 min." in shown
    assert "The levels run 2 times in all" in shown
    assert "`eoc-carol`: channel `pager-carol` (mattermost), e-mail." in shown
    assert "carol@example.com" not in shown  # the handbook is read more widely than the rules
    assert [p.slug for p in build(rules)].count("paging") == 1


def test_without_paging_the_page_says_so(rules: RuleSet) -> None:
    """Rules with no paging.yml: one sentence saying pages do not escalate."""
    page = paging_page(rules, "incident-bot")
    assert "Pages do not escalate here (no `rules/paging.yml`)" in text(page.blocks)
