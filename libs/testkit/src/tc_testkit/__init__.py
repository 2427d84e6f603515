"""What the test suites of more than one package share (never imported by runtime code).

Helpers of one package's tests stay in that package (``tests/support.py``); conftest files hold
fixtures only. Tests import what they need from here by name:

- ``moments``: the instants every time-sensitive test is run at, so the suite's result does not
  depend on the day and hour it runs.
- ``events``: ``telemetry_sample``, the one builder of telemetry samples, and the VINs and
  instant it defaults to.
- ``history``: drives, charges, charging locations, behaviour profiles and charge plans.
- ``market``: day-ahead spot prices and price forecasts.
- ``recorders``: a publisher and a sleep that keep what they are given.
- ``fleet``: the simulated fleet's truth (what any car was doing at any instant).

Pinned clocks are ``tc_common.clock``'s: ``FixedClock`` (set or advanced by the test) and
``ShiftedClock`` (a chosen moment, running at real speed), which the services use too.
- ``waiting``: ``eventually``, for what happens in a background loop or service.
- ``kafka``: producing to and reading from a real broker in integration tests.
- ``tls``: a throwaway certificate authority, and a TLS-terminating TCP proxy.
- ``smtp``: a real SMTP server (plain, STARTTLS, implicit TLS, AUTH) that keeps what it
  receives and refuses or stalls on request; ports that never answer or refuse.
- ``vpn``: a real OpenVPN tunnel between two network namespaces (needs root and openvpn), the
  VPN deployed in it with ``tc_vpn``, and sockets inside either namespace.
"""
