# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""``python -m svlearn``: the same as the ``svlearn`` command."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
