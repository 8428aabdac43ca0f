#!/usr/bin/env bash
# The paper's maze splits (Table 4) rendered as images, in verl's multimodal layout: a test split
# over sizes 7-21 and a training split over 9-15 without any test maze.
set -euo pipefail
DATA_DIR=${DATA_DIR:-$HOME/data/passkrl/visual_maze}
mkdir -p "$DATA_DIR"
passkrl data maze --image --split test --sizes 7,9,11,13,15,17,19,21 --n 775 --out "$DATA_DIR/test.parquet"
passkrl data maze --image --split train --sizes 9,11,13,15 --n 40000 \
  --exclude "$DATA_DIR/test.parquet" --out "$DATA_DIR/train.parquet"
