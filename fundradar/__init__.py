"""fundradar: funding calls that matter to the OECS Commission, found, scored and mailed weekly.

One distribution, one top-level name. The stages live in the repository's top-level folders
(`crawlers/`, `pipeline/`, `alerts/`, `config/`) so the flow shows in a checkout, but they are
the sub-packages `fundradar.crawlers`, `fundradar.pipeline`, `fundradar.alerts` and
`fundradar.config`: an installed wheel claims no generic top-level name such as `config` or
`pipeline` (pyproject.toml maps each folder into this package), and in a checkout the folders
beside this one are added to this package's path below.
"""

from pathlib import Path

__version__ = "0.1.0"

_CHECKOUT = Path(__file__).resolve().parent.parent
if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "pipeline" / "__init__.py").is_file():
    # a source checkout (tests, `pip install -e`, `scrapy` from the project root): the stage
    # folders are siblings of this one. An installed wheel has them inside this folder instead.
    __path__.append(str(_CHECKOUT))
