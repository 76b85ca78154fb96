"""`incident-bot setup`: the labels the rules use, the webhook, and the bot's access, made right once.

The labels and the webhook go where setup runs and into each project an alert route of rules/alerts.yml names (the
bot opens incidents there, and hears of them only through a webhook), unless the group's already serve it.
Idempotent: each thing is read first and written only when it differs, so a second run writes nothing.
`--dry-run` reads and reports what it would do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..gitlab import GitLabError
from ..gitlab.ops import Namespace, OpsGitLab
from ..rules import RuleSet
from .access import bot_access, bot_user
from .hooks import find_hook, hook_differences, hook_disabled, hook_fields
from .labels import ROUTE_PROJECT, WantedLabel, alert_projects, wanted_labels
from .people import check_people
from .table import Row, Status

FREE_TIER = "group webhooks need GitLab Premium or Ultimate (GitLab answered {status})"
NOT_LIVE = "not set: the bot goes live only once every rotation member is a real member here (see above)"
NOT_MAINTAINER = (
    "managing webhooks needs the Maintainer role ({role} for a group), which this token's user lacks: run setup "
    "once with a maintainer's token (GITLAB_TOKEN=<theirs> incident-bot setup ... --bot-user <the bot>)"
)
UNSET_WEBHOOK_KEY = "GITLAB_WEBHOOK_SECRET is unset: set it (the bot checks it on every delivery) and run setup again"
TRIGGERS_READ = "issues, comments (and confidential ones), deployments, feature flags"
UNSHOWN_WEBHOOK_KEY = "GitLab never shows the secret token: --reset-token sends GITLAB_WEBHOOK_SECRET again"
HOOK_DISABLED = (
    "{disabled}: make sure the bot answers at {url}, then in GitLab "
    "Settings → Webhooks → Test → Issue events (a delivery that succeeds re-enables it)"
)


@dataclass(frozen=True)
class SetupOptions:
    """What `incident-bot setup` was asked to do."""

    url: str
    secret: str
    project: str | None = None
    group: str | None = None
    dry_run: bool = False
    reset_token: bool = False
    bot_user: str | None = None  # whose access to check; default: the token's user


class Setup:
    """One run of setup: reads, compares, writes what differs (unless dry-run), and records a row for each thing."""

    def __init__(self, api: OpsGitLab, rules: RuleSet, options: SetupOptions):
        self.api = api
        self.rules = rules
        self.options = options
        self.rows: list[Row] = []

    def run(self) -> list[Row]:
        """Everything setup does, in order: where, who, labels, webhook."""
        project = self._namespace("projects", self.options.project) if self.options.project else None
        group = self._namespace("groups", self.options.group) if self.options.group else None
        home = group or project
        if home is None:
            return self.rows
        self.check_access(project or home)
        ready = self.people(project or home)
        self.labels(home)
        routed = self.routed_projects(home, project)
        for ns in routed:
            if not _in_group(ns, home):  # the group's labels are inherited
                self.labels(ns, what=f"label in {ns.path}")
        if not ready:  # the webhook is what makes the bot act: none while it would assign the wrong people
            for ns in [home, *routed]:
                self.rows.append(Row("webhook", f"{ns.kind[:-1]} {ns.path}", Status.FAILED, NOT_LIVE))
            return self.rows
        hooked = self.hook(group) if group else False
        if not hooked and project is not None:
            self.hook(project)
        for ns in routed:  # the incidents opened there must reach the bot back (silence, close, people's changes)
            if not (hooked and group is not None and _in_group(ns, group)):
                self.hook(ns)
        return self.rows

    def _namespace(self, kind: str, path: str, why: str = "") -> Namespace | None:
        noun = "project" if kind == "projects" else "group"
        try:
            return self.api.namespace(kind, path)
        except GitLabError as exc:
            fix = "; check the path, and that the token's user can see it" if exc.status == 404 else ""
            self.rows.append(Row(noun, path, Status.FAILED, exc.detail + fix + (f": {why}" if why else "")))
            return None

    def check_access(self, ns: Namespace) -> None:
        """The bot user needs Developer: it labels, assigns, comments and reads membership."""
        try:
            user = bot_user(self.api, self.options.bot_user)
            if user is None:
                self.rows.append(Row("access", f"@{self.options.bot_user}", Status.FAILED, "GitLab knows no such user"))
                return
            enough, detail = bot_access(self.api, ns, user)
        except GitLabError as exc:
            self.rows.append(Row("access", ns.path, Status.FAILED, exc.detail))
            return
        self.rows.append(Row("access", f"@{user.get('username')}", Status.RIGHT if enough else Status.FAILED, detail))

    def people(self, ns: Namespace) -> bool:
        """Every rotation member is a real, active member of `ns`; False (with a row saying which) otherwise."""
        people = check_people(self.api, ns, self.rules)
        for person in people:
            status = Status.FAILED if person.problem else Status.RIGHT
            self.rows.append(Row("rotation member", f"@{person.username}", status, person.detail))
        return not any(person.problem for person in people)

    def labels(self, ns: Namespace, what: str = "label") -> None:
        """Create the missing labels, correct colour and description of the bot's own ones."""
        try:
            existing = {str(label.get("name")): label for label in self.api.labels(ns)}
        except GitLabError as exc:
            self.rows.append(Row(f"{what}s", ns.path, Status.FAILED, exc.detail))
            return
        for wanted in wanted_labels(self.rules):
            self.rows.append(self._label(ns, wanted, existing.get(wanted.name), what))

    def routed_projects(self, home: Namespace, project: Namespace | None) -> list[Namespace]:
        """Each project an alert route of rules/alerts.yml opens incidents in (the incident process runs there too),
        but where setup runs; a project GitLab does not know is a failed row naming alerts.yml."""
        found = []
        for path in alert_projects(self.rules):
            ns = self._namespace("projects", path, why=ROUTE_PROJECT)
            if ns is not None and not any(
                ns.id == there.id for there in (home, project) if there and there.kind == ns.kind
            ):
                found.append(ns)
        return found

    def _label(self, ns: Namespace, wanted: WantedLabel, found: dict[str, Any] | None, what: str) -> Row:
        dry = self.options.dry_run
        if found is None:
            if not dry:
                try:
                    self.api.create_label(ns, wanted.name, wanted.color, wanted.description)
                except GitLabError as exc:
                    return Row(what, wanted.name, Status.FAILED, exc.detail)
            return Row(what, wanted.name, Status.WOULD_CREATE if dry else Status.CREATED, wanted.color)
        if ns.kind == "projects" and found.get("is_project_label") is False:
            # An inherited group label is shared with other projects: leave it to the group's owners.
            return Row(what, wanted.name, Status.RIGHT, "inherited from the group; left as it is")
        differs = []
        if str(found.get("color") or "").lower() != wanted.color.lower():
            differs.append(f"colour {found.get('color')} → {wanted.color}")
        if (found.get("description") or "") != wanted.description:
            differs.append("description")
        if not differs:
            return Row(what, wanted.name, Status.RIGHT)
        if not dry:
            try:
                self.api.update_label(ns, int(found["id"]), wanted.name, wanted.color, wanted.description)
            except GitLabError as exc:
                return Row(what, wanted.name, Status.FAILED, exc.detail)
        return Row(what, wanted.name, Status.WOULD_UPDATE if dry else Status.UPDATED, ", ".join(differs))

    def hook(self, ns: Namespace) -> bool:
        """Create or correct the webhook; False when this kind of hook is unavailable (group hooks on Free)."""
        name = f"{ns.kind[:-1]} {ns.path}"
        try:
            hooks = self.api.hooks(ns)
        except GitLabError as exc:
            return self._unreadable_hooks(ns, name, exc)
        found = find_hook(hooks, self.options.url)
        if not self.options.secret:
            self.rows.append(Row("webhook", name, Status.FAILED, UNSET_WEBHOOK_KEY))
            return True
        try:
            self.rows.append(self._write_hook(ns, name, found))
        except GitLabError as exc:
            self.rows.append(Row("webhook", name, Status.FAILED, exc.detail))
            return True
        disabled = hook_disabled(found) if found else None
        if disabled:
            why = HOOK_DISABLED.format(disabled=disabled, url=self.options.url)
            self.rows.append(Row("webhook", name, Status.FAILED, why))
        return True

    def _unreadable_hooks(self, ns: Namespace, name: str, exc: GitLabError) -> bool:
        """The row for hooks GitLab would not list; False when group hooks are unavailable (Free tier, no role)."""
        fallback = "; the project hook is set instead" if self.options.project else "; use --project"
        if ns.kind == "groups" and exc.status == 404:
            self.rows.append(Row("webhook", name, Status.FAILED, FREE_TIER.format(status=exc.status) + fallback))
            return False
        if exc.status == 403:
            why = NOT_MAINTAINER.format(role="Owner")
            self.rows.append(Row("webhook", name, Status.FAILED, why + (fallback if ns.kind == "groups" else "")))
            return ns.kind != "groups"
        self.rows.append(Row("webhook", name, Status.FAILED, exc.detail))
        return True

    def _write_hook(self, ns: Namespace, name: str, found: dict[str, Any] | None) -> Row:
        """Create the hook, or update what differs (unless dry-run); the row saying which."""
        dry, secret = self.options.dry_run, self.options.secret
        wanted = hook_fields(self.options.url, ns.kind)
        if found is None:
            if not dry:
                self.api.create_hook(ns, {**wanted, "token": secret})
            status = Status.WOULD_CREATE if dry else Status.CREATED
            return Row("webhook", name, status, f"{self.options.url}: {TRIGGERS_READ}")
        differs = hook_differences(found, wanted)
        if self.options.reset_token:
            differs.append("token")
        if not differs:
            return Row("webhook", name, Status.RIGHT, UNSHOWN_WEBHOOK_KEY)
        if not dry:
            self.api.update_hook(ns, int(found["id"]), {**wanted, "token": secret})
        status = Status.WOULD_UPDATE if dry else Status.UPDATED
        return Row("webhook", name, status, "changed: " + ", ".join(differs))


def _in_group(ns: Namespace, group: Namespace) -> bool:
    """A project of this group (or of one of its subgroups)."""
    return group.kind == "groups" and ns.path.startswith(group.path + "/")


def run_setup(api: OpsGitLab, rules: RuleSet, options: SetupOptions) -> list[Row]:
    """Make labels, webhook and access right; one row per thing."""
    return Setup(api, rules, options).run()
