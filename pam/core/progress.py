"""How far a piece of work has got: an improvement-plan action, a delivery-plan milestone.
One scale for both, so the pages and reports speak of progress the same way."""

from __future__ import annotations

import enum


class ProgressStatus(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()
