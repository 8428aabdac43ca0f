#!/usr/bin/env bash
# The paper's maze data (Table 4): a test split over sizes 7-21, and a training split over 9-15
# from which every test maze is excluded. Written where the recipes look for them (DATA_DIR).
set -euo pipefail
DATA_DIR=${DATA_DIR:-$HOME/data/passkrl/maze}
mkdir -p "$DATA_DIR"
passkrl data maze --split test --sizes 7,9,11,13,15,17,19,21 --n 775 --out "$DATA_DIR/test.parquet"
passkrl data maze --split train --sizes 9,11,13,15 --n 40000 \
  --exclude "$DATA_DIR/test.parquet" --out "$DATA_DIR/train.parquet"
