"""The OpenVPN access path's pure parts (import the modules by name).

- ``pki``: CA, server and device certificates, the CRL (``cryptography`` only; ``now`` passed in).
- ``tls_crypt_v2``: tls-crypt-v2 server keys and per-device client keys with metadata.
- ``config``: the server configuration and a device's inline ``.ovpn``.
- ``management``: an asyncio client of the management interface (status, client-kill).
- ``revocation``: atomic writes of the CRL and the verify hook's deny list.
- ``verify_hook``: the tls-crypt-v2 verify hook (``tc-vpn-verify``).

This file imports nothing: the verify hook runs on every connection attempt and must not pay
for ``cryptography``.
"""
