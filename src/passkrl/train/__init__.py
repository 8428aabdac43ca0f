"""The embedded trainer (``passkrl train``); see :mod:`passkrl.train.trainer`."""
