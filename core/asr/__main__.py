import sys

from core.asr.cli import main

sys.exit(main())
