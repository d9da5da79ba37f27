"""What every enrolment module shares: the refusal shown to users (`EnrollmentError`), the
statuses and their moves, and the labels people read."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.core.errors import UserError

# Which move may follow which; the leader may make every move, HR only withdraws.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "submitted": ("intake", "withdrawn"),
    "intake": ("matched", "withdrawn"),
    "matched": ("active", "intake", "withdrawn"),
    "active": ("completed", "withdrawn"),
    "completed": (),
    "withdrawn": (),
}
OPEN_STATUSES = ("submitted", "intake", "matched", "active")
HR_EDITABLE = ("submitted", "intake")

STATUS_LABELS = {
    "submitted": _l("Submitted"), "intake": _l("Intake"), "matched": _l("Matched"),
    "active": _l("Active"), "completed": _l("Completed"), "withdrawn": _l("Withdrawn"),
}
ROLE_LABELS = {"class": _l("Class ambassador"), "thematic": _l("Thematic ambassador (three lessons)")}
FUNDING_LABELS = {"sponsored": _l("Sponsored by the employer"), "volunteer": _l("Volunteer allowance"),
                  "mixed": _l("Mixed: partly sponsored")}
VOG_LABELS = {"not_requested": _l("Not requested"), "requested": _l("Requested"), "received": _l("Received"),
              "refused": _l("Refused")}
DURATION_LABELS = {"full": _l("Whole school year"), "half": _l("Half a school year")}
WEEKDAY_LABELS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"))
CLOSURE_LABELS = {"holiday": _l("Holiday"), "day_off": _l("Day off")}


SESSION_ENDED = _l("Your session has ended. Ask for a new link below.")


class EnrollmentError(UserError):
    """A refusal to show the user: str() is the translated message; `field` names the input."""


