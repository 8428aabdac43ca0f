"""The trainer's defaults before the 7x7 regime became the default (k = 8 of 32 answers, training sizes 7 and 9).

Cache keys and study run directories are pinned against these too: a run that names them on the command line
must find the warm-ups, Pass@1 phases and study runs cached under them."""

FORMER_DEFAULTS = dict(k=8, train_sizes=(7, 9), test_sizes=(7, 9, 11), n_train_problems=20000, warmup_steps=1200,
                       pass1_steps=200, pass1_lr=1e-4, n_prompts=8, n_rollouts=32, rl_steps=200, eval_every=100)
