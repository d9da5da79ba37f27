"""Every audit action the portal writes has words in the reader's language (issue 21): the audit
log shows what happened, not codes. Found in the source, so a new action without words fails here."""

from __future__ import annotations

import ast
from pathlib import Path

from portal.core.audit_labels import ACTION_LABELS

PORTAL = Path(__file__).resolve().parents[2] / "portal"
WRITERS = {"record", "_audit"}  # audit.record(...) and the SROI service's wrapper


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def written_actions() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in PORTAL.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            first = None
            if isinstance(node, ast.Call) and _name(node) in WRITERS and node.args:
                first = node.args[0]
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "action" for t in node.targets):
                first = node.value  # action = "enrollment.school_created", written a few lines on
            elif isinstance(node, ast.keyword) and node.arg == "actions":
                first = node.value  # _update(..., actions=("sroi.rules.corrected", "sroi.rules.updated"))
            if first is not None:
                values = [first] if isinstance(first, ast.Constant) else (
                    [first.body, first.orelse] if isinstance(first, ast.IfExp) else
                    list(first.elts) if isinstance(first, ast.Tuple) else [])
                for value in values:
                    if isinstance(value, ast.Constant) and isinstance(value.value, str) and "." in value.value:
                        found[value.value] = f"{path.relative_to(PORTAL.parent)}:{node.lineno}"
    return found


def actions_of_patterns() -> dict[str, str]:
    """The actions written with an f-string, one per value the pattern takes (the models' lists)."""
    from portal.giving import models as giving
    from portal.sroi.models import REVIEW_DECISIONS

    families = {
        "donation.{to}": [f"donation.{s}" for s in giving.DONATION_STATUSES],
        "donation.refund_{status}": [f"donation.refund_{s}" for s in giving.REFUND_STATUSES],
        "donation.company_{to}": [f"donation.company_{s}" for s in giving.COMPANY_DECISIONS if s != "waiting"],
        "donation.{kind}_stored": [f"donation.{s}_stored" for s in giving.DOCUMENT_KINDS],
        "material.{to}": [f"material.{s}" for s in giving.PLEDGE_STATUSES],
        "sroi.approval.{decision}": [f"sroi.approval.{s}" for s in REVIEW_DECISIONS],
    }
    return {action: pattern for pattern, actions in families.items() for action in actions}


def test_every_action_written_has_words():
    actions = written_actions() | actions_of_patterns()
    assert len(actions) > 60  # the scan finds the portal's writers
    missing = {action: where for action, where in actions.items() if action not in ACTION_LABELS}
    assert not missing, f"audit actions without words in core/audit_labels.py: {missing}"
