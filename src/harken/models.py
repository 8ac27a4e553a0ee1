"""Every table, imported in one place so migrations and schema checks see the whole model."""

from harken.centre.models import CentreSession, ErasureRequest, SignInLink
from harken.consent.models import ConsentRecord, CurrentConsent, Notice
from harken.console.models import Staff, StaffLink, StaffSession
from harken.context.models import Event, Fact, Sharing
from harken.credentials.models import Credential, PresentationNonce, StatusEntry, StatusList
from harken.db import Base
from harken.decisions.models import DecisionFeedback, DecisionLog, Offer
from harken.edge.models import IdempotencyKey, RateCount
from harken.grants.models import Grant, GrantAct, GrantRequest, GrantToken, OAuthClient
from harken.learning.models import LearningModel, LearningSettings
from harken.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerHead
from harken.orgs.models import ApiKey, Org
from harken.profiling.models import Question, QuestionAsk
from harken.shares.models import Share, ShareGrant, ShareUse
from harken.subjects.models import Subject, SubjectKey, SubjectRef, Token
from harken.terms.models import TermsProffer, TermsPublished
from harken.webhooks.models import Attempt, Delivery, Endpoint, OutboxEvent

__all__ = [
    "ApiKey",
    "Attempt",
    "Base",
    "CentreSession",
    "ConsentRecord",
    "Credential",
    "CurrentConsent",
    "DecisionFeedback",
    "DecisionLog",
    "Delivery",
    "Endpoint",
    "ErasureRequest",
    "Event",
    "Fact",
    "Grant",
    "GrantAct",
    "GrantRequest",
    "GrantToken",
    "IdempotencyKey",
    "LearningModel",
    "LearningSettings",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerHead",
    "Notice",
    "OAuthClient",
    "Offer",
    "Org",
    "OutboxEvent",
    "PresentationNonce",
    "Question",
    "QuestionAsk",
    "RateCount",
    "Share",
    "ShareGrant",
    "ShareUse",
    "Sharing",
    "SignInLink",
    "Staff",
    "StaffLink",
    "StaffSession",
    "StatusEntry",
    "StatusList",
    "Subject",
    "SubjectKey",
    "SubjectRef",
    "TermsProffer",
    "TermsPublished",
    "Token",
]
