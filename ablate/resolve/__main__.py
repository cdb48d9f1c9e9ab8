import sys

from ablate.resolve.cli import main

sys.exit(main())
