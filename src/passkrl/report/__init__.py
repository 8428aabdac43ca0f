"""Reports: the ``passkrl eval`` and ``passkrl curves`` commands, plots and run reports."""
