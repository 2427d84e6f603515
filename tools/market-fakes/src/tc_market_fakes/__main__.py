import sys

from tc_market_fakes.cli import main

sys.exit(main())
