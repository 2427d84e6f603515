from tc_provisioner.vpn_agent.main import run

run()
