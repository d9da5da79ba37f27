"""SROI commitments: obligation arithmetic, valuation by a commitment's rules, allocation.

Three amounts per commitment, never confused:
- the obligation: percentage x base, capped (what the contract demands);
- the claim: the company's allocated contributions valued by the commitment's own rules
  (hours at a rate per hour or at the employer's cost, money at cost, materials at their
  confirmed value), which the contracting authority has not necessarily accepted;
- the approval: what the authority confirmed, entered by the company with date and reference.

Every part of a claim names how it was valued. All arithmetic is on integer cents and
integer minutes; a division rounds half-up once, per line, and totals are sums of lines.

This module is the capability's public entry: its operations, and the names the forms, the PDF
report, the statements and the templates' globals read as `service.<name>`. They are made in:
- `base`: the refusal (`SroiError`), labels, the checks of a text and a date;
- `arithmetic`: the obligation, values, percentages, hours and amounts;
- `rules`: a commitment's valuation rules and the buyers' valuation tables;
- `commitments`: recording, changing and removing a commitment, and its audit trail;
- `pool`: the contributions in the books that commitments can use;
- `allocation`: counting part of a contribution toward a commitment;
- `approval_records` / `approvals`: the buyer's approvals as recorded / recording and reviewing one;
- `valuation`: a commitment's lines, its three amounts and its deadline warning;
- `suggestion`: what can still be allocated, and a plan that fills open commitments;
- `dashboards`: the company's warnings and the leader's counts and overview.
"""

from __future__ import annotations

from portal.sroi.allocation import remove_allocation, set_allocation
from portal.sroi.approvals import (
    EXCEEDS_LABELS,
    confirm_approval,
    correct_approval,
    record_approval,
    reject_approval,
)
from portal.sroi.arithmetic import (
    format_amount,
    format_minutes,
    format_percentage,
    parse_minutes,
    parse_percentage_bp,
)
from portal.sroi.base import BASE_TYPE_LABELS, KIND_LABELS, SroiError
from portal.sroi.commitments import (
    CommitmentInput,
    company_commitments,
    create_commitment,
    delete_commitment,
    update_commitment,
    update_rules,
)
from portal.sroi.dashboards import (
    deadline_warnings,
    leader_commitments,
    leader_counts,
    leader_overview,
)
from portal.sroi.figures import listed
from portal.sroi.pool import pool_for
from portal.sroi.rules import (
    RulesInput,
    counts_kind,
    rules_of,
    template_label,
    template_note,
    valuation_templates,
)
from portal.sroi.suggestion import apply_suggestion, available, plan_fingerprint, suggest
from portal.sroi.valuation import VALUED_AT, hours_basis_label, summaries, summary

__all__ = [
    "BASE_TYPE_LABELS", "EXCEEDS_LABELS", "KIND_LABELS", "VALUED_AT", "CommitmentInput", "RulesInput", "SroiError",
    "apply_suggestion", "available", "company_commitments", "confirm_approval", "correct_approval", "counts_kind",
    "create_commitment", "deadline_warnings", "delete_commitment", "format_amount", "format_minutes",
    "format_percentage", "hours_basis_label", "leader_commitments", "leader_counts", "leader_overview", "listed", "parse_minutes",
    "parse_percentage_bp", "plan_fingerprint", "pool_for", "record_approval", "reject_approval",
    "remove_allocation", "rules_of", "set_allocation", "suggest", "summaries", "summary", "template_label",
    "template_note", "update_commitment", "update_rules", "valuation_templates",
]
