"""``python -m hashfleet`` is the ``hashfleet`` command."""

from hashfleet.cli import main

if __name__ == "__main__":
    main()
