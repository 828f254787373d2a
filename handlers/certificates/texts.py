"""Everything the certificates capability says to people, in one place."""

from __future__ import annotations

LIST_TITLE = "IdP certificates"
LIST_NONE = "No certificate yet: deskhand makes one within the hour."
LIST_HOW = ("Upload an available certificate's PEM to the IdP app (`cert download <thumbprint>`), "
            "then `cert activate <thumbprint>`.")
NOT_FOUND = "No certificate with thumbprint {thumbprint} is known here; `cert list` shows them."
RETIRED = "Certificate {thumbprint} was retired on {when}; only an available one can be activated."
ALREADY_ACTIVE = "Certificate {thumbprint} is already the active one."
EXPIRED = ("Certificate {thumbprint} expired on {when}; activate a newer one (`cert list`).")
NOT_CONFIGURED = ("No identity provider is set up, so the certificate cannot be proven. An "
                  "administrator sets DESKHAND_IDP_KIND (entra or okta), DESKHAND_IDP_TOKEN_URL and "
                  "DESKHAND_IDP_CLIENT_ID.")
CONFIRM_TITLE = "Activate certificate {thumbprint}?"
CONFIRM_TEXT = ("First upload this certificate to the {vendor} app `{client}` (`cert download "
                "{thumbprint}`). deskhand then asks {vendor} for a token signed with it; only if "
                "{vendor} accepts does it become the active certificate.")
CONFIRM_BUTTON = "I've uploaded and configured this certificate"
ACTIVATED_TITLE = "Certificate {thumbprint} is active"
ACTIVATED_TEXT = ("{vendor} issued a token for a client assertion signed with it, so deskhand "
                  "uses it from now on.")
REPLACED = " It replaces {old}, now retired."
REFUSED_TITLE = "Certificate not activated"
REFUSED_TEXT = "{reason} {current}"
CURRENT_STAYS = "The active certificate stays {old}."
NONE_ACTIVE = "No certificate is active yet."
BUSY = "Someone is activating a certificate right now; try again in a minute."
OTHER_ACTIVE = ("Certificate {thumbprint} was not activated: {other} became active meanwhile. "
                "`cert list` shows the state.")
MOVED = "Certificate {thumbprint} changed meanwhile (it is {state} now); `cert list` shows the state."
UPLOADED = "`{name}` is in this conversation."
UPLOADED_TITLE = "Certificate uploaded"
LINK_TITLE = "Certificate {thumbprint}"
LINK_TEXT = ("The link gives `{name}` (the public certificate, PEM) for 15 minutes and checks your "
             "access again when opened.")
LINK_BUTTON = "Download {name}"
DAMAGED = "run `cert list` and `cert activate <thumbprint>` again."
NOT_FOUND_TITLE = "Unknown certificate"
RETIRED_TITLE = "Certificate retired"
ALREADY_ACTIVE_TITLE = "Already active"
EXPIRED_TITLE = "Certificate expired"
NOT_CONFIGURED_TITLE = "No identity provider"
BUSY_TITLE = "Activation in progress"
UPLOAD_COMMENT = "Public certificate {subject}, thumbprint {thumbprint}"
