"""Normalise generated AsyncAPI documents so the committed copies can be compared byte for byte.

FastStream keeps a broker's publishers in a WeakSet, so the order of channels and operations in
its output follows object addresses and differs between runs. Sorting the mapping keys makes
the document a function of the code alone.
"""

import sys
from pathlib import Path

import yaml


def normalise(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump(document, sort_keys=True, allow_unicode=True))


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        normalise(Path(arg))
