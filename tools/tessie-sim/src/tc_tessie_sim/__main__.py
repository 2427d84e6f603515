import sys

from tc_tessie_sim.cli import main

sys.exit(main())
