"""The JSON Schema of a rules file: used to validate at load and printed by `incident-bot schema`."""

from __future__ import annotations

from typing import Any

from .drills import DRILL_LIMIT_SETTING
from .paging import PAGING_SCHEMA
from .settings import DIGEST_SETTING, FOLLOW_UPS_SETTING, SUSPECTS_SETTING
from .settings import NAME_SCHEMA as _NAME

_NAMES = {"anyOf": [_NAME, {"type": "array", "items": _NAME, "minItems": 1}]}
_STR_OR_LIST = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}
_LEVEL = {"type": "integer", "minimum": 1, "maximum": 9}
# Positive, at most a year (more overflows the scheduler's datetimes); YAML .inf/.nan are refused on read (source.py).
_MINUTES = {"type": "number", "exclusiveMinimum": 0, "maximum": 525_600}
_USERNAME = {"type": "string", "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"}
# What a `notify` action may say (notify.messages.MessageKind; pages have their own kinds).
MESSAGES = ("declared", "escalated", "deescalated", "phase", "handoff", "status_update", "resolved", "page")

CONDITIONS: dict[str, Any] = {
    "kind": {"enum": ["issue", "note"], "description": "What the delivery is about."},
    "action": {**_STR_OR_LIST, "description": "GitLab action: open, close, reopen, update (notes: create, update)."},
    "new_incident": {"type": "boolean", "description": "The bot has not handled this incident before."},
    "severity": {
        "anyOf": [_LEVEL, {"type": "array", "items": _LEVEL, "minItems": 1}, {"enum": ["none", "any"]}],
        "description": "Severity level(s) now, or none/any.",
    },
    "severity_changed": {"type": "boolean", "description": "Severity differs from the one last handled."},
    "escalated": {"type": "boolean", "description": "Severity became more severe than the one last handled."},
    "deescalated": {"type": "boolean", "description": "Severity became less severe than the one last handled."},
    "phase": {"anyOf": [_NAMES, {"enum": ["none"]}], "description": "Phase(s) now, or none."},
    "phase_entered": {"anyOf": [_NAMES, {"enum": ["any"]}], "description": "The incident entered this phase now."},
    "category": {"anyOf": [_NAMES, {"enum": ["none"]}], "description": "Category now, or none."},
    "category_changed": {"type": "boolean", "description": "Category differs from the one last handled."},
    "state": {"enum": ["opened", "closed"]},
    "has_label": {**_STR_OR_LIST, "description": "Every one of these labels is on the issue."},
    "lacks_label": {**_STR_OR_LIST, "description": "None of these labels is on the issue."},
    "label_added": {**_STR_OR_LIST, "description": "A person added one of these labels in this delivery."},
    "label_removed": {**_STR_OR_LIST, "description": "A person removed one of these labels in this delivery."},
    "title_matches": {"type": "string", "description": "Case-insensitive regular expression on the title."},
    "description_matches": {"type": "string", "description": "Case-insensitive regex on the description."},
    "text_matches": {"type": "string", "description": "Case-insensitive regex on title or description."},
    "actor": {**_STR_OR_LIST, "description": "Username(s) of the person who caused the event."},
    "confidential": {"type": "boolean"},
    "role_staffed": {**_NAMES, "description": "These roles already have an owner."},
}

CONDITION_MAP: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        **CONDITIONS,
        "any": {"type": "array", "items": {"$ref": "#/$defs/when"}, "minItems": 1},
        "not": {"$ref": "#/$defs/when"},
    },
}

ACTIONS: dict[str, Any] = {
    "set_severity": {**_LEVEL, "description": "Set the severity label (exactly one remains)."},
    "set_phase": {**_NAME, "description": "Move to this phase (exactly one phase label remains)."},
    "set_category": {**_NAME, "description": "Set the category label."},
    "add_labels": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    "remove_labels": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    "staff": {**_NAMES, "description": "Staff role(s) from their rotation, assign the owner, explain the role."},
    "post": {**_NAME, "description": "Post a template from `templates`."},
    "comment": {"type": "string", "description": "Post this text (a template)."},
    "checklist": {"anyOf": [_NAME, {"enum": ["current"]}], "description": "Post a phase's checklist."},
    "notify": {
        "anyOf": [
            _NAME,
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["channel"],
                "properties": {
                    "channel": _NAME,
                    "message": {"enum": [*MESSAGES]},
                },
            },
        ],
        "description": "Tell a channel (its own job, retried).",
    },
    "remind": {
        "type": "object",
        "additionalProperties": False,
        "required": ["role"],
        "properties": {"role": _NAMES, "every_minutes": _MINUTES},
        "description": "Schedule status-update reminders on the severity's cadence.",
    },
    "open_review": {
        "anyOf": [
            {"const": True},
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {"template": _NAME, "labels": {"type": "array"}},
            },
        ],
        "description": "Open a linked post-incident review issue (once).",
    },
    "close_issue": {"const": True},
}

ACTION_ITEM: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
    "properties": ACTIONS,
}

# Optional label looks for `incident-bot setup`; without them it picks from GitLab's palette.
_COLOR = {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$", "description": "The label's colour in GitLab, #RRGGBB."}
_LABEL_DESCRIPTION = {"type": "string", "maxLength": 255, "description": "The label's description in GitLab."}

RULES_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://incident-bot.example/rules.schema.json",
    "title": "incident-bot rules file",
    "type": "object",
    "additionalProperties": False,
    "$defs": {"when": CONDITION_MAP},
    "properties": {
        "settings": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "incident_label": {"type": "string", "minLength": 1},
                "incident_label_color": _COLOR,
                "incident_label_description": _LABEL_DESCRIPTION,
                "procedure_url": {"type": "string"},
                "handbook_url": {
                    "type": "string",
                    "pattern": "^https?://[^\\s]+$",
                    "description": "Where the web app serves /handbook; without procedure_url, comments link it.",
                },
                "documentation": {"type": "string"},
                "native_severity_sync": {"type": "boolean"},
                "review_labels": {"type": "array", "items": {"type": "string"}},
                "reminder_limit": {"type": "integer", "minimum": 1, "maximum": 10_000},
                "command_min_access": {"type": "integer", "minimum": 0},
                "broadcast_channels": {"type": "array", "items": _NAME},
                "drill_label": {"type": "string", "minLength": 1, "description": "Marks a drill; default `drill`."},
                "training_channel": {**_NAME, "description": "A drill's only channel; default `training`."},
                "drill_limit": DRILL_LIMIT_SETTING,
                "digest": DIGEST_SETTING,
                "suspects": SUSPECTS_SETTING,
                "followups": FOLLOW_UPS_SETTING,
            },
        },
        "severities": {
            "type": "object",
            "propertyNames": {"pattern": "^[1-9]$"},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["label", "name"],
                "properties": {
                    "label": {"type": "string"},
                    "name": {"type": "string"},
                    "native": {"enum": ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]},
                    "description": {"type": "string"},
                    "update_every_minutes": _MINUTES,
                    "color": _COLOR,
                    "targets": {
                        "type": "object",
                        "description": "Report targets, minutes from the start (a breach is a time over one).",
                        "additionalProperties": False,
                        "properties": {
                            "acknowledge_minutes": _MINUTES,
                            "mitigate_minutes": _MINUTES,
                            "resolve_minutes": _MINUTES,
                        },
                    },
                },
            },
        },
        "phases": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "label"],
                "properties": {
                    "name": _NAME,
                    "label": {"type": "string"},
                    "title": {"type": "string"},
                    "guidance": {"type": "string"},
                    "checklist": {"type": "array", "items": {"type": "string"}},
                    "color": _COLOR,
                    "description": _LABEL_DESCRIPTION,
                },
            },
        },
        "categories": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["label"],
                "properties": {"label": {"type": "string"}, "description": {"type": "string"}, "color": _COLOR},
            },
        },
        "roles": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["title", "rotation"],
                "properties": {
                    "title": {"type": "string"},
                    "rotation": _NAME,
                    "duties": {"type": "array", "items": {"type": "string"}},
                    "require_training_days": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 3650,
                        "description": "Staffing someone who has not practised the role within N days adds a note.",
                    },
                },
            },
        },
        "rotations": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["members"],
                "properties": {
                    "members": {"type": "array", "items": _USERNAME},
                    "start": {"type": "string", "format": "date"},
                    "handover": {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"},
                    "period_days": {"type": "integer", "minimum": 1, "maximum": 3650},
                    "overrides": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["user", "from", "until"],
                            "properties": {"user": _USERNAME, "from": {"type": "string"}, "until": {"type": "string"}},
                        },
                    },
                },
            },
        },
        "templates": {"type": "object", "additionalProperties": {"type": "string"}},
        "channels": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["kind", "target_env"],
                "properties": {
                    "kind": {"enum": ["slack", "teams", "webhook", "email", "mattermost"]},
                    "target_env": {"type": "string", "pattern": "^[A-Z_][A-Z0-9_]*$"},
                    "secret_env": {"type": "string", "pattern": "^[A-Z_][A-Z0-9_]*$"},
                },
            },
        },
        "teams": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["rotation"],
                "properties": {"rotation": _NAME, "channel": _NAME, "title": {"type": "string"}},
            },
        },
        "paging": PAGING_SCHEMA,
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "then"],
                "properties": {
                    "name": _NAME,
                    "description": {"type": "string"},
                    "when": {"$ref": "#/$defs/when"},
                    "then": {"type": "array", "items": ACTION_ITEM, "minItems": 1},
                },
            },
        },
    },
}
