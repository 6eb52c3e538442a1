"""``python -m dacrew``: the same command line as the ``dacrew`` script."""

from dacrew.cli import main

if __name__ == "__main__":
    main()
