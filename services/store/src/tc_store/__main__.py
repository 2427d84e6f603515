from tc_store.main import run

run()
