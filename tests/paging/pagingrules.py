"""A rules directory with paging: the test rules plus `paging.yml` and one pager channel per person."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.rulesdir import TEST_RULES

PAGING_YML = """\
# Pages that are acknowledged or escalate.
paging:
  policies:
    default:
      levels:
        - {notify: ["role:eoc"], ack_within_minutes: 5}
        - {notify: ["role:incident-manager", "rotation:engineers-on-call"], ack_within_minutes: 10}
        - {notify: ["channel:executives"], ack_within_minutes: 15}
      repeat: 1
  page_on:
    - {severity: [1, 2], roles: [eoc], policy: default}
  contacts:
    eoc-carol: ["channel:pager-carol", "email:carol@example.com"]
    eoc-dave: ["channel:pager-dave"]
    im-alice: ["channel:pager-alice"]
    im-bob: ["channel:pager-bob"]
  teams:
    database: default
"""

PAGERS_YML = """\
channels:
  pager-carol: {kind: mattermost, target_env: INCIDENT_BOT_CHANNEL_PAGER_CAROL}
  pager-dave: {kind: webhook, target_env: INCIDENT_BOT_CHANNEL_PAGER_DAVE, secret_env: INCIDENT_BOT_PAGER_SECRET}
  pager-alice: {kind: slack, target_env: INCIDENT_BOT_CHANNEL_PAGER_ALICE}
  pager-bob: {kind: teams, target_env: INCIDENT_BOT_CHANNEL_PAGER_BOB}
"""


def paging_rules(folder: Path, paging: str = PAGING_YML) -> Path:
    """A copy of the test rules under `folder` with `paging.yml` (the text given) and the pager channels."""
    target = folder / "rules"
    shutil.copytree(TEST_RULES, target)
    (target / "paging.yml").write_text(paging)
    (target / "pagers.yml").write_text(PAGERS_YML)
    return target
