"""Who is calling: every ObjectQL call carries a Context."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Context:
    user_id: str | None
    role: str = "sales_rep"
    is_system: bool = False
    # Ids of users below this one in the manager chain (row-level sharing).
    subordinate_ids: frozenset[str] = field(default_factory=frozenset)
    name: str = ""
    # Set on an elevated context: what acts on the user's behalf ("trigger:...",
    # "delete_behavior"). The audit trail records it beside the user.
    via: str | None = None

    @classmethod
    def system(cls, user_id: str | None = None) -> Context:
        """Trusted callers: seeds, migrations, triggers that ask for elevation."""
        return cls(user_id=user_id, role="admin", is_system=True, name="system")

    def elevated(self, via: str = "system") -> Context:
        """The same user, acting with system rights on behalf of `via` (a trigger, a
        delete behaviour): stamps still name the user, the audit trail names both."""
        return replace(self, is_system=True, via=self.via or via)
