"""The rules layer: the incident process as written in `rules/*.yml`, loaded, checked and frozen.

Owns reading the files (`read`, `source`: the bounded YAML composer; `schema`), building and
cross-checking them (`loader`), the model (`model`: RuleSet, Severity, Phase, Channel, Drill, ...),
the functional areas and drill scenarios (`areas`, `drills`, read through `folder`),
the rules language (`conditions`: `when`; `actions`: `then`, both compiled at load; `facts`: what
they read of a plan), the template sandbox and context (`sandbox`, `templates`, `render`), load-time
sample renders (`samples`) and
rotations. Nothing here talks to GitLab or Redis. Callers import from here:
`from service.rules import load_rules, RuleSet, RulesError`.
"""

from .loader import load_rules
from .model import (
    NATIVE_TO_NAME,
    Category,
    Channel,
    ChannelKind,
    Drill,
    ExpectedPhase,
    Inject,
    Phase,
    Role,
    Rule,
    RulesError,
    RuleSet,
    Severity,
    Team,
)
from .read import fingerprint
from .templates import TEMPLATES

__all__ = [
    "NATIVE_TO_NAME",
    "TEMPLATES",
    "Category",
    "Channel",
    "ChannelKind",
    "Drill",
    "ExpectedPhase",
    "Inject",
    "Phase",
    "Role",
    "Rule",
    "RuleSet",
    "RulesError",
    "Severity",
    "Team",
    "fingerprint",
    "load_rules",
]
