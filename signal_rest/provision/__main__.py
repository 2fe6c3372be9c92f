"""``python -m signal_rest.provision``: see :mod:`signal_rest.provision`."""

import sys

from .command import main

sys.exit(main())
