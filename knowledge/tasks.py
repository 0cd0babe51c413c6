"""Knowledge jobs: importing a company directory in the background."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import company_apply, company_plan


class CompanyImportFailed(Exception):
    """The directory has problems and the import is strict: nothing was written."""


@shared_task(
    bind=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
    acks_late=True,
)
def import_company(self, directory: str, strict: bool = True) -> list[str]:
    """Import ``directory`` (the ``load_company`` format); returns the changed keys.
    Safe to run again: records are upserted, so a second run changes nothing."""
    plan = company_plan(directory=directory, strict=strict)
    if plan.problems and strict:
        raise CompanyImportFailed("; ".join(str(problem) for problem in plan.problems[:20]))
    return company_apply(plan=plan)
