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

    @classmethod
    def system(cls, user_id: str | None = None) -> Context:
        """Trusted callers: seeds, migrations, triggers that ask for elevation."""
        return cls(user_id=user_id, role="admin", is_system=True, name="system")

    def elevated(self) -> Context:
        """The same user, acting with system rights (stamps still name the user)."""
        return replace(self, is_system=True)
