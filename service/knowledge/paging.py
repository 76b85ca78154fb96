"""The handbook's paging page: the policies and their levels, when a page starts (`page_on`), the teams' policies,
and how each person is reached, as `rules/paging.yml` says."""

from __future__ import annotations

from service.rules import RuleSet
from service.rules.paging import Policy, split

from .pages import Block, Page, h, p, ul

PAGING = "paging"
_KINDS = {
    "role": "whoever holds the role `{}` (until it is staffed: its rotation's on-call)",
    "rotation": "whoever is on call in the rotation `{}`",
    "channel": "the channel `{}`",
}


def _target(target: str) -> str:
    kind, name = split(target)
    return _KINDS.get(kind, "`{}`").format(name)


def _policy(policy: Policy) -> list[str]:
    count, after, lines = len(policy.levels), 0.0, []
    for i, level in enumerate(policy.levels):
        when = "at once" if i == 0 else f"after {after:g} min unacknowledged"
        who = "; ".join(_target(t) for t in level.notify)
        lines.append(f"Level {i + 1} of {count}, {when}: {who}; acknowledge within {level.ack_within_minutes:g} min.")
        after += level.ack_within_minutes
    runs = f"The levels run {policy.repeat + 1} times in all" if policy.repeat else "The levels run once"
    lines.append(f"{runs}; then the broadcast channels are told nobody acknowledged.")
    return lines


def _contact(contact: str, rules: RuleSet) -> str:
    kind, name = split(contact)
    if kind == "email":
        return "e-mail"
    channel = rules.channels.get(name)
    return f"channel `{name}` ({channel.kind if channel else '?'})"


def paging_page(rules: RuleSet, bot: str) -> Page:
    """Every policy level by level, `page_on`, the teams' policies and every person's contacts."""
    paging = rules.paging
    if not paging.enabled:
        text = f"Pages do not escalate here (no `rules/paging.yml`): `@{bot} page <team>` tells the team's channel."
        return Page(PAGING, "Paging", (p(text),))
    blocks: list[Block] = [
        p(
            f"A page is acknowledged or escalates. Acknowledge with `@{bot} ack` in the issue (if you were paged) "
            "or with the link in the page; unacknowledged, the next level is paged. Each level's people are paged "
            "once per run of the levels."
        ),
        h("When a page starts", "page-on"),
        ul(
            [
                f"Severity {', '.join(str(s) for s in on.severities)}: policy `{on.policy}`"
                + (f", first reaching the {', '.join(f'`{r}`' for r in on.roles)}" if on.roles else "")
                + "."
                for on in paging.page_on
            ]
            + [f"`@{bot} page {team}`: policy `{policy}`." for team, policy in sorted(paging.teams.items())]
            or ["No severity starts a page by itself."]
        ),
    ]
    for name, policy in sorted(paging.policies.items()):
        blocks += [h(f"Policy {name}", f"policy-{name}"), ul(_policy(policy))]
    people = [
        f"`{person}`: {', '.join(_contact(c, rules) for c in contacts)}."
        for person, contacts in sorted(paging.contacts.items())
    ]
    blocks += [
        h("Who is reachable how", "contacts"),
        p("A person not listed is paged by the mention in the issue only."),
        ul(people or ["Nobody has a contact: every page is a mention in the issue."]),
    ]
    return Page(PAGING, "Paging", tuple(blocks))
