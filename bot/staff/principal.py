"""The signed-in staff member as routes see it: who, which role, which units."""

from __future__ import annotations

from dataclasses import dataclass

from bot.staff.models import Role, StaffUser


@dataclass(frozen=True)
class StaffPrincipal:
    id: int
    username: str
    full_name: str
    role: Role
    units: frozenset[str]

    @classmethod
    def of(cls, user: StaffUser) -> StaffPrincipal:
        return cls(user.id, user.username, user.full_name, Role(user.role), frozenset(user.unit_names))

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_supervisor(self) -> bool:
        """Supervisor rights (assignment, reports, overrides): supervisors and admins."""
        return self.role in (Role.SUPERVISOR, Role.ADMIN)

    @property
    def actor(self) -> str:
        """How audit rows name this person (ticket_audit.actor)."""
        return f"{self.role.value}:{self.username}"

    def can_see_unit(self, unit: str | None) -> bool:
        """Admins see every unit; others only their own (a ticket without a unit is nobody's but admins')."""
        return self.is_admin or (unit is not None and unit in self.units)
