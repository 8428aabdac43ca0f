r"""The maze task of the Pass@k Training paper (arXiv 2508.10751, appendix A.1, Fig. 14).

A maze is a square grid of characters, one row per line::

    *******
    *S....*
    ***.*.*
    *...*.*
    *.***.*
    *....E*
    *******

``S`` is the start, ``E`` the end (destination), ``*`` a wall and ``.`` an open cell. The policy
answers with moves ``U`` (up, row - 1), ``D`` (down, row + 1), ``L`` (left, column - 1) and ``R``
(right, column + 1) inside ``<answer> ... </answer>``. The paper trains on sizes 9, 11, 13 and 15 and
tests on 7 to 21, with the test set deduplicated against training (Table 4).

Where this module departs from, or pins down, the paper and its published code:

* **Wall character.** The paper's prose (A.1) says ``*`` is an "available place" and ``.`` an
  "unavailable place"; the prompt it shows (Fig. 14) says the opposite: "'*' denotes the wall that
  you cannot walk through, '.' denotes available area". The model only ever sees the prompt, so the
  prompt wins: ``*`` is a wall, ``.`` is open.
* **Generator.** The paper only says it follows "the framework proposed by previous work". We carve
  a perfect maze with a randomized depth-first search (recursive backtracker) on the cells at odd
  coordinates inside a border of walls, then knock out a few extra inner walls so that some mazes
  have several routes. ``S`` is a uniformly random open cell and ``E`` a uniformly random open cell
  at least ``size // 2`` moves away from it (Fig. 14's 9x9 example is solved by ``UUUU``, 4 moves).
* **Which answer counts.** Only the *last complete* ``<answer> ... </answer>`` block is read (an
  unclosed trailing ``<answer>`` is ignored); without one, the last ``\boxed{...}``; without either,
  the reward is 0. The published verifier instead upper-cases the *whole response* and walks every
  ``U/D/L/R`` letter in it when the tags are missing, so the prose "I will go right and down" becomes
  the moves ``LLRDD``. We never walk prose.
* **Inside the block** only the letters U, D, L, R (any case) count as moves; whitespace and commas
  are ignored; any other character makes the answer wrong (0.0), so "RIGHT" is not read as ``R``.
* **Ending on E.** A response is correct iff its moves walk from ``S`` without leaving the grid or
  entering a wall and *end* on ``E``; passing through ``E`` and walking on does not count (as in the
  paper's verifier).
* **Partial credit** (optional, for continuous-reward estimators, not in the paper):
  ``1 - d(end of walk, E) / d(S, E)`` with ``d`` the BFS shortest-path distance, clipped to
  ``[0, 1]``. A walk that leaves the grid or enters a wall gets 0, like a malformed answer: partial
  credit only ranks *legal* answers by how close they end to ``E``. It is exactly 1.0 iff the maze
  is solved.

Two encodings of the same maze:

* the paper's prompt, :func:`prompt` (Fig. 14, reproduced verbatim), scored by :func:`score`;
* a compact one for a tiny character-level model, :func:`compact_prompt`: the rows joined by ``/``
  and closed by ``>`` (``*******/*S....*/.../*******>``), answered by the bare move letters,
  scored by :func:`score_compact`. The completion's end is a tokenizer-level end-of-sequence token,
  not a character: :data:`COMPACT_ALPHABET` lists every character of both sides.

The verifier reads each response in linear time (no backtracking regular expressions) and never
raises, whatever the string: it is called on raw model output.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from passkrl.parsing import IntTuple, int_list, ints_text
from passkrl.tasks.answers import extract_answer
from passkrl.tasks.base import Problem, split_seed
from passkrl.tasks.registry import DataCommand, TaskSpec, get_task, register

# ------------------------------------------------------------------------------------- characters

START, END, WALL, OPEN = "S", "E", "*", "."
GRID_CHARS = START + END + WALL + OPEN
"""The four characters of a maze grid (rows are joined by a newline)."""
MOVES = "UDLR"
"""Move letters: up (row - 1), down (row + 1), left (column - 1), right (column + 1)."""
ROW_SEPARATOR = "/"
"""Joins the rows of a grid in the compact prompt."""
PROMPT_END = ">"
"""Closes the compact prompt; the answer's move letters follow it."""
COMPACT_ALPHABET = GRID_CHARS + ROW_SEPARATOR + PROMPT_END + MOVES
"""Every character of a compact prompt or compact answer, in a fixed order (``"SE*./>UDLR"``).

A character tokenizer built from it needs its own special tokens (BOS, EOS, padding) on top: the
compact answer ends with an EOS token, not with a character.
"""

DATA_SOURCE = "passkrl/maze"
"""The ``data_source`` of verl rows, and what :func:`compute_score` accepts."""
PAPER_TRAIN_SIZES = (9, 11, 13, 15)
PAPER_TEST_SIZES = (7, 9, 11, 13, 15, 17, 19, 21)

# (row step, column step) of each move; the order U, D, L, R also breaks ties between shortest paths.
_STEP = {"U": (-1, 0), "D": (1, 0), "L": (0, -1), "R": (0, 1)}

# ------------------------------------------------------------------------------------- the prompt

# Fig. 14 of the paper, character for character (including its "You can analysis"). The grid sits
# in a fenced block under "## Maze" exactly as the figure shows it.
MOVE_INSTRUCTIONS = (
    "You need to start from the starting point and cross through the available area to reach the "
    "destination. There are four movement actions, including Left, Right, Up, Down.\n"
    "\n"
    "You need to use L to denote Left movement, R to denote Right movement, U to denote Up movement, "
    "and D to denote Down movement.\n"
    "\n"
    "You can analysis the maze to find the correct path, and you should write the final path in the "
    "<answer> </answer>, e.g., <answer> LLRRDUL </answer>."
)
"""The movement and answer-format paragraphs of the paper's Fig. 14 prompt (shared with the visual maze)."""

_PAPER_PROMPT = (
    "You need to solve the following maze.\n"
    "\n"
    "'*' denotes the wall that you cannot walk through, '.' denotes available area that you can walk "
    "through. 'S' denotes the starting point, 'E' denotes the destination.\n"
    "\n"
    + MOVE_INSTRUCTIONS + "\n"
    "\n"
    "```\n"
    "## Maze\n"
    "{grid}\n"
    "```\n"
    "\n"
    "Now try to analyze the maze and put the final path in the <answer> </answer>."
)


# ------------------------------------------------------------------------------------- the maze


@dataclass(frozen=True)
class Maze:
    """One maze: its grid and the facts the verifier and the data sets need.

    ``grid`` has ``size`` rows of ``size`` characters joined by ``"\\n"`` (no trailing newline);
    ``start`` and ``end`` are ``(row, column)``; ``solution`` is a shortest path as move letters.
    """

    grid: str
    size: int
    start: tuple[int, int]
    end: tuple[int, int]
    solution: str

    @property
    def rows(self) -> list[str]:
        return self.grid.split("\n")

    @property
    def id(self) -> str:
        """A stable identifier derived from the grid (equal grids, equal ids)."""
        return f"maze{self.size}-{hashlib.sha1(self.grid.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class _Board:
    """A parsed grid: flat cells (row-major, no newlines) and every cell's BFS distance to E."""

    n_rows: int
    n_cols: int
    cells: str
    start: int  # flat index
    end: int  # flat index
    dist_to_end: tuple[int, ...] = field(repr=False)  # -1 for walls and cells that cannot reach E


def _bfs_distances(cells: str | bytearray, n_rows: int, n_cols: int, source: int) -> list[int]:
    """Shortest-path distance (in moves) from ``source`` to every cell; -1 if unreachable or a wall."""
    wall = WALL if isinstance(cells, str) else ord(WALL)
    dist = [-1] * (n_rows * n_cols)
    dist[source] = 0
    queue = deque([source])
    while queue:
        here = queue.popleft()
        row, col = divmod(here, n_cols)
        for d_row, d_col in _STEP.values():
            r, c = row + d_row, col + d_col
            if 0 <= r < n_rows and 0 <= c < n_cols:
                there = r * n_cols + c
                if dist[there] < 0 and cells[there] != wall:
                    dist[there] = dist[here] + 1
                    queue.append(there)
    return dist


def _descend(dist_to_end: Sequence[int], n_rows: int, n_cols: int, start: int) -> str:
    """A shortest path from ``start`` to the cell at distance 0, taking the first move in U, D, L, R
    order that lowers the distance by one (so the result is unique for a grid)."""
    if dist_to_end[start] < 0:
        raise ValueError("the maze has no path from S to E")
    moves = []
    here = start
    while dist_to_end[here] > 0:
        row, col = divmod(here, n_cols)
        for move, (d_row, d_col) in _STEP.items():
            r, c = row + d_row, col + d_col
            if 0 <= r < n_rows and 0 <= c < n_cols and dist_to_end[r * n_cols + c] == dist_to_end[here] - 1:
                moves.append(move)
                here = r * n_cols + c
                break
    return "".join(moves)


def _board(grid: str) -> _Board:
    if not isinstance(grid, str):
        raise ValueError(f"a maze grid must be a str, got {type(grid).__name__}")
    return _parse_board(grid)


@functools.lru_cache(maxsize=4096)
def _parse_board(grid: str) -> _Board:
    # Cached: the trainer scores n_rollouts answers per maze, and parsing + BFS dominate for short answers.
    rows = [line.rstrip("\r") for line in grid.strip("\n").split("\n")]
    if not rows or not rows[0]:
        raise ValueError("empty maze grid")
    n_cols = len(rows[0])
    for i, line in enumerate(rows):
        if len(line) != n_cols:
            raise ValueError(f"maze row {i} has {len(line)} characters, row 0 has {n_cols}: the grid must be rectangular")
        bad = set(line) - set(GRID_CHARS)
        if bad:
            raise ValueError(f"maze row {i} has characters {''.join(sorted(bad))!r}; allowed: {GRID_CHARS!r}")
    cells = "".join(rows)
    if cells.count(START) != 1 or cells.count(END) != 1:
        raise ValueError(f"a maze needs exactly one {START!r} and one {END!r}, "
                         f"got {cells.count(START)} and {cells.count(END)}")
    n_rows = len(rows)
    end = cells.index(END)
    dist = _bfs_distances(cells, n_rows, n_cols, end)
    return _Board(n_rows, n_cols, cells, cells.index(START), end, tuple(dist))


def shortest_path(grid: str) -> str:
    """A shortest path from S to E as move letters (BFS; ties broken in U, D, L, R order).

    Raises ``ValueError`` if the grid is malformed or E cannot be reached from S.
    """
    board = _board(grid)
    return _descend(board.dist_to_end, board.n_rows, board.n_cols, board.start)


@dataclass(frozen=True)
class WalkResult:
    """Where a walk from S ended.

    ``position`` is ``(row, column)`` of the last legal cell; ``n_moves`` how many moves were made
    before the walk ended or broke; ``legal`` is False iff a move left the grid or entered a wall
    (the walk stops there); ``on_end`` is True iff the walk is legal and ends on E.
    """

    position: tuple[int, int]
    n_moves: int
    legal: bool
    on_end: bool


def _walk(board: _Board, moves: str) -> tuple[int, int, bool]:
    """Walk upper-case ``moves`` from S: (flat index of the last legal cell, moves made, legal)."""
    n_rows, n_cols, cells = board.n_rows, board.n_cols, board.cells
    row, col = divmod(board.start, n_cols)
    for n_made, move in enumerate(moves):
        d_row, d_col = _STEP[move]
        r, c = row + d_row, col + d_col
        if not (0 <= r < n_rows and 0 <= c < n_cols) or cells[r * n_cols + c] == WALL:
            return row * n_cols + col, n_made, False
        row, col = r, c
    return row * n_cols + col, len(moves), True


def walk(grid: str, moves: str) -> WalkResult:
    """Walk ``moves`` (letters U, D, L, R, any case, nothing else) from S on ``grid``.

    A move that would leave the grid or enter a wall ends the walk (``legal=False``) at the last
    legal cell. Raises ``ValueError`` on a malformed grid or a character that is not a move.
    """
    board = _board(grid)
    upper = moves.upper() if moves.isascii() else moves
    bad = set(upper) - set(MOVES)
    if bad:
        raise ValueError(f"moves must be letters of {MOVES!r}; got {''.join(sorted(bad))!r}")
    here, n_made, legal = _walk(board, upper)
    return WalkResult(divmod(here, board.n_cols), n_made, legal, legal and here == board.end)


# ------------------------------------------------------------------------------------- generation


def _check_size(size: Any) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise ValueError(f"maze size must be an int, got {size!r}")
    if size < 5 or size % 2 == 0:
        raise ValueError(f"maze size must be odd and >= 5, got {size}")
    if size > MAX_SIZE:
        raise ValueError(f"maze size must be at most {MAX_SIZE} (a {size}x{size} grid would not fit in memory), got {size}")
    return int(size)


MAX_SIZE = 4095
"""The largest maze size accepted (a 4095 x 4095 grid is 16 M cells; the paper's largest is 21)."""


def generate_maze(size: int, rng: np.random.Generator) -> Maze:
    """One random solvable ``size`` x ``size`` maze; deterministic given the state of ``rng``.

    1. Cells sit at odd (row, column), inside a border of walls: ``m = (size - 1) / 2`` per side.
       A randomized depth-first search from a random cell carves a spanning tree of them (a perfect
       maze: exactly one route between any two cells).
    2. Up to ``max(1, m // 2)`` (and at most all) of the remaining inner walls between two cells are
       knocked out, so some mazes have loops and several routes.
    3. ``S`` is a uniformly random open cell, ``E`` a uniformly random open cell whose BFS distance
       from ``S`` is at least ``size // 2`` (or the farthest cells if none is that far).
    """
    size = _check_size(size)
    m = (size - 1) // 2
    cells = bytearray(WALL.encode() * (size * size))
    open_byte = ord(OPEN)

    def flat(cell_row: int, cell_col: int) -> int:
        return (2 * cell_row + 1) * size + (2 * cell_col + 1)

    # 1. recursive backtracker; carving happens exactly m*m - 1 times, one uniform draw each.
    draws = rng.random(m * m - 1).tolist()
    first = int(rng.integers(m * m))
    visited = [False] * (m * m)
    visited[first] = True
    cells[flat(*divmod(first, m))] = open_byte
    stack = [first]
    n_carved = 0
    while stack:
        cell_row, cell_col = divmod(stack[-1], m)
        fresh = [(cell_row + dr, cell_col + dc) for dr, dc in _STEP.values()
                 if 0 <= cell_row + dr < m and 0 <= cell_col + dc < m and not visited[(cell_row + dr) * m + cell_col + dc]]
        if not fresh:
            stack.pop()
            continue
        next_row, next_col = fresh[int(draws[n_carved] * len(fresh))]
        n_carved += 1
        visited[next_row * m + next_col] = True
        # the wall between two neighbouring cells is the midpoint of their grid positions
        cells[(flat(cell_row, cell_col) + flat(next_row, next_col)) // 2] = open_byte
        cells[flat(next_row, next_col)] = open_byte
        stack.append(next_row * m + next_col)

    # 2. extra openings between cells: positions with one odd and one even inner coordinate
    closed = [r * size + c for r in range(1, size - 1) for c in range(1, size - 1)
              if (r + c) % 2 == 1 and cells[r * size + c] != open_byte]
    max_extra = min(len(closed), max(1, m // 2))
    n_extra = int(rng.integers(max_extra + 1))
    for index in rng.choice(len(closed), size=n_extra, replace=False).tolist():
        cells[closed[index]] = open_byte

    # 3. start and end
    open_cells = [i for i, ch in enumerate(cells) if ch == open_byte]
    start = open_cells[int(rng.integers(len(open_cells)))]
    dist_from_start = _bfs_distances(cells, size, size, start)
    min_moves = size // 2
    far = [i for i in open_cells if dist_from_start[i] >= min_moves]
    if not far:
        longest = max(dist_from_start)
        far = [i for i in open_cells if dist_from_start[i] == longest]
    end = far[int(rng.integers(len(far)))]
    cells[start], cells[end] = ord(START), ord(END)

    text = cells.decode()
    grid = "\n".join(text[r * size:(r + 1) * size] for r in range(size))
    solution = _descend(_bfs_distances(text, size, size, end), size, size, start)
    return Maze(grid, size, divmod(start, size), divmod(end, size), solution)


def maze_from_grid(grid: str) -> Maze:
    """A :class:`Maze` from a square grid string (e.g. a verl row's ground truth)."""
    board = _board(grid)
    if board.n_rows != board.n_cols:
        raise ValueError(f"a maze is square; this grid is {board.n_rows} x {board.n_cols}")
    canonical = "\n".join(board.cells[r * board.n_cols:(r + 1) * board.n_cols] for r in range(board.n_rows))
    return Maze(canonical, board.n_rows, divmod(board.start, board.n_cols), divmod(board.end, board.n_cols),
                shortest_path(canonical))


def _check_sizes(sizes: Iterable[int]) -> tuple[int, ...]:
    checked = tuple(_check_size(size) for size in sizes)
    if not checked:
        raise ValueError("no maze sizes given")
    return checked


# How many consecutive duplicates of one size end the search for new mazes of that size. Large mazes
# essentially never repeat; a 5x5 maze has only about 160 possible grids, so repeats there mean the
# size is (nearly) exhausted.
_MAX_REPEATS = 2000


def iter_mazes(sizes: Sequence[int], n: int, seed: int | Sequence[int],
               exclude: Iterable[str] = frozenset()) -> Iterator[Maze]:
    """Yield ``n`` distinct mazes (by grid), none of them in ``exclude``; see :func:`make_mazes`."""
    sizes = _check_sizes(sizes)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"the number of mazes must be an int >= 0, got {n!r}")
    rng = np.random.default_rng(seed)
    seen = set(exclude)
    active = list(dict.fromkeys(sizes))  # round-robin order, duplicates in ``sizes`` removed
    count = {size: 0 for size in active}
    turn = 0
    n_made = 0
    while n_made < n:
        if not active:
            made = ", ".join(f"{size}x{size}: {count[size]}" for size in sorted(count))
            raise ValueError(f"cannot make {n} distinct mazes of sizes {list(sizes)} (seed {seed!r}): only "
                             f"{n_made} new grids were found ({made}); ask for fewer or add larger sizes")
        size = active[turn % len(active)]
        for _ in range(_MAX_REPEATS):
            maze = generate_maze(size, rng)
            if maze.grid not in seen:
                break
        else:
            # This size is (nearly) used up: drop it and let the other sizes fill the quota.
            active.remove(size)
            continue
        seen.add(maze.grid)
        count[size] += 1
        n_made += 1
        turn += 1
        yield maze


def make_mazes(sizes: Sequence[int], n: int, seed: int | Sequence[int],
               exclude: Iterable[str] = frozenset()) -> list[Maze]:
    """``n`` distinct mazes, sizes taken round-robin from ``sizes``, none whose grid is in ``exclude``.

    Deterministic given ``seed`` (anything :func:`numpy.random.default_rng` takes). Duplicates are
    redrawn. When one size runs out of new grids (small mazes have few: about 160 of size 5), it is
    dropped and the remaining sizes fill the quota; if every size runs out, ``ValueError``.
    """
    return list(iter_mazes(sizes, n, seed, exclude))


def train_test_split(train_sizes: Sequence[int] = PAPER_TRAIN_SIZES,
                     test_sizes: Sequence[int] = PAPER_TEST_SIZES,
                     n_train: int = 40_000, n_test: int = 775, seed: int = 0) -> tuple[list[Maze], list[Maze]]:
    """Deduplicated training and test mazes (paper Table 4: 4 x 10,000 training, 775 test mazes).

    ``n_train`` and ``n_test`` are totals, spread round-robin over the sizes. The test set is drawn
    first, from its own stream, and the training set excludes its grids: the test set therefore does
    not depend on ``n_train`` or ``train_sizes``, and no test grid appears in training.
    """
    test = make_mazes(test_sizes, n_test, split_seed(seed, "test"))
    train = make_mazes(train_sizes, n_train, split_seed(seed, "train"), exclude={m.grid for m in test})
    return train, test


VALIDATION_POOL_SEED = 20_250_814
"""Root of the validation pool's streams. Every regime choice (the defaults, docs/training.md's tables, the
studies' settings) is made on this pool; it was the only held-out pool before the test pool existed, so
everything tuned until then was tuned here."""
TEST_POOL_SEED = 20_261_203
"""Root of the test pool's streams, fixed on 2026-12-03 before any study was rerun on it. The committed
studies and the closing table of ``passkrl train`` report this pool; no setting is ever chosen on it."""
TEST_POOL_MAX = 512
"""Mazes per size in each pool; evaluations use its first ``n`` of each size."""
POOLS = ("test", "validation")


def held_out_pool(sizes: Sequence[int], n_per_size: int, pool: str = "test") -> list[Maze]:
    """The first ``n_per_size`` mazes of each size of a fixed held-out pool, size by size.

    ``pool``: "test" (what results report) or "validation" (where settings are chosen). Each size of
    each pool has its own stream (``[TEST_POOL_SEED, size]``, ``[VALIDATION_POOL_SEED, size]``),
    independent of any run's seed, of the other sizes and of ``n_per_size`` (a larger evaluation
    extends a smaller one). The test pool excludes the validation pool's grids, and training draws
    exclude both pools of their sizes (:func:`train_mazes`): the three share no maze, and asking for
    more held-out mazes never changes the training data.
    """
    sizes = _check_sizes(sizes)
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {', '.join(POOLS)}, got {pool!r}")
    if isinstance(n_per_size, bool) or not isinstance(n_per_size, (int, np.integer)) or not 1 <= n_per_size <= TEST_POOL_MAX:
        raise ValueError(f"held-out mazes per size must be an int in [1, {TEST_POOL_MAX}], got {n_per_size!r}")
    return [maze for size in dict.fromkeys(sizes) for maze in _pool_of(size, pool)[:n_per_size]]


_POOLS: dict[tuple[int, str], list[Maze]] = {}


def _pool_of(size: int, pool: str) -> list[Maze]:
    if (size, pool) not in _POOLS:
        if pool == "validation":
            _POOLS[size, pool] = make_mazes([size], TEST_POOL_MAX, [VALIDATION_POOL_SEED, size])
        else:
            validation = {maze.grid for maze in _pool_of(size, "validation")}
            _POOLS[size, pool] = make_mazes([size], TEST_POOL_MAX, [TEST_POOL_SEED, size], exclude=validation)
    return _POOLS[size, pool]


def train_mazes(sizes: Sequence[int], n: int, seed: int) -> list[Maze]:
    """``n`` distinct training mazes of ``sizes`` from the stream ``[seed, 0]``, none in either held-out pool."""
    sizes = _check_sizes(sizes)
    held_out = {maze.grid for size in dict.fromkeys(sizes) for pool in POOLS for maze in _pool_of(size, pool)}
    return make_mazes(sizes, n, split_seed(seed, "train"), exclude=held_out)


def max_answer_tokens(sizes: Sequence[int]) -> int:
    """Answer tokens the tiny policy may sample for mazes of ``sizes``: a shortest path in an s x s maze
    has at most s*s/2 moves; two more leave room for the end token and a detour."""
    return max(sizes) ** 2 // 2 + 2


# ------------------------------------------------------------------------------------- encodings


def _grid_of(maze: Maze | str) -> str:
    return maze.grid if isinstance(maze, Maze) else maze


def prompt(maze: Maze | str) -> str:
    """The paper's prompt (Fig. 14) for ``maze`` (a :class:`Maze` or its grid)."""
    return _PAPER_PROMPT.replace("{grid}", _grid_of(maze))


def compact_prompt(maze: Maze | str) -> str:
    """The compact prompt: rows joined by ``/``, then ``>`` (``size * (size + 1)`` characters)."""
    return ROW_SEPARATOR.join(_grid_of(maze).split("\n")) + PROMPT_END


def grid_from_compact(text: str) -> str:
    """The grid of a compact prompt (inverse of :func:`compact_prompt`)."""
    return text.removesuffix(PROMPT_END).replace(ROW_SEPARATOR, "\n")


# ------------------------------------------------------------------------------------- the verifier

_IGNORED_IN_ANSWER = str.maketrans("", "", ",")
_MOVE_LETTERS = frozenset("UDLRudlr")


def parse_moves(text: str) -> str | None:
    """The moves written in an answer, upper-cased, or None if it contains anything but letters
    U, D, L, R (any case), whitespace and commas."""
    letters = "".join(text.split()).translate(_IGNORED_IN_ANSWER)
    if not _MOVE_LETTERS.issuperset(letters):
        return None
    return letters.upper()


def _score_moves(board: _Board, moves: str | None, partial: bool) -> float:
    if moves is None:
        return 0.0
    here, _, legal = _walk(board, moves)
    if not legal:
        return 0.0
    if here == board.end:
        return 1.0
    if not partial:
        return 0.0
    # 1 - d(end of walk, E) / d(S, E); d(S, E) >= 1 because S != E, and a legal walk stays in S's
    # connected component, so its distance is known whenever E is reachable at all.
    d_start, d_here = board.dist_to_end[board.start], board.dist_to_end[here]
    if d_start <= 0 or d_here < 0:
        return 0.0
    return min(1.0, max(0.0, 1.0 - d_here / d_start))


def score(grid: str, response: str, partial: bool = False) -> float:
    r"""Reward of a response to the paper's prompt: 1.0 iff its final answer solves ``grid``.

    The final answer is the last complete ``<answer>...</answer>`` block, else the last
    ``\boxed{...}``; without either the reward is 0.0 (letters in free prose are never walked).
    Its content must be move letters U, D, L, R (any case; whitespace and commas ignored); the
    walk from S must stay on the grid, avoid walls and end on E. With ``partial=True`` a legal walk
    that ends elsewhere earns ``1 - d(end of walk, E) / d(S, E)`` (BFS distances), clipped to
    [0, 1]. Raises only for a malformed ``grid``; any ``response`` gives a float in [0, 1].
    """
    board = _board(grid)
    answer = extract_answer(response)
    return _score_moves(board, None if answer is None else parse_moves(answer), partial)


def score_compact(grid: str, moves: str, partial: bool = False) -> float:
    """Reward of a compact answer: ``moves`` is the bare completion (move letters, EOS stripped).

    Same walk and partial credit as :func:`score`; a character other than a move letter,
    whitespace or a comma (e.g. a grid character the tiny model emitted) gives 0.0.
    """
    board = _board(grid)
    return _score_moves(board, parse_moves(moves) if isinstance(moves, str) else None, partial)


def compute_score(data_source: str, solution_str: str, ground_truth: str, extra_info: dict | None = None,
                  **_: Any) -> float:
    """verl's reward-function signature (``custom_reward_function.name=compute_score``).

    ``ground_truth`` is the grid (what :func:`to_verl_row` stores); ``extra_info["partial"]``
    switches on partial credit.
    """
    if data_source != DATA_SOURCE:
        raise ValueError(f"compute_score handles data_source {DATA_SOURCE!r}, got {data_source!r}")
    return score_row(ground_truth, solution_str, extra_info)


def score_row(ground_truth: str, solution_str: str, extra_info: dict | None = None) -> float:
    """The reward of a response to a maze row (text or image): the grid is the ground truth and
    ``extra_info["partial"]`` switches on partial credit."""
    return score(ground_truth, solution_str, partial=bool((extra_info or {}).get("partial", False)))


def reward_of_row(data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None,
                  **_: Any) -> float:
    """The reward adapter of maze rows, text or image (:mod:`passkrl.tasks.rewards` routes them here):
    :func:`score_row`, and 0.0 for a row whose grid is malformed (no answer to it can be correct)."""
    try:
        return score_row(ground_truth, solution_str, extra_info)
    except ValueError:
        return 0.0


# ------------------------------------------------------------------------------------- task + rows


class MazeTask:
    """The maze task behind the :class:`passkrl.tasks.base.Task` protocol.

    ``generate`` draws a size uniformly from ``sizes`` and a maze of that size; the problem's
    ``answer`` is the grid (every legal path counts), ``meta`` holds the size, S, E and a shortest
    path. Rewards are binary unless ``partial=True``.
    """

    name = "maze"
    data_source = DATA_SOURCE

    def __init__(self, sizes: Sequence[int] = PAPER_TRAIN_SIZES, partial: bool = False):
        self.sizes = _check_sizes(sizes)
        self.partial = bool(partial)
        self.reward_is_binary = not self.partial

    def __repr__(self) -> str:
        return f"MazeTask(sizes={self.sizes}, partial={self.partial})"

    def problem(self, maze: Maze) -> Problem:
        return Problem(id=maze.id, question=prompt(maze), answer=maze.grid,
                       meta={"size": maze.size, "start": maze.start, "end": maze.end, "shortest_path": maze.solution})

    def generate(self, rng: np.random.Generator) -> Problem:
        size = self.sizes[int(rng.integers(len(self.sizes)))]
        return self.problem(generate_maze(size, rng))

    def prompt(self, problem: Problem) -> str:
        return problem.question

    def score(self, problem: Problem, response: str) -> float:
        return score(problem.answer, response, partial=self.partial)

    def score_batch(self, problems: Sequence[Problem], responses: Sequence[str], workers: int = 1) -> list[float]:
        """Rewards in order (the maze verifier is fast: ``workers`` is accepted and not needed)."""
        return [self.score(p, r) for p, r in zip(problems, responses, strict=True)]

    def to_row(self, problem: Problem, split: str, index: int) -> dict[str, Any]:
        """One verl RL data set row (the layout of verl's ``examples/data_preprocess`` scripts)."""
        extra_info = {"split": split, "index": int(index), "size": problem.meta["size"],
                      "shortest_path": problem.meta["shortest_path"]}
        if self.partial:
            extra_info["partial"] = True
        return {
            "data_source": DATA_SOURCE,
            "prompt": [{"role": "user", "content": problem.question}],
            "ability": "maze",
            "reward_model": {"style": "rule", "ground_truth": problem.answer},
            "extra_info": extra_info,
        }


def to_verl_row(maze: Maze, split: str, index: int) -> dict[str, Any]:
    """The row of ``maze`` (:meth:`MazeTask.to_row` with binary rewards)."""
    task = MazeTask(sizes=(maze.size,))
    return task.to_row(task.problem(maze), split, index)


# ------------------------------------------------------------------------------------- passkrl data maze


@dataclass(frozen=True)
class MazeDataConfig:
    """Write maze prompts (arXiv 2508.10751, Fig. 14) as verl data set rows in JSONL or Parquet."""

    out: Path
    """Output file: .jsonl or .json (one JSON row per line) or .parquet (needs pyarrow)."""
    n: int
    """Total number of distinct mazes, spread round-robin over --sizes (the paper: 10,000 per training size)."""
    sizes: IntTuple = (9, 11, 13, 15)
    """Odd maze sizes >= 5, e.g. 9,11,13,15 or 9 11 13 15 (the paper: 9-15 to train; 7,9,...,21 to test)."""
    seed: int = 0
    """Seed; each split draws from its own stream derived from it."""
    split: Literal["train", "test", "validation"] = "train"
    """Split name, stored in extra_info and choosing the random stream."""
    exclude: tuple[Path, ...] = ()
    """Data files (.jsonl/.json/.parquet rows of this command) whose mazes must not appear again."""
    progress: bool = True
    """Show a progress bar for large data sets."""
    image: bool = False
    """Show each maze as a PNG image instead of a text grid (for vision-language models; the grid stays the
    ground truth, scored by the same verifier)."""
    layout: Literal["verl", "trl"] = "verl"
    """With --image: verl's multimodal rows (<image> placeholder, an images column) or TRL's (an image
    entry in the chat prompt, an image column)."""
    cell_px: int = 16
    """With --image: pixels per maze cell (1-64; below 3 the cells blur together in a vision encoder's resize)."""


def parse_sizes(text: str | tuple[int, ...]) -> tuple[int, ...]:
    """``"9,11,13"`` -> ``(9, 11, 13)``; every size an odd integer >= 5, else ``ValueError``."""
    return int_list(text, "--sizes", example="9,11,13,15", what="sizes",
                    check=lambda size: "maze sizes must be odd and >= 5" if size < 5 or size % 2 == 0 else None)


def write_maze_data(cfg: MazeDataConfig, name: str = "maze") -> int:
    """``passkrl data maze``: generate and write the rows (text, or images with ``--image``); returns the number written.

    Each split draws from its own stream ``[seed, split]``, the streams of :func:`train_test_split`; the
    mazes of the ``--exclude`` files (their grids) are skipped, which gives the paper's deduplicated pair.
    """
    from passkrl.tasks import rows

    # Every check before the (possibly long) generation.
    rows.check_output(cfg.out, exclude=cfg.exclude)
    sizes = parse_sizes(cfg.sizes)
    rows.check_count(cfg.n, cfg.seed)
    exclude = rows.excluded_ground_truths(cfg.exclude)
    if cfg.image:  # the visual maze registers itself: looked up by name, so this module does not import it
        task = get_task("visual_maze", sizes=sizes, cell_px=cfg.cell_px, layout=cfg.layout)
        if task.cell_px < task.legible_cell_px:
            print(f"warning: --cell-px {task.cell_px}: cells this small blur together when a vision encoder "
                  f"resizes the image (use {task.legible_cell_px} or more; see docs/tasks.md)", file=sys.stderr)
    else:
        task = MazeTask(sizes=sizes)
    first = iter_mazes(sizes, min(cfg.n, 16), split_seed(cfg.seed, cfg.split), exclude=exclude)
    rows.check_data_size(task, (task.problem(m) for m in first), cfg.n, cfg.out, cfg.split)
    mazes = iter_mazes(sizes, cfg.n, split_seed(cfg.seed, cfg.split), exclude=exclude)
    return rows.write_data(task, (task.problem(m) for m in mazes), cfg.out, split=cfg.split, n=cfg.n,
                           progress=cfg.progress)


SPEC = register(TaskSpec(
    name="maze",
    data_source=DATA_SOURCE,
    build=MazeTask,
    description="the paper's maze task (appendix A.1, Fig. 14)",
    score_row=reward_of_row,
    data_command=DataCommand(MazeDataConfig, write_maze_data, lambda cfg: f"maze sizes {ints_text(cfg.sizes)}"),
))
"""The maze in the task registry; the embedded trainer's maze path is its own (passkrl.train.policy)."""
