"""Flags that cite their thresholds: the constructors every safety rule uses.

Pure: no app, no database. Each threshold is a `dosing.Threshold` quoting ../shared/CLINICAL.md.
"""

from decimal import Decimal

from spastic.clinical.dosing import THRESHOLD_BY_KEY, DoseChange, Flag
from spastic.clinical.records import VisitRecord


def threshold_value(key: str) -> Decimal:
    return THRESHOLD_BY_KEY[key].value


def dose_flag(code: str, severity: str, message: str, change: DoseChange, *keys: str) -> Flag:
    """A flag about one dose change, citing its thresholds' source."""
    source = THRESHOLD_BY_KEY[keys[0]].source
    return Flag(code, severity, message, source, change.effective_date, None, change, keys)


def visit_flag(
    code: str,
    severity: str,
    message: str,
    source: str,
    visit: VisitRecord,
    change: DoseChange | None = None,
    *keys: str,
) -> Flag:
    """A flag about one visit, linked to it (and to a dose change when there is one)."""
    return Flag(code, severity, message, source, visit.visit_date, visit.visit_id, change, keys)
