"""Errors services raise when a business rule refuses a change.

Views turn them into a message on the form (by field where one is named), keeping
everything the user typed.
"""

from __future__ import annotations


class BusinessRuleError(Exception):
    """A change the rules do not allow; `field` names the form field at fault, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class StaleRecordError(BusinessRuleError):
    """The record changed since the form was opened; the save was refused, not merged."""

    def __init__(self, what: str = "record"):
        super().__init__(
            f"Someone else changed this {what} while you were editing it. "
            "Your changes have not been saved: they are shown below so you can check the "
            "latest version and apply them again."
        )
