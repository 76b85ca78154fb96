"""The handbook's alerts page: where each alert group's incident opens, with which severity, and what happens on
resolve, firing again and in a storm, as `rules/alerts.yml` says."""

from __future__ import annotations

from service.rules import RuleSet
from service.rules.alertmodel import AlertRoute

from .pages import Block, Page, h, p, ul

ALERTS = "alerts"


def _route(route: AlertRoute, rules: RuleSet) -> str:
    matchers = [f"`{k}={v}`" for k, v in route.match.items()] + [f"`{k}=~{r.pattern}`" for k, r in route.match_re]
    where = f"opens in `{route.project}`"
    extras = [f"category `{route.category}`"] if route.category else []
    extras += [f"area `{route.area}`"] if route.area else []
    extras += [f"labels {', '.join(f'`{x}`' for x in route.labels)}"] if route.labels else []
    extras += ["confidential"] if route.confidential else []
    extras += [f"on resolve: {route.on_resolved.value}"] if route.on_resolved else []
    when = " and ".join(matchers) if matchers else "every other alert"
    return f"{when}: {where}" + (f" ({', '.join(extras)})" if extras else "") + f" (`{route.name}`)."


def alerts_page(rules: RuleSet) -> Page:
    """The routes in order, the severity map and the grouping, resolve and storm behaviour."""
    config = rules.alerts
    if not config.configured:
        return Page(ALERTS, "Alerts", (p("Alerts do not open incidents here: there is no `rules/alerts.yml`."),))
    assert config.default is not None
    severities = [
        f"`{config.severity_label}={value}`: severity {level}" for value, level in config.severity_map.items()
    ]
    blocks: list[Block] = [
        p(
            "Alertmanager, Grafana and other monitoring tools post their alerts to the bot. Each alert group "
            "(Alertmanager's and Grafana's group, a generic alert's fingerprint) becomes one incident, run by the "
            "same process as one a person declares."
        ),
        h("Where an alert's incident opens", "routes"),
        p("The first route that matches the group's labels decides."),
        ul([_route(r, rules) for r in config.routes] + [_route(config.default, rules)]),
        h("Severity", "severity"),
        p(f"The most severe firing alert of the group decides; otherwise severity {config.severity_default}."),
        ul(severities or ["No values are mapped."]),
        h("While it fires, when it resolves", "lifecycle"),
        ul(
            (
                "A new alert in the group updates the alert table in the issue's description; a more severe one "
                "escalates the incident. A repeated notification changes nothing.",
                f"When every alert has resolved the bot says when each did, then: {config.on_resolved.value}.",
                f"Firing again (a newer start time) within {config.reopen_within_minutes:g} minutes returns to the "
                "same incident (reopened if it was closed); later, a new incident names the previous one. A late "
                "notification of an older firing changes nothing.",
                f"More than {config.max_new_incidents_per_minute} new groups in a minute open no more issues: "
                "the rest are listed in one alert storm incident (a confidential route's groups only in a "
                "confidential storm incident of the route's project).",
            )
        ),
    ]
    return Page(ALERTS, "Alerts", tuple(blocks))
