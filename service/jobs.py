"""Every RQ job's stable name, in one place: a contract with jobs already stored in Redis.

RQ stores a job's function as a dotted path with the job and imports it when the job runs,
which may be long after it was queued: retries run minutes later, reminders are scheduled up
to a day ahead, drill injects up to a week ahead, and a rolling upgrade runs old and new
workers side by side. So these strings never change; where the code moved, the old path is
kept as a thin re-export (`service/reminders.py`, `service.worker.process_delivery`,
`service.notify.send_notification`). Every enqueuer names its job by one of these constants,
and `tests/test_job_paths.py` runs or resolves each one under this name.
"""

from __future__ import annotations

# A delivery (webhook event) queued by the edge, `reconcile` and drills.
PROCESS_FUNC = "service.worker.process_delivery"
# An alert notification queued by the edge's alert endpoints (issue 18).
ALERT_FUNC = "service.worker.alerts.process_alert"
# A reminder, scheduled up to a day ahead; re-exported by `service/reminders.py` from `service.worker.reminders`.
REMINDER_FUNC = "service.reminders.fire"
# A notification to a channel (retried for minutes); re-exported by `service.notify` from `service.notify.jobs`.
NOTIFY_FUNC = "service.notify.send_notification"
# A drill inject, scheduled up to a week ahead.
INJECT_FUNC = "service.worker.injects.post_inject"
# Paging: one page sent to one contact (retried like a notification), and a page's next step, scheduled up to a
# day ahead (a level's ack_within_minutes is at most 24 hours; each step schedules only the next).
PAGE_FUNC = "service.paging.send.send_page"
PAGE_STEP_FUNC = "service.worker.pagestep.page_step"
# The periodic jobs the worker's cron scheduler enqueues.
RECONCILE_FUNC = "service.ops.jobs.reconcile_job"
WEBHOOK_CHECK_FUNC = "service.ops.jobs.webhook_check_job"
DIGEST_FUNC = "service.reports.digest_job.digest_job"
FOLLOW_UPS_CHECK_FUNC = "service.ops.overdue.follow_ups_check_job"  # the follow-ups' hourly overdue pass
# Also stored by path: the webhook check's argument (`service.notify.alerts.alert_responders`, pickled by name).

ALL_FUNCS = (
    PROCESS_FUNC,
    ALERT_FUNC,
    REMINDER_FUNC,
    NOTIFY_FUNC,
    INJECT_FUNC,
    RECONCILE_FUNC,
    WEBHOOK_CHECK_FUNC,
    DIGEST_FUNC,
    FOLLOW_UPS_CHECK_FUNC,
    PAGE_FUNC,
    PAGE_STEP_FUNC,
)
