"""``passkrl experiment``: small, repeatable studies of what Pass@k Training does, with a report.

A study (:mod:`passkrl.experiment.studies`) is a set of arms, each a set of changes to the embedded
trainer's :class:`~passkrl.train.config.TrainConfig`, run for several seeds from the same warm-up
(:mod:`passkrl.experiment.runner`), then summarised with intervals over seeds and test mazes and
judged against the paper's claims (:mod:`passkrl.experiment.report`).
"""
