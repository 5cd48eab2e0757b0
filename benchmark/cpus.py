"""The CPU cores this process may run on: its affinity mask where the OS has one, which is
what a container, ``taskset`` or a pytest-xdist worker pinned to one core allows, not
every core of the machine (threads beyond those only wait on each other)."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
