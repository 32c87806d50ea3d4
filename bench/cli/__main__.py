"""`python -m bench.cli`: how ab and calibrate start the harness in another environment."""

import sys

from bench.measure.instructions import import_pad

import_pad.install()  # a counting child's layout (a no-op elsewhere), before the imports

from bench.cli import main  # noqa: E402

sys.exit(main())
