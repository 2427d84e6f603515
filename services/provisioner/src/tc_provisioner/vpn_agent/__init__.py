"""The VPN agent: runs beside each OpenVPN server and applies the provisioner's revocations.

It writes the CRL and the tls-crypt-v2 deny list where the server reads them, and ends the
sessions of revoked devices through the server's management interface (a CRL alone ends no
session). It holds no secret: the CRL is public, and the server's keys are installed by the
operator (``tc-admin vpn-server-config``).
"""
