"""What the test suites share (never imported by runtime code).

- ``moments``: the instants every time-sensitive test is run at, so the suite's result does not
  depend on the day and hour it runs.
"""
