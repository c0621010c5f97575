"""The reference scenario's catalog: a portal phone order and a few other items."""

from __future__ import annotations

from typing import Any

from reqfulfill.model.catalog import Catalog, Requester

__all__ = ["DEMO_CATALOG", "demo_catalog", "demo_requester"]

DEMO_CATALOG: dict[str, Any] = {
    "triage_group": "service-desk",
    "groups": [
        {
            "id": "service-desk",
            "name": "Service Desk",
            "members": ["sam.agent", "tia.agent"],
            "escalates_to": "desk-l2",
        },
        {"id": "desk-l2", "name": "Service Desk level 2", "members": ["lee.expert"]},
        {"id": "identity", "name": "Identity and Access", "members": ["ida.admin"]},
    ],
    "plans": [
        {
            "id": "mobile-phone",
            "tasks": [
                {
                    "key": "order",
                    "kind": "stock_or_order",
                    "title": "Take the phone from stock, or order it from the supplier",
                },
                {
                    "key": "prepare",
                    "kind": "manual",
                    "title": "Prepare the phone (enrol, install apps)",
                    "after": ["order"],
                },
                {
                    "key": "deliver",
                    "kind": "delivery",
                    "title": "Deliver the phone to the requester",
                    "after": ["prepare"],
                },
            ],
        },
        {
            "id": "password-reset",
            "tasks": [{"key": "reset", "kind": "manual", "title": "Reset the password"}],
        },
        {
            "id": "access-right",
            "tasks": [
                {"key": "grant", "kind": "automated", "title": "Grant the access right"},
                {
                    "key": "verify",
                    "kind": "manual",
                    "title": "Verify the access works",
                    "after": ["grant"],
                    "group": "identity",
                },
            ],
        },
    ],
    "items": [
        {
            "id": "iphone-15",
            "name": "Mobile phone (iPhone 15)",
            "category": "Hardware/Mobile",
            "group": "service-desk",
            "impact": "low",
            "urgency": "medium",
            "plan": "mobile-phone",
            "physical": True,
            "supplier": "acme-mobile",
            "requires_approval": True,
            "description": (
                "A company smartphone (iPhone 15) with the mobile apps, delivered to the"
                " requester; also the replacement of a lost, stolen or broken phone."
            ),
            "keywords": [
                "mobile",
                "mobile phone",
                "cell phone",
                "cellphone",
                "smartphone",
                "handset",
                "phone",
                "iphone",
                "work phone",
                "Handy",
                "Diensthandy",
                "Smartphone",
                "téléphone portable",
                "portable",
                "móvil",
            ],
            "attributes": {"cost": 899},
        },
        {
            "id": "password-reset",
            "name": "Password reset",
            "category": "Access/Password",
            "group": "service-desk",
            "impact": "low",
            "urgency": "high",
            "plan": "password-reset",
            "requires_approval": False,
            "description": (
                "Reset of a forgotten or expired password, and unlocking of a locked account."
            ),
            "keywords": [
                "password",
                "forgot password",
                "locked out",
                "account locked",
                "unlock",
                "login",
                "log in",
                "sign in",
                "expired password",
                "credentials",
                "pw",
                "Passwort",
                "Kennwort",
                "gesperrt",
                "mot de passe",
                "contraseña",
            ],
        },
        {
            "id": "crm-access",
            "name": "Access to the CRM",
            "category": "Access/Application",
            "group": "identity",
            "impact": "medium",
            "urgency": "medium",
            "plan": "access-right",
            "requires_approval": True,
            "description": (
                "Access to the CRM (Salesforce) for customer accounts, contacts, leads"
                " and opportunities."
            ),
            "keywords": [
                "CRM",
                "Salesforce",
                "customer relationship management",
                "customer accounts",
                "leads",
                "opportunities",
                "sales pipeline",
                "CRM licence",
                "Vertrieb",
            ],
        },
    ],
}
"""The demo catalog in its data form (what a TOML catalog file holds)."""


def demo_catalog() -> Catalog:
    """The demo catalog: Service Desk, a phone from supplier ``acme-mobile``, and more."""
    return Catalog.from_dict(DEMO_CATALOG)


def demo_requester() -> Requester:
    """Erin, an end user in Finance whose manager is ``max.manager``."""
    return Requester(
        id="erin.user",
        name="Erin User",
        department="Finance",
        location="Helsinki HQ",
        manager="max.manager",
    )
