"""``python -m overworld``."""

from overworld.cli import main

raise SystemExit(main())
