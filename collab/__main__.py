import sys

from collab.cli import main

sys.exit(main())
