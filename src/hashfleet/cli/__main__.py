"""``python -m hashfleet.cli`` is the ``hashfleet`` command (as ``python -m hashfleet``)."""

import sys

from hashfleet.cli import main

if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
