import sys

from tc_admin.cli import main

sys.exit(main())
