"""``python -m passkrl.cli``: the same as the ``passkrl`` command."""

from passkrl.cli import main

raise SystemExit(main())
