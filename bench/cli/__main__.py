"""`python -m bench.cli`: how ab and calibrate start the harness in another environment."""

import sys

from bench.cli import main

sys.exit(main())
