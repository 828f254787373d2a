"""Identity providers deskhand signs in to with a certificate: a client-assertion token request
(`client`: Entra through msal, Okta with private_key_jwt over httpx) and a simulator speaking
both (`simulator`) that trusts only the certificates uploaded to it.

Imports nothing of deskhand's: the certificates capability (handlers/certificates) supplies the
configuration and the key pair.
"""

ENTRA_TOKEN_PATH = "/oauth2/v2.0/token"  # here, so settings can check a URL without the client
