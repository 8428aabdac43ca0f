"""The maze task: generator, shortest paths, the verifier (strict and partial), encodings, data sets.

The verifier is checked against an independent walk written here, not against its own ``walk``;
the published verifier's behaviour on untagged prose is reimplemented here (only here) to show
the difference docs/tasks.md documents.
"""

from __future__ import annotations

import re
import time
from collections import deque

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passkrl.tasks import Problem, Task, get_task
from passkrl.tasks import maze as M

ALL_SIZES = tuple(range(5, 23, 2))  # 5, 7, ..., 21
STEP = {"U": (-1, 0), "D": (1, 0), "L": (0, -1), "R": (0, 1)}

# A hand-made maze: "LLRDD" walks S -> (1,2) -> (1,1) -> (1,2) -> (2,2) -> (3,2) = E.
PROSE_GRID = "\n".join(["*****",
                        "*..S*",
                        "**.**",
                        "**E**",
                        "*****"])
# S and E on the border: the only way to leave the grid without first entering a wall.
EDGE_GRID = "\n".join(["S.*",
                       "*.*",
                       "*.E"])


def tagged(moves: str) -> str:
    return f"Let me think.\n<answer> {moves} </answer>"


def oracle_walk(grid: str, moves: str) -> tuple[tuple[int, int], bool]:
    """Independent walk: final (row, col) and whether every move stayed on open cells."""
    rows = grid.split("\n")
    (row, col), = [(r, c) for r, line in enumerate(rows) for c, ch in enumerate(line) if ch == "S"]
    for move in moves:
        r, c = row + STEP[move][0], col + STEP[move][1]
        if not (0 <= r < len(rows) and 0 <= c < len(rows[0])) or rows[r][c] == "*":
            return (row, col), False
        row, col = r, c
    return (row, col), True


def oracle_distance(grid: str, source: tuple[int, int], target: tuple[int, int]) -> int:
    rows = grid.split("\n")
    dist = {source: 0}
    queue = deque([source])
    while queue:
        row, col = queue.popleft()
        for d_row, d_col in STEP.values():
            nxt = (row + d_row, col + d_col)
            if (0 <= nxt[0] < len(rows) and 0 <= nxt[1] < len(rows[0]) and nxt not in dist
                    and rows[nxt[0]][nxt[1]] != "*"):
                dist[nxt] = dist[(row, col)] + 1
                queue.append(nxt)
    return dist.get(target, -1)


def published_style_score(grid: str, response: str) -> float:
    """What the published verifier does (behaviour only): without tags, upper-case the whole
    response and walk every U/D/L/R letter in it."""
    found = re.search(r"<answer>(.*?)</answer>", response, re.S)
    text = found.group(1) if found else response
    moves = "".join(ch for ch in text.upper() if ch in "UDLR")
    end, legal = oracle_walk(grid, moves)
    rows = grid.split("\n")
    return float(legal and rows[end[0]][end[1]] == "E")


@pytest.fixture(scope="module")
def mazes() -> list[M.Maze]:
    # 12 seeds x every size from 5 to 21
    return [M.generate_maze(size, np.random.default_rng(seed)) for seed in range(12) for size in ALL_SIZES]


# ------------------------------------------------------------------------------------- generator


def test_generated_mazes_are_well_formed_and_solved_by_their_shortest_path(mazes):
    for maze in mazes:
        rows = maze.grid.split("\n")
        assert len(rows) == maze.size and all(len(row) == maze.size for row in rows)
        assert set(maze.grid) <= set("SE*.\n")
        assert maze.grid.count("S") == 1 and maze.grid.count("E") == 1
        assert rows[maze.start[0]][maze.start[1]] == "S" and rows[maze.end[0]][maze.end[1]] == "E"
        # border of walls
        assert set(rows[0]) == set(rows[-1]) == {"*"} and all(row[0] == row[-1] == "*" for row in rows)
        # the stored solution is a shortest path, and every encoding of it scores 1
        assert maze.solution == M.shortest_path(maze.grid)
        assert len(maze.solution) == oracle_distance(maze.grid, maze.start, maze.end)
        assert len(maze.solution) >= maze.size // 2  # E is placed at least size // 2 moves from S
        assert oracle_walk(maze.grid, maze.solution) == (maze.end, True)
        assert M.score(maze.grid, tagged(maze.solution)) == 1.0
        assert M.score(maze.grid, tagged(maze.solution), partial=True) == 1.0
        assert M.score_compact(maze.grid, maze.solution) == 1.0
        assert M.score_compact(maze.grid, maze.solution, partial=True) == 1.0
        assert M.score(maze.grid, f"\\boxed{{{maze.solution}}}") == 1.0


def test_generator_is_deterministic_for_a_seed():
    for size in (5, 9, 21):
        a = M.generate_maze(size, np.random.default_rng(7))
        b = M.generate_maze(size, np.random.default_rng(7))
        assert a == b
    assert M.make_mazes((9, 11), 20, seed=3) == M.make_mazes((9, 11), 20, seed=3)
    assert M.make_mazes((9, 11), 20, seed=3) != M.make_mazes((9, 11), 20, seed=4)


def test_some_mazes_have_loops_and_some_are_perfect(mazes):
    # A perfect maze's open cells form a tree: edges = cells - 1. Extra openings add loops.
    def n_loops(grid: str) -> int:
        rows = grid.split("\n")
        cells = {(r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch != "*"}
        edges = sum((r + 1, c) in cells for r, c in cells) + sum((r, c + 1) in cells for r, c in cells)
        return edges - (len(cells) - 1)

    loops = [n_loops(m.grid) for m in mazes]
    assert min(loops) == 0 and max(loops) >= 1


@pytest.mark.parametrize("bad", [4, 3, 1, 8, 9.0, "9", True])
def test_bad_sizes_are_rejected(bad):
    with pytest.raises(ValueError, match="maze size"):
        M.generate_maze(bad, np.random.default_rng(0))


def test_make_mazes_is_distinct_round_robin_and_honours_exclude():
    mazes = M.make_mazes((7, 9, 11), 30, seed=0)
    assert len({m.grid for m in mazes}) == 30
    assert [m.size for m in mazes[:6]] == [7, 9, 11, 7, 9, 11]
    assert sorted(m.size for m in mazes) == [7] * 10 + [9] * 10 + [11] * 10
    excluded = {m.grid for m in mazes[:10]}
    again = M.make_mazes((7, 9, 11), 30, seed=0, exclude=excluded)
    assert not excluded & {m.grid for m in again}
    assert M.make_mazes((9,), 0, seed=0) == []


def test_make_mazes_raises_when_a_size_has_too_few_mazes():
    # 5x5 mazes: a 2x2 block of cells, so only about 160 distinct grids exist.
    with pytest.raises(ValueError, match=r"cannot make 500 distinct mazes.*5x5: \d+"):
        M.make_mazes((5,), 500, seed=0)
    # an exhausted size is dropped and the other sizes fill the quota
    mixed = M.make_mazes((5, 9), 400, seed=0)
    assert len({m.grid for m in mixed}) == 400 and sum(m.size == 5 for m in mixed) < 200


def test_train_test_split_is_deduplicated_and_the_test_set_does_not_depend_on_training():
    train, test = M.train_test_split((9, 11, 13, 15), (7, 9, 11, 13, 15, 17, 19, 21), n_train=200, n_test=40, seed=0)
    assert len(train) == 200 and len(test) == 40
    assert not {m.grid for m in train} & {m.grid for m in test}
    assert {m.size for m in train} == {9, 11, 13, 15} and {m.size for m in test} == set(range(7, 23, 2))
    _, test_again = M.train_test_split((9, 11), (7, 9, 11, 13, 15, 17, 19, 21), n_train=50, n_test=40, seed=0)
    assert test_again == test
    # the trainer's smoke setting: small sizes, where train and test really do collide without dedup
    train, test = M.train_test_split((5, 7), (5, 7, 9), n_train=200, n_test=9, seed=0)
    assert len(train) == 200 and len(test) == 9
    assert not {m.grid for m in train} & {m.grid for m in test}


# ------------------------------------------------------------------------------------- shortest paths, walks


def test_shortest_path_and_walk_on_hand_made_grids():
    assert M.shortest_path(PROSE_GRID) == "LDD"
    assert M.shortest_path(EDGE_GRID) == "RDDR"
    # lower case is accepted; D from (1,1) enters a wall: the walk stops at the last legal cell
    assert M.walk(PROSE_GRID, "lldd") == M.WalkResult(position=(1, 1), n_moves=2, legal=False, on_end=False)
    result = M.walk(PROSE_GRID, "LLRDD")
    assert result == M.WalkResult(position=(3, 2), n_moves=5, legal=True, on_end=True)
    assert M.walk(PROSE_GRID, "LDRD") == M.WalkResult(position=(2, 2), n_moves=2, legal=False, on_end=False)
    assert M.walk(PROSE_GRID, "LDDU") == M.WalkResult(position=(2, 2), n_moves=4, legal=True, on_end=False)
    assert M.walk(EDGE_GRID, "U") == M.WalkResult(position=(0, 0), n_moves=0, legal=False, on_end=False)
    with pytest.raises(ValueError, match="moves must be"):
        M.walk(PROSE_GRID, "LX")


@pytest.mark.parametrize("grid, message", [
    ("S.*\n*.", "rectangular"),
    ("S.E\nS..", "exactly one"),
    ("S.#\n..E", "characters"),
    ("", "empty"),
    ("S*E", "no path"),
])
def test_malformed_or_unsolvable_grids_raise(grid, message):
    with pytest.raises(ValueError, match=message):
        M.shortest_path(grid)


# ------------------------------------------------------------------------------------- the verifier


def test_a_path_into_a_wall_scores_zero(mazes):
    checked = 0
    for maze in mazes:
        rows = maze.rows
        for move, (d_row, d_col) in STEP.items():
            r, c = maze.start[0] + d_row, maze.start[1] + d_col
            if rows[r][c] == "*":
                # bump into the wall, then the correct path: a lenient walker that ignores blocked
                # moves would end on E, we do not.
                assert M.score(maze.grid, tagged(move + maze.solution)) == 0.0
                assert M.score(maze.grid, tagged(move + maze.solution), partial=True) == 0.0
                assert M.score_compact(maze.grid, move + maze.solution) == 0.0
                checked += 1
                break
    assert checked > len(mazes) // 2


def test_a_path_leaving_the_grid_scores_zero():
    assert M.score(EDGE_GRID, tagged("RDDR")) == 1.0
    assert M.score(EDGE_GRID, tagged("RDDRR")) == 0.0  # off the right edge after reaching E
    assert M.score(EDGE_GRID, tagged("URDDR")) == 0.0  # off the top edge first
    assert M.score(EDGE_GRID, tagged("LRDDR"), partial=True) == 0.0
    assert M.score_compact(EDGE_GRID, "URDDR") == 0.0


def test_stopping_short_scores_zero_and_partial_credit_measures_progress(mazes):
    for maze in mazes:
        length = len(maze.solution)
        for k in range(length):
            prefix = maze.solution[:k]
            assert M.score(maze.grid, tagged(prefix)) == 0.0
            assert M.score_compact(maze.grid, prefix) == 0.0
            # along a shortest path the distance to E falls by one per move: credit k / length
            assert M.score(maze.grid, tagged(prefix), partial=True) == pytest.approx(k / length, abs=1e-12)
            assert M.score_compact(maze.grid, prefix, partial=True) == pytest.approx(k / length, abs=1e-12)
            assert M.score(maze.grid, tagged(prefix), partial=True) < 1.0


def test_the_walk_must_end_on_e():
    # Passing through E and walking on is wrong; coming back to E is right.
    assert M.score(EDGE_GRID, tagged("RDDRL")) == 0.0
    assert M.score(EDGE_GRID, tagged("RDDRL"), partial=True) == pytest.approx(1 - 1 / 4)
    assert M.score(EDGE_GRID, tagged("RDDRLR")) == 1.0


def test_partial_credit_is_clipped_at_zero_when_the_walk_ends_farther_than_s():
    grid = "\n".join(["*******",
                      "*..S.E*",
                      "*******"])
    assert M.score(grid, tagged("LL"), partial=True) == 0.0  # d = 4 > d(S, E) = 2
    assert M.score(grid, tagged("L"), partial=True) == 0.0  # d = 3
    assert M.score(grid, tagged("R"), partial=True) == 0.5
    assert M.score(grid, tagged(""), partial=True) == 0.0
    assert M.score(grid, "no answer here", partial=True) == 0.0


def test_only_the_last_answer_block_counts():
    right, wrong = "LDD", "LLL"
    assert M.score(PROSE_GRID, f"<answer>{wrong}</answer> on second thought <answer>{right}</answer>") == 1.0
    assert M.score(PROSE_GRID, f"<answer>{right}</answer> on second thought <answer>{wrong}</answer>") == 0.0
    # tags in any case, nested opening tags: the content starts after the last <answer>
    assert M.score(PROSE_GRID, f"<ANSWER> <Answer> {right} </answer>") == 1.0
    # an unclosed final block is ignored: the last complete block counts
    assert M.score(PROSE_GRID, f"<answer>{right}</answer> then <answer> {wrong}") == 1.0
    # a closing tag without an opening one is no answer
    assert M.score(PROSE_GRID, f"{right} </answer>") == 0.0


def test_content_rules_inside_the_block():
    assert M.score(PROSE_GRID, "<answer> l, d, d </answer>") == 1.0
    assert M.score(PROSE_GRID, "<answer>\n L\tD D\u00a0</answer>") == 1.0  # any whitespace
    assert M.score(PROSE_GRID, "<answer> LDD. </answer>") == 0.0
    assert M.score(PROSE_GRID, "<answer> Left, Down, Down </answer>") == 0.0
    assert M.score(PROSE_GRID, "<answer> L->D->D </answer>") == 0.0
    assert M.score(PROSE_GRID, "<answer> ＬＤＤ </answer>") == 0.0  # full-width letters are not moves


def test_boxed_fallback():
    assert M.score(PROSE_GRID, "so the path is \\boxed{LDD}") == 1.0
    assert M.score(PROSE_GRID, "\\boxed{LLL} no wait \\boxed{L D D}") == 1.0
    assert M.score(PROSE_GRID, "\\boxed{\\text{LDD}}") == 0.0  # LaTeX inside is not a move
    assert M.score(PROSE_GRID, "\\boxed{LDD") == 0.0  # unbalanced
    assert M.score(PROSE_GRID, "\\boxed{LD{D}") == 0.0
    # an answer block wins over \boxed, wherever they are
    assert M.score(PROSE_GRID, "<answer>LLL</answer> \\boxed{LDD}") == 0.0


def test_untagged_prose_scores_zero_unlike_the_published_verifier():
    prose = "I will go right and down"  # its letters, upper-cased: L L R D D
    assert published_style_score(PROSE_GRID, prose) == 1.0  # the published behaviour rewards prose
    assert M.score(PROSE_GRID, prose) == 0.0
    assert M.score(PROSE_GRID, prose, partial=True) == 0.0
    # both agree once the answer is tagged
    assert published_style_score(PROSE_GRID, tagged("LLRDD")) == M.score(PROSE_GRID, tagged("LLRDD")) == 1.0


def test_compact_answers_must_be_bare_moves():
    assert M.score_compact(PROSE_GRID, "LDD") == 1.0
    assert M.score_compact(PROSE_GRID, "LD*D") == 0.0
    assert M.score_compact(PROSE_GRID, "<answer>LDD</answer>") == 0.0
    assert M.score_compact(PROSE_GRID, "") == 0.0
    assert M.score_compact(PROSE_GRID, None) == 0.0  # type: ignore[arg-type]


def test_non_string_responses_score_zero():
    for response in (None, b"<answer>LDD</answer>", 3, ["LDD"]):
        assert M.score(PROSE_GRID, response) == 0.0  # type: ignore[arg-type]


ANSWER_PIECES = st.sampled_from(["<answer>", "</answer>", "<ANSWER>", "</Answer>", "\\boxed{", "{", "}", "U", "d",
                                 "L", "r", ",", " ", "\n", "<answer", "answer>", "\udc80", "\x00", "ＵＤ", "İ"])
RESPONSES = st.one_of(
    st.text(),
    st.lists(ANSWER_PIECES, max_size=60).map("".join),
    st.tuples(st.text(max_size=30), ANSWER_PIECES, st.text(alphabet="UDLRudlr ,", max_size=40), ANSWER_PIECES)
    .map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(response=RESPONSES, partial=st.booleans(), size=st.sampled_from((5, 7, 9)), seed=st.integers(0, 3))
def test_fuzz_the_verifier_never_raises(response, partial, size, seed):
    maze = M.generate_maze(size, np.random.default_rng(seed))
    for value in (M.score(maze.grid, response, partial=partial), M.score_compact(maze.grid, response, partial=partial)):
        assert isinstance(value, float) and 0.0 <= value <= 1.0
        if not partial:
            assert value in (0.0, 1.0)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(piece=ANSWER_PIECES, filler=st.text(min_size=1, max_size=8))
def test_fuzz_huge_responses(piece, filler):
    response = (filler + piece) * (1_000_000 // (len(filler) + len(piece)))
    for partial in (False, True):
        value = M.score(PROSE_GRID, response, partial=partial)
        assert 0.0 <= value <= 1.0


@pytest.mark.parametrize("response", [
    "<answer>" * 125_000,
    "</answer>" * 111_111,
    "<answer>" + "LR" * 500_000 + "LDD</answer>",  # 1M legal moves to walk, then solved
    "\\boxed{" * 142_857,
    "\\boxed{" + "{" * 1_000_000,
    "<" * 1_000_000,
    "é" * 1_000_000,
])
def test_megabyte_adversarial_inputs_are_fast(response):
    started = time.perf_counter()
    value = M.score(PROSE_GRID, response)
    assert time.perf_counter() - started < 3.0  # linear time: about 0.1 s here, a quadratic scan takes minutes
    assert value in (0.0, 1.0)
    if response.startswith("<answer>L"):
        assert value == 1.0


# ------------------------------------------------------------------------------------- prompts and encodings


def test_prompt_is_the_papers_fig_14_wording(mazes):
    maze = mazes[3]
    text = M.prompt(maze)
    assert text == M.prompt(maze.grid)
    expected_lines = [
        "You need to solve the following maze.",
        "'*' denotes the wall that you cannot walk through, '.' denotes available area that you can walk through. "
        "'S' denotes the starting point, 'E' denotes the destination.",
        "You need to start from the starting point and cross through the available area to reach the destination. "
        "There are four movement actions, including Left, Right, Up, Down.",
        "You need to use L to denote Left movement, R to denote Right movement, U to denote Up movement, "
        "and D to denote Down movement.",
        "You can analysis the maze to find the correct path, and you should write the final path in the "
        "<answer> </answer>, e.g., <answer> LLRRDUL </answer>.",
    ]
    assert text.startswith("\n\n".join(expected_lines) + "\n\n")
    assert "```\n## Maze\n" + maze.grid + "\n```\n" in text
    assert text.endswith("Now try to analyze the maze and put the final path in the <answer> </answer>.")


def test_compact_encoding(mazes):
    alphabet = M.COMPACT_ALPHABET
    assert len(set(alphabet)) == len(alphabet) and set(alphabet) == set("SE*./>UDLR")
    for maze in mazes:
        text = M.compact_prompt(maze)
        assert len(text) == maze.size * (maze.size + 1)
        assert set(text) <= set(alphabet) and set(maze.solution) <= set(alphabet)
        assert text.endswith(">") and M.grid_from_compact(text) == maze.grid
        assert M.compact_prompt(maze.grid) == text


# ------------------------------------------------------------------------------------- task, rows


def test_maze_task_follows_the_task_protocol():
    task = get_task("maze", sizes=(7, 9))
    assert isinstance(task, Task) and isinstance(task, M.MazeTask)
    assert task.name == "maze" and task.reward_is_binary
    problem = task.generate(np.random.default_rng(0))
    assert problem == task.generate(np.random.default_rng(0))
    assert isinstance(problem, Problem) and hash(problem) == hash(task.generate(np.random.default_rng(0)))
    assert problem.meta["size"] in (7, 9) and task.prompt(problem) == problem.question == M.prompt(problem.answer)
    assert task.score(problem, tagged(problem.meta["shortest_path"])) == 1.0
    assert task.score(problem, tagged(problem.meta["shortest_path"][:-1])) == 0.0
    partial = get_task("maze", sizes=(7,), partial=True)
    assert not partial.reward_is_binary
    problem = partial.generate(np.random.default_rng(1))
    assert 0.0 < partial.score(problem, tagged(problem.meta["shortest_path"][:-1])) < 1.0
    with pytest.raises(ValueError, match="known tasks: .*maze"):
        get_task("sudoku")
    with pytest.raises(ValueError, match="odd"):
        get_task("maze", sizes=(8,))


def test_verl_rows_and_compute_score(mazes):
    maze = mazes[5]
    row = M.to_verl_row(maze, "test", 17)
    assert row == {
        "data_source": "passkrl/maze",
        "prompt": [{"role": "user", "content": M.prompt(maze)}],
        "ability": "maze",
        "reward_model": {"style": "rule", "ground_truth": maze.grid},
        "extra_info": {"split": "test", "index": 17, "size": maze.size, "shortest_path": maze.solution},
    }
    truth = row["reward_model"]["ground_truth"]
    assert M.compute_score(row["data_source"], tagged(maze.solution), truth, row["extra_info"]) == 1.0
    assert M.compute_score(row["data_source"], tagged(maze.solution[:-1]), truth, {"partial": True}) > 0.0
    with pytest.raises(ValueError, match="data_source"):
        M.compute_score("openai/gsm8k", "", truth)
    assert M.maze_from_grid(truth) == maze


def test_an_absurd_maze_size_is_refused_before_any_allocation():
    with pytest.raises(ValueError, match="maze size must be at most 4095"):
        M.generate_maze(10**9 + 1, np.random.default_rng(0))


def test_the_held_out_pool_is_fixed_and_nested():
    small = M.held_out_pool((7, 9), 8)
    large = M.held_out_pool((9, 7, 11), 64)
    assert [m.size for m in small] == [7] * 8 + [9] * 8
    by_size = {s: [m.grid for m in large if m.size == s] for s in (7, 9, 11)}
    assert [m.grid for m in small if m.size == 7] == by_size[7][:8]  # a larger evaluation extends a smaller one
    assert [m.grid for m in small if m.size == 9] == by_size[9][:8]
    assert len({m.grid for m in large}) == len(large)
    with pytest.raises(ValueError, match=r"held-out mazes per size must be an int in \[1, 512\], got 513"):
        M.held_out_pool((7,), M.TEST_POOL_MAX + 1)
