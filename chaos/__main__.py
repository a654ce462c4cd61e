"""``python -m chaos`` (what ``make chaos`` runs)."""

from chaos.cli import main

raise SystemExit(main())
