"""tc-admin: the operator's tool for accounts, their vehicles and API keys.

Each command writes through ``tc_db.accounts`` (the one writer of those tables) and then
publishes the event it returns, waiting for the broker's acknowledgement.
"""
