"""``python -m hlsgen.cli``: the ``hlsgen`` command."""

import sys

from hlsgen.cli import main

sys.exit(main())
