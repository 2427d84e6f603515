from tc_forecast.main import run

run()
