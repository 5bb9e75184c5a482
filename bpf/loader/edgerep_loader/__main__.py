# SPDX-License-Identifier: Apache-2.0
"""Entry point: ``python3 -m edgerep_loader --socket PATH``."""

from edgerep_loader.server import main

if __name__ == "__main__":
    main()
