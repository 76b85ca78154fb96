"""incident-bot: runs an incident-response process on GitLab issues from webhooks.

The data path, one package per layer (docs/architecture.md draws it with the module of each step):
`web` (verify, classify, enqueue) → `queue` (Redis, one Lua call) → `worker` (the job builds one
`Delivery`, loads the incident, has `handlers` plan it with the process of `rules`, and applies
the plan to GitLab) → `notify` (notification jobs). Beside it: `ops` (setup, doctor, reconcile),
`store` (the incident index) and `reports`. Start reading at `events`, `incident` and
`handlers/planner.py`.
"""

__version__ = "0.1.0"
