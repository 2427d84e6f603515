from tc_provisioner.main import run

run()
