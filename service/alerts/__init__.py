"""Alerts become incidents (issue 18): Alertmanager, Grafana and generic alert payloads parsed into one type
(`payload`: AlertGroup, Alert), which route and severity they take (`routing`), what the bot remembers of each
group and its incident (`grouping`: the group record in Redis), and how an alert incident reads (`render`).

Pure apart from `grouping.GroupStore` (Redis). Planning is `service.handlers.alerts`; the edge's route is
`service.web.alerts`; the job and its executor are `service.worker.alerts` and `service.worker.alertapply`.
"""
