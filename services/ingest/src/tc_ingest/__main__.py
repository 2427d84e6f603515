from tc_ingest.main import run

run()
