from tc_api.main import run

run()
