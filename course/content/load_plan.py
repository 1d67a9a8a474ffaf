"""What a content load does, per kind of item: the plan `flask content load` prints."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

KINDS = ("course", "module", "chapter", "lesson", "workbook prompt", "quiz", "question", "option")
PLURAL = {"quiz": "quizzes"}
ACTIONS = ("added", "changed", "moved", "archived", "restored")
# Rows rewritten only for their place, without being moved themselves: counted in the plan, not listed.
QUIET = ("renumbered", "renamed")  # position shifted by the others' changes / lesson file renamed in place


@dataclass
class LoadPlan:
    """What a load does, per kind: the items added, changed (their content), moved (to another parent, or
    among the fewest items whose order among their siblings changed), archived and restored; and how many
    rows were only renumbered or renamed (their position number or file name follows the others' changes)."""

    entries: dict[str, dict[str, list[str]]] = field(
        default_factory=lambda: {kind: defaultdict(list) for kind in KINDS}
    )
    quiet: dict[str, Counter[str]] = field(default_factory=lambda: {kind: Counter() for kind in KINDS})

    def note(self, kind: str, action: str, key: str) -> None:
        self.entries[kind][action].append(key)

    def count(self, kind: str, action: str) -> int:
        if action in QUIET:
            return self.quiet[kind][action]
        return len(self.entries[kind].get(action, []))

    def counts(self) -> dict[str, dict[str, int]]:
        """How many items of each kind had each action, e.g. {"lesson": {"added": 2, "renumbered": 1}}: only the
        non-zero counts."""
        found = {kind: {a: self.count(kind, a) for a in ACTIONS + QUIET if self.count(kind, a)} for kind in KINDS}
        return {kind: actions for kind, actions in found.items() if actions}

    @property
    def size(self) -> int:
        """How many things the plan writes so far (items listed, and rows only renumbered or renamed)."""
        listed = sum(len(keys) for actions in self.entries.values() for keys in actions.values())
        return listed + sum(sum(counts.values()) for counts in self.quiet.values())

    @property
    def empty(self) -> bool:
        """Nothing to write: not even a position number or a file name."""
        return not any(keys for actions in self.entries.values() for keys in actions.values()) and not any(
            self.quiet.values()
        )

    def lines(self) -> list[str]:
        if self.empty:
            return ["no changes"]
        out = []
        for kind in KINDS:
            parts = [f"{action} {self.count(kind, action)}" for action in ACTIONS if self.count(kind, action)]
            quiet = [f"{self.count(kind, what)} {what}" for what in QUIET if self.count(kind, what)]
            if quiet:
                parts.append(f"({', '.join(quiet)})")
            if parts:
                out.append(f"{PLURAL.get(kind, kind + 's') + ':':<18}" + ", ".join(parts).replace(", (", " ("))
                for action in ACTIONS:
                    keys = self.entries[kind].get(action, [])
                    if keys and action != "added":
                        shown = ", ".join(keys[:8]) + (f" … (+{len(keys) - 8})" if len(keys) > 8 else "")
                        out.append(f"    {action}: {shown}")
        return out
