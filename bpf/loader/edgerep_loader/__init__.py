# SPDX-License-Identifier: Apache-2.0
"""edgerep loader: owns the kernel side of a node (BPF programs, pinned maps, attachments)."""

__version__ = "0.1.0"

#: Where maps and programs are pinned; everything the loader creates lives below it.
DEFAULT_PIN_DIR = "/sys/fs/bpf/edgerep"
#: Default unix socket the agent dials.
DEFAULT_SOCKET = "/run/edgerep/loader.sock"
