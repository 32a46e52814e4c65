"""``python -m registry``: the same as the ``registry`` command."""

from registry.cli import main

if __name__ == "__main__":
    main()
