import sys

from ablate.report.cli import main

sys.exit(main())
