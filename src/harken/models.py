"""Every table, imported in one place so migrations and schema checks see the whole model."""

from harken.consent.models import ConsentRecord, CurrentConsent, Notice
from harken.db import Base
from harken.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerHead
from harken.orgs.models import ApiKey, Org
from harken.subjects.models import Subject, SubjectRef

__all__ = [
    "ApiKey",
    "Base",
    "ConsentRecord",
    "CurrentConsent",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerHead",
    "Notice",
    "Org",
    "Subject",
    "SubjectRef",
]
