"""Operations: what it takes to adopt and keep running the bot, beside the data path.

- `setup`: create the labels the rules use (`labels`), the webhook (`hooks`: four triggers, the secret
  token), and check the bot's access (`access`); idempotent, `--dry-run`.
- `doctor`: one screen of ok/warn/fail with the fix; `watch.check_webhook` is its periodic part.
- `reconcile`: find incidents whose GitLab state differs from the bot's memory and enqueue a synthetic
  delivery for each through the normal queue (same dedupe and per-issue order).
- `jobs`: the scheduled reconcile pass (one per period across all workers) and webhook check.
- `commands`: the `incident-bot setup|doctor|reconcile` parsers; `config`: their environment.
- their GitLab calls are `service.gitlab.ops` (failing fast because a person is waiting);
  `table`: the rows they print.
"""
