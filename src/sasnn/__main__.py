import sys

from sasnn.cli import main

sys.exit(main())
