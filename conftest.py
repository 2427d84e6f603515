pytest_plugins = ["tc_devstack.pytest_plugin"]
