"""The deferred parts of planned text: what a comment or a review's description holds where I/O must fill it in.

Planning is pure, so text that needs the index or GitLab (the timeline, similar incidents, a drill's
scorecard, the review and drill links, a training note) is planned as a typed `Part` among plain
strings. The worker's enrichers (`service.worker.enrich`, in one ordered list) give each part its text
(`Filled`); `render_pieces` refuses a part still waiting (`Unfilled`), and `preview_pieces` shows each
by its preview for `simulate` and dry-run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeAlias


class Unfilled(Exception):
    """A planned text was rendered while one of its parts was still waiting for its enricher."""


@dataclass(frozen=True)
class Part:
    """A piece of planned text that needs I/O; `quiet`: it shows nothing unless its enricher found something."""

    PREVIEW: ClassVar[str] = ""

    @property
    def quiet(self) -> bool:
        return False

    @property
    def preview(self) -> str:
        """What `simulate` and dry-run show in its place."""
        return self.PREVIEW


@dataclass(frozen=True)
class TimelinePart(Part):
    """The incident's timeline from the index: the `timeline` reply, or (`review`) a review's pre-fill."""

    review: bool = False
    PREVIEW: ClassVar[str] = "{incident_timeline}"

    @property
    def quiet(self) -> bool:
        return self.review  # a review gets a timeline, never an excuse

    @property
    def preview(self) -> str:
        return "" if self.review else self.PREVIEW


@dataclass(frozen=True)
class SimilarPart(Part):
    """Similar past incidents from the index: the `similar` reply, or (`reply` False) a declaration's section."""

    reply: bool = True
    PREVIEW: ClassVar[str] = "{similar_incidents}"

    @property
    def quiet(self) -> bool:
        return not self.reply  # a declaration lists past incidents only when there are some

    @property
    def preview(self) -> str:
        return self.PREVIEW if self.reply else "[similar past incidents, if the index has any: filled by the worker]"


@dataclass(frozen=True)
class SuspectsPart(Part):
    """The changes that may have caused the incident, from the index: the `suspects` reply, or (`reply` False) a
    declaration's "Recent changes" section."""

    reply: bool = True
    PREVIEW: ClassVar[str] = "{suspects}"

    @property
    def quiet(self) -> bool:
        return not self.reply  # a declaration lists recent changes only when there are some

    @property
    def preview(self) -> str:
        return self.PREVIEW if self.reply else "[recent changes before the incident, if any: filled by the worker]"


@dataclass(frozen=True)
class CauseNote(Part):
    """The confirmation of `cause <ref>`: what the worker recorded in the index (or why not), and a rollback hint."""

    PREVIEW: ClassVar[str] = "{cause_recorded}"


@dataclass(frozen=True)
class OpenFollowUpsPart(Part):
    """A declaration's open corrective actions of earlier incidents in its area or category, from the index."""

    @property
    def quiet(self) -> bool:
        return True  # listed only when there are some

    @property
    def preview(self) -> str:
        return "[open corrective actions in this area, if the index has any: filled by the worker]"


@dataclass(frozen=True)
class ScorecardPart(Part):
    """A closing drill's scorecard, from the index."""

    PREVIEW: ClassVar[str] = "{drill_scorecard}"


@dataclass(frozen=True)
class ReviewLink(Part):
    """The link to the review issue the executor opens (or found opened)."""

    PREVIEW: ClassVar[str] = "{review_url}"


@dataclass(frozen=True)
class DrillLink(Part):
    """The link to the drill issue the executor opens."""

    PREVIEW: ClassVar[str] = "{drill_url}"


@dataclass(frozen=True)
class TrainingNote(Part):
    """`require_training_days`: a note under a staffing when the training record has no recent drill of theirs."""

    role: str
    user: str
    days: int

    @property
    def quiet(self) -> bool:
        return True  # a note when the record says so, never an excuse


@dataclass(frozen=True)
class Filled:
    """A part with the text its enricher gave it."""

    part: Part
    text: str


Piece: TypeAlias = str | Part | Filled


def render_pieces(pieces: tuple[Piece, ...]) -> str:
    """The text, every part filled; `Unfilled` names the first part still waiting."""
    out = []
    for piece in pieces:
        if isinstance(piece, Part):
            raise Unfilled(f"{type(piece).__name__} is not filled")
        out.append(piece.text if isinstance(piece, Filled) else piece)
    return "".join(out)


def preview_pieces(pieces: tuple[Piece, ...]) -> str:
    """The text as planned: each part shown by its preview (or its text, once filled)."""
    return "".join(p.preview if isinstance(p, Part) else p.text if isinstance(p, Filled) else p for p in pieces)


class Composed:
    """An action holding planned text (`parts`): `text` once filled, `preview` as planned."""

    parts: tuple[Piece, ...]
    SHOWN_AS: ClassVar[str] = "body"  # the name `describe` and `simulate --json` show the text under

    @property
    def text(self) -> str:
        return render_pieces(self.parts)

    @property
    def preview(self) -> str:
        return preview_pieces(self.parts)
