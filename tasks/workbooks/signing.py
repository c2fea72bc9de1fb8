"""The request workbook's hidden ``_meta`` sheet: what it says and the signature over it.

The signature ties a returned file to its request even when it was renamed or forwarded:
intake trusts the plan, cycle and institution a file names only when they verify.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from tasks.core import contract
from tasks.plans.plan import Institution, Plan

TEMPLATE_VERSION = "1"
META = contract.META_SHEET
FIELDS = ("plan", "cycle", "institution", "template_version")
"""The signed fields of ``_meta``, in the order they are signed."""


def signature(
    key: str,
    plan_id: str,
    cycle_id: str,
    institution: str,
    template_version: str = TEMPLATE_VERSION,
) -> str:
    """HMAC-SHA256 (hex) that ties a workbook to its request even when renamed or forwarded."""
    message = "|".join((plan_id, cycle_id, institution, template_version))
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify(meta: Mapping[str, str], key: str) -> bool:
    """Whether the values of a ``_meta`` sheet are the ones its signature was made from."""
    values = [str(meta.get(field, "")).strip() for field in FIELDS]
    if not all(values):
        return False
    given = str(meta.get("signature", "")).strip()
    return hmac.compare_digest(signature(key, *values), given)


def signed_meta(
    plan: Plan, institution: Institution, cycle_id: str, signing_key: str
) -> dict[str, str]:
    """The ``_meta`` sheet's rows (field → value), the signature last."""
    meta = dict(zip(FIELDS, (plan.id, cycle_id, institution.code, TEMPLATE_VERSION), strict=True))
    meta["signature"] = signature(signing_key, plan.id, cycle_id, institution.code)
    return meta
