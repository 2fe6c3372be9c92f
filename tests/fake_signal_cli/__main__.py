"""``python -m fake_signal_cli ARGS`` (with tests/ on the path) runs the fake like the shim does."""

import sys

from fake_signal_cli.run import main

sys.exit(main(sys.argv[1:]))
