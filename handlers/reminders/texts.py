"""Every word the reminders say, in one place."""

from __future__ import annotations

from datetime import datetime


def days_left(days: int) -> str:
    return "in 1 day" if days == 1 else f"in {days} days"


def when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


TOKEN_TITLE = "Your data-access token {name} expires {left}"
TOKEN_TEXT = ("It stops working on {when}. Create a replacement now and switch your Delta Sharing "
              "profile to it before then.")
TOKEN_RENEW = "Create a replacement"
CERT_TITLE = "deskhand's identity-provider certificate expires {left}"
CERT_TEXT = ("Certificate {thumbprint} stops working on {when}: after that deskhand cannot sign in "
             "to the identity provider.")
CERT_NEXT = ("Upload certificate {thumbprint} to the identity provider (`cert download {thumbprint}`), "
             "then `cert activate {thumbprint}`.")
CERT_NO_NEXT = "No replacement is available yet: `cert list` shows the certificates."
CERT_LEAD = "For the certificate admins:"
CONTEXT = "Reminders come {marks} days before expiry (setting reminder_days)."
