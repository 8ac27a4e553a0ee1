"""The default purpose catalogue: why data is used, on which legal basis, as W3C DPV terms."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DPV = "https://w3id.org/dpv#"


class LegalBasis(StrEnum):
    consent = "consent"
    explicit_consent = "explicit-consent"
    contract = "contract"
    legitimate_interest = "legitimate-interest"


LEGAL_BASIS_DPV = {
    LegalBasis.consent: "dpv:Consent",
    LegalBasis.explicit_consent: "dpv:ExplicitlyExpressedConsent",
    LegalBasis.contract: "dpv:Contract",
    LegalBasis.legitimate_interest: "dpv:LegitimateInterest",
}


@dataclass(frozen=True)
class Purpose:
    key: str
    title: str
    description: str
    dpv: str
    legal_basis: LegalBasis
    sensitive: bool = False

    @property
    def legal_basis_dpv(self) -> str:
        return LEGAL_BASIS_DPV[self.legal_basis]


CATALOGUE: dict[str, Purpose] = {
    p.key: p
    for p in (
        Purpose(
            "service",
            "Service messages",
            "Messages needed to deliver what the customer bought: bookings, gate changes, receipts.",
            "dpv:ServiceProvision",
            LegalBasis.contract,
        ),
        Purpose(
            "marketing",
            "Marketing",
            "Promotional messages about the org's own products.",
            "dpv:DirectMarketing",
            LegalBasis.consent,
        ),
        Purpose(
            "personalised-offers",
            "Personalised offers",
            "Offers chosen from what the customer told us about themselves.",
            "dpv:PersonalisedAdvertising",
            LegalBasis.consent,
        ),
        Purpose(
            "partner-sharing",
            "Sharing with partners",
            "Passing the customer's data to named partner businesses.",
            "dpv:SellDataToThirdParties",
            LegalBasis.consent,
        ),
        Purpose(
            "analytics",
            "Analytics",
            "Measuring how the service is used, to improve it.",
            "dpv:ServiceUsageAnalytics",
            LegalBasis.consent,
        ),
        Purpose(
            "health-offers",
            "Health-related offers",
            "Offers about health, pregnancy or medical products: special-category data.",
            "dpv:PersonalisedAdvertising",
            LegalBasis.explicit_consent,
            sensitive=True,
        ),
        Purpose(
            "financial-offers",
            "Financial-situation offers",
            "Offers tied to the customer's financial situation, such as credit or hardship support.",
            "dpv:PersonalisedAdvertising",
            LegalBasis.explicit_consent,
            sensitive=True,
        ),
    )
}

PurposeKey = StrEnum("PurposeKey", {key.replace("-", "_"): key for key in CATALOGUE})  # type: ignore[misc]
