"""The ``rnntui`` command line."""

import sys


def main(argv=None) -> int:
    print("rnntui: under construction")
    return 0


if __name__ == "__main__":
    sys.exit(main())
