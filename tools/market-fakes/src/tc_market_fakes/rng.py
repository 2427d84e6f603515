"""Stable seeded generators: the same key gives the same draws in every process.

``hash()`` of a string changes between interpreter runs, so keys are hashed with SHA-256.
"""

from __future__ import annotations

import hashlib
import random


def seeded(*key: object) -> random.Random:
    """A generator seeded by ``key`` (its parts' ``str`` joined), stable across processes."""
    digest = hashlib.sha256(":".join(str(part) for part in key).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))
