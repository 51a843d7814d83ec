from swapdeck.cli import main

raise SystemExit(main())
