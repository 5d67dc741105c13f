import sys

from vacant.cli.main import main

sys.exit(main())
