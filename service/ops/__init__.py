"""Operations: what it takes to adopt and keep running the bot, beside the data path.

- `setup`: create the labels the rules use, the webhook (four triggers, the secret token), check the bot's access.
- `doctor`: one screen of ok/warn/fail with the fix; `check_webhook` is its periodic part, run by the worker.
- `reconcile`: find incidents whose GitLab state differs from the bot's memory and enqueue a synthetic
  delivery for each through the normal queue (same dedupe and per-issue order); `reconcile_job` runs it
  periodically, one run at a time across all workers.
- `commands`: the `incident-bot setup|doctor|reconcile` argument parsers and commands.
- `api`: the GitLab REST calls these make (python-gitlab), failing fast because a person is waiting.
"""
