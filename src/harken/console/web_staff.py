"""The org's staff, as its admins manage them: who may sign in to this console, and as what."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from harken.console import service as staff_service
from harken.console.models import Staff
from harken.console.visit import VisitDep, Write, text_field
from harken.console.web_integrations import path_id
from harken.orgs.models import Org

router = APIRouter(prefix="/console", include_in_schema=False)


def _staff(session: Session, staff: Staff, org: Org) -> dict[str, Any]:
    return {
        "members": staff_service.listed(session, org=org),
        "roles": staff_service.ROLES,
        "labels": {"email": "Email address", "role": "Role", "staff": "Staff"},
    }


@router.get("/staff")
async def staff_page(visit: VisitDep) -> Response:
    return await visit.page("staff.html", _staff)


@router.post("/staff")
async def add_staff(visit: VisitDep) -> Response:
    form = await visit.request.form()
    email, role = text_field(form.get("email")) or "", text_field(form.get("role")) or ""

    def work(session: Session, staff: Staff, org: Org) -> str:
        staff_service.add(
            session,
            org=org,
            email=email,
            role=role,
            by=staff_service.actor(staff),
            notary=visit.hub.notary,
            now=visit.now,
        )
        return "/console/staff?done=added"

    return await visit.act(work, Write("staff.add", {"role": role}), template="staff.html", build=_staff)


@router.post("/staff/{staff_id}/remove")
async def remove_staff(staff_id: str, visit: VisitDep) -> Response:
    found = path_id(staff_id)

    def work(session: Session, staff: Staff, org: Org) -> str:
        member = staff_service.member(session, org=org, staff_id=found)
        staff_service.remove(
            session,
            org=org,
            staff=member,
            by=staff_service.actor(staff),
            notary=visit.hub.notary,
            now=visit.now,
        )
        return "/console/staff?done=removed"

    return await visit.act(
        work, Write("staff.remove", {"staff": str(found)}), template="staff.html", build=_staff
    )
