"""The legacy import's company documents (``employees.json``, ``departments.json``,
``projects.json``, ``procedures.json``): read and checked by ``importing.py``, planned and applied by
the company services, as ``load_company`` does. Run by ``migrate_legacy`` (``chatcore.legacy``)
with the other apps' parts, in one transaction.
"""

from __future__ import annotations

from pathlib import Path

from chatcore.legacy_json import Tally

from .models import Document
from .services import CompanyPlan, company_apply, company_plan


def read_documents(*, data_dir: Path | str, strict: bool = True) -> CompanyPlan:
    """What importing the company files of ``data_dir`` would change (with its problems)."""
    return company_plan(directory=data_dir, strict=strict)


def employee_keys(plan: CompanyPlan) -> set[str]:
    """The employee keys there will be once ``plan`` is applied (a user's ``employee_id`` must be one)."""
    keys = set(Document.objects.filter(doc_type="employee").values_list("key", flat=True))
    keys |= {r.key for r in plan.create + plan.unchanged + [r for _, r in plan.update] if r.doc_type.name == "employee"}
    return keys


def apply_documents(plan: CompanyPlan, tally: Tally, progress=None) -> None:
    """Write ``plan`` (inside the caller's transaction), counted as ``documents``."""
    company_apply(plan=plan, progress=progress)
    for name, counter in plan.counts().items():
        getattr(tally, name)["documents"] += sum(counter.values())
