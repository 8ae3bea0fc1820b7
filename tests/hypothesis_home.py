"""Keep hypothesis's caches out of the checkout.

Hypothesis writes `.hypothesis/` (constants it found in the code, Unicode tables) into the working directory as
soon as a property test is collected, even without an example database; the reliability suite rightly counts
that as a write outside the build directories. Importing this module points the caches at pytest's own area
under the temporary directory, which every check already leaves aside.
"""

from __future__ import annotations

import getpass
import tempfile
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


HOME = Path(tempfile.gettempdir()) / f"pytest-of-{_user()}" / "hypothesis"
set_hypothesis_home_dir(HOME)
